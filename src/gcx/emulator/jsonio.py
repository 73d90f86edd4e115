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
import re
from collections.abc import Callable
from typing import Any

from gcx import extras

try:
    import orjson
except ImportError as _exc:  # the emulator extra installs it
    raise extras.missing(_exc, "The gcx emulator") from _exc

_LONG_NUMBER = re.compile(rb"\d{19}")


def loads(raw: bytes, fallback: Callable[[bytes], Any] = json.loads) -> Any:
    """Parse ``raw`` as ``fallback`` (json.loads, maybe with hooks) would, faster when possible."""
    if not _LONG_NUMBER.search(raw):
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
