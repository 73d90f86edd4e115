"""Scriptable output: global options anywhere, -o yaml, --fields, --query, whole ids in tables."""

from __future__ import annotations

import csv
import io
from typing import Any

import pytest
import typer.main
import yaml

from gcx import Client
from gcx.cli.argv import hoist_global_options
from gcx.cli.columns import Column
from gcx.cli.main import app
from gcx.cli.output import fit_widths
from gcx.cli.shape import ShapeError, compile_query, parse_fields, project
from tests.cli.conftest import Gcx, InProcessGcx

ROOT = typer.main.get_command(app)


def _hoist(*args: str) -> list[str]:
    assert isinstance(ROOT, typer.core.TyperGroup)
    ctx = ROOT.make_context("gcx", ["--help"], resilient_parsing=True)
    return hoist_global_options(ROOT, ctx, list(args))


@pytest.mark.parametrize(
    ("args", "expected"),
    [
        (["sync", "status", "-o", "json"], ["-o", "json", "sync", "status"]),
        (["orgs", "list", "-q"], ["-q", "orgs", "list"]),
        (["sync", "status", "--output=yaml", "-n", "3"], ["--output=yaml", "sync", "status", "-n", "3"]),
        (["-v", "sync", "status", "-ojson"], ["-v", "-ojson", "sync", "status"]),
        (["contacts", "list", "--fields", "id", "-q"], ["--fields", "id", "-q", "contacts", "list"]),
        # the subcommand's own options stay its own (contacts list -o, sync apply --query SQL)
        (["contacts", "list", "-o", "json"], ["contacts", "list", "-o", "json"]),
        (
            ["sync", "apply", "--sql-url", "sqlite://", "--query", "SELECT 1"],
            ["sync", "apply", "--sql-url", "sqlite://", "--query", "SELECT 1"],
        ),
        # an option's value is never taken for an option; nothing moves after --
        (["contacts", "search", "--", "-q"], ["contacts", "search", "--", "-q"]),
        (["nosuchcommand", "-q"], ["nosuchcommand", "-q"]),
    ],
)
def test_global_options_move_in_front_of_the_subcommand(args: list[str], expected: list[str]) -> None:
    assert _hoist(*args) == expected


def test_fields_and_query_parsing() -> None:
    assert parse_fields(" id, firstName,,id ,address.city") == ("id", "firstName", "address.city")
    with pytest.raises(ShapeError):
        parse_fields(" , ")
    with pytest.raises(ShapeError, match="not a field path"):
        parse_fields("address..city")
    row = {"id": "1", "address": {"city": "Paris", "state": "IDF"}, "tags": ["a"]}
    assert project(row, ("address.city", "id", "missing.x")) == {"address": {"city": "Paris"}, "id": "1"}
    assert project(row, ("all",)) == row
    with pytest.raises(ShapeError, match="not a valid JMESPath"):
        compile_query("[?")
    query = compile_query("[].id")
    assert query is not None and query.apply([{"id": 1}, {"id": 2}]) == [1, 2]


def test_ids_stay_whole_other_columns_give_way() -> None:
    columns = [Column("id", whole=True), Column("name"), Column("email")]
    cells = [["ece85a03-8354-4e5a-9a8f-0123456789ab", "Ada Lovelace", "ada@example.com"]]
    assert fit_widths(columns, cells, 200) == [36, 12, 15]
    widths = fit_widths(columns, cells, 60)
    assert widths is not None and widths[0] == 36 and sum(widths) + 3 * 3 + 1 <= 60
    assert fit_widths(columns, cells, 40) is None  # the caller leaves columns out


@pytest.fixture
def seeded(client: Client) -> dict[str, Any]:
    org = client.organizations.create({"name": "Acme Industries International", "industry": "Machinery"})
    ids = [
        client.contacts.create(
            {
                "firstName": f"Ada{n}",
                "lastName": "Lovelace-Byron",
                "workEmail": f"ada.lovelace{n}@example-long-domain.com",
                "address": {"city": "Paris" if n else "London"},
                "externalOrganization": {"id": org.id},
            }
        ).id
        for n in range(3)
    ]
    return {"org": org.id, "contacts": ids}


def test_table_at_80_columns_keeps_ids_whole(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    run = gcx("contacts", "list", env={"COLUMNS": "80"})
    assert run.code == 0, run.stderr
    lines = run.stdout.splitlines()
    assert all(len(line) <= 80 for line in lines)
    for cid in seeded["contacts"]:
        assert sum(cid in line for line in lines) == 1  # on one line, whole
    assert "Ada1" in run.stdout


def test_yaml_fields_and_query_on_record_commands(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    as_yaml = gcx("contacts", "list", "-o", "yaml", "--fields", "id,firstName,address.city")
    assert as_yaml.code == 0, as_yaml.stderr
    docs = yaml.safe_load(as_yaml.stdout)
    assert {d["id"] for d in docs} == set(seeded["contacts"])
    assert all(set(d) == {"id", "firstName", "address"} and set(d["address"]) == {"city"} for d in docs)

    picked = gcx("contacts", "list", "-o", "json", "--query", "[?address.city=='London'].firstName")
    assert picked.json() == ["Ada0"]
    lines = gcx("contacts", "list", "-q", "--query", "[].id")  # scalars print one per line
    assert set(lines.stdout.split()) == set(seeded["contacts"])

    csv_run = gcx("orgs", "list", "-o", "csv", "--fields", "name,id")
    assert list(csv.reader(io.StringIO(csv_run.stdout))) == [
        ["name", "id"],
        [seeded_org_name(), seeded["org"]],
    ]

    one = gcx("-o", "yaml", "contacts", "get", seeded["contacts"][0], "--fields", "firstName")
    assert yaml.safe_load(one.stdout) == {"firstName": "Ada0"}  # one record, as -o json
    table = gcx("orgs", "get", seeded["org"], "--query", "name")
    assert table.stdout.strip() == seeded_org_name()


def seeded_org_name() -> str:
    return "Acme Industries International"


def test_options_after_the_command_and_usage_errors(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    assert gcx("orgs", "list", "-q").stderr == ""
    assert gcx("config", "list", "-o", "json").json() == []
    bad = gcx("contacts", "list", "--query", "[?")
    assert bad.code == 2 and "not a valid JMESPath expression" in bad.stderr
    wrong = gcx("contacts", "list", "-o", "yml")
    assert wrong.code == 2 and "Value error" not in wrong.stderr


def test_query_failing_on_the_result_is_a_usage_error(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    # a JMESPath expression that compiles but cannot be applied to what the command returned
    for args in (
        ("contacts", "list", "-o", "json", "--query", "abs(@)"),
        ("orgs", "get", seeded["org"], "--query", "length(employeeCount)"),
        ("orgs", "list", "--query", "no_such_function(@)"),
    ):
        bad = gcx(*args)
        assert bad.code == 2, bad.stderr
        lines = bad.stderr.strip().splitlines()
        assert len(lines) == 1 and lines[0].startswith("error: --query "), bad.stderr
        assert "unexpected" not in bad.stderr and "--verbose" not in bad.stderr
        assert seeded["contacts"][0] not in bad.stderr  # names the types, not the whole result


def test_exit_codes_of_usage_errors(gcx: InProcessGcx) -> None:
    no_name = gcx("orgs", "create", "--industry", "Retail")
    assert no_name.code == 2 and "needs a name" in no_name.stderr
    assert gcx("orgs", "create").code == 2
    assert gcx("--region", "mars-1", "orgs", "list").code == 2
    assert gcx("orgs", "list", "--region", "mars-1").code == 2
    assert gcx("contacts", "update", "some-id").code == 2
    assert gcx("orgs", "list", env={"GENESYSCLOUD_OAUTHCLIENT_ID": ""}).code == 2


def test_search_warns_once_about_the_cap(gcx_proc: Gcx, client: Client) -> None:
    # A real process: Python's last-resort log handler printed the library's warning a second time.
    result = client.contacts.bulk_add([{"firstName": f"P{n}", "lastName": "Capped"} for n in range(1010)])
    assert not result.failed
    run = gcx_proc("contacts", "search", "Capped", "-o", "jsonl")
    assert run.code == 0, run.stderr
    assert len(run.jsonl()) == 1000
    assert run.stderr.count("1010 matched") == 1, run.stderr
    assert "gcx contacts list" in run.stderr


def test_lookup_help_says_it_matches_identifiers(gcx: InProcessGcx, seeded: dict[str, Any]) -> None:
    assert "matches identifiers" in gcx("contacts", "lookup", "--help").stdout
    # Genesys makes an identifier of a contact's email (documented): the whole address finds it
    found = gcx("-o", "json", "contacts", "lookup", "--email", "ada.lovelace1@example-long-domain.com")
    assert found.code == 0, found.stderr
    assert found.json()["workEmail"] == "ada.lovelace1@example-long-domain.com"
    miss = gcx("contacts", "lookup", "--email", "lovelace1@example-long-domain.com")
    assert miss.code == 1
    assert "try gcx contacts search 'lovelace1@example-long-domain.com'" in miss.stderr
