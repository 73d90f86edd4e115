"""Sources of truth: CSV + mapping, JSONL canonical records, SQL query + mapping.

A source yields, row by row, valid :class:`~gcx.sync.records.Record` objects and
:class:`~gcx.sync.records.Issue` objects (a bad row: line, field, reason). Nothing is
loaded whole: files are read line by line and SQL results are streamed
(``yield_per``), so memory does not grow with the source. A source can be read more
than once (the engine reads it twice: organizations first, then contacts).
"""

from __future__ import annotations

import csv
import json
from collections.abc import Collection, Iterable, Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any, Protocol

from gcx.errors import ConfigError
from gcx.sync.fields import KINDS, Kind
from gcx.sync.mapping import Mapping_
from gcx.sync.records import Issue, Record, record_from_json

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


def _items_from_built(
    mapping: Mapping_, row: dict[str, Any], line: int, kinds: Collection[Kind]
) -> Iterator[Item]:
    for built in mapping.build(row, line, kinds):
        if built.record is not None:
            yield built.record
        yield from built.issues


@dataclass
class CsvSource:
    """A CSV file (header row first) and its mapping.

    * a row with the wrong number of columns is reported (``malformed row``) and skipped;
    * a line that does not decode in the mapping's encoding is reported and skipped;
    * line numbers are physical line numbers in the file (the header is line 1).
    """

    path: Path
    mapping: Mapping_

    @property
    def description(self) -> str:
        return f"csv:{self.path}"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        encoding = self.mapping.source.encoding
        pending: list[Issue] = []
        phys = 0

        def lines(fh: Iterable[bytes]) -> Iterator[str]:
            nonlocal phys
            for raw in fh:
                phys += 1
                enc = (
                    "utf-8-sig"
                    if phys == 1 and encoding.replace("_", "-").lower() in {"utf-8", "utf8"}
                    else encoding
                )
                try:
                    text = raw.decode(enc)
                except UnicodeDecodeError as exc:
                    pending.append(
                        Issue(phys, f"cannot decode the line as {encoding} (byte {exc.start}): row skipped")
                    )
                    continue
                if "\x00" in text:
                    pending.append(Issue(phys, "the line contains a NUL byte: row skipped"))
                    continue
                yield text

        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read source {self.path}: {exc.strerror or exc}") from None
        with fh:
            reader = csv.reader(lines(fh), delimiter=self.mapping.source.delimiter, strict=True)
            header: list[str] | None = None
            while True:
                try:
                    row = next(reader)
                except StopIteration:
                    break
                except csv.Error as exc:
                    yield from pending
                    pending.clear()
                    yield Issue(phys, f"malformed CSV: {exc}: row skipped")
                    continue
                yield from pending
                pending.clear()
                if header is None:
                    header = [h.strip() for h in row]
                    self.mapping.check_columns(header, str(self.path))
                    continue
                if not row or (len(row) == 1 and not row[0].strip()):
                    continue
                if len(row) != len(header):
                    yield Issue(
                        phys,
                        f"malformed row: {len(row)} columns where the header has {len(header)}: row skipped",
                    )
                    continue
                yield from _items_from_built(self.mapping, dict(zip(header, row, strict=True)), phys, kinds)
            yield from pending
            if header is None:
                raise ConfigError(f"source {self.path} is empty (no header row)")


@dataclass
class JsonlSource:
    """Canonical records, one JSON object per line, fields named as the API names them."""

    path: Path
    phone_country: str | None = "US"

    @property
    def description(self) -> str:
        return f"jsonl:{self.path}"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        try:
            fh = self.path.open("rb")
        except OSError as exc:
            raise ConfigError(f"cannot read source {self.path}: {exc.strerror or exc}") from None
        with fh:
            for line_no, raw in enumerate(fh, start=1):
                try:
                    text = raw.decode("utf-8-sig" if line_no == 1 else "utf-8")
                except UnicodeDecodeError as exc:
                    yield Issue(
                        line_no, f"cannot decode the line as utf-8 (byte {exc.start}): record skipped"
                    )
                    continue
                if not text.strip():
                    continue
                try:
                    obj = json.loads(text)
                except json.JSONDecodeError as exc:
                    yield Issue(line_no, f"not valid JSON: {exc.msg} (column {exc.colno}): record skipped")
                    continue
                if isinstance(obj, dict) and obj.get("kind") in KINDS and obj.get("kind") not in kinds:
                    continue
                built = record_from_json(obj, line=line_no, phone_country=self.phone_country)
                if built.record is not None:
                    yield built.record
                yield from built.issues


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
    mapping: Mapping_
    chunk_size: int = 1000

    @property
    def description(self) -> str:
        from sqlalchemy.engine import make_url

        try:
            safe = make_url(self.url).render_as_string(hide_password=True)
        except Exception:  # never echo a URL that may hold a password
            safe = "<sql url>"
        return f"sql:{safe}"

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        from sqlalchemy import create_engine, text
        from sqlalchemy.exc import ArgumentError, SQLAlchemyError

        try:
            engine = create_engine(self.url)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise ConfigError(f"cannot use SQL source {self.description}: {exc}") from None
        try:
            with engine.connect() as conn:
                try:
                    result = conn.execution_options(stream_results=True, yield_per=self.chunk_size).execute(
                        text(self.query)
                    )
                except SQLAlchemyError as exc:
                    raise ConfigError(
                        f"SQL source query failed: {exc.__class__.__name__}: {getattr(exc, 'orig', None) or exc}"
                    ) from None
                columns = [str(c) for c in result.keys()]  # noqa: SIM118 - Result is not a dict
                self.mapping.check_columns(columns, self.description)
                for n, row in enumerate(result, start=1):
                    values = {c: _sql_value(v) for c, v in zip(columns, row, strict=True)}
                    yield from _items_from_built(self.mapping, values, n, kinds)
                result.close()
        finally:
            engine.dispose()


def _sql_value(value: Any) -> Any:
    if value is None or isinstance(value, str | int | float | bool):
        return value
    return str(value)


def open_source(
    path: str | Path | None,
    mapping: Mapping_ | None,
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
            raise ConfigError("give either a SOURCE file or a SQL source (--sql-url/--query), not both")
        if mapping is None:
            raise ConfigError("a SQL source needs a mapping file (--mapping)")
        if not url or not q:
            raise ConfigError("a SQL source needs both a URL (--sql-url) and a query (--query)")
        return SqlSource(url=url, query=q, mapping=mapping)
    if path is None:
        raise ConfigError("no source: give a SOURCE file (CSV or JSONL) or --sql-url with --query")
    p = Path(path)
    if not p.exists():
        raise ConfigError(f"source file {p} does not exist")
    suffix = p.suffix.lower()
    if suffix in {".jsonl", ".ndjson"} or (suffix == ".json" and mapping is None):
        if mapping is not None:
            raise ConfigError(f"{p} holds canonical JSONL records: it takes no mapping file")
        return JsonlSource(p, phone_country=phone_country)
    if mapping is None:
        raise ConfigError(f"{p} is not JSONL: a CSV source needs a mapping file (--mapping)")
    return CsvSource(p, mapping)
