"""Retention: the service's old run rows, applied webhook events, run report files and decided
plans, removed.

``gcx_svc_runs``, ``gcx_svc_events`` and the console's plans would otherwise grow forever. A periodic task
(:data:`RETENTION_TASK`, registered by :mod:`gcx.service.tasks`, ``[service]
retention_schedule``) removes, in chunks of :data:`CHUNK` rows (one short transaction each):

* runs **finished** more than ``keep_runs_days`` ago; never one still ``running`` (no end) nor
  one ``waiting`` for approval;
* webhook events **applied** more than ``keep_events_days`` ago; never a pending one. An event
  id removed is forgotten: a sender retrying it afterwards is accepted again;
* in ``data_dir/reports/<job>/`` the files of runs older than ``keep_runs_days``
  (``run-<id>.json``, ``run-<id>.ops.json``, incomplete ones included, a failed or dead run's
  ``ops-*.json``, ``ops-*.json.tmp``); plans are left alone
  (an approval may still point at one);
* plans decided for good (``applied``, ``rejected``, ``stale``, ``failed``) more than
  ``keep_runs_days`` ago: the console's approval row and the plan document stored with it;
  never a plan waiting, approved or being applied.

The metrics are sums over the rows kept, so the rows removed are first added, in the same
transaction, to ``gcx_svc_run_totals``, which the metrics add back: counters never go down.
What was removed is logged and counted (``gcx_retention_removed_total{job,what}``).
"""

from __future__ import annotations

import asyncio
import logging
import re
import time
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from procrastinate import App
from psycopg_pool import AsyncConnectionPool

from gcx.service.config import ServiceConfig, ServiceSettings
from gcx.service.metrics import DURATION_BUCKETS

log = logging.getLogger("gcx.service")

RETENTION_TASK = "gcx.retention"
RETENTION_LOCK = "gcx-retention"
CHUNK = 1000  # rows per transaction
DAY = 86_400.0

_FINISHED = "finished_at IS NOT NULL AND status NOT IN ('running', 'waiting')"

_BUCKETS = " UNION ALL ".join(
    f"SELECT 'duration', job, '{b}', '', count(*) FILTER (WHERE d <= {b}) FROM dur GROUP BY job"
    for b in DURATION_BUCKETS
)

# One statement: delete a chunk of old finished runs and fold what they counted into the totals.
_PRUNE_RUNS = f"""
WITH gone AS (
    DELETE FROM gcx_svc_runs WHERE id IN (
        SELECT id FROM gcx_svc_runs
        WHERE {_FINISHED} AND finished_at < now() - make_interval(days => %(days)s)
        ORDER BY id LIMIT %(chunk)s)
    RETURNING job, status, started_at, finished_at, report
),
dur AS (SELECT job, extract(epoch FROM finished_at - started_at)::float8 AS d FROM gone),
rows AS (
    SELECT 'runs' AS family, job, status AS k1, '' AS k2, count(*)::float8 AS value FROM gone
    GROUP BY job, status
    UNION ALL
    SELECT 'removed', job, 'runs', '', count(*) FROM gone GROUP BY job
    UNION ALL
    SELECT 'status', job, s.key, '', sum(s.value::bigint) FROM gone,
           jsonb_each_text(coalesce(report->'requestStats'->'by_status', '{{}}'::jsonb)) s
    GROUP BY job, s.key
    UNION ALL
    SELECT 'stats', job, 'requests', '', coalesce(sum((report->'requestStats'->>'requests')::bigint), 0)
    FROM gone WHERE report IS NOT NULL GROUP BY job
    UNION ALL
    SELECT 'stats', job, 'rate_limited', '',
           coalesce(sum((report->'requestStats'->>'rate_limited')::bigint), 0)
    FROM gone WHERE report IS NOT NULL GROUP BY job
    UNION ALL
    SELECT 'stats', job, 'token_requests', '',
           coalesce(sum((report->'requestStats'->>'token_requests')::bigint), 0)
    FROM gone WHERE report IS NOT NULL GROUP BY job
    UNION ALL
    SELECT 'stats', job, 'invalid', '',
           coalesce(sum(coalesce((report->>'invalidTruncated')::bigint,
                                 jsonb_array_length(coalesce(report->'invalid', '[]'::jsonb)))), 0)
    FROM gone WHERE report IS NOT NULL GROUP BY job
    UNION ALL
    SELECT 'records', job, k.key, c.key, sum(c.value::bigint) FROM gone,
           jsonb_each(coalesce(report->'applied', '{{}}'::jsonb)) k, jsonb_each_text(k.value) c
    GROUP BY job, k.key, c.key
    UNION ALL
    {_BUCKETS}
    UNION ALL
    SELECT 'duration', job, '+Inf', '', count(*) FROM dur GROUP BY job
    UNION ALL
    SELECT 'duration_sum', job, '', '', coalesce(sum(d), 0) FROM dur GROUP BY job
    UNION ALL
    SELECT 'last_success', job, '', '', extract(epoch FROM max(finished_at))::float8 FROM gone
    WHERE status IN ('ok', 'partial') GROUP BY job
),
kept AS (
    INSERT INTO gcx_svc_run_totals (family, job, k1, k2, value)
    SELECT family, job, k1, k2, value FROM rows
    ON CONFLICT (family, job, k1, k2) DO UPDATE SET value = CASE
        WHEN gcx_svc_run_totals.family = 'last_success'
        THEN greatest(gcx_svc_run_totals.value, excluded.value)
        ELSE gcx_svc_run_totals.value + excluded.value END
)
SELECT job, count(*) FROM gone GROUP BY job
"""

_PRUNE_EVENTS = """
WITH gone AS (
    DELETE FROM gcx_svc_events WHERE id IN (
        SELECT id FROM gcx_svc_events
        WHERE applied_at IS NOT NULL AND applied_at < now() - make_interval(days => %(days)s)
        ORDER BY id LIMIT %(chunk)s)
    RETURNING job
),
counted AS (
    INSERT INTO gcx_svc_run_totals (family, job, k1, k2, value)
    SELECT 'removed', job, 'events', '', count(*) FROM gone GROUP BY job
    ON CONFLICT (family, job, k1, k2) DO UPDATE SET value = gcx_svc_run_totals.value + excluded.value
)
SELECT job, count(*) FROM gone GROUP BY job
"""

#: Decided plans (their approval rows and plan documents) are the console's tables, made once a
#: console opened the database: none yet, nothing to remove.
_HAS_APPROVALS = (
    "SELECT to_regclass('gcx_console_approvals') IS NOT NULL AND to_regclass('gcx_console_plans') IS NOT NULL"
)

# A plan decided for good (applied, rejected, stale, failed) more than the days ago, with its
# document; never one waiting, approved or applying. A stale plan that was never decided (a newer
# one replaced it while it waited) is as old as it was made.
_PRUNE_APPROVALS = """
WITH gone AS (
    DELETE FROM gcx_console_approvals WHERE id IN (
        SELECT id FROM gcx_console_approvals
        WHERE state IN ('applied', 'rejected', 'stale', 'failed')
          AND coalesce(decided_at, created_at)::timestamptz < now() - make_interval(days => %(days)s)
        ORDER BY id LIMIT %(chunk)s)
    RETURNING id, job
),
plans AS (DELETE FROM gcx_console_plans WHERE approval_id IN (SELECT id FROM gone)),
kept AS (
    INSERT INTO gcx_svc_run_totals (family, job, k1, k2, value)
    SELECT 'removed', job, 'approvals', '', count(*) FROM gone GROUP BY job
    ON CONFLICT (family, job, k1, k2) DO UPDATE SET value = gcx_svc_run_totals.value + excluded.value
)
SELECT job, count(*) FROM gone GROUP BY job
"""

_COUNT_FILES = """
INSERT INTO gcx_svc_run_totals (family, job, k1, k2, value) VALUES ('removed', %s, 'files', '', %s)
ON CONFLICT (family, job, k1, k2) DO UPDATE SET value = gcx_svc_run_totals.value + excluded.value
"""

#: The files of a run a job's report directory may hold (``plans/`` is another directory): a
#: failed run's ``ops-<stamp>.failed.json`` and a dead worker's ``ops-<stamp>.json.tmp`` too.
RUN_FILE = re.compile(r"^(run-\d+(\.ops)?\.json|ops-[0-9A-Za-z_.-]+\.json(\.tmp)?)$")


@dataclass
class Removed:
    """What one retention round removed, by job."""

    runs: dict[str, int] = field(default_factory=dict)
    events: dict[str, int] = field(default_factory=dict)
    files: dict[str, int] = field(default_factory=dict)
    approvals: dict[str, int] = field(default_factory=dict)

    def total(self) -> int:
        return sum(sum(d.values()) for d in (self.runs, self.events, self.files, self.approvals))


def old_run_files(entries: Iterable[tuple[str, float]], now: float, days: int) -> list[str]:
    """Pure: the names (of ``(name, mtime)`` entries) that are run files older than ``days``."""
    if days <= 0:
        return []
    cutoff = now - days * DAY
    return sorted(name for name, mtime in entries if RUN_FILE.match(name) and mtime < cutoff)


def remove_old_files(reports_dir: Path, days: int, now: float | None = None) -> dict[str, int]:
    """Remove the old run files of every job directory under ``reports_dir``; count per job."""
    removed: dict[str, int] = {}
    if days <= 0 or not reports_dir.is_dir():
        return removed
    clock = time.time() if now is None else now
    for job_dir in sorted(p for p in reports_dir.iterdir() if p.is_dir() and not p.is_symlink()):
        entries = [
            (p.name, p.stat().st_mtime) for p in job_dir.iterdir() if p.is_file() and not p.is_symlink()
        ]
        for name in old_run_files(entries, clock, days):
            (job_dir / name).unlink(missing_ok=True)
            removed[job_dir.name] = removed.get(job_dir.name, 0) + 1
    return removed


async def _chunks(
    pool: AsyncConnectionPool, sql: str, days: int, chunk: int, stop: Callable[[], bool]
) -> dict[str, int]:
    removed: dict[str, int] = {}
    if days <= 0:
        return removed
    while not stop():
        async with pool.connection() as conn, conn.transaction():
            cur = await conn.execute(sql.encode(), {"days": days, "chunk": chunk})
            rows = await cur.fetchall()
        n = 0
        for job, count in rows:
            removed[str(job)] = removed.get(str(job), 0) + int(count)
            n += int(count)
        if n < chunk:
            break
    return removed


async def remove_old(
    pool: AsyncConnectionPool,
    settings: ServiceSettings,
    *,
    chunk: int = CHUNK,
    stop: Callable[[], bool] = lambda: False,
    now: float | None = None,
) -> Removed:
    """One retention round (see the module's doc); ``stop`` is checked between chunks."""
    out = Removed(
        events=await _chunks(pool, _PRUNE_EVENTS, settings.keep_events_days, chunk, stop),
        runs=await _chunks(pool, _PRUNE_RUNS, settings.keep_runs_days, chunk, stop),
        files=remove_old_files(settings.data_dir / "reports", settings.keep_runs_days, now),
    )
    async with pool.connection() as conn:
        row = await (await conn.execute(_HAS_APPROVALS.encode())).fetchone()
    if row is not None and row[0]:
        out.approvals = await _chunks(pool, _PRUNE_APPROVALS, settings.keep_runs_days, chunk, stop)
    if out.files:
        async with pool.connection() as conn:
            for job, n in out.files.items():
                await conn.execute(_COUNT_FILES.encode(), (job, n))
    for job in sorted({*out.runs, *out.events, *out.files, *out.approvals}):
        log.info(
            "old runs and events removed",
            extra={
                "job": job,
                "runs": out.runs.get(job, 0),
                "events": out.events.get(job, 0),
                "files": out.files.get(job, 0),
                "approvals": out.approvals.get(job, 0),
                "keep_runs_days": settings.keep_runs_days,
                "keep_events_days": settings.keep_events_days,
            },
        )
    return out


class RetentionHost(Protocol):
    """What the task needs of the service (:class:`gcx.service.tasks.Service`)."""

    cfg: ServiceConfig
    pool: AsyncConnectionPool
    stopping: asyncio.Event


def register(app: App, host: RetentionHost) -> None:
    """The periodic retention task: one round per ``retention_schedule`` tick for the whole fleet
    (procrastinate defers each tick once; its ``lock`` runs one round at a time, its
    ``queueing_lock`` keeps at most one waiting)."""

    @app.periodic(
        cron=host.cfg.service.retention_schedule,
        periodic_id=RETENTION_LOCK,
        lock=RETENTION_LOCK,
        queueing_lock=RETENTION_LOCK,
    )
    @app.task(name=RETENTION_TASK)
    async def remove_old_rows(timestamp: int) -> None:
        await remove_old(host.pool, host.cfg.service, stop=host.stopping.is_set)
