"""The ledger's records, read by key, by Genesys id or in pages: never all held at once.

A run looks its records up per batch (``records_for``: one ``IN`` query per few hundred keys,
by the records table's primary key (kind, ExternalId)) instead of loading the ledger whole, so
its memory does not grow with the ledger. :class:`RecordReads` is mixed into
:class:`~gcx.sync.ledger.Ledger`; ``entries()`` (every record at once) stays for tools and tests.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator, Mapping
from typing import Any

from sqlalchemy import Engine, RowMapping, Table, and_, case, func, select

from gcx.sync.fields import ORG_REF, Kind, normal_key
from gcx.sync.keyform import KEYS_VERSION
from gcx.sync.rows import JsonObject, LedgerEntry

#: Keys per ``IN`` query (well under every database's limit of bound parameters).
IN_CHUNK = 500
#: Records per page of :meth:`RecordReads.iter_records`.
PAGE = 1000


class RecordReads:
    """Reads of the records table (mixed into the ledger, which owns the engine and tables)."""

    engine: Engine
    t_records: Table
    t_binding: Table

    def _entry(self, row: RowMapping) -> LedgerEntry:
        # NFC on read too: a ledger not migrated yet (opened read-only by plan) reads right
        return LedgerEntry(
            kind=row["kind"],
            key=normal_key(row["external_id"]),
            genesys_id=row["genesys_id"],
            hash=row["hash"],
            applied=_applied(row["applied"]),
            org_key=normal_key(row["org_key"]) if row["org_key"] else row["org_key"],
            created_by_gcx=bool(row["created_by_gcx"]),
        )

    def entries(self, kind: Kind | None = None) -> dict[tuple[str, str], LedgerEntry]:
        """Every record (or every record of ``kind``), keyed by (kind, ExternalId). A sync run
        never calls this (see :meth:`records_for`)."""
        t = self.t_records
        stmt = select(t)
        if kind is not None:
            stmt = stmt.where(t.c.kind == kind)
        out: dict[tuple[str, str], LedgerEntry] = {}
        with self.engine.connect() as conn:
            for row in conn.execute(stmt).mappings():
                entry = self._entry(row)
                out[(entry.kind, entry.key)] = entry
        return out

    def keys_in_nfc(self) -> bool:
        """Whether every stored key is in NFC (schema 2 or later, or no record), so that a
        lookup by a source key finds its record."""
        with self.engine.connect() as conn:
            version = conn.execute(
                select(self.t_binding.c.schema_version).where(self.t_binding.c.id == 1)
            ).scalar()
            if version is not None and version >= KEYS_VERSION:
                return True
            return conn.execute(select(self.t_records.c.kind).limit(1)).first() is None

    def holds_any(self, kind: Kind) -> bool:
        """Whether any record of ``kind`` is held."""
        t = self.t_records
        with self.engine.connect() as conn:
            return conn.execute(select(t.c.kind).where(t.c.kind == kind).limit(1)).first() is not None

    def records_for(self, kind: Kind, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """The records of ``kind`` held for these keys (absent keys are left out)."""
        t = self.t_records
        wanted = sorted(set(keys))
        out: dict[str, LedgerEntry] = {}
        if not wanted:
            return out
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[i : i + IN_CHUNK]
                rows = conn.execute(select(t).where(and_(t.c.kind == kind, t.c.external_id.in_(chunk))))
                for row in rows.mappings():
                    entry = self._entry(row)
                    out[entry.key] = entry
        return out

    def keys_of_ids(self, kind: Kind, genesys_ids: Iterable[str]) -> dict[str, str]:
        """Genesys id -> ExternalId of the records of ``kind`` the ledger holds for these ids."""
        t = self.t_records
        wanted = sorted(set(genesys_ids))
        out: dict[str, str] = {}
        with self.engine.connect() as conn:
            for i in range(0, len(wanted), IN_CHUNK):
                chunk = wanted[i : i + IN_CHUNK]
                rows = conn.execute(
                    select(t.c.genesys_id, t.c.external_id).where(
                        and_(t.c.kind == kind, t.c.genesys_id.in_(chunk))
                    )
                )
                out.update({str(g): normal_key(str(k)) for g, k in rows})
        return out

    def iter_records(self, kind: Kind, *, created_by_gcx: bool | None = None) -> Iterator[LedgerEntry]:
        """The records of ``kind`` in ExternalId order, read a page at a time (keyset pages, so no
        cursor stays open while the caller writes)."""
        t = self.t_records
        last: str | None = None
        while True:
            stmt = select(t).where(t.c.kind == kind)
            if created_by_gcx is not None:
                stmt = stmt.where(t.c.created_by_gcx == created_by_gcx)
            if last is not None:
                stmt = stmt.where(t.c.external_id > last)
            with self.engine.connect() as conn:
                rows = conn.execute(stmt.order_by(t.c.external_id).limit(PAGE)).mappings().all()
            if not rows:
                return
            last = str(rows[-1]["external_id"])
            for row in rows:
                yield self._entry(row)
            if len(rows) < PAGE:
                return

    def count_records(self) -> dict[str, int]:
        """Records per kind."""
        return {kind: n for kind, (n, _) in self.record_counts().items()}

    def record_counts(self) -> dict[str, tuple[int, int]]:
        """Kind -> (records, of which gcx created), counted in SQL."""
        t = self.t_records
        created = func.sum(case((t.c.created_by_gcx.is_(True), 1), else_=0))
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.kind, func.count(), created).group_by(t.c.kind)).all()
        return {str(k): (int(n), int(c or 0)) for k, n, c in rows}


def _applied(text: str) -> Mapping[str, Any]:
    """A record's applied values as stored: kept as text (NFC only changes non-ASCII text)."""
    if text.isascii():
        return JsonObject(text)
    return _nfc_ref(json.loads(text))


def _nfc_ref(applied: dict[str, Any]) -> dict[str, Any]:
    ref = applied.get(ORG_REF)
    if isinstance(ref, str) and normal_key(ref) != ref:
        return {**applied, ORG_REF: normal_key(ref)}
    return applied
