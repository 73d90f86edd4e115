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

:func:`migrate` runs whichever of these a ledger opened for writing still needs (and schema 2's
keys in NFC, :mod:`gcx.sync.keyform`), once; :func:`refuse_newer` refuses a ledger of a higher
schema than :data:`SCHEMA_VERSION` before anything is read from it.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, MetaData, and_, column, func, insert, or_, select, table, update
from sqlalchemy.engine import Connection

from gcx.sync.errors import LedgerVersionError
from gcx.sync.keyform import KEYS_VERSION, migrate_keys
from gcx.sync.ledger_tables import BATCHES_VERSION, LedgerTables, has_table, is_legacy, ledger_tables
from gcx.sync.rows import OpState, done_payload

#: 2: keys in NFC (gcx.sync.keyform); 3: compact (:func:`compact`); 4: open ops' values per batch
SCHEMA_VERSION = BATCHES_VERSION
# A gcx refuses a ledger of a higher schema (refuse_newer): whatever an older gcx cannot read, a
# new stored format (a new format byte in gcx.sync.packing) above all, needs a higher one.
CHUNK = 2000


def refuse_newer(engine: Engine, prefix: str, shown: str) -> None:
    """Refuse the ledger ``shown`` (its URL as shown) if a newer gcx wrote it, before anything is
    read from it or written to it: its values may be in a format this gcx cannot read, and a
    migration must never go backwards."""
    t = table(f"{prefix}binding", column("id"), column("schema_version"))  # its table is not built yet
    with engine.connect() as conn:
        version = conn.execute(select(t.c.schema_version).where(t.c.id == 1)).scalar()
    if version is not None and version > SCHEMA_VERSION:
        raise LedgerVersionError(
            f"ledger {shown} has schema {version}, written by a newer gcx; this gcx "
            f"reads up to schema {SCHEMA_VERSION}: upgrade gcx to use this ledger"
        )


def migrate(engine: Engine, prefix: str, tables: LedgerTables) -> list[str]:
    """Bring a ledger written by an earlier gcx to this schema, once: keys in NFC (schema 2),
    values stored compactly (schema 3, :func:`compact`), open ops' values per batch (schema 4,
    :func:`pending_to_batches`). ``tables``: this schema's; returns the keys' migration warnings."""
    warnings: list[str] = []
    compacted = False
    binding = tables.binding
    with engine.begin() as conn:
        version = conn.execute(select(binding.c.schema_version).where(binding.c.id == 1)).scalar()
        if version is not None and version >= SCHEMA_VERSION:
            return warnings
        if conn.dialect.name == "postgresql":
            # several workers may open an old ledger at once: one migrates, the others then
            # find it done (SQLite refuses a second writer working from a stale read instead)
            serialize(conn, prefix)
            version = conn.execute(select(binding.c.schema_version).where(binding.c.id == 1)).scalar()
            if version is not None and version >= SCHEMA_VERSION:
                return warnings
        old = ledger_tables(prefix, legacy=True)
        legacy = is_legacy(conn, prefix)
        if (version is None or version < KEYS_VERSION) and conn.execute(
            select(func.count()).select_from(tables.records)
        ).scalar():
            keyed = old if legacy else ledger_tables(prefix)
            warnings = migrate_keys(conn, keyed.records, keyed.ops)
        if legacy:
            compact(conn, old, ledger_tables(prefix))
            compacted = True
        elif tables.pending is not None and has_table(conn, tables.pending.name):
            assert tables.batches is not None
            pending_to_batches(conn, tables.pending, tables.batches)
        if version is not None:
            conn.execute(update(binding).where(binding.c.id == 1).values(schema_version=SCHEMA_VERSION))
    if compacted and engine.dialect.name == "sqlite":
        with engine.connect() as conn:
            conn.exec_driver_sql("VACUUM")  # give the space of the old tables back
    return warnings


def serialize(conn: Connection, prefix: str) -> None:
    """PostgreSQL: wait for any other process creating or migrating the ledger of ``prefix`` (a
    lock held until ``conn``'s transaction ends)."""
    if conn.dialect.name == "postgresql":
        conn.exec_driver_sql(
            "SELECT pg_advisory_xact_lock(hashtext(%(name)s))", {"name": f"gcx-ledger:{prefix}"}
        )


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
