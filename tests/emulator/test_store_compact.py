"""The memory store's compact forms against plain models: the identifier index (one entry per
type and value, most of them the holder's id alone), insertion order with deletions, and the
JSON layer (orjson where it answers as json does)."""

from __future__ import annotations

import json
import zlib
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


class PerRecordStore:
    """Records as the store kept them before blocks: each one deflated on its own against the
    first record of its kind, read back by inflating it alone."""

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.order: list[str | None] = []
        self.zdict: bytes | None = None

    def put(self, record: dict[str, Any]) -> int:
        text = jsonio.dumps_stored(record)
        if self.zdict is None:
            self.zdict = text
        packer = zlib.compressobj(1, zlib.DEFLATED, -12, 4, zlib.Z_FIXED, self.zdict)
        packed = packer.compress(text) + packer.flush()
        if record["id"] in self.rows:
            seq = self.order.index(record["id"]) + 1
        else:
            self.order.append(record["id"])
            seq = len(self.order)
        self.rows[record["id"]] = packed
        return seq

    def get(self, record_id: str) -> Any:
        row = self.rows.get(record_id)
        if row is None:
            return None
        return jsonio.loads_stored(zlib.decompressobj(-12, self.zdict).decompress(row))

    def delete(self, record_id: str) -> Any:
        record = self.get(record_id)
        if record is not None:
            del self.rows[record_id]
            self.order[self.order.index(record_id)] = None
        return record

    def scan(self) -> list[tuple[int, Any]]:
        return [(i + 1, self.get(rid)) for i, rid in enumerate(self.order) if rid is not None]


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**70), 2**70) | st.floats() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=12,
)
RECORD_OPS = st.lists(
    st.tuples(
        st.sampled_from(["put", "put", "put", "delete", "get"]),
        st.sampled_from([f"r{i}" for i in range(12)]),
        st.dictionaries(st.sampled_from(["name", "title", "n", "x\x00y"]), JSON_VALUES, max_size=4),
    ),
    max_size=80,
)


def _same(a: Any, b: Any) -> bool:
    """Equal as stored JSON (NaN is not equal to itself, so compare the texts)."""
    return jsonio.dumps_stored(a) == jsonio.dumps_stored(b)


@settings(max_examples=300, deadline=None)
@given(RECORD_OPS)
def test_blocks_read_back_as_records_packed_one_by_one(ops: list[tuple[str, str, dict[str, Any]]]) -> None:
    """Puts, rewrites, deletes and reads in any order: every answer (what a get, a delete, a put
    and a scan return) is what the per-record store answers, across sealed and open blocks."""
    store, plain = MemoryStore(), PerRecordStore()
    for op, rid, fields in ops:
        if op == "put":
            record = {"id": rid, **fields}
            assert store.put("notes", record) == plain.put(record)
        elif op == "delete":
            assert _same(store.delete("notes", rid), plain.delete(rid))
        else:
            assert _same(store.get("notes", rid), plain.get(rid))
        assert store.count("notes") == len(plain.rows)
    assert _same(list(store.scan_after("notes", 0)), plain.scan())
    for rid in plain.rows:
        assert _same(store.get("notes", rid), plain.get(rid))
        assert store.seq_of("notes", rid) == plain.order.index(rid) + 1


def test_a_block_goes_once_none_of_its_records_is_current() -> None:
    store = MemoryStore()
    for i in range(8):
        store.put("notes", {"id": f"n{i}", "text": str(i)})
    col = store._cols["notes"]
    assert len(col.blocks) == 2 and all(col.blocks)
    for i in range(4):
        store.put("notes", {"id": f"n{i}", "text": "again"})  # all of the first block rewritten
    assert col.blocks[0] is None and col.blocks[1] is not None
    assert [r["text"] for r in store.all("notes")] == ["again"] * 4 + ["4", "5", "6", "7"]
    version = store.version("notes", "n5")
    store.put("notes", {"id": "n5", "text": "new"})
    assert store.version("notes", "n5") is not version  # a write makes a new version
