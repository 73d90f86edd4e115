"""One OAuth token and one rate budget for a whole fleet of workers, kept in PostgreSQL.

* :class:`SharedTokenCache` is a :class:`gcx.auth.TokenCache` whose token lives in the row
  ``gcx_svc_tokens[client]``. A worker without a fresh token reads the row; if the row has
  none either, the worker takes a short *fetch lease* on the row (an atomic UPDATE), and only
  the lease holder asks the login service for a token: every other worker waits for the
  row to fill. A worker killed while holding the lease loses it after ``lease`` seconds.
  Expiry is computed with the database's clock, so hosts need not agree on the time.
  The token is stored as a bearer token always is in a cache: whoever can read that table
  can use it until it expires (same trust as the ledger; keep the database private).
* :class:`SharedPacer` is a :class:`gcx.pacing.RateLimiter` whose schedule is the row
  ``gcx_svc_pacing[client]``: a GCRA (the *theoretical arrival time* of the next request,
  moved on by one interval per request in one atomic UPDATE), so requests of all workers
  together are evenly spaced at the budget. A 429 pauses the whole fleet until its
  ``Retry-After`` and halves the shared rate (once per episode); successes win it back.

Both hold one small autocommit connection per process (guarded by a lock); every query is a
single statement.
"""

from __future__ import annotations

import asyncio
import hashlib
import threading
import time
import weakref
from collections.abc import Callable
from typing import Any

import psycopg

from gcx.auth import Token, TokenCache
from gcx.pacing import RateLimiter


def client_key(region: str, client_id: str) -> str:
    """The row key of an OAuth client: a hash, so the table does not even hold the client id."""
    return hashlib.sha256(f"{region}\x00{client_id}".encode()).hexdigest()[:32]


class _Db:
    """One autocommit connection, reopened after a failure, one statement at a time."""

    def __init__(self, url: str) -> None:
        self.url = url
        self._conn: psycopg.Connection[Any] | None = None
        self._lock = threading.Lock()

    def one(self, query: str, params: tuple[Any, ...]) -> tuple[Any, ...] | None:
        with self._lock:
            for attempt in (1, 2):
                try:
                    if self._conn is None or self._conn.closed:
                        self._conn = psycopg.connect(self.url, autocommit=True)
                    cur = self._conn.execute(query.encode(), params)
                    return cur.fetchone() if cur.description else None
                except psycopg.OperationalError:
                    self.close_locked()
                    if attempt == 2:
                        raise
        return None  # pragma: no cover

    def close_locked(self) -> None:
        if self._conn is not None:
            try:
                self._conn.close()
            finally:
                self._conn = None

    def close(self) -> None:
        with self._lock:
            self.close_locked()


class _FleetLock(asyncio.Lock):
    """The cache's single-flight lock, extended to the fleet by the row's fetch lease."""

    def __init__(self, cache: SharedTokenCache) -> None:
        super().__init__()
        self._cache = cache
        self._leased = False

    async def __aenter__(self) -> None:
        await self.acquire()
        try:
            while True:
                if self._cache.get() is not None:  # someone filled the row meanwhile
                    return
                if self._cache.take_lease():
                    self._leased = True
                    return
                await asyncio.sleep(self._cache.poll)
        except BaseException:
            self.release()
            raise

    async def __aexit__(self, *exc: object) -> None:
        try:
            if self._leased:
                self._leased = False
                self._cache.drop_lease()
        finally:
            self.release()


class SharedTokenCache(TokenCache):
    def __init__(
        self,
        url: str,
        key: str,
        *,
        lease: float = 30.0,
        poll: float = 0.05,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__(clock=clock)
        self.key = key
        self.lease = lease
        self.poll = poll
        self._db = _Db(url)
        self._fleet_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, _FleetLock] = (
            weakref.WeakKeyDictionary()
        )
        self._db.one(
            "INSERT INTO gcx_svc_tokens (client_key) VALUES (%s) ON CONFLICT DO NOTHING", (self.key,)
        )

    def async_lock(self) -> asyncio.Lock:
        loop = asyncio.get_running_loop()
        lock = self._fleet_locks.get(loop)
        if lock is None:
            lock = self._fleet_locks[loop] = _FleetLock(self)
        return lock

    def get(self) -> Token | None:
        token = super().get()
        if token is not None:
            return token
        row = self._db.one(
            "SELECT value, extract(epoch FROM expires_at - now()), lifetime FROM gcx_svc_tokens "
            "WHERE client_key = %s",
            (self.key,),
        )
        if row is None or row[0] is None or row[1] is None:
            return None
        value, remaining, lifetime = str(row[0]), float(row[1]), float(row[2] or 0)
        if remaining <= 0 or lifetime <= 0:
            return None
        shared = Token(value=value, obtained_at=self.clock() - (lifetime - remaining), lifetime=lifetime)
        if not self.is_fresh(shared):
            return None
        super().set(shared)  # registers it with the redactor too
        return shared

    def set(self, token: Token) -> None:
        super().set(token)
        remaining = max(0.0, token.expires_at - self.clock())
        self._db.one(
            "UPDATE gcx_svc_tokens SET value = %s, lifetime = %s, "
            "expires_at = now() + make_interval(secs => %s), fetching_until = NULL, "
            "fetches = fetches + 1 WHERE client_key = %s",
            (token.value, token.lifetime, remaining, self.key),
        )

    def invalidate(self, value: str | None = None) -> bool:
        dropped = super().invalidate(value)
        if value is not None:
            self._db.one(
                "UPDATE gcx_svc_tokens SET value = NULL WHERE client_key = %s AND value = %s",
                (self.key, value),
            )
        return dropped

    def take_lease(self) -> bool:
        row = self._db.one(
            "UPDATE gcx_svc_tokens SET fetching_until = now() + make_interval(secs => %s) "
            "WHERE client_key = %s AND (fetching_until IS NULL OR fetching_until < now()) RETURNING 1",
            (self.lease, self.key),
        )
        return row is not None

    def drop_lease(self) -> None:
        self._db.one("UPDATE gcx_svc_tokens SET fetching_until = NULL WHERE client_key = %s", (self.key,))

    def fetches_total(self) -> int:
        row = self._db.one("SELECT fetches FROM gcx_svc_tokens WHERE client_key = %s", (self.key,))
        return int(row[0]) if row else 0

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"SharedTokenCache(key={self.key!r})"


class SharedPacer(RateLimiter):
    """The fleet's rate budget (requests per minute for one OAuth client)."""

    def __init__(
        self,
        url: str,
        key: str,
        rate_per_minute: float,
        *,
        decrease: float = 0.5,
        min_fraction: float = 0.1,
        cooldown: float = 2.0,
    ) -> None:
        super().__init__(rate_per_minute, decrease=decrease, min_fraction=min_fraction, cooldown=cooldown)
        self.key = key
        self._db = _Db(url)
        self._shared_rate = self.max_rate
        if self.enabled:
            self._db.one(
                "INSERT INTO gcx_svc_pacing (client_key, max_rate, rate) VALUES (%s, %s, %s) "
                "ON CONFLICT (client_key) DO UPDATE SET max_rate = EXCLUDED.max_rate, "
                "rate = least(gcx_svc_pacing.rate, EXCLUDED.max_rate)",
                (key, self.max_rate, self.max_rate),
            )

    @property
    def current_rate(self) -> float:
        return self._shared_rate

    def reserve(self) -> float:
        """Take the fleet's next slot; the seconds to wait before sending."""
        if not self.enabled:
            return 0.0
        row = self._db.one(
            """
            UPDATE gcx_svc_pacing
               SET tat = greatest(tat, extract(epoch FROM clock_timestamp()), paused_until) + 60.0 / rate,
                   reserved = reserved + 1
             WHERE client_key = %s
            RETURNING tat - 60.0 / rate - extract(epoch FROM clock_timestamp()), rate
            """,
            (self.key,),
        )
        if row is None:
            return 0.0
        self._shared_rate = float(row[1])
        return max(0.0, float(row[0]))

    def on_success(self) -> None:
        if not self.enabled or self._shared_rate >= self.max_rate:
            return
        row = self._db.one(
            "UPDATE gcx_svc_pacing SET rate = least(max_rate, rate + %s) WHERE client_key = %s RETURNING rate",
            (self._increase, self.key),
        )
        if row is not None:
            self._shared_rate = float(row[0])

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        if not self.enabled:
            return
        pause = retry_after if retry_after is not None and retry_after > 0 else 0.0
        row = self._db.one(
            """
            WITH now AS (SELECT extract(epoch FROM clock_timestamp())::double precision AS t)
            UPDATE gcx_svc_pacing p
               SET paused_until = greatest(p.paused_until, now.t + %s),
                   rate = CASE WHEN now.t - p.last_cut >= %s
                               THEN greatest(p.max_rate * %s, p.rate * %s) ELSE p.rate END,
                   last_cut = CASE WHEN now.t - p.last_cut >= %s THEN now.t ELSE p.last_cut END,
                   rate_limited = p.rate_limited + 1
              FROM now
             WHERE p.client_key = %s
            RETURNING p.rate
            """,
            (pause, self._cooldown, self._floor / self.max_rate, self._decrease, self._cooldown, self.key),
        )
        if row is not None:
            self._shared_rate = float(row[0])

    def close(self) -> None:
        self._db.close()

    def __repr__(self) -> str:
        return f"SharedPacer(key={self.key!r}, max_rate={self.max_rate:g}/min)"
