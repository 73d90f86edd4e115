"""Ledger migrations: to schema 3 (values stored compactly, open ops' values apart) and to
schema 4 (open ops' values one row per batch).

A ledger written before schema 3 (:func:`gcx.sync.ledger_tables.is_legacy`) is rebuilt in place,
once, in the transaction that opens it for writing: its ``records`` and ``ops`` tables are
renamed aside, created anew (:mod:`gcx.sync.ledger_codec` types, ``WITHOUT ROWID`` records, the
``pending`` table) and filled from the old ones in key order, chunk by chunk (flat memory), then
the old tables are dropped. Op ids are kept. An op not done keeps its values in ``batches``; a
done op's full values become its undo (:func:`gcx.sync.rows.done_payload`), found by walking each
record's ops oldest first (a delete forgets what came before it); a failed op keeps its error only.

Schema 3 kept an open op's values in ``pending``, one row per op; schema 4 keeps a batch's in one
row of ``batches`` (:func:`batch_lines`). :func:`pending_to_batches` moves each ``pending`` row
to a row of ``batches`` of its one op (same op id, batch id and values), then drops ``pending``:
a ledger left by a crash with ops still open reconciles them as before.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import MetaData, and_, insert, or_, select

from gcx.sync.ledger_tables import LedgerTables
from gcx.sync.rows import OpState, done_payload

CHUNK = 2000


def compact(conn: Any, old: LedgerTables, new: LedgerTables) -> None:
    """Rebuild the legacy ``records`` and ``ops`` of ``old`` as ``new`` inside ``conn``'s transaction."""
    assert new.batches is not None
    q = conn.dialect.identifier_preparer.quote
    for index in [*old.records.indexes, *old.ops.indexes]:
        conn.exec_driver_sql(f"DROP INDEX IF EXISTS {q(str(index.name))}")
    aside = {t.name: f"{t.name}_v2" for t in (old.records, old.ops)}
    for name, to in aside.items():
        conn.exec_driver_sql(f"ALTER TABLE {q(name)} RENAME TO {q(to)}")
    md = MetaData()
    old_records = old.records.to_metadata(md, name=aside[old.records.name])
    old_ops = old.ops.to_metadata(md, name=aside[old.ops.name])
    new.records.create(conn)
    new.ops.create(conn)
    new.batches.create(conn, checkfirst=True)
    _copy_records(conn, old_records, new.records)
    _copy_ops(conn, old_ops, new.ops, new.batches)
    old_ops.drop(conn)
    old_records.drop(conn)
    if conn.dialect.name == "postgresql":  # ids were copied: the new sequence continues after them
        conn.exec_driver_sql(
            f"SELECT setval(pg_get_serial_sequence('{new.ops.name}', 'id'), "
            f"COALESCE((SELECT MAX(id) FROM {new.ops.name}), 0) + 1, false)"
        )


def _copy_records(conn: Any, old: Any, new: Any) -> None:
    last: tuple[str, str] | None = None
    while True:
        stmt = select(old).order_by(old.c.kind, old.c.external_id).limit(CHUNK)
        if last is not None:
            stmt = stmt.where(
                or_(old.c.kind > last[0], and_(old.c.kind == last[0], old.c.external_id > last[1]))
            )
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if not rows:
            return
        conn.execute(insert(new), rows)
        last = (rows[-1]["kind"], rows[-1]["external_id"])


def _copy_ops(conn: Any, old: Any, new: Any, batches: Any) -> None:
    last: tuple[str, str, int] | None = None
    held: tuple[str, str] | None = None  # the record whose ops are being walked
    values: dict[str, Any] | None = None  # its values after the last done op walked
    while True:
        stmt = select(old).order_by(old.c.kind, old.c.external_id, old.c.id).limit(CHUNK)
        if last is not None:
            k, e, i = last
            stmt = stmt.where(
                or_(
                    old.c.kind > k,
                    and_(old.c.kind == k, old.c.external_id > e),
                    and_(old.c.kind == k, old.c.external_id == e, old.c.id > i),
                )
            )
        rows = [dict(r) for r in conn.execute(stmt).mappings()]
        if not rows:
            return
        ops: list[dict[str, Any]] = []
        kept: list[dict[str, Any]] = []
        for r in rows:
            key = (r["kind"], r["external_id"])
            if key != held:
                held, values = key, None
            payload = json.loads(r["payload"]) if r["payload"] else {}
            out = {c.name: r[c.name] for c in new.columns if c.name in r}
            out["payload"] = None
            if r["state"] == OpState.DONE.value:
                after = None if r["op"] == "delete" else dict(payload.get("applied") or {})
                undo = done_payload(values, after)
                if r["op"] == "delete" and undo is None:
                    undo = {"before": {}}
                out["payload"] = (
                    None if undo is None else json.dumps(undo, sort_keys=True, separators=(",", ":"))
                )
                values = after
            elif r["state"] != OpState.FAILED.value:
                kept.append(_one_op_batch(int(r["id"]), r.get("batch_id"), r["payload"]))
            ops.append(out)
        conn.execute(insert(new), ops)
        if kept:
            conn.execute(insert(batches), kept)
        last = (rows[-1]["kind"], rows[-1]["external_id"], int(rows[-1]["id"]))


def batch_lines(ids: Sequence[int], payloads: Sequence[str]) -> str:
    """A batch's ``ops`` in ``batches``: a line per op, its id, a tab and its values' JSON text
    (JSON text holds no raw newline: one is always escaped)."""
    return "\n".join(map("{}\t{}".format, ids, payloads))


def _one_op_batch(op_id: int, batch_id: str | None, payload: str) -> dict[str, Any]:
    return {"first_id": op_id, "last_id": op_id, "batch_id": batch_id, "ops": batch_lines([op_id], [payload])}


def pending_to_batches(conn: Any, pending: Any, batches: Any) -> None:
    """Schema 3 -> 4 inside ``conn``'s transaction: each row of ``pending`` (an open op's values)
    becomes a row of ``batches`` holding that one op; then ``pending`` is dropped."""
    last = -1
    while True:
        rows = conn.execute(
            select(pending.c.op_id, pending.c.batch_id, pending.c.payload)
            .where(pending.c.op_id > last)
            .order_by(pending.c.op_id)
            .limit(CHUNK)
        ).all()
        if not rows:
            break
        conn.execute(insert(batches), [_one_op_batch(int(i), b, str(p)) for i, b, p in rows])
        last = int(rows[-1][0])
    pending.drop(conn)
