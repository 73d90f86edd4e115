"""Prune (``--prune``): delete the records gcx created that the source no longer has.

Only records the ledger says gcx created are candidates; keys of invalid source rows count as
present; nothing is pruned from a source that could not be parsed, nor while some source row
could not be read at all (without ``--accept-unreadable``), nor above the threshold (:func:`gcx.sync.plan.prune_candidates`). Contacts go
first; an organization a contact will still belong to is kept, in the plan as in the apply
(:meth:`Pruner._held_orgs` names the holders), and checked again in Genesys before its delete.
"""

from __future__ import annotations

from collections.abc import Iterator, Sequence

from gcx.sync.batch import BatchWriter, Gone, Write
from gcx.sync.fields import KINDS, Kind
from gcx.sync.plan import Op, prune_candidates
from gcx.sync.planning import Planner
from gcx.sync.remote import ItemResult
from gcx.sync.rows import LedgerEntry, NewOp
from gcx.sync.state import RunState

#: Ledger records checked against the source keys per query.
PAGE = 500


class Pruner:
    def __init__(self, run: RunState, planner: Planner, writer: BatchWriter) -> None:
        self.run = run
        self.planner = planner
        self.writer = writer

    async def prune(self) -> None:
        run = self.run
        if run.structural is not None:
            run.report.warnings.append(
                f"prune skipped: the source could not be parsed at line {run.structural.line}, so it "
                "may hide rows and gcx cannot tell which records it holds; fix the file (no option "
                "prunes on such a source)"
            )
            return
        if run.unkeyed_issues and not run.opts.accept_unreadable:
            run.report.warnings.append(
                f"prune skipped: {run.unkeyed_issues} source row(s) could not be read at all, so gcx "
                "cannot tell which records they hold; fix them, or pass --accept-unreadable to prune "
                "anyway (the records those rows hold would be deleted)"
            )
            return
        candidates = prune_candidates(
            self._absent(),
            {},
            held=sum(run.ledger.count_records().values()),
            threshold=run.opts.prune_threshold,
            force=run.opts.force,
        )
        # Plan and apply agree: an organization a contact will still belong to after this run is
        # never listed for deletion; the warning names what holds it.
        kept = await self._held_orgs(candidates)
        candidates = [c for c in candidates if not (c.kind == "organization" and c.key in kept)]
        for cand in candidates:
            self.planner.handle(Op("delete", cand.kind, cand.key, genesys_id=cand.genesys_id))
        if run.dry_run:
            return
        for kind in ("contact", "organization"):
            k: Kind = "organization" if kind == "organization" else "contact"
            todo = [c for c in candidates if c.kind == kind]
            if k == "organization":
                todo = await self._orgs_free_to_delete(todo)
            for start in range(0, len(todo), run.opts.batch_size):
                await self._delete_batch(k, todo[start : start + run.opts.batch_size])

    def _absent(self) -> Iterator[LedgerEntry]:
        """The records gcx created whose key no source row holds (keys of invalid rows count as
        held), read from the ledger and checked against the keys seen a page at a time."""
        run = self.run
        for kind in KINDS:
            page: list[LedgerEntry] = []
            for entry in run.records.walk(kind, created_by_gcx=True):
                page.append(entry)
                if len(page) >= PAGE:
                    yield from self._unseen(kind, page)
                    page = []
            yield from self._unseen(kind, page)

    def _unseen(self, kind: Kind, page: Sequence[LedgerEntry]) -> list[LedgerEntry]:
        held = self.run.seen.present(kind, [e.key for e in page]) | self.run.invalid_keys[kind]
        return [e for e in page if e.key not in held]

    async def _held_orgs(self, candidates: Sequence[LedgerEntry]) -> set[str]:
        """The organization candidates a contact will still belong to after this run (its source
        row names the organization, or it is in the organization in Genesys and neither pruned nor
        moved away), each reported with what holds it."""
        run = self.run
        pruned = {c.genesys_id for c in candidates if c.kind == "contact"}
        kept: set[str] = set()
        for org in (c for c in candidates if c.kind == "organization"):
            holders = [f"contact {key} (in the source)" for key in run.seen.members(org.key)]
            members = await run.remote.org_contacts(org.genesys_id)
            key_by_id = run.records.keys_of_ids("contact", [str(c.get("id")) for c in members])
            decided = run.seen.managed(list(key_by_id.values()))
            for contact in members:
                cid = str(contact.get("id"))
                key = key_by_id.get(cid)
                if cid in pruned or (key is not None and key in decided):
                    continue  # deleted by this prune, or its source row decides (counted above)
                holders.append(
                    f"contact {key} (synced by gcx)" if key else f"contact {cid} (not managed by gcx)"
                )
            if holders:
                kept.add(org.key)
                shown = ", ".join(holders[:3]) + (f" and {len(holders) - 3} more" if len(holders) > 3 else "")
                run.report.warnings.append(
                    f"organization {org.key} not pruned: {shown} still belong(s) to it (move or delete "
                    "them first)"
                )
        return kept

    async def _orgs_free_to_delete(self, orgs: Sequence[LedgerEntry]) -> list[LedgerEntry]:
        """The organizations no contact belongs to any more (gcx's own were deleted just before).

        What the server does to the contacts of a deleted organization is unknown (refuse, unlink
        or cascade): an organization that still holds a contact gcx does not own (made by a person,
        or by another tool) is kept and reported, so that a prune never deletes or detaches it.
        """
        free: list[LedgerEntry] = []
        for entry in orgs:
            if await self.run.remote.org_has_contacts(entry.genesys_id):
                self.run.report.warnings.append(
                    f"organization {entry.key} not pruned: contacts that gcx does not manage still "
                    "belong to it (move or delete them first)"
                )
                continue
            free.append(entry)
        return free

    async def _delete_batch(self, kind: Kind, batch: Sequence[LedgerEntry]) -> None:
        writes = [
            Write(
                Op("delete", kind, e.key, genesys_id=e.genesys_id),
                NewOp(kind, e.key, "delete", {"applied": {}, "hash": ""}, genesys_id=e.genesys_id),
                e.genesys_id,
            )
            for e in batch
        ]
        await self.writer.write(kind, writes, self.run.remote.bulk_remove, self._deleted)

    def _deleted(self, w: Write, res: ItemResult) -> Gone | None:
        if not (res.ok or (res.error or {}).get("status") == 404):
            return None
        run = self.run
        run.records.counted(w.op.kind, -1)
        run.report.applied[w.op.kind]["deleted"] += 1
        assert w.op.genesys_id is not None
        return Gone(w.op.genesys_id)
