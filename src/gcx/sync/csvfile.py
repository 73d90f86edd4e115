"""Reading a CSV source file into rows, losing nothing silently.

* **Line endings**: LF, CRLF and a lone CR (old spreadsheet exports) all end a line. Line
  numbers are physical lines (the header is line 1); a record spanning lines (a quoted field
  holding a line break) carries the number of its first line.
* **Encoding**: the mapping's ``[source] encoding`` (default UTF-8); a byte-order mark is
  skipped. A file whose byte-order mark says UTF-16 or UTF-32 while the mapping says otherwise
  is refused with the setting to use, and so is a header full of NUL bytes (UTF-16 without a
  mark): never "the source is empty". A line that does not decode is reported (with the byte)
  and skipped. A header that does not decode or parse is a source error.
* **A broken quote**: a quoted field that opens on line N and never closes where it should
  (the parser runs into the field-size limit, the end of the file, or makes a record with the
  wrong number of columns) is reported at line N with the number of lines it swallowed;
  line N is skipped and the lines after it are read again as the rows they are.

A broken quote is *structural* (:attr:`Issue.structural`): the parser could not tell where
rows begin, so a sync never prunes on such a source.
"""

from __future__ import annotations

import codecs
import csv
import functools
import io
import re
from collections import deque
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import NamedTuple

from gcx.errors import ConfigError
from gcx.sync.records import Issue

_MARKED = re.compile("[\udc00-\udcff]")  # bytes that did not decode (see _mark)
_BOMS = (
    (codecs.BOM_UTF32_LE, "utf-32"),
    (codecs.BOM_UTF32_BE, "utf-32"),
    (codecs.BOM_UTF16_LE, "utf-16"),
    (codecs.BOM_UTF16_BE, "utf-16"),
)


class Line(NamedTuple):
    number: int
    text: str
    problem: str | None = None  # why the line cannot be used (it did not decode, holds NUL)


#: ``Line(number, text, problem)`` made at C speed (a NamedTuple's own ``__new__`` is Python code:
#: a few microseconds per line of a source read twice): the same tuple of the same class.
_line = functools.partial(tuple.__new__, Line)


class Row(NamedTuple):
    line: int
    values: dict[str, str]


def _mark(exc: UnicodeError) -> tuple[str, int]:
    """Decode error handler: each bad byte becomes a lone surrogate U+DC00+byte, which no
    decoder produces for valid input, so the line is found and skipped and the rest goes on."""
    if not isinstance(exc, UnicodeDecodeError):
        raise exc
    return "".join(chr(0xDC00 + b) for b in exc.object[exc.start : exc.end]), exc.end


codecs.register_error("gcx.mark", _mark)


def _codec(encoding: str) -> str:
    try:
        return codecs.lookup(encoding).name
    except LookupError:
        raise ConfigError(f"unknown encoding {encoding!r}") from None


def _check_bom(path: Path, head: bytes, codec: str, encoding: str) -> None:
    for bom, family in _BOMS:
        if head.startswith(bom):
            if not codec.startswith(family):
                raise ConfigError(
                    f"source {path} is {family.upper()} (it starts with a {family.upper()} byte-order "
                    f'mark) but the mapping reads it as {encoding}: set encoding = "{family}" in the '
                    "mapping's [source] table"
                )
            return


def text_lines(path: Path, encoding: str) -> Iterator[Line]:
    """The file's physical lines, decoded, with what is wrong with each one that cannot be used."""
    codec = _codec(encoding)
    try:
        fh = path.open("rb")
    except OSError as exc:
        raise ConfigError(f"cannot read source {path}: {exc.strerror or exc}") from None
    try:
        _check_bom(path, fh.read(4), codec, encoding)
        fh.seek(0)
    except BaseException:
        fh.close()
        raise
    bom = len("".encode(codec))  # utf-16 and utf-32 put a byte-order mark before any text
    with io.TextIOWrapper(fh, encoding=codec, errors="gcx.mark", newline="") as text:
        for number, line in enumerate(text, 1):
            if number == 1 and line.startswith("\ufeff"):
                line = line[1:]
            problem = None
            if not line.isascii() and (bad := _MARKED.search(line)):
                at = len(line[: bad.start()].encode(codec)) - bom
                problem = f"cannot decode the line as {encoding} (byte {at})"
            elif "\x00" in line:
                problem = "the line contains a NUL byte"
            yield _line((number, line, problem))


class CsvRows:
    """Rows of a CSV file as dicts keyed by the header, and issues, in file order."""

    def __init__(
        self, path: Path, *, encoding: str, delimiter: str, check_header: Callable[[list[str]], None]
    ) -> None:
        self.path = path
        self.encoding = encoding
        self.delimiter = delimiter
        self.check_header = check_header

    def __iter__(self) -> Iterator[Row | Issue]:
        lines = text_lines(self.path, self.encoding)
        pushback: deque[Line] = deque()
        current: list[Line] = []  # the lines the record being parsed has consumed
        pending: list[Issue] = []  # lines skipped while parsing it
        header: list[str] | None = None

        def feed() -> Iterator[str]:
            while True:
                line = pushback.popleft() if pushback else next(lines, None)
                if line is None:
                    return
                if line.problem is not None:
                    if header is None:
                        raise ConfigError(self._header_problem(line))
                    pending.append(Issue(line.number, f"{line.problem}: row skipped"))
                    continue
                current.append(line)
                yield line.text

        reader = csv.reader(feed(), delimiter=self.delimiter, strict=True)
        while True:
            current.clear()
            error: str | None = None
            try:
                values = next(reader)
            except StopIteration:
                break
            except csv.Error as exc:
                error = str(exc)
                values = []
            yield from pending
            pending.clear()
            if not current:
                continue
            first = current[0].number
            blank = not values or (len(values) == 1 and not values[0].strip())
            if error is None and blank:
                continue
            if header is None:
                if error is not None:
                    raise ConfigError(
                        f"source {self.path}: the header row (line {first}) cannot be read: {error}"
                    )
                header = [h.strip() for h in values]
                self.check_header(header)
                continue
            if error is None and len(values) != len(header):
                error = f"{len(values)} columns where the header has {len(header)}"
            if (
                error is None
                and len(current) > 1
                and len(header) > 1
                and self._holds_rows(current[1:], len(header))
            ):
                error = "the lines it runs over look like rows of their own"
            if error is None:
                yield Row(first, dict(zip(header, values, strict=True)))
                continue
            if len(current) > 1:
                # A quote opened on the first line and ran on: read the other lines again.
                last = current[-1].number
                yield Issue(
                    first,
                    f"a quoted field opens on line {first} and is not closed where it should be, "
                    f"swallowing the next {last - first} lines (to line {last}; {error}): "
                    f"line {first} skipped, the lines after it read again",
                    structural=True,
                )
                pushback.extendleft(reversed(current[1:]))
                reader = csv.reader(feed(), delimiter=self.delimiter, strict=True)
            elif values:
                yield Issue(first, f"malformed row: {error}: row skipped")
            else:
                yield Issue(first, f"malformed CSV: {error}: row skipped")
                reader = csv.reader(feed(), delimiter=self.delimiter, strict=True)
        yield from pending
        if header is None:
            raise ConfigError(f"source {self.path} is empty (no header row)")

    def _holds_rows(self, lines: list[Line], width: int) -> bool:
        """Whether a line a quoted field ran over has, on its own, a full row's columns: a stray
        quote swallowing rows, not a field holding a line break."""
        for line in lines:
            try:
                if len(next(csv.reader([line.text], delimiter=self.delimiter))) == width:
                    return True
            except (csv.Error, StopIteration):
                continue
        return False

    def _header_problem(self, line: Line) -> str:
        if line.problem and "NUL" in line.problem:
            return (
                f"source {self.path}: the header (line {line.number}) contains NUL bytes: the file "
                f'looks UTF-16 or UTF-32 without a byte-order mark: set encoding = "utf-16-le" (or '
                "utf-16-be, utf-32...) in the mapping's [source] table"
            )
        return (
            f"source {self.path}: the header (line {line.number}) cannot be read: {line.problem}: "
            "set the file's encoding in the mapping's [source] table"
        )
