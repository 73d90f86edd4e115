"""The emulator's nesting checks (level by level, and in the text) against the plain walk."""

from __future__ import annotations

import json
import re
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.emulator import jsonio
from gcx.emulator.kinds import nests_deeper


def _walk(data: Any, limit: int) -> bool:
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children)
    return False


VALUES = st.recursive(
    st.none() | st.integers() | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=3), inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=400, deadline=None)
@given(VALUES, st.integers(min_value=0, max_value=8))
def test_nests_deeper_agrees_with_the_walk(data: Any, limit: int) -> None:
    assert nests_deeper(data, limit) == _walk(data, limit)


def test_nests_deeper_at_the_limit() -> None:
    deep: Any = 1
    for _ in range(64):
        deep = [deep]
    assert not nests_deeper(deep, 64)
    assert nests_deeper([deep], 64)
    assert not nests_deeper("scalar", 0)
    assert nests_deeper({}, 0)


#: Text full of what the text check must see through: brackets, quotes and backslashes in strings.
TRICKY = st.text(alphabet='[]{}"\\/ ab\u00e9\U0001f600', max_size=6)
TRICKY_VALUES = st.recursive(
    st.none() | st.integers() | TRICKY,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(TRICKY, inner, max_size=3),
    max_leaves=40,
)


@settings(max_examples=600, deadline=None)
@given(TRICKY_VALUES, st.integers(min_value=0, max_value=8), st.booleans(), st.booleans())
def test_the_text_check_agrees_with_the_walk(data: Any, limit: int, ascii_only: bool, spaced: bool) -> None:
    text = json.dumps(data, ensure_ascii=ascii_only, indent=1 if spaced else None).encode()
    assert jsonio.text_nests_deeper(text, limit) == _walk(data, limit), text


def test_the_text_check_at_the_limit() -> None:
    assert not jsonio.text_nests_deeper(b"[" * 64 + b"]" * 64, 64)
    assert jsonio.text_nests_deeper(b"[" * 65 + b"]" * 65, 64)
    assert jsonio.text_nests_deeper(b'{"a":' * 65 + b"{}" + b"}" * 65, 64)
    assert not jsonio.text_nests_deeper(b'["' + b"[" * 100 + b'"]', 64)
    assert not jsonio.text_nests_deeper(b'["\\\\", "\\"' + b"[" * 100 + b'"]', 64)
    assert not jsonio.text_nests_deeper(b'"scalar"', 0)
    assert jsonio.text_nests_deeper(b" {} ", 0)


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet="0123456789 .-e,[]a", max_size=60))
def test_long_numbers_are_found_as_the_regex_finds_them(text: str) -> None:
    raw = text.encode()
    assert jsonio.has_long_number(raw) == bool(re.search(rb"\d{19}", raw))
