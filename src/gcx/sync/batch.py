"""The one batch writer: every create, update, move and delete goes through :meth:`BatchWriter.write`.

Order, the same for every kind of write (it is what makes a crash at any moment safe):

1. the batch's operations are recorded ``started`` in the ledger (``start_batch``, one
   transaction) **before** the bulk call;
2. the bulk call;
3. the outcomes (``succeed``/``fail``) and the ledger records they leave are recorded in one
   transaction (``finish_batch``);
4. items that got no answer are recorded ``unknown`` (``lose``) and reconciled at once against
   Genesys; a create found absent is queued again, once.

A kill before 3 leaves ``started`` operations that the next run reconciles before planning.
"""

from __future__ import annotations

import uuid
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any

from gcx.sync.fields import Kind
from gcx.sync.plan import After, Op
from gcx.sync.quickinit import quick_init
from gcx.sync.reconcile import Reconciler
from gcx.sync.remote import ItemResult
from gcx.sync.rows import LedgerEntry, NewOp, Outcome
from gcx.sync.state import RunState


@quick_init
@dataclass(frozen=True, slots=True)
class Write:
    """One item of a batch: the plan's op, its ledger op, and what is sent."""

    op: Op
    new: NewOp
    body: Any  # a record body (create, update) or a Genesys id (delete)
    after: After | None = None  # what a create or update leaves in the ledger (its payload's)


@quick_init
@dataclass(frozen=True, slots=True)
class Gone:
    """A successful delete: its Genesys id (its ledger record is dropped with the outcome)."""

    genesys_id: str


#: The bulk call of a batch (one of :class:`~gcx.sync.remote.Remote`'s bulk methods).
Send = Callable[[Kind, list[Any]], Awaitable[list[ItemResult]]]
#: What a successful answer leaves: the ledger record written with the outcome (a create, an
#: update, a move: the item's Genesys id is the record's), or :class:`Gone`; None when the answer
#: is not a success.
Succeeded = Callable[[Write, ItemResult], LedgerEntry | Gone | None]

_DONE_AS = {"create": "created", "move": "moved", "delete": "deleted"}


class BatchWriter:
    def __init__(self, run: RunState, reconciler: Reconciler) -> None:
        self.run = run
        self.reconciler = reconciler

    async def write(self, kind: Kind, writes: Sequence[Write], send: Send, succeeded: Succeeded) -> None:
        """Record, send and settle one batch (see the module's docstring for the order)."""
        if not writes:
            return
        run = self.run
        ids = run.ledger.start_batch(run.run_id, uuid.uuid4().hex, [w.new for w in writes])
        results = await send(kind, [w.body for w in writes])
        outcomes: list[Outcome] = []
        records: list[LedgerEntry] = []
        forget: list[tuple[str, str]] = []
        unknown: list[int] = []
        for op_id, w, res in zip(ids, writes, results, strict=True):
            done = succeeded(w, res)
            if done is None:
                if res.unknown:
                    unknown.append(op_id)
                else:
                    outcomes.append(Outcome(op_id, False, error=run.fail(w.op, res)))
                continue
            outcomes.append(Outcome(op_id, True, done.genesys_id))
            if isinstance(done, Gone):
                forget.append((w.op.kind, w.op.key))
            else:
                records.append(done)
        run.ledger.finish_batch(outcomes, records=records, forget=forget)
        if run.on_write is not None:
            counts = run.report.planned.counts[kind]
            run.on_write(kind, len(writes), sum(counts[op] for op in ("create", "update", "move", "delete")))
        if unknown:
            await self._settle(unknown, {op_id: w.op for op_id, w in zip(ids, writes, strict=True)})

    async def _settle(self, op_ids: list[int], ops: dict[int, Op]) -> None:
        """No answer for these items: reconcile them; retry an absent create once."""
        run = self.run
        found = await self.reconciler.settle(op_ids)
        for op_id in op_ids:
            op = ops[op_id]
            applied = found.get(op_id)
            if applied is None:
                run.fail(
                    op,
                    None,
                    "no answer from Genesys and the record could not be read: the next run checks it",
                )
                continue
            if op.op == "delete":
                continue  # reconciliation forgot the record, or recorded that it is still there
            if applied:
                entry = run.records.get(op.kind, op.key)  # reconciliation saved it
                assert entry is not None
                self.run.written(op, entry, _DONE_AS.get(op.op, "updated"))
            elif op.op == "create" and (op.kind, op.key) not in run.retried:
                run.retried.add((op.kind, op.key))
                run.pending_creates[op.kind].append(op)
            else:
                run.fail(op, None, "no answer from Genesys and the change is not visible there: run again")
