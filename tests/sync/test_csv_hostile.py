"""Hostile CSV files (issue 11, item 1 and the smaller list): a broken quote, CR-only line
endings, UTF-16, duplicate headers, an undecodable header. Nothing is lost silently, and a
source that could not be parsed never drives a prune."""

from __future__ import annotations

import csv
from pathlib import Path

import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import ConfigError
from gcx.sync.ledger import Ledger
from gcx.sync.mapping import SourceMapping, parse_mapping
from gcx.sync.records import Issue, Record
from gcx.sync.source import CsvSource

from .conftest import HEADER, MAPPING
from .helpers import state, sync


def _row(i: int, first: str | None = None) -> str:
    return (
        f"c-{i},{first or f'First{i}'},Last{i},user{i}@example.com,+1415555{i % 10000:04d},"
        f"Boston,US,acc-{i % 3},Account {i % 3},Retail\n"
    )


def _rows(n: int, *, broken_at: int | None = None) -> str:
    """``n`` contact rows; the row on physical line ``broken_at`` gets a stray quote before its first name."""
    out = [HEADER]
    for i in range(n):
        line = i + 2
        out.append(_row(i, first='"Jane' if line == broken_at else None))
    return "".join(out)


def _read(path: Path, mapping: SourceMapping) -> tuple[list[Record], list[Issue]]:
    items = list(CsvSource(path, mapping).items())
    return [i for i in items if isinstance(i, Record)], [i for i in items if isinstance(i, Issue)]


def test_a_stray_quote_is_reported_where_it_opens_and_loses_nothing_else(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    # The issue's case: 3,000 contacts, one '"' before a first name on line 11. Python's csv
    # reader runs the quoted field on until the field-size limit, swallowing ~1,855 lines.
    path = tmp_path / "crm.csv"
    path.write_text(_rows(3000, broken_at=11), encoding="utf-8")
    records, issues = _read(path, mapping)
    assert len(issues) == 1, [str(i) for i in issues]
    issue = issues[0]
    assert issue.line == 11
    assert issue.structural
    assert "quoted field" in issue.reason and "opens on line 11" in issue.reason
    swallowed = int(issue.reason.split("swallowing the next ")[1].split(" ")[0])
    assert swallowed > 1000  # the count of lines it ran over, as the parser saw them
    contacts = [r for r in records if r.kind == "contact"]
    assert len(contacts) == 2999  # every other row is read again as the row it is
    assert "c-9" not in {r.key for r in contacts}
    assert contacts[9].key == "c-10" and contacts[9].line == 12


def test_a_stray_quote_running_to_the_end_of_the_file(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(_rows(40, broken_at=5), encoding="utf-8")
    records, issues = _read(path, mapping)
    assert [(i.line, i.structural) for i in issues] == [(5, True)]
    assert "swallowing the next 36 lines (to line 41" in issues[0].reason
    assert len([r for r in records if r.kind == "contact"]) == 39


def test_two_stray_quotes_make_one_long_record_that_is_split_again(
    tmp_path: Path, mapping: SourceMapping
) -> None:
    # A second stray quote closes the first one: the parser makes one record of lines 5..9
    # with the wrong number of columns.
    text = _rows(20).splitlines(keepends=True)
    text[4] = text[4].replace("First3", '"First3')
    text[8] = text[8].replace("First7", 'First7"')
    path = tmp_path / "crm.csv"
    path.write_text("".join(text), encoding="utf-8")
    records, issues = _read(path, mapping)
    assert issues and issues[0].line == 5 and issues[0].structural
    assert "opens on line 5" in issues[0].reason
    keys = {r.key for r in records if r.kind == "contact"}
    assert {"c-4", "c-5", "c-6"} <= keys and "c-3" not in keys


def test_a_quoted_field_holding_line_breaks_is_still_one_row(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "crm.csv"
    path.write_text(
        HEADER + 'c-1,"Jane\nMary",Doe,j@example.com,+14155550100,Boston,US,acc-1,Acme,Retail\n' + _row(2),
        encoding="utf-8",
    )
    records, issues = _read(path, mapping)
    assert issues == []
    contacts = [r for r in records if r.kind == "contact"]
    assert [(r.key, r.line) for r in contacts] == [("c-1", 2), ("c-2", 4)]
    assert contacts[0].values["firstName"] == "Jane\nMary"


def test_cr_only_line_endings_are_read(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "mac.csv"
    path.write_bytes(_rows(5).replace("\n", "\r").encode())
    records, issues = _read(path, mapping)
    assert issues == []
    assert [(r.key, r.line) for r in records if r.kind == "contact"] == [(f"c-{i}", i + 2) for i in range(5)]


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-16-be", "utf-32"])
def test_utf16_with_a_bom_is_refused_naming_the_setting(
    tmp_path: Path, mapping: SourceMapping, codec: str
) -> None:
    path = tmp_path / "excel.csv"
    data = _rows(3).encode(codec)
    if not data.startswith((b"\xff\xfe", b"\xfe\xff")):
        data = ("\ufeff" + _rows(3)).encode(codec)
    path.write_bytes(data)
    family = "utf-32" if "32" in codec else "utf-16"
    with pytest.raises(ConfigError, match=rf'(?i){family}.*encoding = "{family}"'):
        _read(path, mapping)


def test_utf16_without_a_bom_is_refused_not_called_empty(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "excel.csv"
    path.write_bytes(_rows(3).encode("utf-16-le"))
    with pytest.raises(ConfigError, match=r"NUL.*UTF-16"):
        _read(path, mapping)


@pytest.mark.parametrize("codec", ["utf-16", "utf-16-le", "utf-32"])
@pytest.mark.parametrize("newline", ["\n", "\r\n", "\r"])
def test_encoding_utf16_reads_the_file(tmp_path: Path, codec: str, newline: str) -> None:
    mapping = parse_mapping({**MAPPING, "source": {"encoding": codec}}, "m")
    path = tmp_path / "excel.csv"
    text = _rows(4).replace("\n", newline).replace("First2", "Zoë")
    path.write_bytes(text.encode(codec))
    records, issues = _read(path, mapping)
    assert issues == []
    contacts = [r for r in records if r.kind == "contact"]
    assert [(r.key, r.line) for r in contacts] == [(f"c-{i}", i + 2) for i in range(4)]
    assert contacts[2].values["firstName"] == "Zoë"


def test_a_bad_utf16_unit_loses_its_line_only(tmp_path: Path) -> None:
    mapping = parse_mapping({**MAPPING, "source": {"encoding": "utf-16"}}, "m")
    path = tmp_path / "cut.csv"
    bad = b"\x00\xd8"  # a lone high surrogate
    path.write_bytes(
        _rows(4).encode("utf-16") + bad + _row(9).encode("utf-16-le") + _row(10).encode("utf-16-le")
    )
    records, issues = _read(path, mapping)
    assert [r.key for r in records if r.kind == "contact"] == ["c-0", "c-1", "c-2", "c-3", "c-10"]
    assert [(i.line, i.structural) for i in issues] == [(6, False)]
    assert "cannot decode the line as utf-16 (byte 0)" in issues[0].reason


def test_an_undecodable_header_is_a_source_error(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "latin.csv"
    path.write_bytes(HEADER.replace("first_name", "prénom").encode("latin-1") + _row(1).encode())
    with pytest.raises(ConfigError, match=r"header.*line 1.*utf-8"):
        _read(path, mapping)


def test_a_broken_header_is_a_source_error(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "broken.csv"
    path.write_text('contact_id,"first_name\n' + _row(1), encoding="utf-8")
    with pytest.raises(ConfigError, match=r"header.*line 1"):
        _read(path, mapping)


def test_duplicate_headers_are_refused_naming_the_column(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "dup.csv"
    path.write_text(HEADER.rstrip("\n") + ",email\n" + _row(1).rstrip("\n") + ",other@example.com\n")
    with pytest.raises(ConfigError, match=r"'email'.*(twice|more than once)"):
        _read(path, mapping)


def test_a_line_that_does_not_decode_names_the_byte(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "mixed.csv"
    path.write_bytes(
        HEADER.encode() + _row(1).replace("First1", "Ren\u00e9").encode("latin-1") + _row(2).encode()
    )
    records, issues = _read(path, mapping)
    assert [(i.line, i.structural) for i in issues] == [(2, False)]
    assert "cannot decode the line as utf-8 (byte 7)" in issues[0].reason
    assert [r.key for r in records if r.kind == "contact"] == ["c-2"]


def test_empty_file_is_still_called_empty(tmp_path: Path, mapping: SourceMapping) -> None:
    path = tmp_path / "empty.csv"
    path.write_text("\n\n", encoding="utf-8")
    with pytest.raises(ConfigError, match="is empty"):
        _read(path, mapping)


def test_field_size_limit_is_left_as_it_was(tmp_path: Path, mapping: SourceMapping) -> None:
    before = csv.field_size_limit()
    path = tmp_path / "crm.csv"
    path.write_text(_rows(10, broken_at=3), encoding="utf-8")
    _read(path, mapping)
    assert csv.field_size_limit() == before


# --------------------------------------------------------------------------- prune safety


async def test_a_source_with_a_broken_quote_never_drives_a_prune(
    tmp_path: Path, mapping: SourceMapping, sqlite_ledger: Ledger
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5))
    path = tmp_path / "crm.csv"
    path.write_text(_rows(40), encoding="utf-8")
    first = await sync(emu, sqlite_ledger, CsvSource(path, mapping))
    assert first.applied["contact"]["created"] == 40
    path.write_text(_rows(40, broken_at=11), encoding="utf-8")
    report = await sync(
        emu,
        sqlite_ledger,
        CsvSource(path, mapping),
        prune=True,
        force=True,
        accept_unreadable=True,
        raise_errors=False,
    )
    assert report.applied["contact"]["deleted"] == 0
    assert report.planned.counts["contact"]["delete"] == 0
    assert any("prune skipped" in w and "line 11" in w for w in report.warnings), report.warnings
    assert len(state(emu)["contacts"]) == 40


async def test_unreadable_rows_block_a_prune_unless_accepted_explicitly(
    tmp_path: Path, mapping: SourceMapping, sqlite_ledger: Ledger
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5))
    path = tmp_path / "crm.csv"
    path.write_text(_rows(40), encoding="utf-8")
    await sync(emu, sqlite_ledger, CsvSource(path, mapping))
    # c-39 leaves the source; line 3 (c-1) has the wrong number of columns.
    lines = _rows(39).splitlines(keepends=True)
    lines[2] = "c-1,First1\n"
    path.write_text("".join(lines), encoding="utf-8")
    forced = await sync(
        emu, sqlite_ledger, CsvSource(path, mapping), prune=True, force=True, raise_errors=False
    )
    assert forced.planned.counts["contact"]["delete"] == 0, "--force alone must not accept unreadable rows"
    assert any("--accept-unreadable" in w for w in forced.warnings), forced.warnings
    accepted = await sync(
        emu, sqlite_ledger, CsvSource(path, mapping), prune=True, accept_unreadable=True, raise_errors=False
    )
    # c-1's row could not be read, so it is pruned along with c-39: that is what accepting means
    assert accepted.applied["contact"]["deleted"] == 2


def test_jsonl_with_cr_only_line_endings_is_read(tmp_path: Path) -> None:
    from gcx.sync.source import JsonlSource

    path = tmp_path / "r.jsonl"
    lines = [
        '{"kind": "organization", "externalId": "o-1", "name": "Acme"}',
        '{"kind": "contact", "externalId": "c-1", "organization": "o-1", "firstName": "Al"}',
    ]
    path.write_bytes("\r".join(lines).encode() + b"\r")
    items = list(JsonlSource(path).items())
    assert [(i.key, i.line) for i in items if isinstance(i, Record)] == [("o-1", 1), ("c-1", 2)]
    assert not [i for i in items if isinstance(i, Issue)]


# --------------------------------------------------------------------------- SQL sources


def test_sql_statement_returning_no_rows_is_said_clearly(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from gcx.sync.source import SqlSource

    db = tmp_path / "crm.sqlite"
    engine = sa.create_engine(f"sqlite:///{db}")
    with engine.begin() as conn:
        conn.execute(sa.text("CREATE TABLE t (contact_id TEXT)"))
        conn.execute(sa.text("INSERT INTO t VALUES ('c-1')"))
    src = SqlSource(f"sqlite:///{db}", "DELETE FROM t", parse_mapping(MAPPING, "m"))
    with pytest.raises(ConfigError, match=r"returns no rows.*SELECT") as err:
        list(src.items())
    assert "ResourceClosedError" not in str(err.value)
    with engine.connect() as conn:  # and the statement was rolled back
        assert conn.execute(sa.text("SELECT count(*) FROM t")).scalar() == 1
    engine.dispose()


def test_sql_unreachable_database_is_said_clearly(tmp_path: Path) -> None:
    from gcx.sync.source import SqlSource

    src = SqlSource(
        f"sqlite:///{tmp_path / 'no' / 'such' / 'dir.sqlite'}", "SELECT 1", parse_mapping(MAPPING, "m")
    )
    with pytest.raises(ConfigError, match="cannot connect to the SQL source") as err:
        list(src.items())
    assert "OperationalError" not in str(err.value).split(":")[0]


def test_sql_duplicate_columns_are_refused(tmp_path: Path) -> None:
    from gcx.sync.source import SqlSource

    m = parse_mapping({"contact": {"key": "id", "fields": {"firstName": "name"}}}, "m")
    src = SqlSource("sqlite://", "SELECT 'c-1' AS id, 'a' AS name, 'b' AS name", m)
    with pytest.raises(ConfigError, match="'name' more than once"):
        list(src.items())
