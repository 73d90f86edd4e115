"""Storage behind the emulator's backend: a small interface and an in-memory implementation.

The backend owns every rule; the store only keeps records and the indexes that make each
request cost O(page) or O(items) rather than O(total):

* by id (``get``), in insertion order (``scan_after`` for cursors);
* by identifier: ``(type, value, source)`` and ``(type, value)`` -> record ids;
* contacts by organization (``members``).

Records are plain JSON-ready dicts in the API's shape, as the backend stores them. The memory
store keeps each one packed (compact JSON, deflated against the first record of its kind as a
preset dictionary: records of a kind share most of their text), about a tenth of the dict's
size, so that a million stored records measure the client, not the emulator; :meth:`get` gives a
fresh dict each time, and a change is a :meth:`put`.
"""

from __future__ import annotations

import bisect
import json
import zlib
from collections.abc import Iterator
from dataclasses import dataclass
from typing import Any, Protocol

Record = dict[str, Any]

#: The collections the emulator keeps.
KINDS = ("organizations", "contacts", "externalsources", "notes", "relationships")


@dataclass(frozen=True)
class IdentifierKey:
    """What makes two identifiers the same: type, value, and the external source (or None)."""

    type: str
    value: str
    source: str | None = None


class Store(Protocol):
    """The storage interface the backend relies on."""

    def get(self, kind: str, record_id: str) -> Record | None: ...
    def version(self, kind: str, record_id: str) -> object | None: ...
    def put(self, kind: str, record: Record) -> int: ...
    def delete(self, kind: str, record_id: str) -> Record | None: ...
    def count(self, kind: str) -> int: ...
    def seq_of(self, kind: str, record_id: str) -> int | None: ...
    def scan_after(self, kind: str, after_seq: int) -> Iterator[tuple[int, Record]]: ...
    def all(self, kind: str) -> Iterator[Record]: ...
    def add_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None: ...
    def remove_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None: ...
    def holders(self, kind: str, key: IdentifierKey) -> list[str]: ...
    def holders_any_source(self, kind: str, type_: str, value: str) -> list[str]: ...
    def link_member(self, org_id: str, contact_id: str) -> None: ...
    def unlink_member(self, org_id: str, contact_id: str) -> None: ...
    def members(self, org_id: str) -> list[str]: ...
    def link_child(self, kind: str, parent_id: str, child_id: str) -> None: ...
    def unlink_child(self, kind: str, parent_id: str, child_id: str) -> None: ...
    def children(self, kind: str, parent_id: str) -> list[str]: ...
    def clear(self) -> None: ...


_WBITS = -12  # raw deflate, 4 KB window: a record and its preset dictionary fit


class _Collection:
    """Records of one kind, packed, by id and in insertion order (lazy deletion in the order list)."""

    def __init__(self) -> None:
        self.by_id: dict[str, bytes] = {}
        self.seq: dict[str, int] = {}
        self.by_seq: dict[int, str] = {}
        self.order: list[int] = []
        self.next_seq = 1
        self.dead = 0
        self.zdict: bytes | None = None

    def pack(self, record: Record) -> bytes:
        text = json.dumps(record, separators=(",", ":"), ensure_ascii=False).encode()
        if self.zdict is None:
            self.zdict = text
        packer = zlib.compressobj(1, zlib.DEFLATED, _WBITS, 4, zlib.Z_DEFAULT_STRATEGY, self.zdict)
        return packer.compress(text) + packer.flush()

    def unpack(self, packed: bytes) -> Record:
        assert self.zdict is not None
        record: Record = json.loads(zlib.decompressobj(_WBITS, self.zdict).decompress(packed))
        return record

    def get(self, record_id: str) -> Record | None:
        packed = self.by_id.get(record_id)
        return self.unpack(packed) if packed is not None else None

    def put(self, record: Record) -> int:
        record_id = record["id"]
        if record_id in self.seq:
            self.by_id[record_id] = self.pack(record)
            return self.seq[record_id]
        seq = self.next_seq
        self.next_seq += 1
        self.by_id[record_id] = self.pack(record)
        self.seq[record_id] = seq
        self.by_seq[seq] = record_id
        self.order.append(seq)
        return seq

    def delete(self, record_id: str) -> Record | None:
        packed = self.by_id.pop(record_id, None)
        if packed is None:
            return None
        record = self.unpack(packed)
        seq = self.seq.pop(record_id)
        del self.by_seq[seq]
        self.dead += 1
        if self.dead > 1024 and self.dead * 2 > len(self.order):
            self.order = [s for s in self.order if s in self.by_seq]
            self.dead = 0
        return record

    def scan_after(self, after_seq: int) -> Iterator[tuple[int, Record]]:
        start = bisect.bisect_right(self.order, after_seq)
        order = self.order
        i = start
        while i < len(order):
            seq = order[i]
            record_id = self.by_seq.get(seq)
            if record_id is not None:
                yield seq, self.unpack(self.by_id[record_id])
            i += 1


class MemoryStore:
    """In-memory :class:`Store`: dicts and sorted sequence lists, nothing persisted."""

    def __init__(self) -> None:
        self._cols: dict[str, _Collection] = {}
        self._ident: dict[str, dict[IdentifierKey, dict[str, None]]] = {}
        self._ident_any: dict[str, dict[tuple[str, str], dict[str, int]]] = {}
        self._members: dict[str, dict[str, None]] = {}
        self._children: dict[tuple[str, str], dict[str, None]] = {}
        self.clear()

    def clear(self) -> None:
        self._cols = {kind: _Collection() for kind in KINDS}
        self._ident = {kind: {} for kind in KINDS}
        self._ident_any = {kind: {} for kind in KINDS}
        self._members = {}
        self._children = {}

    def _col(self, kind: str) -> _Collection:
        try:
            return self._cols[kind]
        except KeyError:
            raise KeyError(f"unknown record kind {kind!r}") from None

    def get(self, kind: str, record_id: str) -> Record | None:
        return self._col(kind).get(record_id)

    def version(self, kind: str, record_id: str) -> object | None:
        """An object that is the same until the record is written again (caches key on it)."""
        return self._col(kind).by_id.get(record_id)

    def put(self, kind: str, record: Record) -> int:
        return self._col(kind).put(record)

    def delete(self, kind: str, record_id: str) -> Record | None:
        return self._col(kind).delete(record_id)

    def count(self, kind: str) -> int:
        return len(self._col(kind).by_id)

    def seq_of(self, kind: str, record_id: str) -> int | None:
        return self._col(kind).seq.get(record_id)

    def scan_after(self, kind: str, after_seq: int) -> Iterator[tuple[int, Record]]:
        return self._col(kind).scan_after(after_seq)

    def all(self, kind: str) -> Iterator[Record]:
        return (record for _, record in self.scan_after(kind, 0))

    def add_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None:
        holders = self._ident[kind].setdefault(key, {})
        if record_id in holders:
            return
        holders[record_id] = None
        loose = self._ident_any[kind].setdefault((key.type, key.value), {})
        loose[record_id] = loose.get(record_id, 0) + 1

    def remove_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None:
        holders = self._ident[kind].get(key)
        if holders is None or record_id not in holders:
            return
        del holders[record_id]
        if not holders:
            del self._ident[kind][key]
        any_key = (key.type, key.value)
        loose = self._ident_any[kind][any_key]
        # The record may still hold the same type and value under another source.
        loose[record_id] -= 1
        if loose[record_id] <= 0:
            del loose[record_id]
            if not loose:
                del self._ident_any[kind][any_key]

    def holders(self, kind: str, key: IdentifierKey) -> list[str]:
        return list(self._ident[kind].get(key, {}))

    def holders_any_source(self, kind: str, type_: str, value: str) -> list[str]:
        return list(self._ident_any[kind].get((type_, value), {}))

    def link_member(self, org_id: str, contact_id: str) -> None:
        self._members.setdefault(org_id, {})[contact_id] = None

    def unlink_member(self, org_id: str, contact_id: str) -> None:
        members = self._members.get(org_id)
        if members is not None:
            members.pop(contact_id, None)
            if not members:
                del self._members[org_id]

    def members(self, org_id: str) -> list[str]:
        return list(self._members.get(org_id, {}))

    def link_child(self, kind: str, parent_id: str, child_id: str) -> None:
        """Index a child record (a note, a relationship) under its parent, in insertion order."""
        self._children.setdefault((kind, parent_id), {})[child_id] = None

    def unlink_child(self, kind: str, parent_id: str, child_id: str) -> None:
        children = self._children.get((kind, parent_id))
        if children is not None:
            children.pop(child_id, None)
            if not children:
                del self._children[(kind, parent_id)]

    def children(self, kind: str, parent_id: str) -> list[str]:
        return list(self._children.get((kind, parent_id), {}))
