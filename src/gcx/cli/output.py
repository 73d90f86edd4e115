"""One output helper for every ``gcx`` command: table, JSON, JSONL, YAML or CSV.

Rules (shared by all commands):

* stdout carries data only; messages, warnings and progress go to stderr;
* ``table`` is for people (rich, only here at the edge), ``json``/``jsonl``/``csv`` for scripts;
* ``jsonl`` and ``csv`` stream (one line per record, nothing buffered), ``json`` streams a
  JSON array, ``table`` collects its rows first;
* progress bars are drawn on stderr and only when stderr is a terminal;
* ``--fields`` and ``--query`` (:mod:`gcx.cli.shape`) choose what is printed, in every format;
* ids are never split across lines in a table: other columns give way;
* record text is made safe for its reader (:mod:`gcx.cli.safety`): no terminal escape reaches
  a terminal, no CSV cell runs as a spreadsheet formula (unless ``--raw-csv``).

What each kind of record prints as (table and CSV columns) is :mod:`gcx.cli.columns`.
"""

from __future__ import annotations

import csv
import io
import json
import os
import sys
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from contextlib import contextmanager
from enum import StrEnum
from typing import IO, Any, Protocol

from gcx.cli.columns import (
    EXTRA_COLUMN,
    Column,
    RecordKind,
    cell_text,
    flatten,
    generic_columns,
    is_id_path,
    to_dict,
)
from gcx.cli.safety import json_safe, spreadsheet_safe, terminal_safe
from gcx.cli.shape import Query, project, wants_all
from gcx.cli.writers import (
    CsvWriter,
    JsonArrayWriter,
    JsonlWriter,
    QueryWriter,
    RecordWriter,
    TableWriter,
    YamlWriter,
    cells_of,
    identity_cell,
    yaml_text,
)


class OutputFormat(StrEnum):
    """The ``--output`` choices."""

    table = "table"
    json = "json"
    jsonl = "jsonl"
    csv = "csv"
    yaml = "yaml"


# --------------------------------------------------------------------------- progress


class Progress(Protocol):
    """What commands use to report progress (a rich bar on a terminal, nothing otherwise)."""

    def advance(self, n: int = 1) -> None: ...

    def set_total(self, total: int | None) -> None: ...

    def set_description(self, text: str) -> None: ...

    def restart(self, description: str, total: int | None = None) -> None:
        """A new phase: the count back to 0, a new description and total (rate and ETA anew)."""
        ...


def _rate_column() -> Any:
    """``123/s`` (items per second over the last seconds), blank until known."""
    from rich.progress import ProgressColumn
    from rich.text import Text

    class RateColumn(ProgressColumn):
        def render(self, task: Any) -> Text:
            speed = task.finished_speed or task.speed
            return Text(f"{speed:,.0f}/s" if speed else "")

    return RateColumn()


class _NoProgress:
    def advance(self, n: int = 1) -> None:
        return None

    def set_total(self, total: int | None) -> None:
        return None

    def set_description(self, text: str) -> None:
        return None

    def restart(self, description: str, total: int | None = None) -> None:
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

    def restart(self, description: str, total: int | None = None) -> None:
        self._progress.reset(self._task, total=total, description=description)


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
        fields: Sequence[str] | None = None,
        query: Query | None = None,
        stdout: IO[str] | None = None,
        stderr: IO[str] | None = None,
    ) -> None:
        self.format = fmt
        self.quiet = quiet
        self.no_color = no_color or bool(os.environ.get("NO_COLOR"))
        self.raw_csv = raw_csv
        self.fields = tuple(fields) if fields else None
        self.query = query
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
            fields=self.fields,
            query=self.query,
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
        row = self.shape(to_dict(record))
        if self.query is not None:
            self.result(self.query.apply(row), kind)
        elif self.format is OutputFormat.table:
            self._key_value_table(row)
        elif self.format is OutputFormat.json:
            self._write_line(json_safe(json.dumps(row, ensure_ascii=False, indent=2)))
        elif self.format is OutputFormat.yaml:
            self._write_line(yaml_text(row).rstrip("\n"))
        else:
            self.records([row], kind)

    def shape(self, row: dict[str, Any]) -> dict[str, Any]:
        """``row`` keeping only ``--fields`` (when given)."""
        return project(row, self.fields) if self.fields else row

    def result(self, value: Any, kind: RecordKind | None = None) -> None:
        """Print what ``--query`` returned: a list of records as records, a mapping as one, a
        scalar or a list of scalars as lines of text (JSON when the format is json/yaml)."""
        plain = self.with_shape(None, None)
        rows = isinstance(value, list) and all(isinstance(v, Mapping) for v in value)
        if self.format is OutputFormat.json:
            plain._write_line(json_safe(json.dumps(value, ensure_ascii=False, indent=2, default=str)))
        elif self.format is OutputFormat.yaml:
            plain._write_line(yaml_text(value).rstrip("\n"))
        elif self.format is OutputFormat.jsonl and isinstance(value, list):
            for item in value:
                plain._write_line(json_safe(json.dumps(item, ensure_ascii=False, separators=(",", ":"))))
        elif self.format is OutputFormat.jsonl:
            plain._write_line(json_safe(json.dumps(value, ensure_ascii=False, separators=(",", ":"))))
        elif rows and value:
            plain.records(value, _generic(kind))
        elif isinstance(value, Mapping):
            plain.record(value, kind)
        elif value is not None:
            for item in value if isinstance(value, list) else [value]:
                plain.text_line(cell_text(item))

    def with_shape(self, fields: Sequence[str] | None, query: Query | None) -> Output:
        """A copy with other ``--fields``/``--query`` (``None``: print everything as it is)."""
        copy = Output(
            self.format,
            quiet=self.quiet,
            no_color=self.no_color,
            raw_csv=self.raw_csv,
            stdout=self._stdout,
            stderr=self._stderr,
        )
        copy.fields = tuple(fields) if fields else None
        copy.query = query
        return copy

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
        if self.query is not None:
            writer = QueryWriter(self, kind)
        elif self.format is OutputFormat.jsonl:
            writer = JsonlWriter(self.stdout)
        elif self.format is OutputFormat.json:
            writer = JsonArrayWriter(self.stdout)
        elif self.format is OutputFormat.yaml:
            writer = YamlWriter(self.stdout)
        elif self.format is OutputFormat.csv:
            writer = CsvWriter(self.stdout, self.csv_columns(kind), cell=self.csv_cell())
        else:
            writer = TableWriter(self, kind, noun)
        writer.shape = self.shape
        try:
            yield writer
        except BaseException:
            writer.abort()
            raise
        writer.close()

    def csv_columns(self, kind: RecordKind | None) -> list[str] | None:
        """The CSV columns for ``kind``: ``--fields``, every column (``--fields all``) or its default."""
        if self.fields and not wants_all(self.fields):
            return list(self.fields)
        if kind is None or kind.csv is None:
            return None
        if wants_all(self.fields) or kind.csv_default is None:
            return list(kind.csv)
        return list(kind.csv_default)

    def table_columns(self, kind: RecordKind | None, rows: Sequence[Mapping[str, Any]]) -> tuple[Column, ...]:
        """The table columns: ``--fields`` (one per path), the kind's own, or every key seen."""
        if self.fields and not wants_all(self.fields):
            return tuple(Column(f, whole=is_id_path(f)) for f in self.fields)
        if kind is not None and kind.table and not wants_all(self.fields):
            return kind.table
        names = [c for c in kind.csv if c != EXTRA_COLUMN] if kind and kind.csv else generic_columns(rows)
        return tuple(Column(c, whole=is_id_path(c)) for c in names)

    def data(self, payload: Any) -> None:
        """Print a free-form result (a mapping): key/value table or one JSON document."""
        if isinstance(payload, Mapping) and self.fields:
            payload = project(payload, self.fields)
        if self.query is not None:
            self.result(self.query.apply(payload))
            return
        if self.format is OutputFormat.yaml:
            self._write_line(yaml_text(payload).rstrip("\n"))
        elif self.format is OutputFormat.table and isinstance(payload, Mapping):
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
        guard = identity_cell if self.raw_csv else spreadsheet_safe
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
        columns = list(self.table_columns(kind, rows))
        cells = [[terminal_safe(column.value(row)) for column in columns] for row in rows]
        width = self._console(self.stdout).width
        hidden: list[str] = []
        # Ids stay whole; the other columns shrink (cut with an ellipsis) and, when even that
        # does not fit, the last ones are left out and a note says which.
        widths = fit_widths(columns, cells, width)
        while widths is None:
            droppable = [n for n, c in enumerate(columns) if not c.whole]
            if len(droppable) <= 1:
                break
            n = droppable[-1]
            hidden.insert(0, columns.pop(n).header)
            for line in cells:
                del line[n]
            widths = fit_widths(columns, cells, width)
        console = self._console(self.stdout)
        if widths is None:  # narrower than the ids themselves: draw wider, let the terminal wrap lines
            widths = fit_widths(columns, cells, 10**6, natural=False)
            console.width = sum(widths or ()) + _COLUMN_OVERHEAD * len(columns) + 1
        if rows:
            console.print(_build_table(columns, cells, widths, bold=not self.no_color))
        noun = noun or (kind.name if kind else "record")
        self.message(f"{len(rows)} {noun}{'' if len(rows) == 1 else 's'}")
        if rows and hidden:
            self.message(
                f"not shown at this width: {', '.join(hidden)} (a wider terminal, --fields or -o csv shows them)"
            )

    def _key_value_table(self, row: Mapping[str, Any]) -> None:
        from rich.table import Table

        pairs = list(_flatten_for_view(row))
        console = self._console(self.stdout)
        key_width = min(max((len(k) for k, _ in pairs), default=5), max(console.width // 2, 10))
        table = Table(show_header=False, box=_box())
        # field names stay whole (on one line) up to half the width; values fold
        table.add_column("field", style=None if self.no_color else "bold", no_wrap=True, min_width=key_width)
        table.add_column("value", overflow="fold")
        for key, value in pairs:
            table.add_row(terminal_safe(key), terminal_safe(cell_text(value)))
        console.print(table)

    # ---- progress (stderr, terminal only)

    @contextmanager
    def progress(
        self, description: str, total: int | None = None, *, transient: bool = False
    ) -> Iterator[Progress]:
        """A progress bar on stderr when it is a terminal (and not ``--quiet``), else a no-op:
        done/total, rate and time left (when the total is known), elapsed time. ``transient``:
        the bar is erased at the end (no frame left between a listing's lines)."""
        if self.quiet or not _isatty(self.stderr):
            yield _NoProgress()
            return
        from rich.progress import (
            BarColumn,
            MofNCompleteColumn,
            SpinnerColumn,
            TextColumn,
            TimeElapsedColumn,
            TimeRemainingColumn,
        )
        from rich.progress import Progress as RichProgress

        columns = (
            SpinnerColumn(),
            TextColumn("{task.description}"),
            BarColumn(),
            MofNCompleteColumn(),
            _rate_column(),
            TimeRemainingColumn(),
            TimeElapsedColumn(),
        )
        with RichProgress(*columns, console=self._console(self.stderr), transient=transient) as bar:
            task = bar.add_task(description, total=total)
            yield _RichProgress(bar, task)


#: Padding and separator around each table column (box.SIMPLE_HEAD, padding 1).
_COLUMN_OVERHEAD = 3


def fit_widths(
    columns: Sequence[Column], cells: Sequence[Sequence[str]], width: int, *, natural: bool = True
) -> list[int] | None:
    """Each column's width so the table fits ``width``: whole columns (ids) at their full width,
    the others at their natural width when there is room, else sharing what is left (each at
    least its header's first 8 characters). ``None`` when even that does not fit."""
    naturals = [
        max([len(c.header), *(len(line[n]) for line in cells)])
        if c.max_width is None
        else min(c.max_width, max([len(c.header), *(len(line[n]) for line in cells)]))
        for n, c in enumerate(columns)
    ]
    mins = [
        natural if c.whole else min(natural, len(c.header), 8)
        for c, natural in zip(columns, naturals, strict=True)
    ]
    budget = width - _COLUMN_OVERHEAD * len(columns) - 1
    if sum(mins) > budget:
        return None
    widths = list(mins)
    remaining = budget - sum(mins) if natural else 0
    growing = [n for n in range(len(columns)) if naturals[n] > widths[n]]
    while remaining > 0 and growing:
        share = max(1, remaining // len(growing))
        for n in list(growing):
            add = min(share, naturals[n] - widths[n], remaining)
            widths[n] += add
            remaining -= add
            if widths[n] >= naturals[n]:
                growing.remove(n)
            if not remaining:
                break
    return widths


def _build_table(
    columns: Sequence[Column], cells: list[list[str]], widths: Sequence[int] | None, *, bold: bool
) -> Any:
    from rich.table import Table

    table = Table(show_header=True, header_style="bold" if bold else None, box=_box())
    for n, column in enumerate(columns):
        fixed = widths[n] if widths is not None else None
        header = terminal_safe(column.header)
        if column.whole:
            table.add_column(header, no_wrap=True, overflow="ignore", width=fixed)
        else:
            table.add_column(header, no_wrap=True, overflow="ellipsis", width=fixed)
    for line in cells:
        table.add_row(*line)
    return table


def _generic(kind: RecordKind | None) -> RecordKind | None:
    """A query's rows may have any shape: print them with the columns they have."""
    return RecordKind(kind.name, (), None) if kind else None


def _columns_env() -> int | None:
    """``COLUMNS`` as a positive width, ignoring values that are not numbers."""
    text = os.environ.get("COLUMNS", "").strip()
    return int(text) if text.isdigit() and int(text) > 0 else None


def _box() -> Any:
    from rich import box

    return box.SIMPLE_HEAD


def _flatten_for_view(row: Mapping[str, Any], prefix: str = "") -> Iterator[tuple[str, Any]]:
    """Nested mappings as dot paths for the key/value view; lists stay JSON."""
    for key, value in row.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            yield from _flatten_for_view(value, path + ".")
        else:
            yield path, value


def render_csv(rows: Iterable[Mapping[str, Any]], columns: Sequence[str], *, raw: bool = False) -> str:
    """CSV rows for ``rows`` flattened to ``columns`` (used by export); cells a spreadsheet
    would run as formulas are neutralised unless ``raw``."""
    buffer = io.StringIO()
    writer = csv.DictWriter(buffer, fieldnames=list(columns), lineterminator="\n")
    cell = identity_cell if raw else spreadsheet_safe
    for row in rows:
        writer.writerow(cells_of(flatten(row, columns), cell))
    return buffer.getvalue()


def csv_header(columns: Sequence[str]) -> str:
    buffer = io.StringIO()
    csv.writer(buffer, lineterminator="\n").writerow(list(columns))
    return buffer.getvalue()
