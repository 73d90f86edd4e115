"""The emulator's nesting check (level by level) against the plain walk it replaced."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

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
