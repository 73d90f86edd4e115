"""The service's own tables in PostgreSQL (next to procrastinate's and the jobs' ledgers).

| table | what |
|---|---|
| ``gcx_svc_events`` | webhook events: job, event id (unique per job), the canonical record, when received, when applied and by which run |
| ``gcx_svc_runs`` | one row per job run on a worker: job, trigger, worker, start, end, status, events applied, the run report (JSON) |
| ``gcx_svc_tokens`` | the fleet's OAuth token per client (see :mod:`gcx.service.limits`) |
| ``gcx_svc_pacing`` | the fleet's rate budget per client (see :mod:`gcx.service.limits`) |
| ``gcx_svc_run_totals`` | what removed runs counted, for the metrics (see :mod:`gcx.service.retention`) |

Everything is created idempotently under an advisory lock, so that several processes starting
at once do not race. Queries are plain SQL through psycopg.
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

import psycopg
from psycopg.rows import dict_row
from psycopg_pool import AsyncConnectionPool
from sqlalchemy.engine import make_url

from gcx.errors import ConfigError

_SCHEMA_LOCK = 0x6763785F737663  # "gcx_svc"

DDL = """
CREATE TABLE IF NOT EXISTS gcx_svc_events (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    event_id text NOT NULL,
    kind text NOT NULL,
    external_id text NOT NULL,
    record jsonb NOT NULL,
    received_at timestamptz NOT NULL DEFAULT now(),
    applied_at timestamptz,
    run_id bigint,
    UNIQUE (job, event_id)
);
CREATE INDEX IF NOT EXISTS gcx_svc_events_pending ON gcx_svc_events (job, id) WHERE applied_at IS NULL;
CREATE TABLE IF NOT EXISTS gcx_svc_runs (
    id bigserial PRIMARY KEY,
    job text NOT NULL,
    trigger text NOT NULL,
    worker text NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    finished_at timestamptz,
    status text NOT NULL DEFAULT 'running',
    events integer NOT NULL DEFAULT 0,
    error text,
    report jsonb
);
CREATE INDEX IF NOT EXISTS gcx_svc_runs_job ON gcx_svc_runs (job, id);
CREATE TABLE IF NOT EXISTS gcx_svc_run_totals (
    family text NOT NULL,
    job text NOT NULL,
    k1 text NOT NULL DEFAULT '',
    k2 text NOT NULL DEFAULT '',
    value double precision NOT NULL DEFAULT 0,
    PRIMARY KEY (family, job, k1, k2)
);
CREATE TABLE IF NOT EXISTS gcx_svc_tokens (
    client_key text PRIMARY KEY,
    value text,
    lifetime double precision,
    expires_at timestamptz,
    fetching_until timestamptz,
    fetches integer NOT NULL DEFAULT 0
);
CREATE TABLE IF NOT EXISTS gcx_svc_pacing (
    client_key text PRIMARY KEY,
    max_rate double precision NOT NULL,
    rate double precision NOT NULL,
    tat double precision NOT NULL DEFAULT 0,
    paused_until double precision NOT NULL DEFAULT 0,
    last_cut double precision NOT NULL DEFAULT 0,
    reserved bigint NOT NULL DEFAULT 0,
    rate_limited bigint NOT NULL DEFAULT 0
);
"""


def check_url(url: str) -> str:
    """A ``postgresql://`` URL, without a password written in it (use PGPASSWORD or .pgpass)."""
    parts = urlsplit(url)
    if parts.scheme not in ("postgresql", "postgres", "postgresql+psycopg"):
        raise ConfigError("the service database must be a postgresql:// URL")
    if parts.password:
        raise ConfigError(
            "the database URL holds a password: give it through PGPASSWORD or ~/.pgpass instead"
        )
    return "postgresql://" + url.split("://", 1)[1]


def ledger_url(url: str) -> str:
    """The SQLAlchemy URL of the same database (psycopg 3 driver)."""
    return make_url("postgresql+psycopg://" + url.split("://", 1)[1]).render_as_string(hide_password=False)


def ensure_schema(url: str) -> None:
    """Create procrastinate's schema (when missing) and the service's tables."""
    from procrastinate import schema as pschema

    with psycopg.connect(url, autocommit=True) as conn, conn.transaction():
        conn.execute("SELECT pg_advisory_xact_lock(%s)", (_SCHEMA_LOCK,))
        row = conn.execute("SELECT to_regclass('procrastinate_jobs')").fetchone()
        if row is None or row[0] is None:
            conn.execute(pschema.SchemaManager.get_schema())
        conn.execute(DDL)


@dataclass(frozen=True)
class Event:
    event_id: str
    kind: str
    external_id: str
    record: dict[str, Any]


@dataclass(frozen=True)
class PendingEvent:
    id: int
    event_id: str
    kind: str
    external_id: str
    record: dict[str, Any]


def open_pool(url: str, *, max_size: int = 4) -> AsyncConnectionPool:
    return AsyncConnectionPool(url, min_size=1, max_size=max_size, open=False, kwargs={"autocommit": True})


async def store_events(pool: AsyncConnectionPool, job: str, events: Sequence[Event]) -> tuple[int, int]:
    """Insert events (one transaction); an event id already stored is left as it is.

    Returns (stored, duplicates)."""
    if not events:
        return 0, 0
    async with pool.connection() as conn, conn.transaction():
        cur = await conn.execute(
            """
            INSERT INTO gcx_svc_events (job, event_id, kind, external_id, record)
            SELECT %s, e, k, x, r::jsonb
            FROM unnest(%s::text[], %s::text[], %s::text[], %s::text[]) AS t(e, k, x, r)
            ON CONFLICT (job, event_id) DO NOTHING
            RETURNING id
            """,
            (
                job,
                [e.event_id for e in events],
                [e.kind for e in events],
                [e.external_id for e in events],
                [json.dumps(e.record) for e in events],
            ),
        )
        stored = len(await cur.fetchall())
    return stored, len(events) - stored


async def pending_events(pool: AsyncConnectionPool, job: str, limit: int) -> list[PendingEvent]:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT id, event_id, kind, external_id, record FROM gcx_svc_events WHERE job = %s AND applied_at IS NULL "
            "ORDER BY id LIMIT %s",
            (job, limit),
        )
        return [
            PendingEvent(int(r[0]), str(r[1]), str(r[2]), str(r[3]), dict(r[4])) for r in await cur.fetchall()
        ]


async def mark_applied(pool: AsyncConnectionPool, ids: Sequence[int], run_id: int) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE gcx_svc_events SET applied_at = now(), run_id = %s WHERE id = ANY(%s)",
            (run_id, list(ids)),
        )


async def jobs_with_pending_events(pool: AsyncConnectionPool) -> list[str]:
    async with pool.connection() as conn:
        cur = await conn.execute("SELECT DISTINCT job FROM gcx_svc_events WHERE applied_at IS NULL")
        return sorted(str(r[0]) for r in await cur.fetchall())


async def start_run(pool: AsyncConnectionPool, job: str, trigger: str, worker: str) -> int:
    async with pool.connection() as conn:
        cur = await conn.execute(
            "INSERT INTO gcx_svc_runs (job, trigger, worker) VALUES (%s, %s, %s) RETURNING id",
            (job, trigger, worker),
        )
        row = await cur.fetchone()
        assert row is not None
        return int(row[0])


async def finish_run(
    pool: AsyncConnectionPool,
    run_id: int,
    *,
    status: str,
    events: int = 0,
    error: str | None = None,
    report: dict[str, Any] | None = None,
) -> None:
    async with pool.connection() as conn:
        await conn.execute(
            "UPDATE gcx_svc_runs SET finished_at = now(), status = %s, events = %s, error = %s, "
            "report = %s::jsonb WHERE id = %s",
            (status, events, error, json.dumps(report) if report is not None else None, run_id),
        )


async def runs(pool: AsyncConnectionPool, job: str | None = None, limit: int = 50) -> list[dict[str, Any]]:
    """The latest runs (newest first), without their reports."""
    async with pool.connection() as conn:
        cur = conn.cursor(row_factory=dict_row)
        await cur.execute(
            "SELECT id, job, trigger, worker, started_at, finished_at, status, events, error "
            "FROM gcx_svc_runs WHERE (%s::text IS NULL OR job = %s) ORDER BY id DESC LIMIT %s",
            (job, job, limit),
        )
        return list(await cur.fetchall())


async def unfinished_streak(pool: AsyncConnectionPool, job: str) -> int:
    """How many of the job's latest runs in a row ended neither ok nor partial (nor waiting for
    approval, nor a plan's fate: approved, rejected, stale)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT status FROM gcx_svc_runs WHERE job = %s AND finished_at IS NOT NULL ORDER BY id DESC LIMIT 10",
            (job,),
        )
        n = 0
        for (status,) in await cur.fetchall():
            if status in ("ok", "partial", "waiting", "approved", "rejected", "stale", "skipped"):
                break
            n += 1
        return n


async def pending_ages(pool: AsyncConnectionPool, job: str) -> tuple[float, float] | None:
    """Seconds since the oldest and since the newest pending event of ``job`` (None: none pending)."""
    async with pool.connection() as conn:
        cur = await conn.execute(
            "SELECT extract(epoch FROM now() - min(received_at)), extract(epoch FROM now() - max(received_at)) "
            "FROM gcx_svc_events WHERE job = %s AND applied_at IS NULL",
            (job,),
        )
        row = await cur.fetchone()
        if row is None or row[0] is None:
            return None
        return float(row[0]), float(row[1])
