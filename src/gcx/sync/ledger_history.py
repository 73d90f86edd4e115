"""The ledger's history of writes: what a done op keeps (its undo), and pruning old runs' ops.

Once an op is done, the values it wrote live in its record; the op keeps only its undo
(:func:`gcx.sync.rows.done_payload`), computed here from the records as they are before the
transaction that records the outcome and as it leaves them. The history grows by one op row per
record a run *writes* (unchanged records add nothing); :func:`prune_done` drops the done ops of
old runs (``gcx sync status --prune-history N``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, delete, select

from gcx.sync.ledger_bulk import among, chunks, id_ranges
from gcx.sync.rows import LedgerEntry, OpState, done_payload, json_text


class HeldRecords(NamedTuple):
    """The ops whose record the ledger holds, read with that record's values (:func:`held_records`)."""

    any_ids: Any  #: of any ops (add the condition on their ids)
    in_range: Any  #: of the ops of ids ``:lo`` to ``:hi`` (a batch's ids)


def held_records(ops: Any, records: Any) -> HeldRecords:
    """:class:`HeldRecords` of ``ops`` and ``records``, built once per ledger: SQLAlchemy keeps a
    statement's cache key on it, so a batch finds it compiled instead of building and keying it."""
    t, r = ops, records
    held = select(t.c.id, t.c.kind, t.c.external_id, r.c.applied).select_from(
        t.join(r, and_(r.c.kind == t.c.kind, r.c.external_id == t.c.external_id))
    )
    return HeldRecords(held, held.where(t.c.id.between(bindparam("lo"), bindparam("hi"))))


def done_undos(
    conn: Any,
    held: HeldRecords,
    ops: Any,
    op_ids: Sequence[int],
    entries: Sequence[LedgerEntry],
    forget: Sequence[tuple[str, str]],
) -> dict[int, str]:
    """The undo (JSON) each of these ops keeps once done, from the records table before this
    transaction writes ``entries`` and drops ``forget``; an op left out keeps none.

    ``held``: :func:`held_records` of the ``ops`` table and the records table (an op whose record
    the ledger did not hold keeps no undo: the record holds all it wrote)."""
    t = ops
    before: dict[int, tuple[tuple[str, str], str]] = {}
    for chunk in chunks(sorted(set(op_ids)), 400):
        ranges = id_ranges(chunk)
        if len(ranges) == 1:
            rows = conn.execute(held.in_range, {"lo": ranges[0][0], "hi": ranges[0][1]})
        else:
            rows = conn.execute(held.any_ids.where(among(t.c.id, chunk)))
        for op_id, kind, key, applied in rows:
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
