"""The memory store's compact forms against plain models: the identifier index (one entry per
type and value, most of them the holder's id alone), insertion order with deletions, and the
JSON layer (orjson where it answers as json does)."""

from __future__ import annotations

import json
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.emulator import jsonio
from gcx.emulator.store import IdentifierKey, MemoryStore


class PlainIndex:
    """The index as it was written before it was made compact (dicts of dicts)."""

    def __init__(self) -> None:
        self.exact: dict[IdentifierKey, dict[str, None]] = {}
        self.loose: dict[tuple[str, str], dict[str, int]] = {}

    def add(self, key: IdentifierKey, rid: str) -> None:
        holders = self.exact.setdefault(key, {})
        if rid in holders:
            return
        holders[rid] = None
        loose = self.loose.setdefault((key.type, key.value), {})
        loose[rid] = loose.get(rid, 0) + 1

    def remove(self, key: IdentifierKey, rid: str) -> None:
        holders = self.exact.get(key)
        if holders is None or rid not in holders:
            return
        del holders[rid]
        if not holders:
            del self.exact[key]
        loose = self.loose[(key.type, key.value)]
        loose[rid] -= 1
        if loose[rid] <= 0:
            del loose[rid]
            if not loose:
                del self.loose[(key.type, key.value)]


KEYS = st.builds(
    IdentifierKey,
    st.sampled_from(["Email", "Phone", "ExternalId"]),
    st.sampled_from(["a", "b", "a\x00b"]),
    st.sampled_from([None, "s1", "s2"]),
)
OPS = st.lists(st.tuples(st.booleans(), KEYS, st.sampled_from(["r1", "r2", "r3"])), max_size=60)


@settings(max_examples=400, deadline=None)
@given(OPS)
def test_identifier_index_answers_as_the_plain_one(ops: list[tuple[bool, IdentifierKey, str]]) -> None:
    store, plain = MemoryStore(), PlainIndex()
    for add, key, rid in ops:
        if add:
            store.add_identifier("contacts", key, rid)
            plain.add(key, rid)
        else:
            store.remove_identifier("contacts", key, rid)
            plain.remove(key, rid)
        for probe_type in ("Email", "Phone", "ExternalId"):
            for value in ("a", "b", "a\x00b"):
                assert store.holders_any_source("contacts", probe_type, value) == list(
                    plain.loose.get((probe_type, value), {})
                )
                for source in (None, "s1", "s2"):
                    probe = IdentifierKey(probe_type, value, source)
                    assert store.holders("contacts", probe) == list(plain.exact.get(probe, {}))


def test_insertion_order_survives_deletes_and_rewrites() -> None:
    store = MemoryStore()
    for i in range(10):
        assert store.put("notes", {"id": f"n{i}", "text": str(i)}) == i + 1
    store.delete("notes", "n3")
    store.put("notes", {"id": "n5", "text": "again"})  # a rewrite keeps its place
    assert store.seq_of("notes", "n5") == 6
    assert store.seq_of("notes", "n3") is None
    assert [seq for seq, _ in store.scan_after("notes", 2)] == [3, 5, 6, 7, 8, 9, 10]
    assert store.get("notes", "n5") == {"id": "n5", "text": "again"}
    assert store.count("notes") == 9
    assert store.put("notes", {"id": "n3", "text": "back"}) == 11  # re-created: at the end


HOSTILE = [
    b"123456789012345678901234567890",
    b"-9223372036854775809",
    b"18446744073709551616",
    b"1e400",
    b"NaN",
    b'"\\ud800"',
    b"\xef\xbb\xbf{}",
    b'{"a":1,"a":2}',
    b"[1,]",
    b'"\\u0000"',
    b"-0.0",
    '"é"'.encode("utf-16"),
    b"[" * 2000 + b"]" * 2000,
]


def _verdict(fn: Any, raw: bytes) -> Any:
    try:
        value = fn(raw)
    except (ValueError, RecursionError) as exc:
        return ("error", type(exc).__name__, str(exc))
    return ("value", json.dumps(value), repr(value))


def test_loads_gives_the_standard_librarys_verdict() -> None:
    for raw in HOSTILE:
        assert _verdict(jsonio.loads, raw) == _verdict(json.loads, raw), raw[:40]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False, allow_infinity=False) | st.text(),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_dumps_and_loads_round_trip_as_json_does(value: Any) -> None:
    raw = jsonio.dumps(value)
    assert json.loads(raw) == json.loads(json.dumps(value))
    assert _verdict(jsonio.loads, raw) == _verdict(json.loads, raw)
    text = json.dumps(value).encode()
    assert _verdict(jsonio.loads, text) == _verdict(json.loads, text)


STORED_VALUES = st.recursive(
    st.none()
    | st.booleans()
    | st.integers()
    | st.integers(min_value=2**63 - 10, max_value=2**70)
    | st.integers(min_value=-(2**70), max_value=-(2**63) + 10)
    | st.floats(allow_nan=False, allow_infinity=False)
    | st.text()
    | st.sampled_from(["\ud800", "a\udfffb", "\x00", "é"]),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=6), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=500, deadline=None)
@given(STORED_VALUES)
def test_stored_records_read_back_as_loads_reads_them(value: Any) -> None:
    """The store's pair (orjson's own output read without the long-number search) reads back
    exactly what dumps then loads did: values past 64 bits and lone surrogates included."""
    stored = jsonio.dumps_stored(value)
    assert _verdict(jsonio.loads_stored, stored) == _verdict(jsonio.loads, jsonio.dumps(value))
    assert _verdict(jsonio.loads_stored, stored) == _verdict(json.loads, stored)
