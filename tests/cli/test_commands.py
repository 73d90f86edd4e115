"""Every command against the emulator over loopback, run in-process (typer CliRunner).

Fast (no interpreter start per run), so the wide matrix of commands, formats and bad input runs
here; ``test_e2e.py`` runs the real entry point as a subprocess. The ``gcx`` fixture asserts on every run that the client secret never
appears in the output and that no traceback is printed without ``--verbose``.
"""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import httpx

from gcx import Client
from gcx.cli.main import app
from gcx.emulator import Emulator
from tests.cli.conftest import InProcessGcx as Gcx
from tests.cli.conftest import counts
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET


def _org(client: Client, name: str = "Acme", **fields: object) -> str:
    org = client.organizations.create({"name": name, **fields})
    assert org.id
    return org.id


def _contact(client: Client, org_id: str | None = None, **fields: object) -> str:
    body: dict[str, object] = {
        "firstName": "Ada",
        "lastName": "Lovelace",
        "workEmail": "ada@example.com",
        **fields,
    }
    if org_id:
        body["externalOrganization"] = {"id": org_id}
    contact = client.contacts.create(body)
    assert contact.id
    return contact.id


# --------------------------------------------------------------------------- auth and config


def test_auth_check_names_org_and_region_and_masks_the_secret(gcx: Gcx, base_url: str) -> None:
    run = gcx("-o", "json", "auth", "check")
    assert run.code == 0, run.stderr
    data = run.json()
    assert data["status"] == "ok"
    assert data["organization"] and data["organization_id"]
    assert data["region"] == base_url
    assert data["client_secret"] == "****" + CANARY_SECRET[-4:]


def test_verbose_request_log_is_redacted(gcx: Gcx) -> None:
    run = gcx("--verbose", "-o", "json", "auth", "check")
    assert run.code == 0
    assert "/oauth/token" in run.stderr and "/api/v2/organizations/me" in run.stderr
    assert "Bearer " not in run.stderr.replace("Bearer ***", "")


def test_wrong_secret_is_one_clean_line_without_the_secret(gcx: Gcx) -> None:
    for args in (("auth", "check"), ("--verbose", "auth", "check")):
        run = gcx(*args, env={"GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET + "-wrong"})
        assert run.code == 1
        assert run.stdout == ""
        last = run.stderr.strip().splitlines()[-1]
        assert last.startswith("error: ") and "401" in last, run.stderr
        assert (CANARY_SECRET + "-wrong") not in run.stderr


def test_missing_credentials(gcx: Gcx) -> None:
    run = gcx("contacts", "list", env={"GENESYSCLOUD_OAUTHCLIENT_SECRET": None})
    assert run.code == 2  # how gcx was called: a usage error
    assert run.stderr.strip() == (
        "error: missing credentials: client secret (GENESYSCLOUD_OAUTHCLIENT_SECRET); set them in the "
        "environment, a profile, or give GENESYSCLOUD_ACCESS_TOKEN"
    )


def test_wrong_region(gcx: Gcx, base_url: str) -> None:
    run = gcx("--region", "eu-north-7", "orgs", "list")
    assert run.code == 2 and run.stderr.startswith("error: unknown region 'eu-north-7'")
    # A base URL where no Genesys Cloud API lives: the token request fails cleanly.
    run = gcx("--region", base_url + "/not-genesys", "--retries", "0", "orgs", "list")
    assert run.code == 1
    assert run.stderr.startswith("error: ") and len(run.stderr.strip().splitlines()) == 1, run.stderr


def test_config_profiles_end_to_end(gcx: Gcx, base_url: str, tmp_path: Path) -> None:
    cfg = str(tmp_path / "gcx.toml")
    env = {
        "GCX_CONFIG": cfg,
        "GENESYSCLOUD_REGION": None,
        "GENESYSCLOUD_OAUTHCLIENT_ID": None,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": None,
    }
    run = gcx(
        "config", "add", "emu", "--region", base_url, "--client-id", "gcx-test-client", "--client-secret-stdin",
        input=CANARY_SECRET + "\n", env=env,
    )  # fmt: skip
    assert run.code == 0, run.stderr
    assert (tmp_path / "gcx.toml").stat().st_mode & 0o777 == 0o600
    run = gcx("-o", "json", "config", "show", env=env)
    assert run.json()["client_secret"] == "****" + CANARY_SECRET[-4:]
    # The profile alone is enough to talk to the API.
    run = gcx("-o", "json", "auth", "check", env=env)
    assert run.code == 0 and run.json()["profile"] == "emu"
    run = gcx("-o", "csv", "config", "list", env=env)
    assert [row["name"] for row in csv.DictReader(io.StringIO(run.stdout))] == ["emu"]
    assert gcx("config", "use", "emu", env=env).code == 0
    assert gcx("config", "remove", "emu", "--yes", env=env).code == 0


# --------------------------------------------------------------------------- organizations


def test_orgs_create_get_list_search_update_patch(gcx: Gcx, emu: Emulator, client: Client) -> None:
    run = gcx("-o", "json", "orgs", "create", "--name", "Acme", "--industry", "Retail", "--city", "Paris",
              "--tag", "vip", "--website", "https://acme.example")  # fmt: skip
    assert run.code == 0, run.stderr
    org = run.json()
    assert org["name"] == "Acme" and org["address"]["city"] == "Paris" and org["tags"] == ["vip"]
    assert run.stderr.startswith(f"created organization {org['id']}")

    assert gcx("-o", "jsonl", "orgs", "get", org["id"]).jsonl()[0]["industry"] == "Retail"

    table = gcx("orgs", "list")
    assert table.code == 0 and "Acme" in table.stdout and "Paris" in table.stdout
    assert table.stderr.strip() == "1 organization"

    found = gcx("-o", "jsonl", "orgs", "search", "acme").jsonl()
    assert [o["id"] for o in found] == [org["id"]]

    run = gcx("-o", "json", "orgs", "update", org["id"], "--industry", "Banking", "--unset", "address.city")
    assert run.code == 0, run.stderr
    updated = run.json()
    assert (updated["industry"] == "Banking" and "address" not in updated) or "city" not in updated.get(
        "address", {}
    )
    assert updated["tags"] == ["vip"] and updated["websites"] == ["https://acme.example"]  # kept

    run = gcx(
        "-o",
        "json",
        "orgs",
        "patch",
        org["id"],
        "--set",
        "companyType=Customer",
        "--set",
        "employeeCount:=42",
    )
    assert run.code == 0, run.stderr
    assert run.json()["companyType"] == "Customer" and run.json()["employeeCount"] == 42
    assert client.organizations.get(org["id"]).industry == "Banking"


def test_orgs_identifiers_and_lookup(gcx: Gcx, emu: Emulator, client: Client) -> None:
    org_id = _org(client)
    run = gcx("orgs", "identifiers", "claim", org_id, "--value", "crm-1")
    assert run.code == 0, run.stderr
    listed = gcx("-o", "jsonl", "orgs", "identifiers", "list", org_id).jsonl()
    assert {"type": "ExternalId", "value": "crm-1"}.items() <= listed[0].items()
    assert gcx("-o", "json", "orgs", "lookup", "--external-id", "crm-1").json()["id"] == org_id
    assert gcx("orgs", "identifiers", "release", org_id, "--value", "crm-1").code == 0
    run = gcx("orgs", "lookup", "--external-id", "crm-1")
    assert run.code == 1 and "no organization holds the ExternalId identifier 'crm-1'" in run.stderr


def test_orgs_delete_refuses_with_contacts_then_deletes_them(gcx: Gcx, emu: Emulator, client: Client) -> None:
    org_id = _org(client)
    for n in range(3):
        _contact(client, org_id, firstName=f"C{n}")
    other = _contact(client, None, firstName="Unrelated")

    run = gcx("orgs", "delete", org_id, "--yes")
    assert run.code == 1
    assert "has 3 contacts" in run.stderr and "--with-contacts" in run.stderr
    assert counts(emu) == (1, 4)

    run = gcx("orgs", "delete", org_id, "--with-contacts")  # stdin is not a terminal, no --yes
    assert run.code == 1 and "pass --yes" in run.stderr
    assert counts(emu) == (1, 4)

    run = gcx("orgs", "delete", org_id, "--with-contacts", "--yes")
    assert run.code == 0, run.stderr
    assert "deleted 3 of 3 contacts" in run.stderr
    assert counts(emu) == (0, 1)
    assert client.contacts.get(other).firstName == "Unrelated"


# --------------------------------------------------------------------------- contacts


def test_contacts_create_get_update_replace_patch_delete(gcx: Gcx, emu: Emulator, client: Client) -> None:
    org_id = _org(client)
    run = gcx("-o", "json", "contacts", "create", "--first-name", "Grace", "--last-name", "Hopper",
              "--work-email", "grace@example.com", "--cell-phone", "+1 202 555 0143", "--org", org_id)  # fmt: skip
    assert run.code == 0, run.stderr
    contact = run.json()
    cid = contact["id"]
    assert contact["cellPhone"]["e164"] == "+12025550143"
    assert contact["externalOrganization"]["id"] == org_id

    run = gcx("-o", "json", "contacts", "update", cid, "--title", "Rear Admiral")
    assert run.code == 0, run.stderr
    after = run.json()
    assert after["title"] == "Rear Admiral"
    assert after["cellPhone"]["e164"] == "+12025550143" and after["workEmail"] == "grace@example.com"

    run = gcx("-o", "json", "contacts", "patch", cid, "--set", "address.city=Arlington")
    assert run.code == 0 and run.json()["address"]["city"] == "Arlington"

    replacement = json.dumps({"firstName": "Grace", "lastName": "Hopper"})
    run = gcx("-o", "json", "contacts", "update", cid, "--replace", "--file", "-", input=replacement)
    assert run.code == 1 and "pass --yes" in run.stderr  # no terminal: refuses
    assert client.contacts.get(cid).title == "Rear Admiral"
    run = gcx("-o", "json", "contacts", "update", cid, "--replace", "--yes", "--file", "-", input=replacement)
    assert run.code == 0, run.stderr
    replaced = run.json()
    assert replaced["id"] == cid and "title" not in replaced and "workEmail" not in replaced

    run = gcx("contacts", "delete", cid, "--yes")
    assert run.code == 0 and "deleted contact" in run.stderr
    assert counts(emu) == (1, 0)


def test_contacts_move_keeps_id_and_data(gcx: Gcx, emu: Emulator, client: Client) -> None:
    first, second = _org(client, "First"), _org(client, "Second")
    cid = _contact(client, first, title="Engineer", address={"city": "Paris"})
    before = client.contacts.get(cid).to_api()
    run = gcx("-o", "json", "contacts", "move", cid, "--to", second)
    assert run.code == 0, run.stderr
    moved = run.json()
    assert moved["id"] == cid and moved["externalOrganization"]["id"] == second
    for key in ("firstName", "lastName", "workEmail", "title", "address", "createDate"):
        assert moved[key] == before[key]
    assert counts(emu) == (2, 1)


def test_contacts_lookup_and_identifiers(gcx: Gcx, emu: Emulator, client: Client) -> None:
    cid = _contact(client)
    assert (
        gcx("contacts", "identifiers", "claim", cid, "--type", "email", "--value", "Ada@Example.com").code
        == 0
    )
    run = gcx("contacts", "identifiers", "claim", cid, "--type", "Phone", "--value", "01 23 45 67 89",
              "--country", "FR")  # fmt: skip
    assert run.code == 0, run.stderr
    assert gcx("contacts", "identifiers", "claim", cid, "--type", "ExternalId", "--value", "crm-9").code == 0
    listed = {
        (i["type"], i["value"]) for i in gcx("-o", "jsonl", "contacts", "identifiers", "list", cid).jsonl()
    }
    # the emulator keeps emails case-folded (issue 10: "emails case-folded")
    assert {("Email", "ada@example.com"), ("Phone", "+33123456789"), ("ExternalId", "crm-9")} <= listed

    assert gcx("-o", "json", "contacts", "lookup", "--phone", "+33 1 23 45 67 89").json()["id"] == cid
    assert gcx("-o", "json", "contacts", "lookup", "--external-id", "crm-9").json()["id"] == cid
    assert gcx("-o", "json", "contacts", "lookup", "--email", "Ada@example.com").json()["id"] == cid

    assert (
        gcx("contacts", "identifiers", "release", cid, "--type", "ExternalId", "--value", "crm-9").code == 0
    )
    run = gcx("contacts", "lookup", "--external-id", "crm-9")
    assert run.code == 1 and "no contact holds" in run.stderr


def test_get_shows_the_identifiers(gcx: Gcx, emu: Emulator, client: Client) -> None:
    """Genesys shows a record's identifiers only with expand=identifiers (docs/emulator.md):
    ``get`` asks for them, so they are shown again, in every format."""
    cid = _contact(client, None, workEmail="Ada@Example.com")
    assert gcx("contacts", "identifiers", "claim", cid, "--type", "ExternalId", "--value", "crm-7").code == 0
    org_id = _org(client)
    assert gcx("orgs", "identifiers", "claim", org_id, "--value", "org-7").code == 0
    one = gcx("-o", "json", "contacts", "get", cid).json()
    assert {(i["type"], i["value"]) for i in one["identifiers"]} >= {
        ("Email", "ada@example.com"),
        ("ExternalId", "crm-7"),
    }
    several = gcx("-o", "jsonl", "contacts", "get", cid, cid).jsonl()
    assert all(
        ("ExternalId", "crm-7") in {(i["type"], i["value"]) for i in r["identifiers"]} for r in several
    )
    table = gcx("contacts", "get", cid)
    assert table.code == 0 and "crm-7" in table.stdout
    org = gcx("-o", "json", "orgs", "get", org_id).json()
    assert ("ExternalId", "org-7") in {(i["type"], i["value"]) for i in org["identifiers"]}


def test_contacts_list_every_format_and_search(gcx: Gcx, emu: Emulator, client: Client) -> None:
    org_id = _org(client)
    ids = {_contact(client, org_id, firstName=f"Person{n}", workEmail=f"p{n}@example.com") for n in range(3)}
    _contact(client, None, firstName="Loner")

    assert {r["id"] for r in gcx("-o", "jsonl", "contacts", "list", "--org", org_id).jsonl()} == ids
    as_json = gcx("-o", "json", "contacts", "list")
    assert len(as_json.json()) == 4
    as_csv = gcx("-o", "csv", "contacts", "list")
    rows = list(csv.DictReader(io.StringIO(as_csv.stdout)))
    assert len(rows) == 4 and {r["externalOrganization.id"] for r in rows} == {org_id, ""}
    table = gcx("contacts", "list", "--limit", "2")
    assert table.code == 0 and table.stderr.strip() == "2 contacts"
    assert gcx("-o", "jsonl", "contacts", "search", "Loner").jsonl()[0]["firstName"] == "Loner"


def test_contacts_create_from_jsonl_partial_failure_exits_3(
    gcx: Gcx, emu: Emulator, client: Client, tmp_path: Path
) -> None:
    # A body's identifiers claim nothing (documented; bulk answers never show identifiers): line 1
    # is created and its answer still found; line 3 names an organization that does not exist.
    lines = [
        {"firstName": "A", "identifiers": [{"type": "ExternalId", "value": "dup-1"}]},
        {"firstName": "B"},
        {"firstName": "C", "externalOrganization": {"id": "00000000-0000-0000-0000-0000000000c3"}},
    ]
    path = tmp_path / "people.jsonl"
    path.write_text("".join(json.dumps(line) + "\n" for line in lines))
    run = gcx("-o", "jsonl", "contacts", "create", "--file", str(path))
    assert run.code == 3, run.stderr
    assert [r["firstName"] for r in run.jsonl()] == ["A", "B"]
    assert (
        "people.jsonl line 3" in run.stderr and "400" in run.stderr and "externalOrganization" in run.stderr
    )
    assert counts(emu) == (0, 2)


# --------------------------------------------------------------------------- bad input changes nothing


def test_bad_input_is_a_clear_message_and_changes_nothing(
    gcx: Gcx, emu: Emulator, client: Client, tmp_path: Path
) -> None:
    cid = _contact(client)
    before = emu.backend.dump()

    run = gcx("contacts", "get", "no-such-id")
    assert run.code == 1
    assert run.stderr.startswith("error: 404 ") and "correlation id" in run.stderr

    run = gcx("contacts", "create", "--first-name", "Bad", "--work-email", "not-an-email")
    # a bad option value is a usage error (2); the same value in a --file is a data error (1)
    assert run.code == 2 and "workEmail" in run.stderr and "'not-an-email' is not a valid email" in run.stderr

    bad = tmp_path / "bad.jsonl"
    bad.write_text('{"firstName": "Ok"}\n{"firstName": "Broken",\n')
    run = gcx("contacts", "create", "--file", str(bad))
    assert run.code == 1 and "bad.jsonl line 2: invalid JSON" in run.stderr

    run = gcx("contacts", "update", cid, "--personal-email", "ada@@example")
    assert run.code == 1 and "personalEmail" in run.stderr

    run = gcx("contacts", "delete", cid, "no-such-id", "--yes")
    assert run.code == 1 and "404" in run.stderr

    run = gcx("contacts", "move", cid, "--to", "no-such-org")
    assert run.code == 1 and "404" in run.stderr

    assert gcx("contacts", "create", "--bogus-option", "x").code == 2
    assert emu.backend.dump() == before


def test_dry_run_sends_nothing(gcx: Gcx, emu: Emulator, client: Client) -> None:
    org_id = _org(client)
    cid = _contact(client, org_id)
    before = emu.backend.dump()
    run = gcx("-o", "json", "contacts", "create", "--first-name", "New", "--dry-run")
    assert run.code == 0 and run.json() == {"firstName": "New"}
    run = gcx("-o", "json", "contacts", "update", cid, "--title", "Boss", "--dry-run")
    assert run.json()["changes"] == {"title": {"from": None, "to": "Boss"}}
    assert gcx("contacts", "delete", cid, "--dry-run").code == 0
    assert gcx("orgs", "delete", org_id, "--with-contacts", "--dry-run").code == 0
    assert emu.backend.dump() == before


# --------------------------------------------------------------------------- export


def test_export_jsonl_and_csv(gcx: Gcx, emu: Emulator, client: Client, tmp_path: Path) -> None:
    org_id = _org(client)
    for n in range(25):
        _contact(client, org_id, firstName=f"P{n}")
    out = tmp_path / "backup"
    run = gcx("-o", "json", "export", "--out", str(out), "--page-size", "10")
    assert run.code == 0, run.stderr
    assert run.json()["contacts"] == 25 and run.json()["organizations"] == 1
    assert "\r" not in run.stderr  # no progress bar off a terminal
    lines = (out / "contacts.jsonl").read_text().splitlines()
    assert len({json.loads(line)["id"] for line in lines}) == 25

    again = gcx("export", "--out", str(out))
    assert again.code == 0 and "already complete" in again.stderr

    run = gcx("-q", "export", "--out", str(tmp_path / "csv"), "--format", "csv")
    assert run.code == 0, run.stderr
    rows = list(csv.DictReader(io.StringIO((tmp_path / "csv" / "contacts.csv").read_text())))
    assert len(rows) == 25 and rows[0]["externalOrganization.id"] == org_id


def test_contradictory_options_are_usage_errors(gcx: Gcx, emu: Emulator, client: Client) -> None:
    cid = _contact(client)
    before = emu.backend.dump()
    for args, text in (
        (
            ["contacts", "lookup", "--email", "a@example.com", "--phone", "+33123456789"],
            "give exactly one of",
        ),
        (["contacts", "lookup", "--type", "Cookie"], "--type and --value go together"),
        (["contacts", "update", cid], "nothing to update"),
        (["contacts", "create"], "nothing to create"),
        (["contacts", "patch", cid], "nothing to patch"),
        (["contacts", "update", cid, "--replace", "--unset", "title", "--yes"], "--unset has no meaning"),
        (["orgs", "update", "--industry", "x"], "which organization?"),
    ):
        run = gcx(*args)
        assert run.code == 2, (args, run.stderr)
        assert run.stderr.startswith("error: ") and text in run.stderr, (args, run.stderr)
    assert emu.backend.dump() == before


class LockedContact(httpx.AsyncBaseTransport):
    """The emulator, except that bulk removal refuses one contact (as a locked record would)."""

    def __init__(self, emu: Emulator, locked: str) -> None:
        self.inner = emu.transport()
        self.locked = locked

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.method == "POST" and request.url.path.endswith("/bulk/contacts/remove"):
            body = json.loads(request.content)
            kept = [e for e in body["entities"] if e["id"] != self.locked]
            refused = len(kept) != len(body["entities"])
            if not kept:
                results: list[dict[str, object]] = []
            else:
                forwarded = httpx.Request(
                    request.method, request.url, headers=request.headers, json={"entities": kept}
                )
                answer = await self.inner.handle_async_request(forwarded)
                await answer.aread()
                results = answer.json()["results"]
            if refused:
                error = {
                    "code": "locked",
                    "message": "the contact is locked",
                    "status": 403,
                    "retryable": False,
                }
                results.append({"id": self.locked, "success": False, "error": error, "status": 403})
            failed = [i for i, r in enumerate(results) if not r["success"]]
            return httpx.Response(
                200, json={"results": results, "errorCount": len(failed), "errorIndexes": failed}
            )
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def test_orgs_delete_with_contacts_partial_failure_keeps_the_org(
    gcx: Gcx, emu: Emulator, client: Client
) -> None:
    org_id = _org(client)
    ids = [_contact(client, org_id, firstName=f"C{n}") for n in range(3)]
    result = gcx.runner.invoke(
        app,
        ["orgs", "delete", org_id, "--with-contacts", "--yes"],
        env=gcx.env,
        obj={"transport": LockedContact(emu, ids[1])},
        catch_exceptions=False,
    )
    assert result.exit_code == 3, result.stderr
    assert f"contact {ids[1]}: 403 locked: the contact is locked" in result.stderr
    assert "1 of 3 contacts could not be deleted" in result.stderr and "was kept" in result.stderr
    stored = emu.backend.dump()
    assert [o["id"] for o in stored["organizations"]] == [org_id]
    assert [c["id"] for c in stored["contacts"]] == [ids[1]]


def test_update_many_from_a_file_reports_each_failure(
    gcx: Gcx, emu: Emulator, client: Client, tmp_path: Path
) -> None:
    first, second = _contact(client, firstName="One"), _contact(client, firstName="Two")
    path = tmp_path / "changes.jsonl"
    path.write_text(
        "".join(
            json.dumps(line) + "\n"
            for line in (
                {"id": first, "title": "Lead", "address": {"city": "Oslo"}},
                {"id": "missing-contact", "title": "Ghost"},
                {"id": second, "title": "Chief"},
            )
        )
    )
    run = gcx("-o", "jsonl", "contacts", "update", "--file", str(path))
    assert run.code == 3, run.stderr
    assert [c["title"] for c in run.jsonl()] == ["Lead", "Chief"]
    assert "changes.jsonl line 2 (contact missing-contact): 404" in run.stderr
    one = client.contacts.get(first)
    assert one.firstName == "One" and one.workEmail == "ada@example.com" and one.address.city == "Oslo"

    empty = tmp_path / "empty.json"
    empty.write_text("[]")
    run = gcx("contacts", "create", "--file", str(empty))
    assert run.code == 2 and "the file holds no contacts" in run.stderr


def test_auth_check_with_an_access_token_only(gcx: Gcx, base_url: str) -> None:
    with httpx.Client(base_url=base_url) as http:
        answer = http.post(
            "/oauth/token",
            data={"grant_type": "client_credentials"},
            auth=(CANARY_CLIENT_ID, CANARY_SECRET),
        )
    token = answer.json()["access_token"]
    env = {
        "GENESYSCLOUD_OAUTHCLIENT_ID": None,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": None,
        "GENESYSCLOUD_ACCESS_TOKEN": token,
    }
    run = gcx("-o", "json", "auth", "check", env=env)
    assert run.code == 0, run.stderr
    assert run.json()["auth"] == "access token"
    assert token not in run.stdout + run.stderr
    shown = gcx("-o", "json", "config", "show", env=env)
    assert shown.json()["access_token"].startswith("****") and token not in shown.stdout
