"""Every output format of the reading commands, and error lines built from API answers."""

from __future__ import annotations

import csv
import io
import json
from typing import Any

import httpx
import pytest
from typer.testing import CliRunner

from gcx import Client
from gcx.cli.columns import CONTACT_CSV_COLUMNS, CONTACT_CSV_DEFAULT, ORG_CSV_COLUMNS, ORG_CSV_DEFAULT
from gcx.cli.main import app
from gcx.emulator import Emulator
from tests.cli.conftest import InProcessGcx
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET


@pytest.fixture
def seeded(client: Client) -> dict[str, Any]:
    org = client.organizations.create({"name": "Acme", "industry": "Retail", "address": {"city": "Paris"}})
    contacts = [
        client.contacts.create(
            {
                "firstName": f"P{n}",
                "lastName": "Lee",
                "workEmail": f"p{n}@example.com",
                "externalOrganization": {"id": org.id},
            }
        )
        for n in range(3)
    ]
    return {"org": org.id, "contacts": [c.id for c in contacts]}


def _parse(fmt: str, text: str) -> list[dict[str, Any]]:
    if fmt == "json":
        data = json.loads(text)
        return data if isinstance(data, list) else [data]
    if fmt == "jsonl":
        return [json.loads(line) for line in text.splitlines()]
    return list(csv.DictReader(io.StringIO(text)))


@pytest.mark.parametrize(
    "command",
    [
        ["contacts", "list"],
        ["contacts", "search", "Lee"],
        ["contacts", "get", "{c0}", "{c1}", "{c2}"],
        ["contacts", "list", "--org", "{org}"],
        ["orgs", "list"],
        ["orgs", "search", "Acme"],
        ["orgs", "get", "{org}"],
    ],
)
def test_machine_formats(gcx: InProcessGcx, seeded: dict[str, Any], command: list[str]) -> None:
    values = {"org": seeded["org"], **{f"c{n}": cid for n, cid in enumerate(seeded["contacts"])}}
    args = [part.format(**values) for part in command]
    expected = {seeded["org"]} if args[0] == "orgs" else set(seeded["contacts"])
    for fmt in ("json", "jsonl", "csv"):
        run = gcx("--output", fmt, *args)
        assert run.code == 0, run.stderr
        assert run.stderr == ""  # machine formats: data only, no counts
        rows = _parse(fmt, run.stdout)
        assert {r["id"] for r in rows} == expected
        if fmt == "csv":  # a sensible default set of columns; every column with --fields all
            assert list(rows[0]) == list(ORG_CSV_DEFAULT if args[0] == "orgs" else CONTACT_CSV_DEFAULT)
            every = _parse(fmt, gcx("--output", fmt, *args, "--fields", "all").stdout)
            assert list(every[0]) == (ORG_CSV_COLUMNS if args[0] == "orgs" else CONTACT_CSV_COLUMNS)
        if fmt == "json":
            # The command's own -o gives the same output as the global option.
            assert gcx(*args, "-o", fmt).stdout == run.stdout


def test_tables_for_people(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    run = gcx("contacts", "list")
    assert run.code == 0
    header = run.stdout.strip().splitlines()[0].split()
    assert header == ["id", "name", "email", "phone", "organization", "modified"]
    assert "P1 Lee" in run.stdout and "Acme" in run.stdout
    assert run.stderr.strip() == "3 contacts"
    one = gcx("orgs", "get", seeded["org"])
    assert "address.city" in one.stdout and "Paris" in one.stdout
    quiet = gcx("-q", "contacts", "list")
    assert quiet.stderr == "" and "P2 Lee" in quiet.stdout


def test_list_limit_and_empty_results(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    assert len(gcx("-o", "jsonl", "contacts", "list", "--limit", "2").jsonl()) == 2
    empty = gcx("-o", "json", "contacts", "search", "nobody-matches-this")
    assert empty.code == 0 and empty.json() == []
    csv_empty = gcx("-o", "csv", "contacts", "search", "nobody-matches-this")
    assert csv_empty.stdout.splitlines() == [",".join(CONTACT_CSV_DEFAULT)]


def test_get_several_with_an_unknown_id_is_partial(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    run = gcx("-o", "jsonl", "contacts", "get", seeded["contacts"][0], "missing-id")
    assert run.code == 3
    assert [r["id"] for r in run.jsonl()] == [seeded["contacts"][0]]
    assert "contact missing-id: 404" in run.stderr


# --------------------------------------------------------------------------- error lines (MockTransport)


def _mock_app(
    status: int, body: dict[str, Any], headers: dict[str, str] | None = None
) -> httpx.MockTransport:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/oauth/token"):
            return httpx.Response(
                200, json={"access_token": "tok-ABCDEFGH12345678", "token_type": "bearer", "expires_in": 3600}
            )
        return httpx.Response(status, json=body, headers=headers or {})

    return httpx.MockTransport(handler)


def _invoke(transport: httpx.MockTransport, *args: str) -> Any:
    env = {
        "GENESYSCLOUD_REGION": "https://gcx-mock.invalid",
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
    }
    return CliRunner().invoke(
        app, ["--retries", "0", *args], env=env, obj={"transport": transport}, catch_exceptions=False
    )


def test_error_line_carries_status_code_message_fields_and_correlation_id() -> None:
    body = {
        "message": "The request could not be understood",
        "code": "bad.request",
        "status": 400,
        "details": [{"errorCode": "invalid.value", "fieldName": "workEmail"}],
    }
    result = _invoke(_mock_app(400, body, {"ININ-Correlation-Id": "c0ffee"}), "contacts", "get", "abc")
    assert result.exit_code == 1
    assert result.stdout == ""
    assert result.stderr == (
        "error: 400 bad.request: The request could not be understood (fields: workEmail) [correlation id c0ffee]\n"
    )


def test_verbose_error_shows_a_redacted_traceback() -> None:
    body = {"message": "Not allowed", "code": "missing.permissions", "status": 403}
    result = _invoke(_mock_app(403, body), "--verbose", "orgs", "get", "abc")
    assert result.exit_code == 1
    assert "Traceback" in result.stderr and "ForbiddenError" in result.stderr
    last = result.stderr.strip().splitlines()[-1]
    assert last.startswith("error: 403 missing.permissions: Not allowed")
    # a 403 names the permission the operation needs (GET an organization)
    assert "needs the permission externalContacts:externalOrganization:view" in last
    assert CANARY_SECRET not in result.stderr and "tok-ABCDEFGH12345678" not in result.stderr


def test_unexpected_exception_is_one_line_with_a_hint(emu: Emulator) -> None:
    class Broken(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            raise ZeroDivisionError("boom")

    result = CliRunner().invoke(
        app,
        ["orgs", "list"],
        env={"GENESYSCLOUD_REGION": "https://x.invalid", "GENESYSCLOUD_ACCESS_TOKEN": "tok-ZZZZZZZZZZZZ"},
        obj={"transport": Broken()},
        catch_exceptions=False,
    )
    assert result.exit_code == 1
    assert result.stderr.startswith(
        "error: unexpected ZeroDivisionError: boom (run with --verbose for the traceback)"
    )
