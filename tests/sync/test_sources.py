"""Sources: CSV + mapping (transforms, bad rows), JSONL, SQL (SQLite and PostgreSQL)."""

from __future__ import annotations

import json
import uuid
from pathlib import Path

import pytest
import sqlalchemy as sa

from gcx.errors import ConfigError
from gcx.sync.mapping import SourceMapping, load_mapping, parse_mapping
from gcx.sync.records import Issue, Record
from gcx.sync.source import CsvSource, JsonlSource, SqlSource, open_source

from .conftest import HEADER, MAPPING, PG_URL


def _split(items: list[Record | Issue]) -> tuple[list[Record], list[Issue]]:
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Issue)]


def test_csv_rows_become_orgs_and_contacts(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        HEADER
        + "c-1, Jane ,Doe, Jane@Example.COM ,(415) 555-0132,Boston,US,acc-1,Acme, Retail \n"
        + "c-2,Bob,Smith,bob@example.com,020 7946 0958,London,GB,acc-1,Acme,Retail\n",
        encoding="utf-8",
    )
    records, issues = _split(list(CsvSource(path, mapping).items()))
    assert issues == []
    orgs = [r for r in records if r.kind == "organization"]
    contacts = [r for r in records if r.kind == "contact"]
    assert orgs[0].values == {"name": "Acme", "industry": "retail", "companyType": "Customer"}
    assert contacts[0].values["workEmail"] == "jane@example.com"
    assert contacts[0].values["firstName"] == "Jane"
    assert contacts[0].values["cellPhone"] == "+14155550132"
    assert contacts[1].values["cellPhone"] == "+442079460958"  # per-row country column
    assert contacts[0].org_key == "acc-1" and contacts[0].line == 2


def test_csv_bad_rows_are_reported_with_line_and_field(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "dirty.csv"
    rows = [
        HEADER.encode(),
        b"c-1,Jane,Doe,not-an-email,4155550132,Boston,US,acc-1,Acme,Retail\n",
        b"c-2,Too,Few,columns\n",
        "c-3,Ren\u00e9,Doe,r@example.com,4155550132,Boston,US,acc-1,Acme,Retail\n".encode("latin-1"),
        b"c-4,Ok,Row,ok@example.com,4155550133,Boston,US,acc-1,Acme,Retail\n",
        b"c-5,Bad,Phone,b@example.com,12,Boston,US,acc-1,Acme,Retail\n",
    ]
    path.write_bytes(b"".join(rows))
    records, issues = _split(list(CsvSource(path, mapping).items()))
    by_line = {(i.line, i.field) for i in issues}
    assert (2, "workEmail") in by_line
    assert (3, None) in by_line and "malformed row" in next(i.reason for i in issues if i.line == 3)
    assert (4, None) in by_line and "cannot decode" in next(i.reason for i in issues if i.line == 4)
    assert (6, "cellPhone") in by_line
    assert [r.key for r in records if r.kind == "contact"] == ["c-4"]


def test_csv_missing_column_is_a_mapping_error(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "x.csv"
    path.write_text("contact_id,first_name\nc-1,Jane\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="'account_id'"):
        list(CsvSource(path, mapping).items())


def test_mapping_errors_are_clear(tmp_path: Path) -> None:
    with pytest.raises(ConfigError, match="must map 'name'"):
        parse_mapping({"organization": {"key": "id", "fields": {"industry": "x"}}})
    with pytest.raises(ConfigError, match="not a field sync can manage"):
        parse_mapping({"contact": {"key": "id", "fields": {"nickname": "x"}}})
    with pytest.raises(ConfigError, match="unknown transform"):
        parse_mapping(
            {"contact": {"key": "id", "fields": {"firstName": {"column": "x", "transforms": ["rot13"]}}}}
        )
    bad = tmp_path / "bad.toml"
    bad.write_text("[contact\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="not valid TOML"):
        load_mapping(bad)


def test_mapping_default_and_constant(tmp_path: Path) -> None:
    m = parse_mapping(
        {
            "contact": {
                "key": "id",
                "fields": {
                    "title": {"column": "title", "default": "Customer"},
                    "address.countryCode": {"value": "FR"},
                    "workPhone": {"column": "phone", "phone_country": "FR"},
                },
            }
        }
    )
    built = list(m.build({"id": "k", "title": "", "phone": "01 42 68 53 00"}, 1))
    assert built[0].record is not None
    assert built[0].record.values == {
        "title": "Customer",
        "address.countryCode": "FR",
        "workPhone": "+33142685300",
    }


def test_jsonl_source(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}),
        "",
        "{not json",
        json.dumps({"kind": "contact", "externalId": "c-1", "organization": "o-1", "workEmail": "bad"}),
        json.dumps({"kind": "contact", "externalId": "c-2", "organization": "o-1", "firstName": "Al"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    src = open_source(path, None)
    assert isinstance(src, JsonlSource)
    records, issues = _split(list(src.items()))
    assert [r.key for r in records] == ["o-1", "c-2"]
    assert [(i.line, i.field) for i in issues] == [(3, None), (4, "workEmail")]


def test_jsonl_line_nested_too_deeply_is_an_invalid_row(tmp_path: Path) -> None:
    path = tmp_path / "r.jsonl"
    lines = [
        "[" * 100_000,  # beyond what any JSON reader follows
        '{"kind": "contact", "externalId": "c-1", "x": ' + "[" * 3000 + "]" * 3000 + "}",
        json.dumps({"kind": "contact", "externalId": "c-2", "firstName": "Al"}),
    ]
    path.write_text("\n".join(lines) + "\n", encoding="utf-8")
    records, issues = _split(list(JsonlSource(path).items()))
    assert [r.key for r in records] == ["c-2"]
    assert [i.line for i in issues] == [1, 2]
    assert all("nested too deeply" in i.reason for i in issues)


def test_open_source_refuses_ambiguous_arguments(tmp_path: Path, mapping: SourceMapping) -> None:
    csv_path = tmp_path / "a.csv"
    csv_path.write_text(HEADER, encoding="utf-8")
    with pytest.raises(ConfigError, match="needs a mapping"):
        open_source(csv_path, None)
    with pytest.raises(ConfigError, match="does not exist"):
        open_source(tmp_path / "nope.csv", mapping)
    with pytest.raises(ConfigError, match="not both"):
        open_source(csv_path, mapping, sql_url="sqlite://", query="select 1")


def _fill(engine: sa.Engine, table: str, n: int) -> None:
    with engine.begin() as conn:
        conn.execute(
            sa.text(
                f"CREATE TABLE {table} (contact_id TEXT, first_name TEXT, last_name TEXT, email TEXT, "
                "mobile TEXT, city TEXT, country TEXT, account_id TEXT, account_name TEXT, industry TEXT)"
            )
        )
        conn.execute(
            sa.text(
                f"INSERT INTO {table} VALUES (:c, :f, 'Doe', :e, '4155550100', 'Boston', 'US', :a, :an, 'x')"
            ),
            [
                {
                    "c": f"c-{i}",
                    "f": f"F{i}",
                    "e": f"u{i}@example.com" if i != 3 else "bad",
                    "a": f"a-{i % 2}",
                    "an": f"Acc {i % 2}",
                }
                for i in range(n)
            ],
        )


@pytest.mark.parametrize("backend", ["sqlite", "postgres"])
def test_sql_source_streams_rows(backend: str, tmp_path: Path, request: pytest.FixtureRequest) -> None:
    table = f"crm_{uuid.uuid4().hex[:8]}"
    if backend == "sqlite":
        url = f"sqlite:///{tmp_path / 'crm.sqlite'}"
    else:
        request.getfixturevalue("pg_ledger")  # skips when PostgreSQL is down
        url = PG_URL
    engine = sa.create_engine(url)
    try:
        _fill(engine, table, 25)
        src = SqlSource(
            url, f"SELECT * FROM {table} ORDER BY contact_id", parse_mapping(MAPPING), chunk_size=7
        )
        records, issues = _split(list(src.items()))
        assert len([r for r in records if r.kind == "contact"]) == 24
        assert [(i.field, i.key) for i in issues] == [("workEmail", "c-3")]
        assert "password" not in src.description
    finally:
        with engine.begin() as conn:
            conn.execute(sa.text(f"DROP TABLE IF EXISTS {table}"))
        engine.dispose()


def test_sql_source_bad_query_is_a_clear_error(tmp_path: Path) -> None:
    src = SqlSource(f"sqlite:///{tmp_path / 'x.sqlite'}", "SELECT * FROM nowhere", parse_mapping(MAPPING))
    with pytest.raises(ConfigError, match="query failed"):
        list(src.items())


def test_csv_bom_delimiter_and_quoted_newlines(tmp_path: Path) -> None:
    m = parse_mapping(
        {
            "source": {"delimiter": ";"},
            "contact": {"key": "id", "fields": {"firstName": "name", "address.address1": "street"}},
        }
    )
    path = tmp_path / "excel.csv"
    path.write_bytes('\ufeffid;name;street\nc-1;Zoë;"1 Main St\nBuilding B"\nc-2;Al;x\n'.encode())
    records, issues = _split(list(CsvSource(path, m).items()))
    assert issues == []
    # a record spanning lines carries the number of its first line
    assert [(r.key, r.values["firstName"], r.line) for r in records] == [("c-1", "Zoë", 2), ("c-2", "Al", 4)]
    assert records[0].values["address.address1"] == "1 Main St\nBuilding B"


def test_csv_latin1_source_encoding(tmp_path: Path) -> None:
    m = parse_mapping(
        {"source": {"encoding": "latin-1"}, "contact": {"key": "id", "fields": {"firstName": "n"}}}
    )
    path = tmp_path / "l1.csv"
    path.write_bytes("id,n\nc-1,Renée\n".encode("latin-1"))
    records, issues = _split(list(CsvSource(path, m).items()))
    assert issues == [] and records[0].values["firstName"] == "Renée"
