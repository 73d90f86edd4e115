"""The scan snapshot: every remote record of one kind, by ExternalId and by Genesys id, on disk.

A scan of a million records must not hold a million dicts (about 5 KB each in Python), nor a
million of anything. Each record is kept as its compact JSON, deflated against the first record
of the scan as a preset dictionary (records of one org share most of their text: field names,
division, organization), about 100 to 200 bytes instead of 1 KB, in the run's scratch database
(:mod:`gcx.sync.spill`), indexed by Genesys id and by the ExternalId gcx knows it by. It is
decoded, as a new dict, when asked for; callers ask a batch at a time (:meth:`Snapshot.get_many`).
"""

from __future__ import annotations

import json
import zlib
from collections import Counter
from collections.abc import Callable, Iterable, Iterator, Mapping, Sequence
from typing import Any

from gcx.sync.fields import Kind
from gcx.sync.plan import key_of
from gcx.sync.spill import Spill, chunks, marks

_WBITS = -12  # raw deflate, 4 KB window: a record and its preset dictionary fit

#: The ledger's Genesys id for each of these keys (asked only when two records hold one key).
Preferred = Callable[[Sequence[str]], Mapping[str, str]]


def _no_preference(_keys: Sequence[str]) -> Mapping[str, str]:
    return {}


class Snapshot:
    """Remote records of one kind by ExternalId (and Genesys id -> ExternalId).

    When two records hold one key, the ledger's is kept, else the oldest (``createDate``); the
    others stay, unkeyed, and are listed in :attr:`duplicates`.
    """

    def __init__(self, spill: Spill, kind: Kind) -> None:
        self.spill = spill
        self.kind = kind
        self.snap = spill.next_snapshot()
        self.duplicates: dict[str, list[str]] = {}
        self.total = 0
        self._zdict: bytes | None = None
        #: Whether any row was stored: a scan of an empty org (a first sync) answers every
        #: question without asking the database.
        self._stored = False

    # ------------------------------------------------------------------ packing

    def _pack(self, body: Mapping[str, Any]) -> bytes:
        text = json.dumps(body, separators=(",", ":"), ensure_ascii=False).encode()
        if self._zdict is None:
            self._zdict = text
        packer = zlib.compressobj(1, zlib.DEFLATED, _WBITS, 4, zlib.Z_DEFAULT_STRATEGY, self._zdict)
        return packer.compress(text) + packer.flush()

    def _unpack(self, packed: bytes) -> dict[str, Any]:
        assert self._zdict is not None
        body: dict[str, Any] = json.loads(zlib.decompressobj(_WBITS, self._zdict).decompress(packed))
        return body

    # ------------------------------------------------------------------ adding

    def add(self, body: dict[str, Any], source_id: str, preferred: Mapping[str, str] | None = None) -> None:
        """Index one record (``preferred``: the ledger's Genesys id of keys, if known)."""
        wanted = dict(preferred or {})
        self.add_page([body], source_id, lambda _keys: wanted)

    def add_page(
        self, bodies: Sequence[dict[str, Any]], source_id: str, preferred: Preferred = _no_preference
    ) -> None:
        """Index a page of scanned records. When two records hold one key, keep the ledger's
        (``preferred``), else the oldest."""
        self.total += len(bodies)
        rows: dict[str, tuple[str | None, bytes]] = {}  # id -> (key, packed), in page order
        for body in bodies:
            rid = str(body.get("id") or "")
            if rid:
                rows[rid] = (key_of(body, source_id), self._pack(body))
        keyed = [k for k, _ in rows.values() if k is not None]
        held = self.ids_of(keyed)
        clash = set(held) | {k for k, n in Counter(keyed).items() if n > 1}
        if not clash:
            self._put([(rid, key, packed) for rid, (key, packed) in rows.items()])
            return
        self._put([(rid, None if key in clash else key, packed) for rid, (key, packed) in rows.items()])
        wanted = preferred(sorted(clash))
        for rid, (key, _) in rows.items():
            if key in clash:
                self._contest(key, rid, wanted.get(key))

    def _contest(self, key: str, rid: str, preferred: str | None) -> None:
        """``rid`` (stored unkeyed) also holds ``key``: keep the ledger's record, else the oldest."""
        current_id = self.id_of(key)
        if current_id is None or current_id == rid:  # the first holder (or the same record again)
            self._set_key(rid, key)
            return
        current = self.by_id(current_id) or {}
        body = self.by_id(rid) or {}
        self.duplicates.setdefault(key, [current_id]).append(rid)
        keep_new = rid == preferred or (
            current_id != preferred
            and str(body.get("createDate") or "") < str(current.get("createDate") or "")
        )
        if keep_new:
            self._set_key(current_id, None)
            self._set_key(rid, key)

    def bind(self, key: str, body: dict[str, Any]) -> None:
        """Match a record that does not carry the key (an adoption check found it holds it)."""
        rid = str(body.get("id") or "")
        self._put([(rid, None, self._pack(body))])
        self._set_key(rid, key)

    def _put(self, rows: Sequence[tuple[str, str | None, bytes]]) -> None:
        if not rows:
            return
        self._stored = True
        self.spill.many(
            "INSERT OR REPLACE INTO remote (snap, id, key, body) VALUES (?, ?, ?, ?)",
            # bytes as bytearray: the same BLOB, bound without adapting it (gcx.sync.sqlite_binds)
            [(self.snap, rid, key, bytearray(packed)) for rid, key, packed in rows],
        )

    def _set_key(self, rid: str, key: str | None) -> None:
        self.spill.conn.execute("UPDATE remote SET key = ? WHERE snap = ? AND id = ?", (key, self.snap, rid))

    def discard(self) -> None:
        """Drop this snapshot's rows (a scan made for one question, answered)."""
        self.spill.conn.execute("DELETE FROM remote WHERE snap = ?", (self.snap,))

    # ------------------------------------------------------------------ reading

    def ids_of(self, keys: Iterable[str]) -> dict[str, str]:
        """Key -> Genesys id of the record holding it, for the keys some record holds."""
        out: dict[str, str] = {}
        if not self._stored:
            return out
        for chunk in chunks(sorted(set(keys))):
            rows = self.spill.query(
                f"SELECT key, id FROM remote WHERE snap = ? AND key IN ({marks(len(chunk))})",
                [self.snap, *chunk],
            )
            out.update(dict(rows))
        return out

    def get_many(self, keys: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Key -> the record holding it (a new dict each), for the keys some record holds."""
        out: dict[str, dict[str, Any]] = {}
        if not self._stored:
            return out
        for chunk in chunks(sorted(set(keys))):
            rows = self.spill.query(
                f"SELECT key, body FROM remote WHERE snap = ? AND key IN ({marks(len(chunk))})",
                [self.snap, *chunk],
            )
            out.update({k: self._unpack(b) for k, b in rows})
        return out

    def by_ids(self, record_ids: Iterable[str]) -> dict[str, dict[str, Any]]:
        """Genesys id -> any scanned record (keyed or not), for the ids scanned."""
        out: dict[str, dict[str, Any]] = {}
        if not self._stored:
            return out
        for chunk in chunks(sorted(set(record_ids))):
            rows = self.spill.query(
                f"SELECT id, body FROM remote WHERE snap = ? AND id IN ({marks(len(chunk))})",
                [self.snap, *chunk],
            )
            out.update({i: self._unpack(b) for i, b in rows})
        return out

    def get(self, key: str) -> dict[str, Any] | None:
        """The record holding ``key`` (a new dict each time), or None."""
        return self.get_many([key]).get(key)

    def by_id(self, record_id: str) -> dict[str, Any] | None:
        """Any scanned record by its Genesys id (a new dict each time), or None."""
        return self.by_ids([record_id]).get(record_id)

    def id_of(self, key: str) -> str | None:
        return self.ids_of([key]).get(key)

    def has_ids(self, record_ids: Iterable[str]) -> set[str]:
        """Those of these Genesys ids that the scan saw."""
        return self.spill.which(
            "SELECT id FROM remote WHERE snap = ? AND id IN ({in})", [self.snap], record_ids
        )

    def has(self, record_id: str) -> bool:
        return bool(self.has_ids([record_id]))

    def ids(self) -> Iterator[tuple[str, str]]:
        """(ExternalId, Genesys id) of every keyed record."""
        cur = self.spill.conn.execute(
            "SELECT key, id FROM remote WHERE snap = ? AND key IS NOT NULL ORDER BY rowid", (self.snap,)
        )
        while rows := cur.fetchmany(1000):
            yield from rows

    def unkeyed(self) -> Iterator[dict[str, Any]]:
        """Every scanned record no key matched (no gcx identity, or a duplicate left alone), in
        scan order."""
        cur = self.spill.conn.execute(
            "SELECT body FROM remote WHERE snap = ? AND key IS NULL ORDER BY rowid", (self.snap,)
        )
        while rows := cur.fetchmany(1000):
            yield from (self._unpack(b) for (b,) in rows)
