"""``gcx emulator`` as a user runs it: a subprocess serving on loopback."""

from __future__ import annotations

import json
import os
import socket
import subprocess
import sys
from collections.abc import Iterator
from contextlib import contextmanager
from pathlib import Path

import httpx
import pytest
from typer.testing import CliRunner

from gcx.cli.main import app
from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET
from tests.emulator.conftest import API

LAUNCH = "from gcx.cli.main import main; main()"


@contextmanager
def running(*args: str, env: dict[str, str] | None = None) -> Iterator[tuple[str, subprocess.Popen[str]]]:
    proc = subprocess.Popen(
        [sys.executable, "-c", LAUNCH, "emulator", "--port", "0", *args],
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        env={**os.environ, **(env or {})},
    )
    try:
        assert proc.stdout is not None
        url = proc.stdout.readline().strip()
        if not url.startswith("http://127.0.0.1:"):
            proc.terminate()
            out, err = proc.communicate(timeout=30)
            raise AssertionError(f"no base URL on stdout: {url!r} {out!r} stderr={err!r}")
        yield url, proc
    finally:
        proc.terminate()
        try:
            proc.communicate(timeout=20)
        except subprocess.TimeoutExpired:  # pragma: no cover - a hung server fails the test
            proc.kill()
            proc.communicate()
            raise


def token(client: httpx.Client, cid: str = "any", secret: str = "thing") -> httpx.Response:
    return client.post("/oauth/token", auth=(cid, secret), data={"grant_type": "client_credentials"})


def test_cli_serves_with_flags() -> None:
    args = ("--rate-limit", "2", "--max-bulk-size", "3", "--org-delete", "cascade", "--seed", "7")
    with running(*args) as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        t = token(client)
        assert t.status_code == 200
        headers = {"Authorization": f"Bearer {t.json()['access_token']}"}
        r = client.post(
            f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "x"}] * 4}, headers=headers
        )
        assert r.status_code == 413
        assert client.get(f"{API}/contacts", headers=headers).status_code == 200
        limited = client.get(f"{API}/contacts", headers=headers)
        assert limited.status_code == 429 and int(limited.headers["Retry-After"]) >= 1
        settings = client.get("/_emulator/settings").json()
        assert settings["org_delete_with_contacts"] == "cascade" and settings["seed"] == 7


def test_cli_credentials_from_env_and_state_file(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings())
    emu.backend.create("organizations", {"name": "Loaded Org"})
    state = tmp_path / "state.json"
    state.write_text(json.dumps(emu.dump()), encoding="utf-8")
    env = {
        "GCX_EMULATOR_CREDENTIALS": f"{CANARY_CLIENT_ID}:{CANARY_SECRET}",
        "GCX_EMULATOR_ADMIN_SECRET": "admin-canary-7",
    }
    args = ("--state", str(state), "--duplicate-external-ids", "--credentials", "other:pair-secret")
    admin = {"X-Gcx-Admin-Secret": "admin-canary-7"}
    with running(*args, env=env) as (url, proc), httpx.Client(base_url=url, timeout=30) as client:
        assert token(client).status_code == 401
        assert token(client, "other", "pair-secret").status_code == 200
        t = token(client, CANARY_CLIENT_ID, CANARY_SECRET)
        headers = {"Authorization": f"Bearer {t.json()['access_token']}"}
        orgs = client.get(f"{API}/organizations", headers=headers).json()
        assert [o["name"] for o in orgs["entities"]] == ["Loaded Org"]
        assert client.get("/_emulator/settings").status_code == 401  # credentials: admin needs the secret
        assert client.get("/_emulator/settings", headers=admin).json()["unique_external_ids"] is False
    _, err = proc.communicate()
    assert "loaded 1 organizations" in err
    assert "visible to other users" in err  # the warning about secrets on the command line
    assert CANARY_SECRET not in err and "pair-secret" not in err and "admin-canary-7" not in err


def test_cli_with_credentials_and_no_admin_secret_locks_admin() -> None:
    """Issue 11 item 7: with --credentials the admin endpoints could switch the checks off."""
    env = {"GCX_EMULATOR_CREDENTIALS": f"{CANARY_CLIENT_ID}:{CANARY_SECRET}", "GCX_EMULATOR_ADMIN_SECRET": ""}
    with running(env=env) as (url, proc), httpx.Client(base_url=url, timeout=30) as client:
        r = client.patch("/_emulator/settings", json={"credentials": []})
        assert r.status_code == 401 and r.json()["code"] == "admin.secret.required"
        assert token(client).status_code == 401  # the credential check is still on
    _, err = proc.communicate()
    assert "admin endpoints (/_emulator/*) are locked" in err


@pytest.mark.parametrize(
    ("args", "needle"),
    [
        (["--org-delete", "explode"], "--org-delete"),
        (["--drop-mode", "sometimes"], "--drop-mode"),
        (["--identity", "lenient"], "--identity"),
        (["--fault-rate", "2"], "--fault-rate"),
        (["--credentials", "no-colon"], "CLIENT_ID:SECRET"),
        (["--state", "/nonexistent/state.json"], "--state"),
    ],
)
def test_cli_bad_flags_exit_2(args: list[str], needle: str) -> None:
    result = CliRunner().invoke(app, ["emulator", "--port", "0", *args])
    assert result.exit_code == 2, result.output
    assert needle in result.output
    assert result.exception is None or isinstance(result.exception, SystemExit)


def test_cli_bad_state_file_content(tmp_path: Path) -> None:
    bad_json = tmp_path / "bad.json"
    bad_json.write_text("{nope", encoding="utf-8")
    bad_state = tmp_path / "state.json"
    bad_state.write_text(json.dumps({"version": 1, "contacts": [{"id": 3}]}), encoding="utf-8")
    for path, needle in ((bad_json, "not JSON"), (bad_state, "contacts[0].id")):
        result = CliRunner().invoke(app, ["emulator", "--port", "0", "--state", str(path)])
        # Compare unwrapped text: the error panel may fold a long temporary path on any width.
        text = " ".join(result.output.replace("│", " ").split())
        assert result.exit_code == 2 and needle in text, result.output


def test_cli_port_in_use_is_a_clean_error() -> None:
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = CliRunner().invoke(app, ["emulator", "--port", str(port)])
    assert result.exit_code == 1 and "cannot listen" in result.output


def test_cli_identity_kind_shows_identifiers_in_scans() -> None:
    with running("--identity", "kind") as (url, _), httpx.Client(base_url=url, timeout=30) as client:
        t = token(client)
        headers = {"Authorization": f"Bearer {t.json()['access_token']}"}
        client.post(
            f"{API}/contacts",
            json={"firstName": "A", "identifiers": [{"type": "Cookie", "value": "c"}]},
            headers=headers,
        )
        scanned = client.get(f"{API}/scan/contacts", headers=headers).json()["entities"]
        assert scanned[0]["identifiers"][0]["value"] == "c"
        settings = client.get("/_emulator/settings").json()
        assert settings["claim_body_identifiers"] is True and settings["identifiers_in_all_reads"] is True
