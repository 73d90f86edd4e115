"""Sources of truth: CSV + mapping, JSONL canonical records, SQL query + mapping.

A source yields, row by row, valid :class:`~gcx.sync.records.Record` objects and
:class:`~gcx.sync.records.Issue` objects (a bad row: line, field, reason). Nothing is
loaded whole: files are read line by line and SQL results are streamed
(``yield_per``), so memory does not grow with the source. A source can be read more
than once (the engine reads it twice: organizations first, then contacts).
"""

from __future__ import annotations

import json
from collections.abc import Collection, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

import orjson

from gcx import extras, redact
from gcx.errors import ConfigError
from gcx.sync.csvfile import CsvRows, text_lines
from gcx.sync.errors import SourceArgumentError, SourceQueryError
from gcx.sync.fields import KINDS, Kind
from gcx.sync.mapping import SourceMapping
from gcx.sync.records import Issue, Record, read_loaded_record, read_record

Item = Record | Issue


class Source(Protocol):
    """Anything the engine can read records from."""

    @property
    def description(self) -> str: ...

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        """Yield the records of ``kinds`` and their issues, plus every row-level issue (a row
        that could not be read at all: ``Issue.kind`` is ``None``), in source order. Must be
        re-readable; records of other kinds are not even validated (that is the expensive part)."""
        ...


def check_source(source: Source) -> None:
    """Check what can be checked without Genesys (a CSV's header against its mapping) before the
    run sends its first request; sources without such a check pass."""
    check = getattr(source, "check", None)
    if callable(check):
        check()


def _items_from_built(
    mapping: SourceMapping, row: dict[str, Any], line: int, kinds: Collection[Kind]
) -> Iterator[Item]:
    for built in mapping.build(row, line, kinds):
        if built.record is not None:
            yield built.record
        yield from built.issues


@dataclass
class CsvSource:
    """A CSV file (header row first) and its mapping (reading rules: :mod:`gcx.sync.csvfile`).

    * a row with the wrong number of columns is reported (``malformed row``) and skipped;
    * a line that does not decode in the mapping's encoding is reported and skipped;
    * a broken quote is reported where it opens, and the lines it swallowed are read again;
    * line numbers are physical line numbers in the file (the header is line 1).
    """

    path: Path
    mapping: SourceMapping

    @property
    def description(self) -> str:
        return f"csv:{self.path}"

    def check(self) -> None:
        """Read the header (and the first row) only: a mapping that names a column the file
        lacks is refused here, before any request to Genesys."""
        for _ in self.items():
            break

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        rows = CsvRows(
            self.path,
            encoding=self.mapping.source.encoding,
            delimiter=self.mapping.source.delimiter,
            check_header=lambda header: self.mapping.check_columns(header, str(self.path)),
        )
        for row in rows:
            if isinstance(row, Issue):
                yield row
            else:
                yield from _items_from_built(self.mapping, row.values, row.line, kinds)


@dataclass
class JsonlSource:
    """Canonical records, one JSON object per line, fields named as the API names them.

    UTF-8; LF, CRLF or a lone CR end a line (the same reader as CSV: :func:`text_lines`).
    """

    path: Path
    phone_country: str | None = "US"

    @property
    def description(self) -> str:
        return f"jsonl:{self.path}"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        # Lines are read as json.loads reads them: with orjson (jsonfast.loads: json.loads's values
        # and errors, but an integer beyond 64 bits read as a float), and again with json.loads
        # when the record's walk (read_loaded_record) finds a float in it. A contact skipped by
        # kind (a pass for organizations only) is not walked at all.
        # (jsonfast.loads written out: orjson, and json.loads for what orjson refuses; one call
        # less per line of each pass)
        loads = orjson.loads
        for line_no, text, problem in text_lines(self.path, "utf-8"):
            if problem is not None:
                yield Issue(line_no, f"{problem}: record skipped")
                continue
            if not text or text.isspace():
                continue
            try:
                obj = loads(text)
            except orjson.JSONDecodeError:
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Issue(line_no, f"not valid JSON: {exc.msg} (column {exc.colno}): record skipped")
                    continue
                except RecursionError:  # beyond orjson's 1,024 levels and Python's own limit
                    yield Issue(line_no, _TOO_DEEP)
                    continue
            if type(obj) is dict:
                kind = obj.get("kind")
                if kind in KINDS and kind not in kinds:
                    continue
            out = read_loaded_record(obj, line_no, self.phone_country, True)
            if out is None:
                try:
                    out = read_record(json.loads(text), line_no, self.phone_country)
                except RecursionError:
                    yield Issue(line_no, _TOO_DEEP)
                    continue
            if isinstance(out, Record):
                yield out
            else:
                yield from out


_TOO_DEEP = "not valid JSON: nested too deeply to read: record skipped"


@dataclass
class RecordsSource:
    """Records already in memory (a saved plan, tests)."""

    records: list[Record]
    name: str = "records"

    @property
    def description(self) -> str:
        return self.name

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        yield from (r for r in self.records if r.kind in kinds)


@dataclass
class SqlSource:
    """Rows of a SQL query (any SQLAlchemy URL) through a mapping, streamed in chunks.

    The row number (1-based, in query order) stands for the line number in issues.
    """

    url: str
    query: str
    mapping: SourceMapping
    chunk_size: int = 1000

    @property
    def description(self) -> str:
        return f"sql:{redact.scrub(self.url)}"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        try:
            engine = create_engine(self.url)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            hint = extras.install_hint(exc) if isinstance(exc, ImportError) else ""
            raise ConfigError(f"cannot use SQL source {self.description}: {exc}{hint}") from None
        try:
            try:
                conn = engine.connect()
            except SQLAlchemyError as exc:
                raise ConfigError(
                    f"cannot connect to the SQL source {self.description}: {_sql_reason(exc)}"
                ) from None
            with conn:  # never committed: whatever the query is, it changes nothing
                try:
                    result = conn.execution_options(stream_results=True, yield_per=self.chunk_size).execute(
                        text(self.query)
                    )
                except SQLAlchemyError as exc:
                    raise SourceQueryError(f"SQL source query failed: {_sql_reason(exc)}") from None
                if not result.returns_rows:
                    raise SourceQueryError(
                        "the SQL source query returns no rows (it is not a query): give a SELECT; "
                        "the statement was rolled back"
                    )
                columns = [str(c) for c in result.keys()]  # noqa: SIM118 - Result is not a dict
                try:
                    self.mapping.check_columns(columns, self.description)
                except ConfigError as exc:
                    raise SourceQueryError(str(exc)) from None
                rows = iter(result)
                n = 0
                while True:
                    try:  # the database may fail on any row (a value it cannot compute or decode)
                        row = next(rows)
                    except StopIteration:
                        break
                    except (SQLAlchemyError, UnicodeError) as exc:
                        after = f" after row {n}" if n else ""
                        raise SourceQueryError(
                            f"SQL source query failed{after}: {_sql_reason(exc)}"
                        ) from None
                    n += 1
                    values = {c: _sql_value(v) for c, v in zip(columns, row, strict=True)}
                    yield from _items_from_built(self.mapping, values, n, kinds)
                result.close()
        finally:
            engine.dispose()


def _sql_reason(exc: Exception) -> str:
    """The database's own words (the driver's message), without SQLAlchemy's wrapping."""
    text = str(getattr(exc, "orig", None) or exc).strip()
    return text.splitlines()[0] if text else type(exc).__name__


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def open_source(
    path: str | Path | None,
    mapping: SourceMapping | None,
    *,
    sql_url: str | None = None,
    query: str | None = None,
    phone_country: str | None = "US",
) -> Source:
    """Pick the source from the arguments: SQL (URL + query, or the mapping's [source]), JSONL, CSV."""
    url = sql_url or (mapping.source.url if mapping else None)
    q = query or (mapping.source.query if mapping else None)
    if url or (mapping is not None and mapping.source.format == "sql"):
        if path is not None:
            raise SourceArgumentError(
                "give either a SOURCE file or a SQL source (--sql-url/--query), not both"
            )
        if mapping is None:
            raise SourceArgumentError("a SQL source needs a mapping file (--mapping)")
        if not url or not q:
            raise SourceArgumentError("a SQL source needs both a URL (--sql-url) and a query (--query)")
        return SqlSource(url=url, query=q, mapping=mapping)
    if path is None:
        raise SourceArgumentError("no source: give a SOURCE file (CSV or JSONL) or --sql-url with --query")
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"source file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix in {".jsonl", ".ndjson"} or (suffix == ".json" and mapping is None):
        if mapping is not None:
            raise SourceArgumentError(f"{p} holds canonical JSONL records: it takes no mapping file")
        return JsonlSource(p, phone_country=phone_country)
    if mapping is None:
        raise SourceArgumentError(f"{p} is not JSONL: a CSV source needs a mapping file (--mapping)")
    return CsvSource(p, mapping)
