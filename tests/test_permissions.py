"""Permissions: every operation of the contract names the permission it needs; the emulator
grants per client and can refuse everything as an unlicensed org; 403s name the permission;
``gcx auth check`` probes without leaving anything behind; a sync checks before it writes."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gcx import Client, permissions
from gcx.access import PROBES, everything_refused, probe_access, verdict
from gcx.cli.emulator_cmd import parse_credentials
from gcx.cli.main import app
from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import ForbiddenError
from tests.conftest import ROOT

SPEC = json.loads((ROOT / "src/gcx/spec/externalcontacts.openapi.json").read_text())
READER = ("reader", "reader-secret-1234")
VIEW_ONLY = (permissions.CONTACT_VIEW, permissions.ORG_VIEW)


def test_every_operation_of_the_contract_has_its_permission() -> None:
    for path, item in SPEC["paths"].items():
        for method in ("get", "post", "put", "patch", "delete"):
            if method in item and path.startswith(permissions.API_PREFIX):
                concrete = path.replace("{", "x-").replace("}", "")
                needed = permissions.required(method, concrete)
                assert needed and needed[0].startswith("externalContacts:"), (method, path)
    assert permissions.required("POST", "/api/v2/externalcontacts/contacts/search") == (
        permissions.CONTACT_VIEW,
        "relate:contact:view",
    )
    assert permissions.required("DELETE", "/api/v2/externalcontacts/contacts/abc") == (
        permissions.CONTACT_DELETE,
        "relate:contact:delete",
    )
    assert permissions.required("GET", "/api/v2/organizations/me") == ()


def test_wildcards_grant_as_in_genesys_roles() -> None:
    assert permissions.granted(["externalContacts:contact:*"], (permissions.CONTACT_ADD,))
    assert permissions.granted(["externalContacts:*"], (permissions.ORG_DELETE,))
    assert permissions.granted(["*"], (permissions.ORG_DELETE,))
    assert not permissions.granted([permissions.CONTACT_VIEW], (permissions.CONTACT_ADD,))
    assert verdict(403) == "missing" and verdict(400) == "granted" and verdict(404) == "granted"
    assert verdict(503) == "unknown" and verdict(None) == "unknown"


def test_credentials_with_permissions_parse() -> None:
    assert parse_credentials(["a:s3cret", "b:x:y:externalContacts:contact:view,externalContacts:*"], "t") == [
        ("a", "s3cret", None),
        ("b", "x:y", ("externalContacts:contact:view", "externalContacts:*")),
    ]
    assert parse_credentials(["c:s:none"], "t") == [("c", "s", ())]


def _emulator(**settings: Any) -> Emulator:
    return Emulator(
        EmulatorSettings(
            rate_limit=0,
            credentials=(READER, ("writer", "writer-secret-1234")),
            client_permissions=((READER[0], VIEW_ONLY),),
            **settings,
        )
    )


def _client(emu: Emulator, who: tuple[str, str] = READER) -> Client:
    return Client(
        region="http://emu.test",
        client_id=who[0],
        client_secret=who[1],
        transport=emu.transport(),
        rate_limit=0,
    )


def test_a_403_names_the_permission_the_operation_needs() -> None:
    emu = _emulator()
    with _client(emu) as gc:
        assert list(gc.contacts.scan()) == []  # view is granted
        with pytest.raises(ForbiddenError) as info:
            gc.contacts.create({"firstName": "Ada"})
    err = info.value
    assert err.code == "missing.any.permissions"
    assert err.required_permissions[0] == permissions.CONTACT_ADD
    assert "needs the permission externalContacts:contact:add" in str(err)
    assert "licence" in str(err)
    with _client(emu, ("writer", "writer-secret-1234")) as gc:  # a client not listed holds everything
        assert gc.contacts.create({"firstName": "Ada"}).id


def test_an_unlicensed_org_refuses_every_call() -> None:
    emu = _emulator(licensed=False)
    with _client(emu, ("writer", "writer-secret-1234")) as gc:
        assert gc.me().id  # tokens and /organizations/me still work
        with pytest.raises(ForbiddenError):
            list(gc.organizations.scan())


async def test_probes_change_nothing_whatever_the_role() -> None:
    from gcx import AsyncClient

    for who in (READER, ("writer", "writer-secret-1234")):
        emu = _emulator()
        async with AsyncClient(
            region="http://emu.test",
            client_id=who[0],
            client_secret=who[1],
            transport=emu.transport(),
            rate_limit=0,
        ) as gc:
            results = await probe_access(gc)
        state = emu.backend.dump()
        assert not state["contacts"] and not state["organizations"]
        assert not state.get("external_sources", state.get("externalSources"))
        verdicts = {r.permission: r.verdict for r in results}
        assert len(verdicts) == len(PROBES)
        if who == READER:
            assert verdicts[permissions.CONTACT_VIEW] == "granted"
            assert verdicts[permissions.CONTACT_ADD] == "missing"
            assert verdicts[permissions.ORG_DELETE] == "missing"
            assert not everything_refused(results)
        else:
            assert set(verdicts.values()) == {"granted"}


def _gcx(emu: Emulator, who: tuple[str, str], *args: str, tmp: Path | None = None) -> Result:
    env = {
        "GENESYSCLOUD_REGION": "http://emu.test",
        "GENESYSCLOUD_OAUTHCLIENT_ID": who[0],
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": who[1],
        "GCX_CONFIG": os.environ["GCX_CONFIG"],
        "COLUMNS": "200",
    }
    obj = {"transport": emu.transport(), "env": env, "client_options": {"rate_limit": 0}}
    return CliRunner().invoke(app, list(args), env=env, obj=obj, catch_exceptions=False)


def test_auth_check_lists_what_is_missing() -> None:
    emu = _emulator()
    ok = _gcx(emu, ("writer", "writer-secret-1234"), "auth", "check", "-o", "json")
    assert ok.exit_code == 0, ok.output
    assert json.loads(ok.stdout)["missing"] == []
    reader = _gcx(emu, READER, "auth", "check", "-o", "json")
    assert reader.exit_code == 1
    data = json.loads(reader.stdout)
    assert data["permissions"][permissions.CONTACT_VIEW] == "granted"
    assert permissions.CONTACT_ADD in data["missing"] and permissions.SOURCE_ADD in data["missing"]
    assert "lacks externalContacts:contact:add" in reader.stderr
    unlicensed = _gcx(_emulator(licensed=False), ("writer", "writer-secret-1234"), "auth", "check")
    assert unlicensed.exit_code == 1
    assert "may lack the licence for External Contacts" in unlicensed.stderr
    assert not emu.backend.dump()["contacts"]


def test_cli_403_names_the_permission() -> None:
    run = _gcx(_emulator(), READER, "orgs", "create", "--name", "Acme")
    assert run.exit_code == 1
    assert "needs the permission externalContacts:externalOrganization:add" in run.stderr


def test_sync_checks_its_permissions_before_any_write(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "records.jsonl"
    source.write_text(json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}) + "\n")
    role = (*permissions.RECORD_PERMISSIONS, permissions.SOURCE_VIEW)  # the usual role: no source add
    emu = Emulator(
        EmulatorSettings(rate_limit=0, credentials=(READER,), client_permissions=((READER[0], role),))
    )
    plan = _gcx(emu, READER, "sync", "plan", str(source))
    assert "apply would be refused" in plan.stderr and permissions.SOURCE_ADD in plan.stderr
    applied = _gcx(emu, READER, "sync", "apply", str(source))
    assert applied.exit_code == 1
    assert "nothing was written" in applied.stderr and permissions.SOURCE_ADD in applied.stderr
    assert not emu.backend.dump()["organizations"]


def _sync_extra(emu: Emulator, who: tuple[str, str], *args: str) -> tuple[Result, int]:
    """A ``gcx sync`` run and the requests it made outside the engine (the permission check)."""
    before = emu.backend.stats.api_calls()
    run = _gcx(emu, who, "-o", "json", *args)
    report = json.loads(run.stdout)
    return run, emu.backend.stats.api_calls() - before - int(report["requests"])


def test_requests_before_the_first_write_are_cut_to_what_is_unproven(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "records.jsonl"
    rows = [{"kind": "organization", "externalId": "o-1", "name": "Acme"}]
    rows += [
        {"kind": "contact", "externalId": f"c-{i}", "organization": "o-1", "firstName": f"F{i}"}
        for i in range(3)
    ]
    source.write_text("".join(json.dumps(r) + "\n" for r in rows))
    other = ("other", "other-secret-1234")
    emu = Emulator(
        EmulatorSettings(rate_limit=0, credentials=(READER, ("writer", "writer-secret-1234"), other))
    )
    writer = ("writer", "writer-secret-1234")
    # a plan into an empty org: its scans come before anything the apply would write (they prove
    # view); its External Source list proves externalSource:view: add and edit of both kinds and
    # externalSource:add are probed (1 list + 5 probes; it was 1 + 8)
    plan, extra = _sync_extra(emu, writer, "sync", "plan", str(source))
    assert plan.exit_code == 0, plan.output
    assert extra == 6
    # the first apply creates the External Source before its scans: view is probed (1 + 7; was 1 + 8)
    first, extra = _sync_extra(emu, writer, "sync", "apply", str(source))
    assert first.exit_code == 0, first.output
    assert extra == 8
    # a rerun with the same client minutes later: every permission was proven by this ledger's
    # last run (its writes and its probes): nothing is probed (it was 1 + 7)
    rerun, extra = _sync_extra(emu, writer, "sync", "apply", str(source))
    assert rerun.exit_code == 0, rerun.output
    assert extra == 0
    # another client on the same ledger proves its own: add and edit (the scans prove view)
    again, extra = _sync_extra(emu, other, "sync", "apply", str(source))
    assert again.exit_code == 0, again.output
    assert extra == 5


def test_a_missing_view_is_named_before_any_write_when_the_scan_is_the_probe(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.chdir(tmp_path)
    source = tmp_path / "records.jsonl"
    source.write_text(json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}) + "\n")
    role = tuple(
        p for p in (*permissions.RECORD_PERMISSIONS, permissions.SOURCE_VIEW) if p != permissions.CONTACT_VIEW
    )
    emu = Emulator(
        EmulatorSettings(
            rate_limit=0,
            credentials=(READER, ("writer", "writer-secret-1234")),
            client_permissions=((READER[0], role),),
        )
    )
    with _client(emu, ("writer", "writer-secret-1234")) as gc:
        gc.external_sources.create({"name": "gcx"})  # the source exists: the run's scans come first
    applied = _gcx(emu, READER, "sync", "apply", str(source))
    assert applied.exit_code == 1
    assert permissions.CONTACT_VIEW in applied.stderr
    assert not emu.backend.dump()["organizations"]
