"""The ledger's run lease, held in its lock table: take it, keep it renewed, release it.

:class:`RunLease` is mixed into :class:`~gcx.sync.ledger.Ledger` (which owns the engine and
tables). The decisions (who holds it, when it is stale, the keeper thread) are
:mod:`gcx.sync.lease`'s; this is their SQL. The fencing check that goes with each batch's
started rows is :meth:`RunLease._renew_in`, run in the batch's own transaction.
"""

from __future__ import annotations

import time
from functools import cached_property
from typing import Any

from sqlalchemy import Engine, Table, and_, bindparam, create_engine, delete, event, insert, select, update
from sqlalchemy.exc import IntegrityError

from gcx.sync.errors import LedgerLockedError
from gcx.sync.lease import Holder, LeaseKeeper, held_by_other, pid_alive
from gcx.sync.ledger_tables import sqlite_pragmas


def keeper_engine(engine: Engine) -> Engine:
    """The engine the keeper thread renews through: one connection of its own.

    Renewing through the run's pool took a second connection whenever the run held the first;
    the pool (first in, first out) then handed the run both in turn, each with its own SQLite
    page cache (:data:`~gcx.sync.ledger_tables.SQLITE_CACHE_KIB`): a 1M no-op grew from 103 to 123
    MiB when the first renewal, 30 s in, met a query. An in-memory database is its connection's
    own: the keeper shares the run's engine there."""
    url = engine.url
    if engine.dialect.name == "sqlite" and (
        not url.database or url.database == ":memory:" or url.query.get("mode") == "memory"
    ):
        return engine
    own = create_engine(url, pool_size=1, max_overflow=0)
    if own.dialect.name == "sqlite":
        event.listen(own, "connect", sqlite_pragmas)
    return own


class RunLease:
    """The run lease's reads and writes (mixed into the ledger)."""

    engine: Engine
    t_lock: Table
    lease_seconds: float
    _lock_token: str | None
    _keeper: LeaseKeeper | None

    def acquire(self, *, stale_after: float | None = None, now: float | None = None) -> None:
        """Take the ledger's run lease (:mod:`gcx.sync.lease`) and keep it renewed until :meth:`release`.

        Refused (:class:`LedgerLockedError`) while another run holds a fresh lease; a stale
        lease, or one whose holder is dead in this very PID namespace, is taken over.
        """
        lease = self.lease_seconds if stale_after is None else stale_after
        t = self.t_lock
        me = Holder.me()
        values = {"host": me.host_column(), "pid": me.pid, "token": me.run}
        stamp = time.time() if now is None else now
        for _ in range(3):
            with self.engine.begin() as conn:
                row = conn.execute(select(t).where(t.c.id == 1)).mappings().first()
                if row is None:
                    try:
                        conn.execute(insert(t).values(id=1, heartbeat=stamp, **values))
                    except IntegrityError:
                        continue  # someone else inserted it first: look again
                    break
                current = Holder.from_row(row["host"], int(row["pid"]), row["token"])
                reason = held_by_other(
                    current, float(row["heartbeat"]), me, now=stamp, lease=lease, pid_alive=pid_alive
                )
                if reason is not None:
                    raise LedgerLockedError(reason)
                res = conn.execute(
                    update(t)
                    .where(and_(t.c.id == 1, t.c.token == row["token"]))
                    .values(heartbeat=stamp, **values)
                )
                if res.rowcount == 1:
                    break
        else:
            raise LedgerLockedError(
                "could not take the ledger's run lock (another run is starting): try again"
            )
        self._lock_token = me.run
        engine = keeper_engine(self.engine)
        self._keeper = LeaseKeeper(
            lambda: self.renew(engine),
            interval=lease / 4,
            on_stop=engine.dispose if engine is not self.engine else None,
        )
        self._keeper.start()

    def renew(self, engine: Engine | None = None) -> bool:
        """Renew this run's lease (through ``engine``; the run's own by default); ``False`` when
        it is no longer ours."""
        if self._lock_token is None:
            return False
        with (engine or self.engine).begin() as conn:
            return self._renew_in(conn)

    def _renew_in(self, conn: Any) -> bool:
        res = conn.execute(self._renewal, {"b_token": self._lock_token, "now": time.time()})
        return bool(res.rowcount == 1)

    @cached_property
    def _renewal(self) -> Any:
        """The renewal (``:b_token``: the lease's, ``:now``: the time), built once: it runs in every
        batch's start transaction, and SQLAlchemy finds a statement it has seen compiled."""
        t = self.t_lock
        return (
            update(t)
            .where(and_(t.c.id == 1, t.c.token == bindparam("b_token", type_=t.c.token.type)))
            .values(heartbeat=bindparam("now", type_=t.c.heartbeat.type))
        )

    def heartbeat(self) -> None:
        self.renew()

    def stop_keeper(self) -> None:
        """Stop renewing (the lease goes stale unless released)."""
        if self._keeper is not None:
            self._keeper.stop()
            self._keeper = None

    def release(self) -> None:
        self.stop_keeper()
        if self._lock_token is None:
            return
        with self.engine.begin() as conn:
            conn.execute(
                delete(self.t_lock).where(
                    and_(self.t_lock.c.id == 1, self.t_lock.c.token == self._lock_token)
                )
            )
        self._lock_token = None

    def lock_info(self, now: float | None = None) -> dict[str, Any] | None:
        """Who holds the lease, and since when it was last renewed (``None``: free)."""
        with self.engine.connect() as conn:
            row = conn.execute(select(self.t_lock).where(self.t_lock.c.id == 1)).mappings().first()
        if row is None:
            return None
        holder = Holder.from_row(row["host"], int(row["pid"]), row["token"])
        age = (time.time() if now is None else now) - float(row["heartbeat"])
        return {
            "run": holder.run,
            "host": holder.host,
            "pid": holder.pid,
            "renewedSecondsAgo": round(max(age, 0.0), 1),
            "stale": age >= self.lease_seconds,
        }

    def unlock(self) -> dict[str, Any] | None:
        """Release the lease whoever holds it (``gcx sync unlock``); returns who held it.

        A run still alive loses its lease: it stops before its next write batch."""
        info = self.lock_info()
        if info is not None:
            with self.engine.begin() as conn:
                conn.execute(delete(self.t_lock).where(self.t_lock.c.id == 1))
        return info
