"""End to end: the real ``gcx`` entry point as a subprocess, against the emulator over loopback.

Every command runs once as a subprocess, plus every output format, exit codes 0/1/3 and the
bad inputs. Starting Python and importing gcx costs over a second of CPU per run, so the runs
are independent (each touches its own records) and go through a small thread pool; the
assertions follow. The wider matrix of formats and errors runs in-process
(``test_commands.py``, ``test_formats.py``).
Every run is checked by :class:`~tests.cli.conftest.Gcx`: the client secret never appears in
stdout or stderr, and there is no traceback without ``--verbose``.
"""

from __future__ import annotations

import csv
import io
import json
import signal
import subprocess
import sys
import time
from collections.abc import Sequence
from concurrent.futures import ThreadPoolExecutor
from pathlib import Path
from typing import Any

import pytest

from gcx import Client
from gcx.config import ConfigFile, Profile
from gcx.emulator import Emulator
from tests.cli.conftest import Gcx, InProcessGcx, Run
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

pytestmark = pytest.mark.slow

Call = tuple[Sequence[str], dict[str, Any]]
NIL = "00000000-0000-0000-0000-0000000000e2"  # no organization has this id


def run_all(gcx: Gcx, calls: dict[str, Call]) -> dict[str, Run]:
    """Run independent ``gcx`` invocations concurrently; results by name."""
    with ThreadPoolExecutor(max_workers=3) as pool:
        futures = {name: pool.submit(gcx, *args, **kwargs) for name, (args, kwargs) in calls.items()}
        return {name: future.result() for name, future in futures.items()}


def call(*args: str, **kwargs: Any) -> Call:
    return args, kwargs


@pytest.mark.timeout(900)  # ~40 interpreter starts: well under a minute on an idle 2-core machine
def test_every_command_through_the_entry_point(
    gcx_proc: Gcx, emu: Emulator, client: Client, base_url: str, tmp_path: Path
) -> None:
    # -- seed: each command below gets its own records
    org_a = client.organizations.create({"name": "Acme", "industry": "Retail"}).id
    org_b = client.organizations.create({"name": "Beta"}).id
    org_c = client.organizations.create({"name": "Gone"}).id
    org_d = client.organizations.create({"name": "Delta"}).id
    org_e = client.organizations.create({"name": "Echo"}).id
    client.organizations.identifiers.claim(org_a, "ExternalId", "e2e-org-a")
    client.organizations.identifiers.claim(org_e, "ExternalId", "e2e-org-e")

    def contact(first: str, org: str | None = None, **extra: Any) -> str:
        body: dict[str, Any] = {"firstName": first, "lastName": "E2e", **extra}
        if org:
            body["externalOrganization"] = {"id": org}
        created = client.contacts.create(body)
        assert created.id
        return created.id

    ada = contact("Ada", org_a, workEmail="ada@example.com", title="Countess")
    for n in range(2):
        contact(f"Doomed{n}", org_c)
    bob = contact("Bob", org_a)
    cy = contact("Cy", org_a, address={"city": "Paris"})
    dee = contact("Dee", org_a)
    eve = contact("Eve")
    fay = contact("Fay")
    gus = contact("Gus")
    client.contacts.identifiers.claim(ada, "Email", "ada@example.com")
    client.contacts.identifiers.claim(fay, "ExternalId", "e2e-fay")

    # -- files and config for the local commands
    partial = tmp_path / "partial.jsonl"  # line 2 names an organization that does not exist (400)
    partial.write_text(
        "".join(
            json.dumps({"firstName": f"Part{n}", "externalOrganization": {"id": org_b if n == 0 else NIL}})
            + "\n"
            for n in range(2)
        )
    )
    malformed = tmp_path / "broken.json"
    malformed.write_text('{"firstName": "Broken", }')
    names = ("add", "show", "list", "use", "remove", "path")
    configs = {name: {"GCX_CONFIG": str(tmp_path / f"{name}.toml")} for name in names}
    for name in names[1:]:
        file = ConfigFile(tmp_path / f"{name}.toml")
        file.save_profile(Profile("emu", base_url, CANARY_CLIENT_ID, CANARY_SECRET))
        file.save_profile(Profile("other", "eu-west-1", "x", None))

    before = {c["id"]: c for c in emu.backend.dump()["contacts"]}
    calls: dict[str, Call] = {
        # auth and config
        "auth": call("--verbose", "-o", "json", "auth", "check"),
        "config add": call(
            "config",
            "add",
            "prod",
            "--region",
            "eu-west-1",
            "--client-id",
            "cid",
            "--client-secret-stdin",
            input=CANARY_SECRET + "\n",
            env=configs["add"],
        ),
        "config show": call("-o", "json", "config", "show", "emu", env=configs["show"]),
        "config list": call("-o", "json", "config", "list", env=configs["list"]),
        "config use": call("config", "use", "other", env=configs["use"]),
        "config remove": call("config", "remove", "other", "--yes", env=configs["remove"]),
        "config path": call("config", "path", env=configs["path"]),
        # organizations
        "orgs list": call("-o", "csv", "orgs", "list"),
        "orgs create": call("-o", "json", "orgs", "create", "--name", "Created", "--city", "Oslo"),
        "orgs delete": call("orgs", "delete", org_c, "--with-contacts", "--yes"),
        "orgs identifiers claim": call("orgs", "identifiers", "claim", org_b, "--value", "e2e-org-b"),
        "orgs search": call("-o", "jsonl", "orgs", "search", "Acme"),
        "orgs get": call("-o", "json", "orgs", "get", org_a),
        "orgs update": call("-o", "json", "orgs", "update", org_b, "--industry", "Banking"),
        "orgs patch": call("-o", "json", "orgs", "patch", org_d, "--set", "companyType=Vendor"),
        "orgs lookup": call("-o", "json", "orgs", "lookup", "--external-id", "e2e-org-a"),
        "orgs identifiers list": call("-o", "jsonl", "orgs", "identifiers", "list", org_a),
        "orgs identifiers release": call("orgs", "identifiers", "release", org_e, "--value", "e2e-org-e"),
        # contacts
        "contacts list": call("contacts", "list"),
        "contacts create": call("-o", "json", "contacts", "create", "--first-name", "Zed", "--org", org_a),
        "contacts create partial": call("-o", "jsonl", "contacts", "create", "--file", str(partial)),
        "contacts update": call("-o", "json", "contacts", "update", bob, "--title", "Builder"),
        "contacts move": call("-o", "json", "contacts", "move", dee, "--to", org_d),
        "contacts lookup": call("-o", "json", "contacts", "lookup", "--email", "ada@example.com"),
        "contacts identifiers list": call("-o", "jsonl", "contacts", "identifiers", "list", ada),
        "contacts search": call("-o", "jsonl", "contacts", "search", "Ada"),
        "contacts get": call("-o", "json", "contacts", "get", ada),
        "contacts patch": call("-o", "json", "contacts", "patch", cy, "--set", "address.city=Lyon"),
        "contacts delete": call("contacts", "delete", eve, "--yes"),
        "contacts identifiers claim": call(
            "contacts", "identifiers", "claim", gus, "--type", "Phone", "--value", "+44 20 7946 0958"
        ),
        "contacts identifiers release": call(
            "contacts", "identifiers", "release", fay, "--type", "ExternalId", "--value", "e2e-fay"
        ),
        "export": call("-q", "export", "--out", str(tmp_path / "export"), "--format", "csv"),
        # bad input
        "unknown id": call("contacts", "get", "00000000-0000-0000-0000-000000000000"),
        "invalid email": call("contacts", "create", "--first-name", "Bad", "--work-email", "bad@"),
        "malformed file": call("contacts", "create", "--file", str(malformed)),
        "missing credentials": call("orgs", "list", env={"GENESYSCLOUD_OAUTHCLIENT_ID": None}),
        "wrong region": call("--region", "mars-1", "orgs", "list"),
    }
    runs = run_all(gcx_proc, calls)
    failed = {n: r for n, r in runs.items() if r.code != 0 and n not in (
        "contacts create partial", "unknown id", "invalid email", "malformed file", "missing credentials",
        "wrong region",
    )}  # fmt: skip
    assert not failed, {n: r.stderr for n, r in failed.items()}

    # auth and config
    assert runs["auth"].json()["client_secret"] == "****" + CANARY_SECRET[-4:]
    assert "/api/v2/organizations/me" in runs["auth"].stderr  # the --verbose request log
    assert ConfigFile(Path(configs["add"]["GCX_CONFIG"])).get("prod").client_secret == CANARY_SECRET
    assert runs["config show"].json()["client_secret"] == "****" + CANARY_SECRET[-4:]
    assert [p["name"] for p in runs["config list"].json()] == ["emu", "other"]
    assert ConfigFile(Path(configs["use"]["GCX_CONFIG"])).default_profile() == "other"
    assert list(ConfigFile(Path(configs["remove"]["GCX_CONFIG"])).profiles()) == ["emu"]
    assert runs["config path"].stdout.strip() == configs["path"]["GCX_CONFIG"]

    # organizations
    names = {row["name"] for row in csv.DictReader(io.StringIO(runs["orgs list"].stdout))}
    assert {"Acme", "Beta", "Delta"} <= names
    assert runs["orgs create"].json()["address"] == {"city": "Oslo"}
    assert "deleted 2 of 2 contacts" in runs["orgs delete"].stderr
    assert org_c not in {o["id"] for o in emu.backend.dump()["organizations"]}
    found = client.organizations.lookup_external_id("e2e-org-b")
    assert found is not None and found.id == org_b
    assert [o["id"] for o in runs["orgs search"].jsonl()] == [org_a]
    assert runs["orgs get"].json()["industry"] == "Retail"
    assert runs["orgs update"].json()["industry"] == "Banking"
    assert runs["orgs patch"].json()["companyType"] == "Vendor"
    assert runs["orgs lookup"].json()["id"] == org_a
    assert runs["orgs identifiers list"].jsonl()[0]["value"] == "e2e-org-a"
    assert client.organizations.lookup_external_id("e2e-org-e") is None

    # contacts
    assert "Ada" in runs["contacts list"].stdout and runs["contacts list"].stderr.strip().endswith("contacts")
    assert runs["contacts create"].json()["externalOrganization"]["id"] == org_a
    partial_run = runs["contacts create partial"]
    assert partial_run.code == 3 and len(partial_run.jsonl()) == 1 and "400" in partial_run.stderr
    bob_now = client.contacts.get(bob)
    assert bob_now.title == "Builder" and bob_now.firstName == "Bob"
    moved = runs["contacts move"].json()
    assert moved["id"] == dee and moved["externalOrganization"]["id"] == org_d
    assert moved["createDate"] == before[dee]["createDate"]
    assert runs["contacts lookup"].json()["id"] == ada
    assert {i["type"] for i in runs["contacts identifiers list"].jsonl()} >= {"Email"}
    assert [c["id"] for c in runs["contacts search"].jsonl()] == [ada]
    assert runs["contacts get"].json()["title"] == "Countess"
    assert runs["contacts patch"].json()["address"]["city"] == "Lyon"
    assert eve not in {c["id"] for c in emu.backend.dump()["contacts"]}
    by_phone = client.contacts.lookup("Phone", "+442079460958")
    assert by_phone is not None and by_phone.id == gus
    assert client.contacts.lookup_external_id("e2e-fay") is None
    export_dir = tmp_path / "export"
    assert (export_dir / "organizations.csv").exists() and (export_dir / "contacts.csv").exists()
    assert "Acme" in (export_dir / "organizations.csv").read_text()

    # bad input: one clear line, exit code 1 (2 for how gcx was called), nothing changed
    usage = {"invalid email", "missing credentials", "wrong region"}
    for name, text in (
        ("unknown id", "error: 404 "),
        ("invalid email", "error: options: field workEmail: 'bad@' is not a valid email address"),
        ("malformed file", "error: broken.json: invalid JSON at line 1"),
        ("missing credentials", "error: missing credentials: client id"),
        ("wrong region", "error: unknown region 'mars-1'"),
    ):
        assert runs[name].code == (2 if name in usage else 1), (name, runs[name].stderr)
        assert runs[name].stderr.startswith(text), (name, runs[name].stderr)
        assert len(runs[name].stderr.strip().splitlines()) == 1, (name, runs[name].stderr)
    stored = emu.backend.dump()["contacts"]
    assert not any(c.get("firstName") in ("Bad", "Broken") for c in stored)


@pytest.mark.timeout(600)
def test_ctrl_c_stops_an_export_cleanly_and_a_rerun_resumes_it(
    gcx_proc: Gcx, gcx: InProcessGcx, emu: Emulator, client: Client, tmp_path: Path
) -> None:
    assert not client.contacts.bulk_add([{"firstName": f"P{n:03d}"} for n in range(300)]).failed
    out = tmp_path / "exp"
    env = {**gcx_proc.env, "GCX_RATE_LIMIT": "60"}  # one request a second: the export takes ~30 s
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcx.cli.main", "export", "--out", str(out), "--page-size", "10"],
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        # A Ctrl-C reaches the process even when the test runner ignores SIGINT.
        preexec_fn=lambda: signal.signal(signal.SIGINT, signal.SIG_DFL),
    )
    try:
        state_file = out / ".gcx-export.json"
        deadline = time.monotonic() + 300
        while time.monotonic() < deadline and proc.poll() is None:
            if state_file.exists() and json.loads(state_file.read_text() or "{}").get("phases", {}).get(
                "contacts", {}
            ).get("written"):
                break
            time.sleep(0.2)
        proc.send_signal(signal.SIGINT)
        stdout, stderr = proc.communicate(timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.communicate()
    assert proc.returncode == 130, stderr
    assert stderr.strip().splitlines()[-1].startswith("error: interrupted: the export stopped cleanly")
    assert CANARY_SECRET not in stdout + stderr and "Traceback" not in stderr
    written = json.loads(state_file.read_text())["phases"]["contacts"]["written"]
    assert 0 < written < 300

    resumed = gcx("-o", "json", "export", "--out", str(out), "--page-size", "10")
    assert resumed.code == 0, resumed.stderr
    assert f"{written} contacts already written" in resumed.stderr
    ids = [json.loads(line)["id"] for line in (out / "contacts.jsonl").read_text().splitlines()]
    assert len(ids) == 300 and len(set(ids)) == 300
