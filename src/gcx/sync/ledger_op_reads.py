"""The ledger's ops, read: those left open, those of a run or a state, the latest failed, counts.

:class:`OpReads` is mixed into :class:`~gcx.sync.ledger.Ledger` (which owns the engine and
tables; the ops' writes and transitions are its own). An op still open reads the values it means
to leave from its batch's row of ``batches``; a ledger of schema 3 opened read-only (not migrated)
from ``pending``; an older one from ``ops.payload``.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from typing import Any

from sqlalchemy import Engine, RowMapping, Select, Table, and_, func, select, text
from sqlalchemy.engine import Connection

from gcx.sync.fields import normal_key
from gcx.sync.ledger_bulk import among, chunks
from gcx.sync.ledger_tables import NOT_DONE
from gcx.sync.rows import OPEN_STATES, OpRow, OpState


class OpReads:
    """Reads of the ops table (mixed into the ledger)."""

    engine: Engine
    t_ops: Table
    #: ``None``: a ledger of schema 3 or older opened read-only
    t_batches: Table | None
    #: schema 3's table of open ops' values, read from such a ledger opened read-only
    _v3_pending: Table | None

    def open_ops(self) -> list[OpRow]:
        """Ops left ``started`` or ``unknown`` (a crash or a lost answer), oldest first."""
        t = self.t_ops
        stmt = select(t).where(and_(text(NOT_DONE), t.c.state.in_([s.value for s in OPEN_STATES])))
        with self.engine.connect() as conn:
            return self._op_rows(conn, stmt.order_by(t.c.id))

    def ops(self, run_id: int | None = None, state: OpState | None = None) -> list[OpRow]:
        """Ops (of one run, in one state). A done op's payload is its undo (:func:`done_payload`);
        an op not done yet has what it means to leave (``applied``, ``hash``, ``org_key``)."""
        t = self.t_ops
        stmt = select(t).order_by(t.c.id)
        if run_id is not None:
            stmt = stmt.where(t.c.run_id == run_id)
        if state is not None:
            stmt = stmt.where(t.c.state == state.value)
        with self.engine.connect() as conn:
            return self._op_rows(conn, stmt)

    def failed_ops(self, limit: int = 50) -> list[OpRow]:
        """The latest failed ops whose record has not succeeded since."""
        t = self.t_ops
        with self.engine.connect() as conn:
            failed = self._op_rows(
                conn,
                select(t)
                .where(and_(text(NOT_DONE), t.c.state == OpState.FAILED.value))
                .order_by(t.c.id.desc())
                .limit(limit * 4),
            )
            out = []
            for op in failed:
                later = conn.execute(
                    select(func.count())
                    .select_from(t)
                    .where(
                        and_(
                            t.c.kind == op.kind,
                            t.c.external_id == op.key,
                            t.c.id > op.id,
                            t.c.state == OpState.DONE.value,
                        )
                    )
                ).scalar_one()
                if not later:
                    out.append(op)
                if len(out) >= limit:
                    break
        return out

    def op_counts(self) -> dict[str, int]:
        t = self.t_ops
        with self.engine.connect() as conn:
            rows = conn.execute(select(t.c.state, func.count()).group_by(t.c.state)).all()
        return {str(s): int(n) for s, n in rows}

    def _op_rows(self, conn: Connection, stmt: Select[Any]) -> list[OpRow]:
        """The ops ``stmt`` selects, each still open with its batch id and the values it means to
        leave (from ``batches``; schema 3 read as it is: ``pending``; older: ``ops.payload``)."""
        rows = conn.execute(stmt).mappings().all()
        open_states = {s.value for s in OPEN_STATES}
        opened = [int(r["id"]) for r in rows if r["state"] in open_states]
        values = self._open_values(conn, opened) if opened else {}
        return [self._op_row(r, values.get(int(r["id"]))) for r in rows]

    def _open_values(self, conn: Connection, ids: Sequence[int]) -> dict[int, tuple[str | None, str]]:
        """Op id -> (batch id, JSON of what it means to leave) of these open ops."""
        wanted = set(ids)
        out: dict[int, tuple[str | None, str]] = {}
        b = self.t_batches
        if b is not None:
            stmt = select(b.c.batch_id, b.c.ops).where(
                b.c.first_id <= max(wanted), b.c.last_id >= min(wanted)
            )
            for batch_id, lines in conn.execute(stmt):
                for line in str(lines).split("\n"):
                    op_id, _, payload = line.partition("\t")
                    if int(op_id) in wanted:
                        out[int(op_id)] = (batch_id, payload)
        elif self._v3_pending is not None:
            p = self._v3_pending
            for chunk in chunks(sorted(wanted), 400):
                for op_id, batch_id, payload in conn.execute(
                    select(p.c.op_id, p.c.batch_id, p.c.payload).where(among(p.c.op_id, chunk))
                ):
                    out[int(op_id)] = (batch_id, payload)
        return out

    @staticmethod
    def _op_row(r: RowMapping, open_values: tuple[str | None, str] | None) -> OpRow:
        payload = open_values[1] if open_values is not None else r["payload"]
        return OpRow(
            id=int(r["id"]),
            run_id=int(r["run_id"]),
            kind=r["kind"],
            key=normal_key(r["external_id"]),
            op=r["op"],
            state=OpState(r["state"]),
            attempt=int(r["attempt"]),
            batch_id=open_values[0] if open_values is not None else r.get("batch_id"),
            genesys_id=r["genesys_id"],
            payload=json.loads(payload) if payload else {},
            error=json.loads(r["error"]) if r["error"] else None,
            line=r["line"],
        )
