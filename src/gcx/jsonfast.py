"""JSON on the hot paths (request bodies, answers, the ledger's text), with orjson.

A first sync of 100,000 contacts encodes and decodes about 200 MB of JSON; the standard library
spends several times orjson's CPU on it. Each function here gives what the standard library
gives for the same input (and the same error when it refuses one):

* :func:`dumps` writes what httpx writes for ``json=`` (compact, UTF-8, no NaN); a value orjson
  cannot write (a non-string key, an integer beyond 64 bits, an unknown type) is written, or
  refused, by the standard library. NaN and infinities are refused where bodies are built (the
  model bodies of :mod:`gcx.resources.bodies`, the sync's :func:`~gcx.sync.fields.to_value`):
  orjson would write them as ``null``, which erases a field.
* :func:`loads` reads what ``json.loads`` reads: what orjson refuses (NaN, lone surrogates, a
  document nested past orjson's limit) is read, or refused, by the standard library.
* :func:`dumps_sorted` is ``json.dumps(..., sort_keys=True, ensure_ascii=False,
  separators=(",", ":"))`` as text (the ledger's form).
"""

from __future__ import annotations

import functools
import json
from typing import Any

import orjson

_SORTED = orjson.OPT_SORT_KEYS


def dumps(value: Any) -> bytes:
    """A request body: compact UTF-8 JSON, as httpx's ``json=`` writes it."""
    try:
        return orjson.dumps(value)
    except TypeError:  # orjson.JSONEncodeError: let the standard library write it or say why not
        return json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False).encode("utf-8")


def dumps_sorted(value: Any) -> str:
    """Compact JSON text with sorted keys (non-ASCII kept), as the ledger stores values."""
    try:
        return orjson.dumps(value, option=_SORTED).decode("utf-8")
    except TypeError:
        return json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))


def loads(data: str | bytes) -> Any:
    """``json.loads(data)``: the same values, and the same error for what it refuses.

    Integers orjson cannot hold (beyond 64 bits) it reads as floats; no field of the API holds
    one, and the source's records are read by :func:`loads_exact`.
    """
    try:
        return orjson.loads(data)
    except orjson.JSONDecodeError:
        return json.loads(data)


def loads_exact(text: str) -> Any:
    """:func:`loads` for text that may hold integers beyond 64 bits (a source's records): those
    stay integers, as ``json.loads`` reads them. (A reader that walks the values anyway can read
    with :func:`loads` and test them with :func:`has_float` on its walk, as the JSONL source does.)"""
    try:
        value = orjson.loads(text)
    except orjson.JSONDecodeError:
        return json.loads(text)
    return json.loads(text) if has_float(value) else value


def has_float(value: Any) -> bool:
    """Whether a float is anywhere in ``value`` (orjson reads a huge integer as one).

    Text, most of a record, is passed over first (one test); containers are looked into in turn,
    without recursion (hostile nesting).
    """
    kind = type(value)
    if kind is not dict and kind is not list:
        return kind is float
    stack = [value]
    while stack:
        item = stack.pop()
        for child in item.values() if type(item) is dict else item:
            kind = type(child)
            if kind is str:
                continue
            if kind is float:
                return True
            if kind is dict or kind is list:
                stack.append(child)
    return False


def loads_within(data: bytes, limit: int) -> tuple[bool, Any]:
    """``(True, loads(data))`` when orjson reads ``data`` as JSON in which no object or array
    is deeper than ``limit`` levels, found in that one parse; ``(False, None)`` otherwise
    (not JSON, too deep, or a depth orjson cannot tell): the caller then reads it with
    :func:`loads` and :func:`nests_deeper`, which say which.

    orjson refuses to read more than a fixed number of nested containers (1024 in orjson 3):
    ``data`` is read inside just enough lists that a container below level ``limit`` would pass
    that number. Text that is not JSON alone can read as JSON inside them (``1],[2``): each of
    those lists must then hold one item, which makes the text between them one JSON value
    (whitespace around it), read as orjson reads it alone.
    """
    most = _orjson_max_read_depth()
    extra = most - limit
    if not 0 <= limit < most:
        return False, None
    opening, closing = _wrappers(extra)
    try:
        value = orjson.loads(b"".join((opening, data, closing)))  # one copy of an answer, not two
        # each wrapper is a list (its text starts with our "["): it must hold one item. Eight
        # levels per statement (each unpacking refuses a list of another length): a tenth of
        # the interpreter's work of one level per turn of the loop, for ~900 levels per answer
        for _ in range(extra >> 3):
            ((((((((value,),),),),),),),) = value
        for _ in range(extra & 7):
            (value,) = value
    except (orjson.JSONDecodeError, ValueError):
        return False, None
    return True, value


@functools.cache
def _wrappers(extra: int) -> tuple[bytes, bytes]:
    """The text of ``extra`` nested lists around an answer: its opening and its closing."""
    return b"[" * extra, b"]" * extra


@functools.cache
def _orjson_max_read_depth() -> int:
    """The most nested containers orjson reads, objects and arrays alike (0: unknown, or
    not the same for both)."""

    def reads(depth: int, kind: str) -> bool:
        text = b"[" * depth + b"]" * depth if kind == "list" else b'{"a":' * depth + b"1" + b"}" * depth
        try:
            orjson.loads(text)
        except orjson.JSONDecodeError:
            return False
        return True

    read, refused = 1, 4096
    if reads(refused, "list"):
        return 0
    while refused - read > 1:
        mid = (read + refused) // 2
        if reads(mid, "list"):
            read = mid
        else:
            refused = mid
    mixed_fails = not reads(read + 1, "dict") and reads(read, "dict")
    return read if mixed_fails else 0


def nests_deeper(data: Any, limit: int) -> bool:
    """Whether parsed JSON holds a non-empty object or array deeper than ``limit`` levels (the
    outermost is level 1).

    orjson refuses to write more than a fixed number of nested containers (254 in orjson 3):
    writing ``data`` inside just enough lists that one container below level ``limit`` would
    pass that number tells, at C speed, that none is there (an answer's usual case). Otherwise
    (a container at that level, or a value orjson does not write) the tree is walked.
    """
    most = _orjson_max_depth()
    if 0 <= limit < most and type(data) in (dict, list):
        wrapped = data
        for _ in range(most - limit):
            wrapped = [wrapped]
        try:
            orjson.dumps(wrapped)
        except TypeError:  # orjson.JSONEncodeError
            pass
        else:
            return False
    return _walk_deeper(data, limit)


def _walk_deeper(data: Any, limit: int) -> bool:
    """:func:`nests_deeper` level by level: no recursion on hostile input, containers only."""
    level = [data] if type(data) in (dict, list) else []
    depth = 1
    while level:
        if depth > limit and any(level):
            return True
        below: list[Any] = []
        for item in level:
            for child in item.values() if type(item) is dict else item:
                kind = type(child)
                if kind is dict or kind is list:
                    below.append(child)
        level = below
        depth += 1
    return False


def _nested_lists(depth: int) -> list[Any]:
    value: list[Any] = []
    for _ in range(depth - 1):
        value = [value]
    return value


@functools.cache
def _orjson_max_depth() -> int:
    """The most nested containers orjson writes (0: more than are probed, so unknown)."""

    def writes(depth: int) -> bool:
        try:
            orjson.dumps(_nested_lists(depth))
        except TypeError:
            return False
        return True

    written, refused = 1, 4096
    if writes(refused):
        return 0
    while refused - written > 1:
        mid = (written + refused) // 2
        if writes(mid):
            written = mid
        else:
            refused = mid
    return written
