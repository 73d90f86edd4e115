"""JSON in and out of the emulator: orjson when it gives the same answer as :mod:`json`, else json.

orjson (the ``emulator`` extra) parses and writes several times faster than the standard library,
which the emulator's request bodies, answers and packed records spend most of their JSON time
in. It is used only where its answer is the standard library's: a document it refuses (NaN, a
lone surrogate, a byte order mark, nesting past 1,024 levels, a number past a double) and one
holding a run of 19 digits (orjson reads integers past 64 bits as floats, json as ints) go to
:mod:`json`, whose verdict (value or error) stands. Written JSON is compact UTF-8; a value orjson
cannot write (an integer past 64 bits, a lone surrogate, a non-string key) is written by json,
in ASCII (``\\u`` escapes).
"""

from __future__ import annotations

import json
from collections.abc import Callable
from typing import Any

from gcx import extras

try:
    import orjson
except ImportError as _exc:  # the emulator extra installs it
    raise extras.missing(_exc, "The gcx emulator") from _exc

#: Every digit to ``0``: a run of 19 digits is then one ``find`` (a tenth of a regex's time).
_DIGITS_AS_ZERO = bytes.maketrans(b"123456789", b"000000000")
_LONG_NUMBER = b"0" * 19


def has_long_number(raw: bytes) -> bool:
    """Whether ``raw`` holds a run of 19 digits (an integer orjson might read as a float)."""
    return _LONG_NUMBER in raw.translate(_DIGITS_AS_ZERO)


def loads(raw: bytes, fallback: Callable[[bytes], Any] = json.loads) -> Any:
    """Parse ``raw`` as ``fallback`` (json.loads, maybe with hooks) would, faster when possible."""
    if not has_long_number(raw):
        try:
            return orjson.loads(raw)
        except orjson.JSONDecodeError:
            pass  # json decides: it may accept (UTF-16, a BOM) or word the error its own way
    return fallback(raw)


def dumps(data: Any) -> bytes:
    """Compact UTF-8 JSON of ``data``."""
    try:
        return orjson.dumps(data)
    except TypeError:
        pass
    return json.dumps(data, separators=(",", ":")).encode()  # ASCII: \\u escapes carry any surrogate


def dumps_stored(data: Any) -> bytes:
    """:func:`dumps` for a record the emulator keeps, to be read back by :func:`loads_stored`.

    Text that json wrote (orjson could not) starts with a space, which orjson never writes and
    which leaves the JSON as it was.
    """
    try:
        return orjson.dumps(data)
    except TypeError:
        pass
    return b" " + dumps(data)


def loads_stored(raw: bytes) -> Any:
    """A record :func:`dumps_stored` wrote, as :func:`loads` reads it, without looking for long
    numbers in what orjson wrote: orjson reads its own output as json does (integers within 64
    bits, floats in their shortest form, valid UTF-8).
    """
    if raw[:1] == b" ":
        return loads(raw)
    return orjson.loads(raw)


#: Brackets to parentheses, quotes kept, everything else deleted (:func:`text_nests_deeper`).
_BRACKETS = bytes.maketrans(b"[{]}", b"(())")
_NOT_STRUCTURE = bytes(c for c in range(256) if c not in b'[]{}"')


def text_nests_deeper(raw: bytes, limit: int) -> bool:
    """Whether the JSON text ``raw``, UTF-8 and known to parse, nests objects and arrays deeper
    than ``limit`` levels: what a walk of the parsed value answers, at C speed over the bytes.

    Escaped backslashes and quotes go first (valid JSON pairs backslashes from the left, as
    ``replace`` does); then only quotes and brackets are kept, the insides of strings dropped
    (every other piece between quotes), and each pass removes the innermost ``()`` pairs: the
    text nests deeper than ``limit`` when pairs remain after ``limit`` passes. In UTF-8 no byte
    of a multi-byte character is a quote, a backslash or a bracket.
    """
    if b"\\" in raw:
        raw = raw.replace(b"\\\\", b"").replace(b'\\"', b"")
    marks = raw.translate(_BRACKETS, _NOT_STRUCTURE)
    if b'"' in marks:
        # Quotes alternate opening and closing: when every string holds no bracket, each one is
        # now an adjacent pair, and dropping the pairs left to right drops every quote (an odd
        # one left means some string held a bracket, or ended nowhere: split them out).
        paired = marks.replace(b'""', b"")
        marks = paired if b'"' not in paired else b"".join(marks.split(b'"')[::2])
    for _ in range(limit):
        if not marks:
            return False
        marks = marks.replace(b"()", b"")
    return bool(marks)
