"""Apply: the queued creates, updates and moves of one kind, written in bulk batches.

Creates are sent as built from the source record; updates are full replacements built from the
Genesys record re-read right before the batch (so a person's recent edit is not put back).
Every batch goes through the one :class:`~gcx.sync.batch.BatchWriter` (record, send, settle).

**Pipeline.** Batches are sent while the source is still being planned: as soon as a full batch
is queued, :meth:`Applier.pump` starts it and returns, so the next batch's CPU (reading and
validating rows, building bodies, the ledger) runs while earlier requests are in flight. At most
:attr:`Applier.depth` batches are in flight (one more than the tokens the remote writes with:
each token keeps one request going, and one batch is always ready behind them). Each batch keeps
its own record-then-send order in the ledger (``BatchWriter``); batches never share a record.
"""

from __future__ import annotations

import asyncio
from collections.abc import Coroutine, Mapping
from typing import Any

from gcx.sync.batch import BatchWriter, Write
from gcx.sync.fields import ORG_REF, Kind
from gcx.sync.plan import After, Op, create_body, update_body
from gcx.sync.planning import Planner
from gcx.sync.remote import ItemResult
from gcx.sync.rows import LedgerEntry, NewOp, op_payload
from gcx.sync.state import NEW_ORG, RunState

Pending = list[tuple[Op, dict[str, Any]]]


class Applier:
    def __init__(self, run: RunState, planner: Planner, writer: BatchWriter) -> None:
        self.run = run
        self.planner = planner
        self.writer = writer
        self.depth = run.remote.tokens + 1
        self.in_flight: set[asyncio.Task[None]] = set()

    async def pump(self, kind: Kind) -> None:
        """Start the full batches queued for ``kind`` (waiting only for room in the pipeline)."""
        run = self.run
        size = run.opts.batch_size
        while len(run.pending_creates[kind]) >= size or len(run.pending_updates[kind]) >= size:
            await self._start_next(kind)

    async def flush_all(self, kind: Kind) -> None:
        """Write everything queued for ``kind`` (a create retried after a lost answer included)."""
        run = self.run
        while run.pending_creates[kind] or run.pending_updates[kind] or self.in_flight:
            if run.pending_creates[kind] or run.pending_updates[kind]:
                await self._start_next(kind)
            else:
                await self._wait(len(self.in_flight) - 1)
        run.flush_refresh()

    async def _start_next(self, kind: Kind) -> None:
        await self._wait(self.depth - 1)
        run = self.run
        size = run.opts.batch_size
        if run.pending_creates[kind]:
            ops = run.pending_creates[kind][:size]
            del run.pending_creates[kind][:size]
            await self._spawn(self._creates(kind, ops))
        elif run.pending_updates[kind]:
            items = run.pending_updates[kind][:size]
            del run.pending_updates[kind][:size]
            await self._spawn(self._updates(kind, items))

    async def _spawn(self, work: Coroutine[Any, Any, None]) -> None:
        self.in_flight.add(asyncio.ensure_future(work))
        await asyncio.sleep(0)  # let the batch record itself and send its request before planning goes on

    async def _wait(self, most: int) -> None:
        """Wait until at most ``most`` batches are in flight; a failed batch stops the run (the
        others are cancelled: their operations stay ``started`` and are reconciled next run)."""
        while len(self.in_flight) > max(most, 0):
            done, _ = await asyncio.wait(self.in_flight, return_when=asyncio.FIRST_COMPLETED)
            self.in_flight -= done
            for task in done:
                if task.exception() is not None:
                    await self.cancel()
                    task.result()

    async def drain(self) -> None:
        """Wait for the batches in flight to be written and recorded; start no other."""
        await self._wait(0)

    async def cancel(self) -> None:
        """Stop the batches in flight (an error elsewhere ended the run)."""
        tasks, self.in_flight = self.in_flight, set()
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)

    def _replaced(self, kind: Kind, keys: list[str]) -> dict[str, LedgerEntry]:
        """The ledger records a batch's writes replace, as planning read them (a create retried
        after a lost answer is read again)."""
        run = self.run
        out: dict[str, LedgerEntry] = {}
        if run.queued_entries:  # none in a first sync: no key looked up
            out = {k: e for k in keys if (e := run.queued_entries.pop((kind, k), None)) is not None}
        if run.retried:
            again = [k for k in keys if k not in out and (kind, k) in run.retried]
            if again:
                out.update(run.records.get_many(kind, again))
        return out

    def _org_id_for(self, op: Op) -> tuple[bool, str | None]:
        """(ok, Genesys id of the contact's organization). Not ok: the org is not written."""
        rec = op.record
        if op.kind != "contact" or rec is None or not rec.manages_org or rec.org_key is None:
            return True, None
        gid = self.run.org_ids.get(rec.org_key)
        if gid is None or gid == NEW_ORG:
            self.run.org_failure(key=op.key, op_name=op.op, line=op.line, org_key=rec.org_key)
            return False, None
        return True, gid

    # ------------------------------------------------------------------ creates

    async def _creates(self, kind: Kind, ops: list[Op]) -> None:
        run = self.run
        prev = self._replaced(kind, [op.key for op in ops])  # a stale record a create replaces
        writes: list[Write] = []
        sid = run.sid
        for op in ops:
            ok, org_id = self._org_id_for(op)
            if ok:
                assert op.record is not None
                rec = op.record
                body = create_body(rec, sid, org_id)
                after = After.of(op)
                # what the ledger keeps with the op: the managed values it means to leave
                payload = op_payload(after.applied, after.hash, rec.org_key if rec.manages_org else None)
                new = NewOp(kind, op.key, "create", payload, None, op.line)
                writes.append(Write(op, new, body, after))
        if not writes:
            return

        def created(w: Write, res: ItemResult) -> LedgerEntry | None:
            if not (res.ok and res.id):
                return None
            entry = run.entry_for(w.op, res.id, created=True, prev=prev.get(w.op.key), after=w.after)
            run.written(w.op, entry, "created")
            return entry

        await self.writer.write(kind, writes, run.remote.bulk_add, created)

    # ------------------------------------------------------------------ updates and moves

    async def _reread(self, kind: Kind, items: Pending, prev: Mapping[str, LedgerEntry]) -> Pending:
        """Re-read records right before their bulk update (one bulk fetch per batch) and re-decide.

        An update is a full replacement built from the record as read; the scan may be minutes
        old, and a body built from it would put back what a person changed since (unmanaged
        fields included). Re-reading shrinks that window to one round trip (the API has no
        version or If-Match to close it). With --trust-ledger the records were fetched moments ago.
        """
        run = self.run
        if run.index[kind] is None or not items:
            return items
        results = await run.remote.bulk_get(kind, [str(op.genesys_id) for op, _ in items])
        out: Pending = []
        for (op, old), res in zip(items, results, strict=True):
            if not res.ok or res.entity is None or op.record is None:
                if (res.error or {}).get("status") == 404:
                    run.fail(op, res, "deleted in Genesys during the run: the next run creates it again")
                else:  # could not re-read it: write from the snapshot, as planned
                    out.append((op, old))
                continue
            fresh = res.entity
            entry = prev.get(op.key)
            again = self.planner.decide(op.record, entry, fresh)
            again.adopted = op.adopted
            seen = {c.path for c in op.conflicts}
            new_conflicts = [c for c in again.conflicts if c.path not in seen]
            if new_conflicts:
                self.planner.report_conflicts(op, new_conflicts)
            if again.op == "unchanged":
                run.refresh(again, entry)
                continue
            out.append((again, fresh))
        return out

    async def _updates(self, kind: Kind, items: Pending) -> None:
        run = self.run
        prev = self._replaced(kind, [op.key for op, _ in items])
        items = await self._reread(kind, items, prev)
        writes: list[Write] = []
        for op, remote in items:
            org_id: str | None = None
            if any(c.path == ORG_REF for c in op.changes):
                ok, org_id = self._org_id_for(op)
                if not ok:
                    continue
            body = update_body(op, remote, run.sid, org_id)
            after = After.of(op)
            rec = op.record
            assert rec is not None
            payload = op_payload(after.applied, after.hash, rec.org_key if rec.manages_org else None)
            new = NewOp(kind, op.key, op.op, payload, op.genesys_id, op.line)
            writes.append(Write(op, new, body, after))

        def updated(w: Write, res: ItemResult) -> LedgerEntry | None:
            if not res.ok:
                return None
            op = w.op
            assert op.genesys_id is not None
            entry = run.entry_for(op, op.genesys_id, created=False, prev=prev.get(op.key), after=w.after)
            run.written(op, entry, "moved" if op.op == "move" else "updated")
            return entry

        await self.writer.write(kind, writes, run.remote.bulk_update, updated)
