"""The record writers behind :meth:`gcx.cli.output.Output.stream`: one per format, each printing
records as they come (JSONL, a JSON array, YAML, CSV) or when the listing ends (a table, the
result of ``--query``)."""

from __future__ import annotations

import csv
import json
from collections.abc import Callable, Sequence
from typing import IO, TYPE_CHECKING, Any

from gcx.cli.columns import RecordKind, flatten, generic_columns, to_dict
from gcx.cli.safety import json_safe, spreadsheet_safe

if TYPE_CHECKING:
    from gcx.cli.output import Output


class RecordWriter:
    """Prints records one at a time; :meth:`close` finishes the document."""

    def __init__(self) -> None:
        self.count = 0
        self.closed = False

    #: What is kept of each record (``--fields``), set by :meth:`Output.stream`.
    shape: Callable[[dict[str, Any]], dict[str, Any]] = staticmethod(lambda row: row)

    def write(self, record: Any) -> None:
        self._write(self.shape(to_dict(record)))
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


class JsonlWriter(RecordWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _write(self, row: dict[str, Any]) -> None:
        self._out.write(json_safe(json.dumps(row, ensure_ascii=False, separators=(",", ":"))) + "\n")
        self._out.flush()

    def _close(self) -> None:
        self._out.flush()


class JsonArrayWriter(RecordWriter):
    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _write(self, row: dict[str, Any]) -> None:
        text = json_safe(json.dumps(row, ensure_ascii=False, indent=2))
        self._out.write(("[" if self.count == 0 else ",") + "\n" + _indent(text, "  "))

    def _close(self) -> None:
        self._out.write("\n]\n" if self.count else "[]\n")
        self._out.flush()


class YamlWriter(RecordWriter):
    """One YAML sequence, streamed: each record is written as its own ``- `` item."""

    def __init__(self, out: IO[str]) -> None:
        super().__init__()
        self._out = out

    def _write(self, row: dict[str, Any]) -> None:
        self._out.write(yaml_text([row]))
        self._out.flush()

    def _close(self) -> None:
        if not self.count:
            self._out.write("[]\n")
        self._out.flush()


class QueryWriter(RecordWriter):
    """Collects the records; on close prints what ``--query`` makes of the list."""

    def __init__(self, output: Output, kind: RecordKind | None) -> None:
        super().__init__()
        self._output = output
        self._kind = kind
        self._rows: list[dict[str, Any]] = []

    def _write(self, row: dict[str, Any]) -> None:
        self._rows.append(row)

    def _close(self) -> None:
        query = self._output.query
        if query is not None:
            self._output.result(query.apply(self._rows), self._kind)

    def abort(self) -> None:
        self.closed = True


class CsvWriter(RecordWriter):
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
        self._writer.writerow(cells_of(flatten(row, self._columns), self._cell))

    def _close(self) -> None:
        if self._columns is None:
            columns = generic_columns(self._buffer)
            if columns:
                self._start(columns)
                for row in self._buffer:
                    self._writer.writerow(cells_of(flatten(row, columns), self._cell))
        elif self._writer is None:
            self._start(self._columns)
        self._out.flush()


class TableWriter(RecordWriter):
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


def yaml_text(value: Any) -> str:
    """``value`` as YAML (block style, keys in their order). Text holding a bidi override or a C1
    control is written with escapes, so what a terminal shows is what the document holds."""
    import yaml

    text = yaml.safe_dump(value, sort_keys=False, allow_unicode=True, default_flow_style=False)
    if json_safe(text) != text:
        text = yaml.safe_dump(value, sort_keys=False, allow_unicode=False, default_flow_style=False)
    return str(text).removesuffix("...\n")  # a lone scalar's document-end marker


def _indent(text: str, prefix: str) -> str:
    return "\n".join(prefix + line for line in text.splitlines())


def identity_cell(cell: str) -> str:
    return cell


def cells_of(row: dict[str, str], cell: Callable[[str], str]) -> dict[str, str]:
    return {k: cell(v) for k, v in row.items()}
