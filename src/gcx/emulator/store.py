"""Storage behind the emulator's backend: a small interface and an in-memory implementation.

The backend owns every rule; the store only keeps records and the indexes that make each
request cost O(page) or O(items) rather than O(total):

* by id (``get``), in insertion order (``scan_after`` for cursors);
* by identifier: ``(type, value, source)`` and ``(type, value)`` -> record ids;
* contacts by organization (``members``).

Records are plain JSON-ready dicts in the API's shape, as the backend stores them. The memory
store keeps them packed (compact JSON, deflated four records at a time against the first record
of their kind as a preset dictionary: records of a kind share most of their text), about a tenth
of the dicts' size, so that a million stored records measure the client, not the emulator;
:meth:`get` gives a fresh dict each time, and a change is a :meth:`put`.
"""

from __future__ import annotations

import struct
import zlib
from collections.abc import Iterator
from typing import Any, NamedTuple, Protocol

from gcx.emulator import jsonio

Record = dict[str, Any]

#: The collections the emulator keeps.
KINDS = ("organizations", "contacts", "externalsources", "notes", "relationships")


class IdentifierKey(NamedTuple):
    """What makes two identifiers the same: type, value, and the external source (or None).

    A named tuple: made, hashed and compared in C (a write makes and hashes a few per record).
    """

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
_STRATEGY = zlib.Z_FIXED
_SEQ = 5  # bytes of the sequence number in front of each row (up to 2**40 records)
#: Records deflated together. Deflating one record costs as much again in fixed work (copying a
#: primed compressor, building the code trees of its block) as in its ~1,300 bytes; four records
#: to a deflate call make that a quarter (~70k -> ~36k instructions a contact), at ~145 bytes a
#: record still, and a read inflates at most four records' text.
_BLOCK = 4
#: A block's header: where each record's text ends in the block's inflated text.
_ENDS = struct.Struct(f">{_BLOCK}I")


class _Collection:
    """Records of one kind, packed, by id and in insertion order.

    ``rows`` maps an id to its row: its sequence number (5 bytes), then the block holding its
    text (4 bytes) and its place in that block (1 byte). Records are written as compact JSON to
    the open block (``pending``, kept as written) and every :data:`_BLOCK` of them are deflated
    together into a sealed block (``blocks``: the end offsets of their texts, then their texts
    deflated against the first record of the kind as a preset dictionary: records of a kind
    share most of their text), about a tenth of the dicts' size. A rewrite goes to the open block
    and leaves its old text behind; a block none of whose texts is current any more is dropped
    (``live`` counts them). ``order[seq - 1]`` is the id stored with ``seq`` (None once deleted: a
    scan steps over it). The last block read stays inflated (``inflated``): a scan reads a block
    once.
    """

    def __init__(self) -> None:
        self.rows: dict[str, bytes] = {}
        self.order: list[str | None] = []
        self.zdict: bytes | None = None
        #: A compressor primed with ``zdict``, copied for each block: a copy costs two thirds
        #: of a new compressor loading the dictionary again.
        self.packer: zlib._Compress | None = None
        self.blocks: list[bytes | None] = []
        #: Current records in each block, the open one (number ``len(blocks)``) last.
        self.live: list[int] = [0]
        self.pending: list[bytes] = []
        self.inflated: tuple[int, bytes, tuple[int, ...]] = (-1, b"", ())

    def _write(self, record: Record) -> bytes:
        """Add ``record``'s text to the open block; its place (block and index) as row bytes."""
        text = jsonio.dumps_stored(record)
        if self.packer is None:
            self.zdict = text
            self.packer = zlib.compressobj(1, zlib.DEFLATED, _WBITS, 4, _STRATEGY, text)
        pending = self.pending
        block = len(self.blocks)
        where = block.to_bytes(4) + _INDEX[len(pending)]
        pending.append(text)
        self.live[block] += 1
        if len(pending) == _BLOCK:
            self._seal()
        return where

    def _seal(self) -> None:
        """Deflate the open block's texts into a sealed block and open a new one."""
        texts = self.pending
        self.pending = []
        if not self.live[-1]:
            self.blocks.append(None)  # every text in it was rewritten or deleted meanwhile
        else:
            assert self.packer is not None
            end = 0
            ends = []
            for text in texts:
                end += len(text)
                ends.append(end)
            packer = self.packer.copy()
            self.blocks.append(_ENDS.pack(*ends) + packer.compress(b"".join(texts)) + packer.flush())
        self.live.append(0)

    def _text(self, row: bytes) -> bytes:
        """The JSON text of the record at ``row``."""
        block = int.from_bytes(row[_SEQ : _SEQ + 4])
        index = row[_SEQ + 4]
        if block == len(self.blocks):
            return self.pending[index]
        cached_block, text, ends = self.inflated
        if cached_block != block:
            blob = self.blocks[block]
            assert blob is not None and self.zdict is not None
            ends = _ENDS.unpack_from(blob)
            unpacker = zlib.decompressobj(_WBITS, self.zdict)
            text = unpacker.decompress(memoryview(blob)[_ENDS.size :])
            self.inflated = (block, text, ends)
        return text[ends[index - 1] if index else 0 : ends[index]]

    def _release(self, row: bytes) -> None:
        """The text at ``row`` is no longer current: drop its block when it held the last one."""
        block = int.from_bytes(row[_SEQ : _SEQ + 4])
        self.live[block] -= 1
        if not self.live[block] and block < len(self.blocks):
            self.blocks[block] = None

    def unpack(self, row: bytes) -> Record:
        record: Record = jsonio.loads_stored(self._text(row))
        return record

    def get(self, record_id: str) -> Record | None:
        row = self.rows.get(record_id)
        return self.unpack(row) if row is not None else None

    def seq_of(self, record_id: str) -> int | None:
        row = self.rows.get(record_id)
        return int.from_bytes(row[:_SEQ]) if row is not None else None

    def put(self, record: Record) -> int:
        record_id: str = record["id"]
        row = self.rows.get(record_id)
        if row is not None:
            self._release(row)
            self.rows[record_id] = row[:_SEQ] + self._write(record)
            return int.from_bytes(row[:_SEQ])
        self.order.append(record_id)
        seq = len(self.order)
        self.rows[record_id] = seq.to_bytes(_SEQ) + self._write(record)
        return seq

    def delete(self, record_id: str) -> Record | None:
        row = self.rows.pop(record_id, None)
        if row is None:
            return None
        self.order[int.from_bytes(row[:_SEQ]) - 1] = None
        record = self.unpack(row)
        self._release(row)
        return record

    def scan_after(self, after_seq: int) -> Iterator[tuple[int, Record]]:
        order = self.order
        i = max(after_seq, 0)
        while i < len(order):
            record_id = order[i]
            i += 1
            if record_id is not None:
                row = self.rows.get(record_id)
                if row is not None:
                    yield i, self.unpack(row)


#: A record's index in its block, as the row's last byte.
_INDEX = [bytes((i,)) for i in range(_BLOCK)]


class _Holders:
    """The holders of one identifier type and value when there is more than one (or a source
    and more): by external source (None: none), and how many of its identifiers each one has."""

    __slots__ = ("exact", "loose")

    def __init__(self) -> None:
        self.exact: dict[str | None, dict[str, None]] = {}
        self.loose: dict[str, int] = {}

    def add(self, source: str | None, record_id: str) -> None:
        holders = self.exact.setdefault(source, {})
        if record_id in holders:
            return
        holders[record_id] = None
        self.loose[record_id] = self.loose.get(record_id, 0) + 1

    def remove(self, source: str | None, record_id: str) -> None:
        holders = self.exact.get(source)
        if holders is None or record_id not in holders:
            return
        del holders[record_id]
        if not holders:
            del self.exact[source]
        # The record may still hold the same type and value under another source.
        self.loose[record_id] -= 1
        if self.loose[record_id] <= 0:
            del self.loose[record_id]


#: One identifier type and value's holders: a record id (one holder, no source), a (source,
#: record id) pair (one holder with that source), or :class:`_Holders` (anything else).
_Entry = str | tuple[str, str] | _Holders


class MemoryStore:
    """In-memory :class:`Store`: dicts and insertion-order lists, nothing persisted.

    The identifier index keeps one entry per identifier type and value (``"type\\0value"``),
    most of them as the holder's id alone (the same string object the record is stored under).
    """

    def __init__(self) -> None:
        self._cols: dict[str, _Collection] = {}
        self._ident: dict[str, dict[str, _Entry]] = {}
        self._names: dict[str, str] = {}
        self._members: dict[str, dict[str, None]] = {}
        self._children: dict[tuple[str, str], dict[str, None]] = {}
        self.clear()

    def clear(self) -> None:
        self._cols = {kind: _Collection() for kind in KINDS}
        self._ident = {kind: {} for kind in KINDS}
        self._names = {}
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
        cols = self._cols
        return (cols[kind] if kind in cols else self._col(kind)).rows.get(record_id)

    def put(self, kind: str, record: Record) -> int:
        return self._col(kind).put(record)

    def delete(self, kind: str, record_id: str) -> Record | None:
        return self._col(kind).delete(record_id)

    def count(self, kind: str) -> int:
        return len(self._col(kind).rows)

    def seq_of(self, kind: str, record_id: str) -> int | None:
        return self._col(kind).seq_of(record_id)

    def scan_after(self, kind: str, after_seq: int) -> Iterator[tuple[int, Record]]:
        return self._col(kind).scan_after(after_seq)

    def all(self, kind: str) -> Iterator[Record]:
        return (record for _, record in self.scan_after(kind, 0))

    def add_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None:
        index = self._ident[kind]
        name = f"{key.type}\0{key.value}"
        source = key.source
        if source is not None:  # one string object per distinct source id (thousands name one)
            source = self._names.setdefault(source, source)
        entry = index.get(name)
        if entry is None:
            index[name] = record_id if source is None else (source, record_id)
            return
        if isinstance(entry, _Holders):
            entry.add(source, record_id)
            return
        held_source, held_id = (None, entry) if isinstance(entry, str) else entry
        if held_source == source and held_id == record_id:
            return
        holders = _Holders()
        holders.add(held_source, held_id)
        holders.add(source, record_id)
        index[name] = holders

    def remove_identifier(self, kind: str, key: IdentifierKey, record_id: str) -> None:
        index = self._ident[kind]
        name = f"{key.type}\0{key.value}"
        entry = index.get(name)
        if entry is None:
            return
        if not isinstance(entry, _Holders):
            held_source, held_id = (None, entry) if isinstance(entry, str) else entry
            if held_source == key.source and held_id == record_id:
                del index[name]
            return
        entry.remove(key.source, record_id)
        if not entry.loose:
            del index[name]
        elif len(entry.exact) == 1 and len(entry.loose) == 1:
            ((source, holders),) = entry.exact.items()
            if len(holders) == 1:  # one holder again: back to the compact form
                (held_id,) = holders
                index[name] = held_id if source is None else (source, held_id)

    def holders(self, kind: str, key: IdentifierKey) -> list[str]:
        entry = self._ident[kind].get(f"{key.type}\0{key.value}")
        if entry is None:
            return []
        if isinstance(entry, str):
            return [entry] if key.source is None else []
        if isinstance(entry, tuple):
            return [entry[1]] if entry[0] == key.source else []
        return list(entry.exact.get(key.source, {}))

    def holders_any_source(self, kind: str, type_: str, value: str) -> list[str]:
        entry = self._ident[kind].get(f"{type_}\0{value}")
        if entry is None:
            return []
        if isinstance(entry, str):
            return [entry]
        if isinstance(entry, tuple):
            return [entry[1]]
        return list(entry.loose)

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
