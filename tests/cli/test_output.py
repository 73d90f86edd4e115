"""The shared output helper: formats, streams, CSV flattening."""

from __future__ import annotations

import csv
import io
import json

import pytest

from gcx.cli.columns import (
    CONTACT,
    CONTACT_CSV_COLUMNS,
    EXTRA_COLUMN,
    ORG_CSV_COLUMNS,
    ORGANIZATION,
    cell_text,
    flatten,
)
from gcx.cli.output import Output, OutputFormat, csv_header, render_csv
from gcx.models import ExternalContact, ExternalOrganization

CONTACT_ROW = {
    "id": "c-1",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "workEmail": "ada@example.com",
    "workPhone": {"display": "+33 1 23 45 67 89", "e164": "+33123456789"},
    "address": {"city": "Paris", "countryCode": "FR"},
    "externalOrganization": {"id": "o-1", "name": "Acme", "industry": "Math"},
    "externalIds": [{"externalSource": {"id": "src"}, "value": "k-1"}],
    "futureField": {"x": 1},
}


def _out(fmt: OutputFormat) -> tuple[Output, io.StringIO, io.StringIO]:
    stdout, stderr = io.StringIO(), io.StringIO()
    return Output(fmt, no_color=True, stdout=stdout, stderr=stderr), stdout, stderr


def test_jsonl_streams_one_compact_line_per_record_from_models() -> None:
    out, stdout, stderr = _out(OutputFormat.jsonl)
    count = out.records(iter([ExternalContact.model_validate(CONTACT_ROW), {"id": "c-2"}]), CONTACT)
    lines = stdout.getvalue().splitlines()
    assert count == 2
    assert json.loads(lines[0]) == CONTACT_ROW  # unknown fields survive
    assert json.loads(lines[1]) == {"id": "c-2"}
    assert stderr.getvalue() == ""


def test_json_is_one_valid_array_even_when_empty() -> None:
    out, stdout, _ = _out(OutputFormat.json)
    out.records([{"id": "a"}, {"id": "b"}])
    assert json.loads(stdout.getvalue()) == [{"id": "a"}, {"id": "b"}]
    out, stdout, _ = _out(OutputFormat.json)
    assert out.records([]) == 0
    assert json.loads(stdout.getvalue()) == []


def test_csv_uses_model_columns_and_keeps_unknown_data_in_extra() -> None:
    out, stdout, _ = _out(OutputFormat.csv)
    out.fields = ("all",)
    out.records([CONTACT_ROW], CONTACT)
    rows = list(csv.DictReader(io.StringIO(stdout.getvalue())))
    assert list(rows[0]) == CONTACT_CSV_COLUMNS
    row = rows[0]
    assert row["workPhone.display"] == "+33 1 23 45 67 89"
    assert row["address.city"] == "Paris"
    assert row["externalOrganization.id"] == "o-1"
    assert row["externalOrganization.name"] == "Acme"
    assert json.loads(row["externalIds"]) == CONTACT_ROW["externalIds"]
    extra = json.loads(row[EXTRA_COLUMN])
    # Unknown top-level field and the reference's fields not covered by a column.
    assert extra == {"futureField": {"x": 1}, "externalOrganization": {"industry": "Math"}}


def test_csv_columns_are_derived_from_the_models() -> None:
    assert CONTACT_CSV_COLUMNS[0] == "id"
    assert "address.postalCode" in CONTACT_CSV_COLUMNS
    assert "cellPhone.e164" in CONTACT_CSV_COLUMNS
    assert "division.id" in CONTACT_CSV_COLUMNS
    assert "schema.id" in CONTACT_CSV_COLUMNS  # alias, not the python name schema_
    assert "name" in ORG_CSV_COLUMNS and "tags" in ORG_CSV_COLUMNS
    assert ORG_CSV_COLUMNS[-1] == EXTRA_COLUMN
    assert set(ExternalOrganization.model_fields) - {"schema_"} <= {c.split(".")[0] for c in ORG_CSV_COLUMNS}


def test_render_csv_matches_header_and_round_trips_quotes() -> None:
    columns = ["id", "name", EXTRA_COLUMN]
    text = csv_header(columns) + render_csv([{"id": "1", "name": 'A "quoted", name'}], columns)
    rows = list(csv.DictReader(io.StringIO(text)))
    assert rows == [{"id": "1", "name": 'A "quoted", name', EXTRA_COLUMN: ""}]


def test_flatten_keeps_non_mapping_value_of_flattened_field() -> None:
    row = flatten({"id": "1", "address": "not an object"}, ["id", "address.city", EXTRA_COLUMN])
    assert row["address.city"] == ""
    assert json.loads(row[EXTRA_COLUMN]) == {"address": "not an object"}


def test_table_prints_rows_to_stdout_and_the_count_to_stderr() -> None:
    out, stdout, stderr = _out(OutputFormat.table)
    out.records([CONTACT_ROW], CONTACT)
    text = stdout.getvalue()
    assert "Ada Lovelace" in text and "ada@example.com" in text and "Acme" in text
    assert "\x1b[" not in text  # no colour codes off a terminal / with --no-color
    assert stderr.getvalue().strip() == "1 contact"


def test_quiet_table_prints_no_count() -> None:
    stdout, stderr = io.StringIO(), io.StringIO()
    out = Output(OutputFormat.table, quiet=True, stdout=stdout, stderr=stderr)
    out.records([{"id": "o", "name": "Acme"}], ORGANIZATION)
    assert "Acme" in stdout.getvalue()
    assert stderr.getvalue() == ""


def test_single_record_table_shows_nested_fields_as_paths() -> None:
    out, stdout, _ = _out(OutputFormat.table)
    out.record(CONTACT_ROW, CONTACT)
    text = stdout.getvalue()
    assert "address.city" in text and "Paris" in text
    assert "workPhone.e164" in text


def test_data_in_each_format() -> None:
    payload = {"status": "ok", "count": 3}
    out, stdout, _ = _out(OutputFormat.json)
    out.data(payload)
    assert json.loads(stdout.getvalue()) == payload
    out, stdout, _ = _out(OutputFormat.jsonl)
    out.data(payload)
    assert stdout.getvalue() == '{"status":"ok","count":3}\n'
    out, stdout, _ = _out(OutputFormat.csv)
    out.data(payload)
    assert stdout.getvalue() == "status,count\nok,3\n"


def test_progress_is_silent_off_a_terminal() -> None:
    out, stdout, stderr = _out(OutputFormat.table)
    with out.progress("export", total=3) as bar:
        bar.advance(3)
        bar.set_total(4)
        bar.set_description("still")
    assert stdout.getvalue() == "" and stderr.getvalue() == ""


def test_cell_text() -> None:
    assert cell_text(None) == ""
    assert cell_text(True) == "true"
    assert cell_text(12) == "12"
    assert cell_text(["a", "b"]) == '["a","b"]'


def test_with_format_overrides_only_when_given() -> None:
    out, _, _ = _out(OutputFormat.table)
    assert out.with_format(None) is out
    assert out.with_format(OutputFormat.csv).format is OutputFormat.csv


def test_table_width_ignores_a_bad_columns_variable(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setenv("COLUMNS", "wide")
    out, stdout, _ = _out(OutputFormat.table)
    out.records([{"id": "o-1", "name": "Acme"}], ORGANIZATION)
    assert "Acme" in stdout.getvalue()
    monkeypatch.setenv("COLUMNS", "60")
    out, stdout, _ = _out(OutputFormat.table)
    out.records([{"id": "o-1", "name": "Acme"}], ORGANIZATION)
    assert max(len(line) for line in stdout.getvalue().splitlines()) <= 60
