"""The state of one sync run, shared by its steps (planning, apply, reconciliation, prune).

Every step of :mod:`gcx.sync.engine` reads and changes this one object instead of holding
state of its own, so the steps can live in their own modules without reaching into each other.
It also holds the few rules on that state that several steps apply: the ledger record a write
leaves, what a success or a failure changes in the report, and the ledger refresh of
unchanged records.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcx.sync.fields import ORG_REF
from gcx.sync.known import KnownRecords
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.plan import After, Op
from gcx.sync.records import Issue
from gcx.sync.remote import ItemResult, Remote
from gcx.sync.report import RunReport
from gcx.sync.rows import LedgerEntry
from gcx.sync.snapshot import Snapshot
from gcx.sync.spill import SeenKeys, Spill

Progress = Callable[[str, int], None]
OnOp = Callable[[Op], None]
#: Writes progress: (kind, items just written, writes planned for that kind).
OnWrite = Callable[[str, int, int], None]

#: Placeholder id of an organization a plan (dry run) would create.
NEW_ORG = "(new)"
#: Ledger records refreshed without a write are saved in groups of this many.
REFRESH_GROUP = 500


def _per_kind() -> dict[str, Any]:
    return {"organization": None, "contact": None}


@dataclass(eq=False)
class RunState:
    """One run's collaborators, options and everything it has learnt so far."""

    ledger: Ledger
    remote: Remote
    opts: SyncOptions
    report: RunReport
    dry_run: bool
    on_op: OnOp | None = None
    progress: Progress | None = None
    on_write: OnWrite | None = None
    #: Asked after each planned batch; True ends the run once the batches in flight are written.
    should_stop: Callable[[], bool] | None = None
    run_id: int = 0
    #: Id of gcx's External Source (None in a plan before it exists).
    source_id: str | None = None
    #: The remote snapshot by kind (None: not scanned, e.g. with --trust-ledger), on disk.
    index: dict[str, Snapshot | None] = field(default_factory=_per_kind)
    #: Organization key <-> Genesys id, from the ledger, the snapshot and the writes.
    org_ids: dict[str, str] = field(default_factory=dict)
    org_key_by_id: dict[str, str] = field(default_factory=dict)
    #: Keys of invalid source rows (they count as present: prune safety).
    invalid_keys: dict[str, set[str]] = field(
        default_factory=lambda: {"organization": set(), "contact": set()}
    )
    #: Source rows that could not be read at all (no key): they block a prune.
    unkeyed_issues: int = 0
    #: The first place the source could not be parsed (it may hide rows): blocks any prune.
    structural: Issue | None = None
    failed_orgs: set[str] = field(default_factory=set)
    org_misses: set[str] = field(default_factory=set)
    #: Writes waiting for their batch.
    pending_creates: dict[str, list[Op]] = field(default_factory=lambda: {"organization": [], "contact": []})
    pending_updates: dict[str, list[tuple[Op, dict[str, Any]]]] = field(
        default_factory=lambda: {"organization": [], "contact": []}
    )
    pending_refresh: list[LedgerEntry] = field(default_factory=list)
    #: The ledger record each queued write replaces, as planning read it (popped when its batch
    #: is built): apply need not read the ledger again.
    queued_entries: dict[tuple[str, str], LedgerEntry] = field(default_factory=dict)
    #: Creates retried once after a lost answer, and records skipped for this run.
    retried: set[tuple[str, str]] = field(default_factory=set)
    skipped: set[tuple[str, str]] = field(default_factory=set)
    lookups: int = 0
    processed: dict[str, int] = field(default_factory=lambda: {"organization": 0, "contact": 0})
    #: The ledger's records, read a batch at a time (the ledger is the run's current view).
    records: KnownRecords = field(init=False)
    _spill: Spill | None = None

    def __post_init__(self) -> None:
        self.records = KnownRecords(self.ledger)

    # ------------------------------------------------------------------ scratch

    @property
    def spill(self) -> Spill:
        """The run's scratch database (:mod:`gcx.sync.spill`), opened on first use."""
        if self._spill is None:
            where = _ledger_dir(self.ledger)
            try:
                self._spill = Spill(where)
            except OSError:
                if where is None:
                    raise
                self._spill = Spill(None)  # the ledger's directory is read-only: the temporary one
        return self._spill

    @property
    def seen(self) -> SeenKeys:
        """Source keys read so far, with their first line: duplicates, prune safety."""
        return SeenKeys(self.spill)

    def new_snapshot(self, kind: str) -> Snapshot:
        return Snapshot(self.spill, "organization" if kind == "organization" else "contact")

    def close(self) -> None:
        """Remove the scratch database."""
        if self._spill is not None:
            self._spill.close()
            self._spill = None

    @property
    def sid(self) -> str:
        """The External Source id, empty while it does not exist (plan)."""
        return self.source_id or ""

    # ------------------------------------------------------------------ organizations

    def note_org(self, key: str, genesys_id: str) -> None:
        self.org_ids[key] = genesys_id
        self.org_key_by_id[genesys_id] = key

    def rebuild_org_maps(self) -> None:
        for e in self.records.walk("organization"):
            self.note_org(e.key, e.genesys_id)
        idx = self.index["organization"]
        if idx is not None:
            for key, rid in idx.ids():
                self.note_org(key, rid)

    def org_failure(self, *, key: str, op_name: str, line: int | None, org_key: str) -> None:
        """A contact not written because its organization could not be written."""
        self.report.add_failure(
            kind="contact",
            key=key,
            op=op_name,
            line=line,
            field=ORG_REF,
            reason=f"its organization {org_key!r} could not be written (see that failure)",
        )

    # ------------------------------------------------------------------ outcomes

    def entry_for(
        self, op: Op, genesys_id: str, *, created: bool, prev: LedgerEntry | None, after: After | None = None
    ) -> LedgerEntry:
        """The ledger record a successful write of ``op`` leaves (``prev``: the one it replaces;
        ``after``: its applied values and hash, when the write has them already)."""
        assert op.record is not None
        after = after or After.of(op)
        org_key = op.record.org_key if op.record.manages_org else (prev.org_key if prev else None)
        return LedgerEntry(  # in the order of its fields: once per write, keywords cost more
            op.kind,
            op.key,
            genesys_id,
            after.hash,
            after.applied,  # held for the whole run: as text, as the ledger has it
            org_key,
            created or bool(prev and prev.created_by_gcx and prev.genesys_id == genesys_id),  # created_by_gcx
        )

    def written(self, op: Op, entry: LedgerEntry, what: str) -> None:
        """``op`` is applied (``what``: created, updated, moved): count it (its record is saved with
        the batch's outcome)."""
        if what == "created":
            self.records.counted(op.kind, 1)
        self.report.applied[op.kind][what] += 1
        if op.adopted and what != "created":
            self.report.applied[op.kind]["adopted"] += 1
        if op.kind == "organization":
            self.note_org(op.key, entry.genesys_id)
            self.failed_orgs.discard(op.key)

    def fail(self, op: Op, res: ItemResult | None, reason: str | None = None) -> dict[str, Any]:
        """Report ``op`` as failed; returns the error recorded with its ledger op."""
        err = dict(res.error or {}) if res is not None else {}
        if reason:
            err["reason"] = reason
        self.report.add_failure(
            kind=op.kind,
            key=op.key,
            op=op.op,
            line=op.line,
            reason=str(err.get("reason") or "the item failed"),
            field=err.get("field"),
            status=err.get("status"),
            code=err.get("code"),
        )
        if op.kind == "organization":
            self.failed_orgs.add(op.key)
        return err

    # ------------------------------------------------------------------ ledger refresh

    def refresh(self, op: Op, prev: LedgerEntry | None) -> None:
        """An unchanged record whose ledger row (``prev``) is missing or stale (adoption): no API call."""
        if op.genesys_id is None or op.record is None:
            return
        entry = self.entry_for(op, op.genesys_id, created=False, prev=prev)
        if prev is not None and (prev.genesys_id, prev.hash, prev.applied, prev.org_key) == (
            entry.genesys_id,
            entry.hash,
            entry.applied,
            entry.org_key,
        ):
            return
        if prev is None:
            self.report.applied[op.kind]["adopted"] += 1
            self.records.counted(op.kind, 1)
        self.pending_refresh.append(entry)
        if len(self.pending_refresh) >= REFRESH_GROUP:
            self.flush_refresh()

    def flush_refresh(self) -> None:
        if self.pending_refresh and not self.dry_run:
            self.ledger.save_records(self.pending_refresh)
        self.pending_refresh = []


def _ledger_dir(ledger: Ledger) -> Path | None:
    """The directory of a SQLite ledger file (the scratch database goes beside it), else None."""
    url = ledger.engine.url
    db = url.database
    if ledger.engine.dialect.name != "sqlite" or not db or db == ":memory:" or db.startswith("file:"):
        return None
    return Path(db).resolve().parent
