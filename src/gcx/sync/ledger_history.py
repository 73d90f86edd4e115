"""The ledger's history of writes: what a done op keeps (its undo), and pruning old runs' ops.

Once an op is done, the values it wrote live in its record; the op keeps only its undo
(:func:`gcx.sync.rows.done_payload`), computed here from the records as they are before the
transaction that records the outcome and as it leaves them. The history grows by one op row per
record a run *writes* (unchanged records add nothing); :func:`prune_done` drops the done ops of
old runs (``gcx sync status --prune-history N``).
"""

from __future__ import annotations

import json
from collections.abc import Iterator, Sequence
from typing import Any

from sqlalchemy import and_, delete, select

from gcx.sync.ledger_bulk import among
from gcx.sync.rows import LedgerEntry, OpState, done_payload, json_text


def done_undos(
    conn: Any,
    ops: Any,
    records: Any,
    op_ids: Sequence[int],
    entries: Sequence[LedgerEntry],
    forget: Sequence[tuple[str, str]],
) -> dict[int, str]:
    """The undo (JSON) each of these ops keeps once done, from the ``records`` table before this
    transaction writes ``entries`` and drops ``forget``; an op left out keeps none."""
    t, r = ops, records
    # the ops whose record the ledger holds (an op whose record it did not hold keeps no undo:
    # the record holds all it wrote), read with that record's values
    held = select(t.c.id, t.c.kind, t.c.external_id, r.c.applied).select_from(
        t.join(r, and_(r.c.kind == t.c.kind, r.c.external_id == t.c.external_id))
    )
    before: dict[int, tuple[tuple[str, str], str]] = {}
    for chunk in _chunks(sorted(set(op_ids)), 400):
        for op_id, kind, key, applied in conn.execute(held.where(among(t.c.id, chunk))):
            before[int(op_id)] = ((str(kind), str(key)), str(applied))
    if not before:
        return {}
    after: dict[tuple[str, str], str | None] = {(e.kind, e.key): json_text(e.applied) for e in entries}
    after.update({k: None for k in forget})
    out: dict[int, str] = {}
    for op_id, (key, old) in before.items():
        new = after.get(key, old)
        undo = done_payload(json.loads(old), json.loads(new) if new is not None else None)
        out[op_id] = json.dumps(undo, sort_keys=True, ensure_ascii=False, separators=(",", ":"))
    return out


def prune_done(conn: Any, runs: Any, ops: Any, keep_runs: int) -> int:
    """Drop the done ops of every run older than the latest ``keep_runs``; returns how many went.

    Records, open and failed ops and the runs' rows stay; the run pages of those runs (made
    outside the console, which keeps each run's ops file) then list no ops. The history of the
    runs kept is whole: a done op's values are rebuilt from its record and *later* ops."""
    if keep_runs < 1:
        raise ValueError("keep_runs must be at least 1")
    ids = list(conn.execute(select(runs.c.id).order_by(runs.c.id.desc()).limit(keep_runs)).scalars())
    if len(ids) < keep_runs:
        return 0
    res = conn.execute(delete(ops).where(and_(ops.c.run_id < min(ids), ops.c.state == OpState.DONE.value)))
    return int(res.rowcount or 0)


def _chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    for i in range(0, len(items), size):
        yield items[i : i + size]
