"""Console sessions kept on the server, so that they can end for real.

A login creates a row (who, when, from which address and browser); the signed cookie carries
only a random token whose SHA-256 is the row's key (the table cannot be replayed from). Every
request checks the row: a session ends on logout, on revocation (by an operator, the CLI, or
when its user is disabled, removed or given a new password), after ``idle`` seconds without a
request and ``lifetime`` seconds after login, whichever comes first. An ended session's old
cookie is refused. Sessions are shown and revoked by a short public ``handle``.
"""

from __future__ import annotations

import hashlib
import secrets
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlalchemy import ColumnElement, RowMapping, and_, delete, insert, select, update

from gcx.console.db import ConsoleDb

IDLE_SECONDS = 3600.0  # an hour without a request
LIFETIME_SECONDS = 12 * 3600.0  # twelve hours after login, active or not
SEEN_EVERY = 60.0  # last_seen is written at most once a minute per session
KEEP_ENDED_DAYS = 30  # ended sessions stay listed this long, then go


@dataclass(frozen=True)
class SessionInfo:
    handle: str
    user: str
    created_at: str
    last_seen: str
    address: str
    agent: str
    ended_at: str | None = None
    ended_why: str | None = None


def _digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def _iso(t: datetime) -> str:
    return t.isoformat(timespec="seconds")


def spoken(seconds: float) -> str:
    """Pure: a session limit as people say it: ``"45 minutes"``, ``"1 hour"``, ``"12 hours"``,
    ``"30 days"`` (whole days from two days up, whole hours, else minutes)."""
    minutes = max(1, round(seconds / 60))
    if minutes >= 2880 and minutes % 1440 == 0:
        n, unit = minutes // 1440, "day"
    elif minutes % 60 == 0:
        n, unit = minutes // 60, "hour"
    else:
        n, unit = minutes, "minute"
    return f"{n} {unit}{'' if n == 1 else 's'}"


def expired_why(created: datetime, seen: datetime, now: datetime, idle: float, lifetime: float) -> str | None:
    """Pure: why a session is over at ``now`` (None: it is not)."""
    if now - created >= timedelta(seconds=lifetime):
        return "expired"
    if now - seen >= timedelta(seconds=idle):
        return "idle"
    return None


class SessionStore:
    def __init__(
        self,
        db: ConsoleDb,
        *,
        idle: float = IDLE_SECONDS,
        lifetime: float = LIFETIME_SECONDS,
        clock: Callable[[], datetime] = lambda: datetime.now(UTC),
    ) -> None:
        if not 0 < idle <= lifetime:
            raise ValueError(
                f"a session's idle time ({idle:g} s) must be > 0 and <= its lifetime ({lifetime:g} s)"
            )
        self.db, self.idle, self.lifetime, self.clock = db, idle, lifetime, clock

    def create(self, user: str, address: str, agent: str) -> str:
        """A new session of ``user``; returns the token for the cookie (never stored)."""
        token = secrets.token_urlsafe(32)
        now = _iso(self.clock())
        with self.db.engine.begin() as conn:
            conn.execute(
                insert(self.db.sessions).values(
                    id=_digest(token), handle=secrets.token_hex(6), user=user, created_at=now,
                    last_seen=now, address=address[:64], agent=agent[:200],
                )
            )  # fmt: skip
        return token

    def check(self, token: str) -> SessionInfo | None:
        """The live session of ``token`` (its last_seen refreshed), else None (ended, expired
        and idle ones are ended here with the reason)."""
        t = self.db.sessions
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == _digest(token))).mappings().first()
        if row is None or row["ended_at"] is not None:
            return None
        now = self.clock()
        seen = datetime.fromisoformat(row["last_seen"])
        why = expired_why(datetime.fromisoformat(row["created_at"]), seen, now, self.idle, self.lifetime)
        if why is not None:
            self._end(t.c.id == row["id"], why)
            return None
        if (now - seen).total_seconds() >= SEEN_EVERY:
            with self.db.engine.begin() as conn:
                conn.execute(update(t).where(t.c.id == row["id"]).values(last_seen=_iso(now)))
        return _info(row)

    def _end(self, where: ColumnElement[bool], why: str) -> int:
        t = self.db.sessions
        with self.db.engine.begin() as conn:
            res = conn.execute(
                update(t)
                .where(and_(where, t.c.ended_at.is_(None)))
                .values(ended_at=_iso(self.clock()), ended_why=why)
            )
        return int(res.rowcount or 0)

    def end(self, token: str, why: str = "logout") -> None:
        self._end(self.db.sessions.c.id == _digest(token), why)

    def revoke(self, handle: str, why: str) -> SessionInfo | None:
        """End the session shown as ``handle``; the session as it was, or None (no live one)."""
        found = self.get(handle)
        if found is None or found.ended_at is not None:
            return None
        self._end(self.db.sessions.c.handle == handle, why)
        return found

    def end_user(self, user: str, why: str) -> int:
        """End every live session of ``user``; how many there were."""
        return self._end(self.db.sessions.c.user == user, why)

    def get(self, handle: str) -> SessionInfo | None:
        t = self.db.sessions
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.handle == handle)).mappings().first()
        return _info(row) if row is not None else None

    def active(self, user: str | None = None) -> list[SessionInfo]:
        """Live sessions (newest first); ones past their time are ended on the way."""
        t = self.db.sessions
        stmt = select(t).where(t.c.ended_at.is_(None)).order_by(t.c.created_at.desc())
        if user is not None:
            stmt = stmt.where(t.c.user == user)
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        now, out = self.clock(), []
        for row in rows:
            created, seen = (
                datetime.fromisoformat(row["created_at"]),
                datetime.fromisoformat(row["last_seen"]),
            )
            why = expired_why(created, seen, now, self.idle, self.lifetime)
            if why is not None:
                self._end(t.c.id == row["id"], why)
            else:
                out.append(_info(row))
        return out

    def forget_ended(self, days: int = KEEP_ENDED_DAYS) -> int:
        """Remove sessions that ended more than ``days`` ago (the table stays small)."""
        t = self.db.sessions
        cutoff = _iso(self.clock() - timedelta(days=days))
        with self.db.engine.begin() as conn:
            return int(conn.execute(delete(t).where(t.c.ended_at < cutoff)).rowcount or 0)


def _info(row: RowMapping) -> SessionInfo:
    r = row
    return SessionInfo(
        handle=str(r["handle"]), user=str(r["user"]), created_at=str(r["created_at"]),
        last_seen=str(r["last_seen"]), address=str(r["address"]), agent=str(r["agent"]),
        ended_at=r["ended_at"], ended_why=r["ended_why"],
    )  # fmt: skip
