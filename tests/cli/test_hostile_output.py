"""Output that must not hurt its reader (issue 11, items 8 and 9): CSV cells a spreadsheet would
run as formulas, and terminal escapes in record text."""

from __future__ import annotations

import csv
import io
import json
from pathlib import Path

import pytest

from gcx import Client
from gcx.cli.output import Output, OutputFormat
from gcx.cli.safety import spreadsheet_safe, terminal_safe
from tests.cli.conftest import InProcessGcx

FORMULAS = {
    "firstName": "=cmd|' /C calc'!A0",
    "lastName": "+SUM(1+1)",
    "title": "@SUM(A1)",
    "middleName": "-2+3+cmd|' /C calc'!A0",
    "salutation": "-1+A1",
}


def test_spreadsheet_safe_follows_owasp() -> None:
    for text in ["=1+1", "+SUM(1+1)", "-2+3+cmd|' /C calc'!A0", "@SUM(A1)", "\t=1", "\r=1"]:
        assert spreadsheet_safe(text) == "'" + text
    # Numbers and phone numbers cannot run anything: no letters, no references, no functions.
    for text in ["+14155550132", "+1 415-555-0132", "-12.5", "+33 1 42 68 53 00", "", "Ada", "a=b"]:
        assert spreadsheet_safe(text) == text
    for text in ["+1 cmd", "-1+A1", "+1|x", "-(1)!A0"]:
        assert spreadsheet_safe(text) == "'" + text


def _contact(client: Client) -> str:
    org = client.organizations.create({"name": '=HYPERLINK("http://evil")'})
    c = client.contacts.create(
        {**FORMULAS, "cellPhone": {"display": "+1 415-555-0132"}, "externalOrganization": {"id": org.id}}
    )
    assert c.id
    return c.id


def _csv_rows(text: str) -> list[dict[str, str]]:
    return list(csv.DictReader(io.StringIO(text)))


def test_csv_output_neutralises_formulas(gcx: InProcessGcx, client: Client) -> None:
    _contact(client)
    run = gcx("-o", "csv", "contacts", "list", "--fields", "all")
    assert run.code == 0, run.stderr
    row = _csv_rows(run.stdout)[0]
    for field, value in FORMULAS.items():
        assert row[field] == "'" + value, field
    assert row["cellPhone.display"] == "+1 415-555-0132"
    raw = _csv_rows(gcx("--raw-csv", "-o", "csv", "contacts", "list", "--fields", "all").stdout)[0]
    for field, value in FORMULAS.items():
        assert raw[field] == value, field


def test_csv_export_neutralises_formulas(gcx: InProcessGcx, client: Client, tmp_path: Path) -> None:
    _contact(client)
    run = gcx("export", "--out", str(tmp_path / "safe"), "--format", "csv")
    assert run.code == 0, run.stderr
    row = _csv_rows((tmp_path / "safe" / "contacts.csv").read_text())[0]
    for field, value in FORMULAS.items():
        assert row[field] == "'" + value, field
    org = _csv_rows((tmp_path / "safe" / "organizations.csv").read_text())[0]
    assert org["name"] == '\'=HYPERLINK("http://evil")'

    run = gcx("--raw-csv", "export", "--out", str(tmp_path / "raw"), "--format", "csv")
    assert run.code == 0, run.stderr
    row = _csv_rows((tmp_path / "raw" / "contacts.csv").read_text())[0]
    for field, value in FORMULAS.items():
        assert row[field] == value, field
    # resuming an export with the other choice would mix both in one file
    run = gcx("export", "--out", str(tmp_path / "raw"), "--format", "csv")
    assert run.code == 0 and "already complete" in run.stderr


# --------------------------------------------------------------------------- terminal escapes

HOSTILE = "Eve\x1b[31mRED\x1b]0;pwned\x07\u202eevil\x9b2J\x08"


def test_terminal_safe_shows_controls_instead_of_running_them() -> None:
    out = terminal_safe(HOSTILE)
    assert out == "Eve\\x1b[31mRED\\x1b]0;pwned\\x07\\u202eevil\\x9b2J\\x08"
    assert terminal_safe("Zoë\nline\ttab") == "Zoë\nline\ttab"


def _no_controls(text: str) -> None:
    for ch in ("\x1b", "\x07", "\x9b", "\u202e", "\x08"):
        assert ch not in text, repr(text)


def test_tables_never_carry_terminal_escapes(gcx: InProcessGcx, client: Client) -> None:
    org = client.organizations.create({"name": HOSTILE, "industry": HOSTILE})
    cid = client.contacts.create(
        {"firstName": HOSTILE, "title": HOSTILE, "externalOrganization": {"id": org.id}}
    ).id
    for args in (["contacts", "list"], ["contacts", "get", cid], ["orgs", "list"], ["orgs", "get", org.id]):
        run = gcx(*args)
        assert run.code == 0, run.stderr
        _no_controls(run.stdout)
        _no_controls(run.stderr)
        assert "\\x1b[31m" in run.stdout, args


def test_json_output_escapes_invisible_controls_losslessly(gcx: InProcessGcx, client: Client) -> None:
    cid = client.contacts.create({"firstName": HOSTILE}).id
    for fmt in ("json", "jsonl"):
        run = gcx("-o", fmt, "contacts", "get", cid)
        assert run.code == 0, run.stderr
        _no_controls(run.stdout)
        data = json.loads(run.stdout.splitlines()[0] if fmt == "jsonl" else run.stdout)
        assert data["firstName"] == HOSTILE


def test_messages_warnings_and_errors_are_terminal_safe() -> None:
    err = io.StringIO()
    out = Output(OutputFormat.table, stderr=err, stdout=io.StringIO())
    out.message(HOSTILE)
    out.warn(HOSTILE)
    out.error(HOSTILE)
    _no_controls(err.getvalue())


def test_csv_to_a_terminal_is_terminal_safe() -> None:
    class Tty(io.StringIO):
        def isatty(self) -> bool:
            return True

    tty, pipe = Tty(), io.StringIO()
    for stream in (tty, pipe):
        Output(OutputFormat.csv, stdout=stream).records([{"id": "1", "name": HOSTILE}])
    _no_controls(tty.getvalue())
    assert _csv_rows(pipe.getvalue())[0]["name"] == HOSTILE  # a file or pipe gets the data as stored


@pytest.mark.parametrize("key", ["k\x1b[2J", "k\u202e"])
def test_sync_problems_are_terminal_safe(gcx: InProcessGcx, tmp_path: Path, key: str) -> None:
    src = tmp_path / "r.jsonl"
    src.write_text(
        json.dumps({"kind": "contact", "externalId": key, "workEmail": "not-an-email\x1b[31m"}) + "\n",
        encoding="utf-8",
    )
    run = gcx("sync", "plan", str(src), "--ledger", str(tmp_path / "l.sqlite"))
    assert run.code == 3, run.stderr
    _no_controls(run.stderr)
    _no_controls(run.stdout)
