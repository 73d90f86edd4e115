"""gcx.jsonfast gives what the standard library gives (values, errors), only faster."""

from __future__ import annotations

import json
import math
from typing import Any

import orjson
import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx import jsonfast

# JSON values as the standard library writes and reads them (finite floats; any text).
json_values = st.recursive(
    st.none()
    | st.booleans()
    | st.integers(min_value=-(2**70), max_value=2**70)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


def _same(a: Any, b: Any) -> bool:
    """Equal, and of the same types throughout (1 and 1.0 differ here)."""
    if type(a) is not type(b):
        return False
    if isinstance(a, dict):
        return list(a) == list(b) and all(_same(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return len(a) == len(b) and all(_same(x, y) for x, y in zip(a, b, strict=True))
    return bool(a == b)


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dumps_reads_back_as_httpx_json_would(value: Any) -> None:
    stdlib = json.dumps(value, ensure_ascii=False, separators=(",", ":"), allow_nan=False)
    assert _same(json.loads(jsonfast.dumps(value)), json.loads(stdlib))


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_loads_exact_reads_what_json_loads_reads(value: Any) -> None:
    text = json.dumps(value, ensure_ascii=False)
    assert _same(jsonfast.loads_exact(text), json.loads(text))
    assert _same(jsonfast.loads_exact(json.dumps(value)), json.loads(text))  # \\u escapes


@settings(max_examples=200, deadline=None)
@given(json_values)
def test_loads_reads_what_json_loads_reads_within_64_bits(value: Any) -> None:
    text = json.dumps(value)
    if _has_big_int(json.loads(text)):
        return  # integers beyond 64 bits: the documented difference of loads (not loads_exact)
    assert _same(jsonfast.loads(text.encode()), json.loads(text))


def _has_big_int(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_big_int(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_big_int(v) for v in value)
    return isinstance(value, int) and not isinstance(value, bool) and not -(2**63) <= value < 2**64


@pytest.mark.parametrize(
    "text",
    [
        "NaN",
        "[Infinity, -Infinity]",
        '"\\ud800"',
        "123456789012345678901234567890",
        '{"employeeCount": 123456789012345678901234567890}',
        '{"a": 1, "a": 2}',
        "[1e400]",
    ],
)
def test_what_orjson_refuses_or_reads_otherwise_is_read_as_json_loads_reads_it(text: str) -> None:
    expected = json.loads(text)
    got = jsonfast.loads_exact(text)
    assert repr(got) == repr(expected)
    if "1234567890123456789" not in text:
        assert repr(jsonfast.loads(text)) == repr(expected)


@pytest.mark.parametrize("text", ["", "{", '{"a": }', "[1,]", '"\\x"', "\ufeff{}"])
def test_bad_json_raises_the_standard_librarys_error(text: str) -> None:
    with pytest.raises(json.JSONDecodeError) as expected:
        json.loads(text)
    with pytest.raises(json.JSONDecodeError) as got:
        jsonfast.loads_exact(text)
    assert (got.value.msg, got.value.colno) == (expected.value.msg, expected.value.colno)


def test_dumps_refuses_what_httpx_refuses_and_writes_what_orjson_cannot() -> None:
    with pytest.raises(TypeError):
        jsonfast.dumps({"when": object()})
    assert json.loads(jsonfast.dumps({1: "a"})) == {"1": "a"}  # a non-string key, as json writes it
    assert json.loads(jsonfast.dumps({"big": 2**70})) == {"big": 2**70}
    assert jsonfast.dumps({"name": "José"}) == '{"name":"José"}'.encode()


def test_dumps_sorted_is_the_ledger_text() -> None:
    value = {"b": [1, "é"], "a": {"z": None, "y": True}}
    assert jsonfast.dumps_sorted(value) == json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


def _nested(depth: int, leaf: Any = 1) -> Any:
    value = leaf
    for _ in range(depth - 1):
        value = [value]
    return value


def _reference_nests_deeper(data: Any, limit: int) -> bool:
    """The check before jsonfast (one object at a time)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        children = value.values() if isinstance(value, dict) else value if isinstance(value, list) else ()
        if children and depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


@pytest.mark.parametrize("depth", [1, 2, 99, 100, 101, 102])
@pytest.mark.parametrize("leaf", [1, [], {}, [1]])
def test_nests_deeper_agrees_with_the_walk_it_replaces(depth: int, leaf: Any) -> None:
    data = {"results": [{"entity": _nested(depth, leaf)}, {"ok": True}]}
    assert jsonfast.nests_deeper(data, 100) == _reference_nests_deeper(data, 100)


@settings(max_examples=200, deadline=None)
@given(json_values, st.integers(min_value=1, max_value=6))
def test_nests_deeper_agrees_on_any_value(value: Any, limit: int) -> None:
    assert jsonfast.nests_deeper(value, limit) == _reference_nests_deeper(value, limit)


def test_nan_is_not_written_as_null_by_the_fallback() -> None:
    # orjson writes NaN as null (documented: bodies are checked finite before); the fallback
    # for other values still refuses it as httpx did
    with pytest.raises(ValueError):
        jsonfast.dumps({"x": math.nan, 1: "non-string key sends it to the standard library"})


ledger_values = st.recursive(
    st.none() | st.booleans() | st.integers(min_value=-(2**63), max_value=2**63 - 1) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(ledger_values)
def test_dumps_sorted_writes_the_standard_librarys_text(value: Any) -> None:
    """Without floats, the very text json.dumps writes (the ledger's values, payloads)."""
    assert jsonfast.dumps_sorted(value) == json.dumps(
        value, sort_keys=True, ensure_ascii=False, separators=(",", ":")
    )


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_dumps_sorted_reads_back_as_the_standard_librarys_text(value: Any) -> None:
    expected = json.dumps(value, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    assert _same(json.loads(jsonfast.dumps_sorted(value)), json.loads(expected))


@pytest.mark.parametrize("limit", [0, 1, 100, 252, 253, 254, 300])
@pytest.mark.parametrize("leaf", [1, [], {}, [1], 2**70, "\ud800"])
@pytest.mark.parametrize("offset", [-1, 0, 1, 2])
def test_nests_deeper_fast_path_agrees_with_the_walk_around_orjsons_depth(
    limit: int, leaf: Any, offset: int
) -> None:
    """The orjson probe (containers wrapped up to the depth orjson refuses) and the walk it
    falls back on give the reference's answer at every depth around the limit, for values
    orjson does not write (a 70-bit integer, a lone surrogate) too."""
    for kind in (list, dict):
        value: Any = leaf
        for _ in range(max(limit + offset, 1)):
            value = [value] if kind is list else {"k": value}
        assert jsonfast.nests_deeper(value, limit) == _reference_nests_deeper(value, limit)


def _reference_read(text: bytes, limit: int) -> tuple[bool, Any]:
    """What the answer check did before loads_within: read, then look for a container too deep."""
    try:
        value = jsonfast.loads(text)
    except (ValueError, RecursionError):
        return False, None
    return (False, None) if jsonfast.nests_deeper(value, limit) else (True, value)


#: Pieces of hostile answers: brackets that close the wrapping lists early, commas, whitespace.
_PIECES = st.sampled_from(
    [b"[", b"]", b"{", b"}", b",", b"1", b'"a"', b":", b" ", b"\n", b"\xef\xbb\xbf", b'"]"']
)


@settings(max_examples=600, deadline=None)
@given(
    st.one_of(
        json_values.map(lambda v: json.dumps(v).encode()),
        json_values.map(lambda v: json.dumps(v, ensure_ascii=False, indent=1).encode()),
        st.lists(_PIECES, max_size=12).map(b"".join),
        st.tuples(json_values, _PIECES, json_values).map(
            lambda t: json.dumps(t[0]).encode() + t[1] + json.dumps(t[2]).encode()
        ),
    ),
    st.integers(min_value=0, max_value=6),
)
def test_loads_within_agrees_with_reading_then_walking(text: bytes, limit: int) -> None:
    """Whenever loads_within reads an answer, the old check (loads, then nests_deeper) read the
    same value and found nothing too deep; and it reads every plain answer the old one accepted."""
    read, value = jsonfast.loads_within(text, limit)
    expected = _reference_read(text, limit)
    if read:
        assert expected[0] and _same(value, expected[1]), text
    elif expected[0]:
        # left to the caller's full path: only what orjson does not read alone, or an empty
        # container just below the limit (the walk counts non-empty ones only)
        try:
            plain = orjson.loads(text)
        except orjson.JSONDecodeError:
            return
        assert jsonfast.nests_deeper(plain, limit - 1) if limit else True, text


@pytest.mark.parametrize("limit", [0, 1, 2, 100, 1023, 1024, 1025])
@pytest.mark.parametrize("leaf", [b"1", b"[]", b"{}", b"[1]", b'"]]"'])
@pytest.mark.parametrize("offset", [-1, 0, 1, 2])
def test_loads_within_around_the_limit(limit: int, leaf: bytes, offset: int) -> None:
    for open_, close in ((b"[", b"]"), (b'{"k":', b"}"), (b'[{"k":', b"}]")):
        n = max(limit + offset, 0)
        text = open_ * n + leaf + close * n
        read, value = jsonfast.loads_within(text, limit)
        if read:
            expected, same = _reference_read(text, limit)
            assert expected
            assert limit > 200 or _same(value, same)  # deeper: the comparison would recurse too far
        else:
            assert not _reference_read(text, limit)[0] or leaf in (b"[]", b"{}") or limit >= 1024


@pytest.mark.parametrize(
    "text", [b"1],[2", b"{}],[{}", b"1]", b"[1", b"", b" ", b"\xef\xbb\xbf{}", b"1]]]],[[[[2", b'"a"],["b']
)
def test_loads_within_reads_no_text_that_is_json_only_inside_its_lists(text: bytes) -> None:
    assert jsonfast.loads_within(text, 100) == (False, None)


def test_loads_within_refuses_a_second_item_at_any_wrapping_level() -> None:
    """Text that closes ``k`` of the wrapping lists and opens ``k`` again reads as JSON inside
    them, with two items at the ``k``-th list from the inside: refused whichever ``k`` (the
    wrappers are unpacked several levels at a time)."""
    for limit in (0, 5, 100):
        extra = jsonfast._orjson_max_read_depth() - limit
        for k in [*range(1, 20), *range(extra - 10, extra + 1)]:
            text = b"1" + b"]" * k + b"," + b"[" * k + b"2"
            assert jsonfast.loads_within(text, limit) == (False, None), (limit, k)
            assert jsonfast.loads_within(b"[" * k + b"1" + b"]" * k, limit)[0] is (k <= limit)


def _has_float_reference(value: Any) -> bool:
    if isinstance(value, dict):
        return any(_has_float_reference(v) for v in value.values())
    if isinstance(value, list):
        return any(_has_float_reference(v) for v in value)
    return type(value) is float


@settings(max_examples=300, deadline=None)
@given(json_values)
def test_has_float_is_the_plain_walks(value: Any) -> None:
    assert jsonfast.has_float(value) is _has_float_reference(value)
    assert jsonfast.has_float([value, "x"]) is _has_float_reference(value)
    assert jsonfast.has_float({"a": "x", "b": {"c": [1, value]}}) is _has_float_reference(value)


def test_has_float_takes_hostile_nesting_without_recursion() -> None:
    deep: Any = 1.5
    for _ in range(100_000):
        deep = [deep] if len(str(type(deep))) % 2 else {"a": deep}
    assert jsonfast.has_float(deep)
