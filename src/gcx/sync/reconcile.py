"""Reconciliation: resolve operations whose outcome is not known, against Genesys.

Two cases leave an operation open in the ledger: a run killed between recording a batch
``started`` and recording its outcome, and a bulk call that got no answer (``unknown``). Before
anything new is planned (and right after a lost answer), each open operation is looked up by
its ExternalId: a record that shows the intended values was applied (``reconcile_found``), one
that does not was not (``reconcile_absent``); a delete is applied when the record is gone.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gcx.sync.fields import KINDS, ORG_REF, Kind, remote_value, same
from gcx.sync.lookup import Finder
from gcx.sync.plan import remote_org_ref
from gcx.sync.rows import LedgerEntry, OpRow, Outcome
from gcx.sync.state import RunState


class Reconciler:
    def __init__(self, run: RunState, finder: Finder) -> None:
        self.run = run
        self.finder = finder

    def remote_matches(self, kind: Kind, applied: dict[str, Any], remote: dict[str, Any]) -> bool:
        """Whether the Genesys record shows every value an operation meant to write."""
        for path, value in applied.items():
            if path == ORG_REF:
                rid = remote_org_ref(remote)
                have = self.run.org_key_by_id.get(rid) if rid else None
                if (have or None) != (value or None):
                    return False
            elif not same(kind, path, remote_value(kind, path, remote), value):
                return False
        return True

    async def open_ops(self) -> None:
        """Resolve what an interrupted run left open (a plan only warns about them)."""
        run = self.run
        open_ops = run.ledger.open_ops()
        if not open_ops:
            return
        if run.dry_run:
            run.report.warnings.append(
                f"{len(open_ops)} operation(s) of an interrupted run are not reconciled yet: "
                "the next apply resolves them first"
            )
            return
        await self.reconcile(open_ops, from_snapshot=True)
        run.rebuild_org_maps()

    async def _found(self, rows: Sequence[OpRow], *, from_snapshot: bool) -> dict[tuple[str, str], Any]:
        """The Genesys record of each row's key (None: there is none); a row left out is unknown.

        From the run's snapshot when it is fresh (start of a run). After a lost answer: a record
        that has a Genesys id (update, move, delete) is read by id; a create is looked for in a
        scan, the only complete view: gcx's ``externalIds`` show in scans, while an identifier
        lookup may not find them (nothing documents that ``externalIds`` make an identifier).
        """
        found: dict[tuple[str, str], dict[str, Any] | None] = {}
        for kind in KINDS:
            mine = [r for r in rows if r.kind == kind]
            idx = self.run.index[kind]
            if from_snapshot and idx is not None:
                got = idx.get_many(r.key for r in mine)
                for r in mine:
                    found[(kind, r.key)] = got.get(r.key)
                continue
            by_id = [r for r in mine if r.genesys_id]
            if by_id:
                results = await self.run.remote.bulk_get(kind, [str(r.genesys_id) for r in by_id])
                for r, res in zip(by_id, results, strict=True):
                    if res.ok and res.entity is not None:
                        found[(kind, r.key)] = res.entity
                    elif (res.error or {}).get("status") == 404:
                        found[(kind, r.key)] = None
            creates = sorted({r.key for r in mine if not r.genesys_id})
            if creates:
                scanned = await self.finder.scan_index(kind)
                got = scanned.get_many(creates)
                scanned.discard()
                for key in creates:
                    found[(kind, key)] = got.get(key)
        return found

    async def reconcile(self, rows: Sequence[OpRow], *, from_snapshot: bool) -> dict[int, bool]:
        """Resolve ops whose outcome is unknown. Returns op id -> applied (found in Genesys)."""
        run = self.run
        found_map = await self._found(rows, from_snapshot=from_snapshot)
        prevs = {
            (kind, key): e
            for kind in KINDS
            for key, e in run.records.get_many(kind, [r.key for r in rows if r.kind == kind]).items()
        }
        outcomes: list[Outcome] = []
        records: list[LedgerEntry] = []
        forget: list[tuple[str, str]] = []
        for row in rows:
            if (row.kind, row.key) not in found_map:
                continue  # could not be read: stays open, the next run reconciles it
            remote = found_map.get((row.kind, row.key))
            applied = dict(row.payload.get("applied") or {})
            if row.op == "delete":
                if remote is None:
                    outcomes.append(Outcome(row.id, True, row.genesys_id))
                    forget.append((row.kind, row.key))
                    if prevs.pop((row.kind, row.key), None) is not None:
                        run.records.counted(row.kind, -1)
                else:
                    outcomes.append(Outcome(row.id, False, error={"reason": "the delete did not happen"}))
                continue
            if remote is None or (row.op != "create" and not self.remote_matches(row.kind, applied, remote)):
                outcomes.append(
                    Outcome(
                        row.id, False, error={"reason": "not applied (checked after the outcome was unknown)"}
                    )
                )
                continue
            gid = str(remote.get("id"))
            prev = prevs.get((row.kind, row.key))
            matched = self.remote_matches(row.kind, applied, remote)
            entry = LedgerEntry(
                kind=row.kind,
                key=row.key,
                genesys_id=gid,
                hash=str(row.payload.get("hash")) if matched else "reconciled",
                applied=applied if matched else (prev.applied if prev else {}),
                org_key=row.payload.get("org_key"),
                created_by_gcx=row.op == "create" or bool(prev and prev.created_by_gcx),
            )
            outcomes.append(Outcome(row.id, True, gid))
            records.append(entry)
            if prev is None:
                run.records.counted(row.kind, 1)
            prevs[(row.kind, row.key)] = entry  # a later op of the same key replaces this one
            if row.kind == "organization":
                run.note_org(row.key, gid)
            idx = run.index[row.kind]
            if idx is not None and idx.get(row.key) is None:
                idx.add(remote, run.sid, {row.key: gid})
        run.ledger.finish_batch(outcomes, records=records, forget=forget, reconcile=True)
        n_found = sum(1 for o in outcomes if o.ok)
        run.report.reconciled["found"] += n_found
        run.report.reconciled["absent"] += len(outcomes) - n_found
        return {o.op_id: o.ok for o in outcomes}

    async def settle(self, op_ids: Sequence[int]) -> dict[int, bool]:
        """A bulk call got no answer for these ops: mark them unknown and reconcile them now."""
        ledger = self.run.ledger
        ledger.mark_unknown(op_ids)
        wanted = set(op_ids)
        rows = [r for r in ledger.open_ops() if r.id in wanted]
        return await self.reconcile(rows, from_snapshot=False)
