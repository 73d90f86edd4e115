"""One output helper for every ``gcx`` command: table, JSON, JSONL or CSV.

Rules (shared by all commands):

* stdout carries data only; messages, warnings and progress go to stderr;
* ``table`` is for people (rich, only here at the edge), ``json``/``jsonl``/``csv`` for scripts;
* ``jsonl`` and ``csv`` stream (one line per record, nothing buffered), ``json`` streams a
  JSON array, ``table`` collects its rows first;
* progress bars are drawn on stderr and only when stderr is a terminal;
* record text is made safe for its reader (:mod:`gcx.cli.safety`): no terminal escape reaches
  a terminal, no CSV cell runs as a spreadsheet formula (unless ``--raw-csv``).

CSV columns are derived from the pydantic models (:func:`csv_columns`): nested value objects
(address, phone numbers) are flattened to ``address.city``, references (``division``,
``externalOrganization``) to their ``.id``/``.name``, lists and maps are JSON-encoded, and
any field the model does not know lands in a final ``_extra`` JSON column, so no data is lost
and the header never changes between runs.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
import types
import typing
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from dataclasses import dataclass
from enum import StrEnum
from typing import IO, Any, Protocol

from pydantic import BaseModel

from gcx.cli.safety import json_safe, spreadsheet_safe, terminal_safe
from gcx.merge import get_path
from gcx.models import ExternalContact, ExternalOrganization
from gcx.models.base import ApiModel


class OutputFormat(StrEnum):
    """The ``--output`` choices."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"


EXTRA_COLUMN = "_extra"


# --------------------------------------------------------------------------- records


def to_dict(record: Any) -> dict[str, Any]:
    """A record (pydantic model or mapping) as a JSON-ready dict with API field names."""
    if isinstance(record, ApiModel):
        return record.to_api()
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(record, Mapping):
        return dict(record)
    raise TypeError(f"cannot print a {type(record).__name__} as a record")


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """A table column: a header and how to get its text from a record dict."""

    header: str
    path: str | None = None
    getter: Callable[[Mapping[str, Any]], Any] | None = None
    max_width: int | None = None

    def value(self, row: Mapping[str, Any]) -> str:
        raw = self.getter(row) if self.getter else get_path(row, self.path or self.header)
        return cell_text(raw)


def cell_text(value: Any) -> str:
    """How one value looks in a table or CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _contact_name(row: Mapping[str, Any]) -> str:
    parts = [row.get("firstName"), row.get("middleName"), row.get("lastName")]
    return " ".join(str(p) for p in parts if p)


def _phone(row: Mapping[str, Any]) -> str | None:
    for key in ("workPhone", "cellPhone", "homePhone", "otherPhone"):
        phone = row.get(key)
        if isinstance(phone, Mapping) and (phone.get("display") or phone.get("e164")):
            return str(phone.get("display") or phone.get("e164"))
    return None


def _org_of_contact(row: Mapping[str, Any]) -> str | None:
    org = row.get("externalOrganization")
    if isinstance(org, Mapping):
        return str(org.get("name") or org.get("id") or "") or None
    return None


def _email(row: Mapping[str, Any]) -> str | None:
    for key in ("workEmail", "personalEmail", "otherEmail"):
        if row.get(key):
            return str(row[key])
    return None


CONTACT_COLUMNS: tuple[Column, ...] = (
    Column("id"),
    Column("name", getter=_contact_name),
    Column("email", getter=_email),
    Column("phone", getter=_phone),
    Column("organization", getter=_org_of_contact),
    Column("modified", path="modifyDate"),
)

ORG_COLUMNS: tuple[Column, ...] = (
    Column("id"),
    Column("name"),
    Column("industry"),
    Column("type", path="companyType"),
    Column("city", path="address.city"),
    Column("modified", path="modifyDate"),
)

IDENTIFIER_COLUMNS: tuple[Column, ...] = (
    Column("type"),
    Column("value"),
    Column("external source", path="externalSource.id"),
    Column("created", path="dateCreated"),
)


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field_types(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's resolved type (models may defer building, leaving forward references)."""
    hints = typing.get_type_hints(model)
    return {
        name: _unwrap_optional(hints.get(name, info.annotation)) for name, info in model.model_fields.items()
    }


def csv_columns(model: type[BaseModel]) -> list[str]:
    """Flattened column names (dot paths) for a model, stable across runs.

    * scalar field -> its name;
    * nested model with an ``id`` (a reference) -> ``x.id`` and, if it has one, ``x.name``;
    * other nested model (address, phone number) -> one column per scalar sub-field;
    * list or map -> one column holding JSON;
    * finally :data:`EXTRA_COLUMN` for fields the model does not know.
    """
    columns: list[str] = []
    types = _field_types(model)
    for name, info in model.model_fields.items():
        key = info.alias or name
        annotation = types[name]
        if _is_model(annotation):
            sub_fields = annotation.model_fields
            if "id" in sub_fields:
                columns.append(f"{key}.id")
                if "name" in sub_fields:
                    columns.append(f"{key}.name")
                continue
            for sub_name, sub_info in sub_fields.items():
                sub_key = sub_info.alias or sub_name
                columns.append(f"{key}.{sub_key}")
            continue
        columns.append(key)
    columns.append(EXTRA_COLUMN)
    return columns


CONTACT_CSV_COLUMNS: list[str] = csv_columns(ExternalContact)
ORG_CSV_COLUMNS: list[str] = csv_columns(ExternalOrganization)


def flatten(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, str]:
    """One CSV row for ``row``: every column filled, unknown data kept in ``_extra``."""
    out: dict[str, str] = {}
    covered: dict[str, set[str] | None] = {}
    for column in columns:
        if column == EXTRA_COLUMN:
            continue
        head, _, tail = column.partition(".")
        if tail:
            covered.setdefault(head, set())
            bucket = covered[head]
            if bucket is not None:
                bucket.add(tail)
        else:
            covered[head] = None
        out[column] = cell_text(get_path(row, column))
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if key not in covered:
            extra[key] = value
            continue
        sub_keys = covered[key]
        if sub_keys is None or not isinstance(value, Mapping):
            if sub_keys is not None and value is not None:
                extra[key] = value
            continue
        leftovers = {k: v for k, v in value.items() if k not in sub_keys and v is not None}
        if leftovers:
            extra[key] = leftovers
    if EXTRA_COLUMN in columns:
        out[EXTRA_COLUMN] = cell_text(extra) if extra else ""
    return out


def generic_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Columns for records of no known kind: every top-level key, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class RecordKind:
    """How one kind of record prints: table columns and CSV columns."""

    name: str
    table: tuple[Column, ...]
    csv: Sequence[str] | None


CONTACT = RecordKind("contact", CONTACT_COLUMNS, CONTACT_CSV_COLUMNS)
ORGANIZATION = RecordKind("organization", ORG_COLUMNS, ORG_CSV_COLUMNS)
IDENTIFIER = RecordKind(
    "identifier", IDENTIFIER_COLUMNS, ["type", "value", "externalSource.id", "dateCreated", EXTRA_COLUMN]
)


# --------------------------------------------------------------------------- progress


class Progress(Protocol):
    """What commands use to report progress (a rich bar on a terminal, nothing otherwise)."""

    def advance(self, n: int = 1) -> None: ...

    def set_total(self, total: int | None) -> None: ...

    def set_description(self, text: str) -> None: ...


class _NoProgress:
    def advance(self, n: int = 1) -> None:
        return None

    def set_total(self, total: int | None) -> None:
        return None

    def set_description(self, text: str) -> None:
        return None


class _RichProgress:
    def __init__(self, progress: Any, task: Any) -> None:
        self._progress = progress
        self._task = task

    def advance(self, n: int = 1) -> None:
        self._progress.advance(self._task, n)

    def set_total(self, total: int | None) -> None:
        self._progress.update(self._task, total=total)

    def set_description(self, text: str) -> None:
        self._progress.update(self._task, description=text)


def _isatty(stream: IO[str]) -> bool:
    try:
        return stream.isatty()
    except (AttributeError, ValueError):
        return False


# --------------------------------------------------------------------------- output


class Output:
    """Prints records and messages for one command run.

    ``stdout``/``stderr`` default to the process streams *at call time* (so test runners that
    swap them are honoured).
    """

    def __init__(
        self,
        fmt: OutputFormat = OutputFormat.table,
        *,
        quiet: bool = False,
        no_color: bool = False,
        raw_csv: bool = False,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.format = fmt
        self.quiet = quiet
        self.no_color = no_color or bool(os.environ.get("NO_COLOR"))
        self.raw_csv = raw_csv
        self._stdout = stdout
        self._stderr = stderr

    @property
    def stdout(self) -> IO[str]:
        return self._stdout or sys.stdout

    @property
    def stderr(self) -> IO[str]:
        return self._stderr or sys.stderr

    def with_format(self, fmt: OutputFormat | None) -> Output:
        """A copy printing in ``fmt`` (a per-command ``--output``), or ``self`` when ``None``."""
        if fmt is None or fmt == self.format:
            return self
        return Output(
            fmt,
            quiet=self.quiet,
            no_color=self.no_color,
            raw_csv=self.raw_csv,
            stdout=self._stdout,
            stderr=self._stderr,
        )

    # ---- messages (stderr)

    def _console(self, stream: IO[str]) -> Any:
        from rich.console import Console

        tty = _isatty(stream)
        width = None if tty else _columns_env() or 200
        return Console(
            file=stream,
            no_color=self.no_color,
            color_system=None if self.no_color or not tty else "auto",
            highlight=False,
            emoji=False,
            markup=False,
            width=width,
            soft_wrap=False,
        )

    def message(self, text: str) -> None:
        """An informational line on stderr (silenced by ``--quiet``)."""
        if not self.quiet:
            print(terminal_safe(text), file=self.stderr, flush=True)

    def warn(self, text: str) -> None:
        """A warning on stderr (always shown)."""
        print(f"warning: {terminal_safe(text)}", file=self.stderr, flush=True)

    def error(self, text: str) -> None:
        """An error line on stderr (always shown)."""
        print(f"error: {terminal_safe(text)}", file=self.stderr, flush=True)

    # ---- data (stdout)

    def record(self, record: Any, kind: RecordKind | None = None) -> None:
        """Print one record. As a table: a two-column field/value view of every set field."""
        row = to_dict(record)
        if self.format is OutputFormat.table:
            self._key_value_table(row)
        elif self.format is OutputFormat.json:
            self._write_line(json_safe(json.dumps(row, ensure_ascii=False, indent=2)))
        else:
            self.records([row], kind)

    def records(
        self, records: Iterable[Any], kind: RecordKind | None = None, *, noun: str | None = None
    ) -> int:
        """Print many records (streamed except for tables); returns how many were printed."""
        with self.stream(kind, noun=noun) as writer:
            for record in records:
                writer.write(record)
        return writer.count

    @contextmanager
    def stream(self, kind: RecordKind | None = None, *, noun: str | None = None) -> Iterator[RecordWriter]:
        """A writer to print records one at a time (from an async loop); closes the document at the end.

        JSONL and CSV lines are written as records arrive; a JSON array is opened at the first
        record and closed on exit (also on error, so the output stays valid JSON); a table is
        drawn on exit.
        """
        writer: RecordWriter
        if self.format is OutputFormat.jsonl:
            writer = _JsonlWriter(self.stdout)
        elif self.format is OutputFormat.json:
            writer = _JsonArrayWriter(self.stdout)
        elif self.format is OutputFormat.csv:
            writer = _CsvWriter(self.stdout, kind.csv if kind else None, cell=self.csv_cell())
        else:
            writer = _TableWriter(self, kind, noun)
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()

    def data(self, payload: Any) -> None:
        """Print a free-form result (a mapping): key/value table or one JSON document."""
        if self.format is OutputFormat.table and isinstance(payload, Mapping):
            self._key_value_table(dict(payload))
        elif self.format is OutputFormat.csv and isinstance(payload, Mapping):
            self.records([payload])
        elif self.format is OutputFormat.jsonl:
            self._write_line(
                json_safe(json.dumps(payload, ensure_ascii=False, separators=(",", ":"), default=str))
            )
        else:
            self._write_line(json_safe(json.dumps(payload, ensure_ascii=False, indent=2, default=str)))

    def csv_cell(self) -> Callable[[str], str]:
        """How a CSV cell is made safe on this output: no formula for a spreadsheet (unless
        ``--raw-csv``), and no terminal escape when stdout is a terminal."""
        guard = _identity if self.raw_csv else spreadsheet_safe
        if _isatty(self.stdout):
            return lambda cell: terminal_safe(guard(cell))
        return guard

    def text_line(self, text: str) -> None:
        """A free text line on stdout (plans, summaries), terminal-safe."""
        self._write_line(terminal_safe(text))

    def _write_line(self, text: str) -> None:
        self.stdout.write(text + "\n")
        self.stdout.flush()

    def _draw_table(self, rows: list[dict[str, Any]], kind: RecordKind | None, noun: str | None) -> None:
        from rich.table import Table

        columns = kind.table if kind else tuple(Column(c) for c in generic_columns(rows))
        table = Table(show_header=True, header_style=None if self.no_color else "bold", box=_box())
        for column in columns:
            table.add_column(terminal_safe(column.header), overflow="fold", max_width=column.max_width)
        for row in rows:
            table.add_row(*(terminal_safe(column.value(row)) for column in columns))
        if rows:
            self._console(self.stdout).print(table)
        noun = noun or (kind.name if kind else "record")
        self.message(f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}")

    def _key_value_table(self, row: Mapping[str, Any]) -> None:
        from rich.table import Table

        table = Table(show_header=False, box=_box())
        table.add_column("field", style=None if self.no_color else "bold")
        table.add_column("value", overflow="fold")
        for key, value in _flatten_for_view(row):
            table.add_row(terminal_safe(key), terminal_safe(cell_text(value)))
        self._console(self.stdout).print(table)

    # ---- progress (stderr, terminal only)

    @contextmanager
    def progress(self, description: str, total: int | None = None) -> Iterator[Progress]:
        """A progress bar on stderr when it is a terminal (and not ``--quiet``), else a no-op."""
        if self.quiet or not _isatty(self.stderr):
            yield _NoProgress()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
        )
        from rich.progress import Progress as RichProgress

        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=self._console(self.stderr), transient=False) as bar:
            task = bar.add_task(description, total=total)
            yield _RichProgress(bar, task)


class RecordWriter:
    """Prints records one at a time; :meth:`close` finishes the document."""

    def __init__(self) -> None:
        self.count = 0
        self.closed = False

    def write(self, record: Any) -> None:
        self._write(to_dict(record))
        self.count += 1

    def _write(self, row: dict[str, Any]) -> None:
        raise NotImplementedError

    def close(self) -> None:
        if not self.closed:
            self.closed = True
            self._close()

    def _close(self) -> None:
        return None

    def abort(self) -> None:
        """The command failed midway: end the document cleanly (a table is not drawn)."""
        self.close()


class _JsonlWriter(RecordWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _write(self, row: dict[str, Any]) -> None:
        self._out.write(json_safe(json.dumps(row, ensure_ascii=False, separators=(",", ":"))) + "\n")
        self._out.flush()

    def _close(self) -> None:
        self._out.flush()


class _JsonArrayWriter(RecordWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _write(self, row: dict[str, Any]) -> None:
        text = json_safe(json.dumps(row, ensure_ascii=False, indent=2))
        self._out.write(("[" if self.count == 0 else ",") + "\n" + _indent(text, "  "))

    def _close(self) -> None:
        self._out.write("\n]\n" if self.count else "[]\n")
        self._out.flush()


class _CsvWriter(RecordWriter):
    """Known kinds stream with their model columns; other records are buffered to learn the columns."""

    def __init__(
        self, out: IO[str], columns: Sequence[str] | None, *, cell: Callable[[str], str] = spreadsheet_safe
    ) -> None:
        super().__init__()
        self._out = out
        self._cell = cell
        self._columns = list(columns) if columns is not None else None
        self._buffer: list[dict[str, Any]] = []
        self._writer: Any = None

    def _start(self, columns: list[str]) -> None:
        self._writer = csv.DictWriter(self._out, fieldnames=columns, lineterminator="\n")
        self._writer.writerow({c: self._cell(c) for c in columns})

    def _write(self, row: dict[str, Any]) -> None:
        if self._columns is None:
            self._buffer.append(row)
            return
        if self._writer is None:
            self._start(self._columns)
        self._writer.writerow(_cells(flatten(row, self._columns), self._cell))

    def _close(self) -> None:
        if self._columns is None:
            columns = generic_columns(self._buffer)
            if columns:
                self._start(columns)
                for row in self._buffer:
                    self._writer.writerow(_cells(flatten(row, columns), self._cell))
        elif self._writer is None:
            self._start(self._columns)
        self._out.flush()


class _TableWriter(RecordWriter):
    def __init__(self, output: Output, kind: RecordKind | None, noun: str | None) -> None:
        super().__init__()
        self._output = output
        self._kind = kind
        self._noun = noun
        self._rows: list[dict[str, Any]] = []

    def _write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)

    def _close(self) -> None:
        self._output._draw_table(self._rows, self._kind, self._noun)

    def abort(self) -> None:
        self.closed = True


def _columns_env() -> int | None:
    """``COLUMNS`` as a positive width, ignoring values that are not numbers."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _box() -> Any:
    from rich import box

    return box.SIMPLE_HEAD


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def _flatten_for_view(row: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested mappings as dot paths for the key/value view; lists stay JSON."""
    for key, value in row.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten_for_view(value, path + ".")
        else:
            yield path, value


def _identity(cell: str) -> str:
    return cell


def _cells(row: dict[str, str], cell: Callable[[str], str]) -> dict[str, str]:
    return {k: cell(v) for k, v in row.items()}


def render_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, raw: bool = False) -> str:
    """CSV rows for ``rows`` flattened to ``columns`` (used by export); cells a spreadsheet
    would run as formulas are neutralised unless ``raw``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    cell = _identity if raw else spreadsheet_safe
    for row in rows:
        writer.writerow(_cells(flatten(row, columns), cell))
    return buffer.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(columns))
    return buffer.getvalue()
