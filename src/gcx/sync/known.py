"""The ledger's records as a run reads them: a batch at a time, never the whole ledger.

Planning, apply, reconciliation and prune ask for the records of the keys at hand
(:meth:`KnownRecords.get_many`: one query per few hundred keys, by the primary key) or walk them
a page at a time (prune candidates, organizations); a run's memory does not grow with the ledger.
Every write a run makes reaches the ledger in the same step as its outcome, so the ledger itself
is the run's current view. One exception: a ledger an earlier gcx wrote with keys not in NFC, read
by ``sync plan`` (which does not migrate it), is read whole, as before, so its keys still match.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator

from gcx.sync.fields import Kind
from gcx.sync.ledger import Ledger
from gcx.sync.rows import LedgerEntry


class KnownRecords:
    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        self._whole: dict[tuple[str, str], LedgerEntry] | None = None
        #: Records per kind at the start of the run, kept current by the run's creates and deletes.
        self.held: dict[str, int] = {"organization": 0, "contact": 0}

    def load(self) -> None:
        """Count the records (call once the run is bound and before it plans)."""
        self._whole = None if self.ledger.keys_in_nfc() else self.ledger.entries()
        self.held = {"organization": 0, "contact": 0, **self.ledger.count_records()}

    @property
    def total(self) -> int:
        return sum(self.held.values())

    def get_many(self, kind: Kind, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        """Key -> record, for those of these keys the ledger holds."""
        if self._whole is not None:
            return {k: e for k in keys if (e := self._whole.get((kind, k))) is not None}
        return self.ledger.records_for(kind, keys)

    def holds(self, kind: Kind) -> bool:
        """Whether the ledger holds any record of ``kind`` now."""
        if self._whole is not None:
            return any(k == kind for k, _ in self._whole)
        return self.ledger.holds_any(kind)

    def get(self, kind: Kind, key: str) -> LedgerEntry | None:
        return self.get_many(kind, [key]).get(key)

    def keys_of_ids(self, kind: Kind, genesys_ids: Iterable[str]) -> dict[str, str]:
        """Genesys id -> ExternalId of the records held for these ids."""
        if self._whole is not None:
            wanted = set(genesys_ids)
            return {
                e.genesys_id: e.key for e in self._whole.values() if e.kind == kind and e.genesys_id in wanted
            }
        return self.ledger.keys_of_ids(kind, genesys_ids)

    def walk(self, kind: Kind, *, created_by_gcx: bool | None = None) -> Iterator[LedgerEntry]:
        """Every record of ``kind`` (only those gcx created, with ``created_by_gcx``), page by page."""
        if self._whole is not None:
            for e in sorted(self._whole.values(), key=lambda e: e.key):
                if e.kind == kind and (created_by_gcx is None or e.created_by_gcx == created_by_gcx):
                    yield e
            return
        yield from self.ledger.iter_records(kind, created_by_gcx=created_by_gcx)

    def counted(self, kind: str, change: int) -> None:
        self.held[kind] = max(0, self.held.get(kind, 0) + change)
