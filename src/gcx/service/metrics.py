"""Prometheus metrics (prometheus-client) for the whole fleet, read from the database at scrape time.

Workers record every run (report included) in ``gcx_svc_runs``; the web process turns those
rows, procrastinate's queue and the pending webhook events into metrics, so one scrape of any
web process sees every worker. Counters are sums over the runs kept in the table plus what the runs
removed by retention counted (``gcx_svc_run_totals``, see :mod:`gcx.service.retention`).
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from typing import Any

from prometheus_client import CollectorRegistry, Counter, generate_latest
from prometheus_client.core import CounterMetricFamily, GaugeMetricFamily, HistogramMetricFamily
from prometheus_client.registry import Collector
from psycopg_pool import AsyncConnectionPool

DURATION_BUCKETS = (1.0, 5.0, 15.0, 60.0, 300.0, 900.0, 3600.0)

_TOTALS = "SELECT job, k1, k2, value FROM gcx_svc_run_totals WHERE family = '{}'"

_QUERIES = {
    "status": f"""
        SELECT job, key, sum(n) FROM (
            SELECT job, s.key, s.value::float8 AS n FROM gcx_svc_runs,
                   jsonb_each_text(coalesce(report->'requestStats'->'by_status', '{{}}'::jsonb)) s
            UNION ALL SELECT job, k1, value FROM ({_TOTALS.format("status")}) t) u
        GROUP BY job, key""",
    "stats": f"""
        SELECT job, sum(req), sum(lim), sum(tok), sum(inv) FROM (
            SELECT job, (report->'requestStats'->>'requests')::float8 AS req,
                   (report->'requestStats'->>'rate_limited')::float8 AS lim,
                   (report->'requestStats'->>'token_requests')::float8 AS tok,
                   coalesce((report->>'invalidTruncated')::float8,
                            jsonb_array_length(coalesce(report->'invalid', '[]'::jsonb))) AS inv
            FROM gcx_svc_runs WHERE report IS NOT NULL
            UNION ALL
            SELECT job, sum(value) FILTER (WHERE k1 = 'requests'), sum(value) FILTER (WHERE k1 = 'rate_limited'),
                   sum(value) FILTER (WHERE k1 = 'token_requests'), sum(value) FILTER (WHERE k1 = 'invalid')
            FROM ({_TOTALS.format("stats")}) t GROUP BY job) u
        GROUP BY job""",
    "records": f"""
        SELECT job, kind, result, sum(n) FROM (
            SELECT job, k.key AS kind, c.key AS result, c.value::float8 AS n FROM gcx_svc_runs,
                   jsonb_each(coalesce(report->'applied', '{{}}'::jsonb)) k, jsonb_each_text(k.value) c
            UNION ALL SELECT job, k1, k2, value FROM ({_TOTALS.format("records")}) t) u
        GROUP BY job, kind, result""",
    "runs": f"""
        SELECT job, status, sum(n) FROM (
            SELECT job, status, 1::float8 AS n FROM gcx_svc_runs
            UNION ALL SELECT job, k1, value FROM ({_TOTALS.format("runs")}) t) u
        GROUP BY job, status""",
    "durations": f"""
        SELECT job, {", ".join(f"sum(c{i})" for i in range(len(DURATION_BUCKETS)))}, sum(total), sum(seconds)
        FROM (
            SELECT job, {", ".join(f"count(*) FILTER (WHERE d <= {b}) AS c{i}" for i, b in enumerate(DURATION_BUCKETS))},
                   count(*) AS total, coalesce(sum(d), 0) AS seconds
            FROM (SELECT job, extract(epoch FROM finished_at - started_at) AS d FROM gcx_svc_runs
                  WHERE finished_at IS NOT NULL) r GROUP BY job
            UNION ALL
            SELECT job, {", ".join(f"sum(value) FILTER (WHERE family = 'duration' AND k1 = '{b}')" for b in DURATION_BUCKETS)},
                   sum(value) FILTER (WHERE family = 'duration' AND k1 = '+Inf'),
                   sum(value) FILTER (WHERE family = 'duration_sum')
            FROM gcx_svc_run_totals WHERE family IN ('duration', 'duration_sum') GROUP BY job) u
        GROUP BY job""",
    "last_success": f"""
        SELECT job, max(ts) FROM (
            SELECT job, extract(epoch FROM max(finished_at))::float8 AS ts FROM gcx_svc_runs
            WHERE status IN ('ok', 'partial') GROUP BY job
            UNION ALL SELECT job, value FROM ({_TOTALS.format("last_success")}) t) u
        GROUP BY job""",
    "removed": f"SELECT job, k1, value FROM ({_TOTALS.format('removed')}) t",
    "pending": "SELECT job, count(*) FROM gcx_svc_events WHERE applied_at IS NULL GROUP BY job",
    "queue": """
        SELECT task_name, status::text, count(*) FROM procrastinate_jobs
        WHERE status IN ('todo', 'doing') GROUP BY task_name, status""",
    "tokens": "SELECT client_key, fetches FROM gcx_svc_tokens",
    "pacing": "SELECT client_key, reserved, rate_limited, rate FROM gcx_svc_pacing",
}


@dataclass
class Snapshot:
    rows: dict[str, list[tuple[Any, ...]]] = field(default_factory=dict)


async def snapshot(pool: AsyncConnectionPool) -> Snapshot:
    snap = Snapshot()
    async with pool.connection() as conn:
        for name, query in _QUERIES.items():
            cur = await conn.execute(query.encode())
            snap.rows[name] = list(await cur.fetchall())
    return snap


class FleetCollector(Collector):
    """Turns the last :class:`Snapshot` into metric families (pure)."""

    def __init__(self) -> None:
        self.snap = Snapshot()

    def collect(self) -> Iterator[Any]:
        yield from families(self.snap)


def families(snap: Snapshot) -> Iterable[Any]:
    r = snap.rows
    by_status = CounterMetricFamily(
        "gcx_api_requests", "API requests by job and HTTP status", labels=["job", "status"]
    )
    for job, status, n in r.get("status", []):
        by_status.add_metric([job, str(status)], float(n or 0))
    yield by_status
    reqs = CounterMetricFamily("gcx_api_requests_all", "API requests by job (all statuses)", labels=["job"])
    limited = CounterMetricFamily("gcx_api_rate_limited", "429 answers by job", labels=["job"])
    tokens = CounterMetricFamily("gcx_token_requests", "token requests sent by runs of a job", labels=["job"])
    invalid = CounterMetricFamily("gcx_invalid_rows", "invalid source rows by job", labels=["job"])
    for job, n_req, n_429, n_tok, n_inv in r.get("stats", []):
        reqs.add_metric([job], float(n_req or 0))
        limited.add_metric([job], float(n_429 or 0))
        tokens.add_metric([job], float(n_tok or 0))
        invalid.add_metric([job], float(n_inv or 0))
    yield from (reqs, limited, tokens, invalid)
    records = CounterMetricFamily(
        "gcx_records",
        "records by job, kind and result (created, updated, moved, deleted, adopted, failed)",
        labels=["job", "kind", "result"],
    )
    for job, kind, result, n in r.get("records", []):
        records.add_metric([job, kind, result], float(n or 0))
    yield records
    runs = CounterMetricFamily("gcx_runs", "runs by job and final status", labels=["job", "status"])
    for job, status, n in r.get("runs", []):
        runs.add_metric([job, status], float(n))
    yield runs
    hist = HistogramMetricFamily("gcx_run_duration_seconds", "run durations", labels=["job"])
    for row in r.get("durations", []):
        job, counts, total, seconds = row[0], row[1 : 1 + len(DURATION_BUCKETS)], row[-2], row[-1]
        buckets = [(str(b), float(c)) for b, c in zip(DURATION_BUCKETS, counts, strict=True)]
        buckets.append(("+Inf", float(total)))
        hist.add_metric([job], buckets, float(seconds))
    yield hist
    last = GaugeMetricFamily(
        "gcx_last_success_timestamp_seconds", "end of the last successful run", labels=["job"]
    )
    for job, ts in r.get("last_success", []):
        last.add_metric([job], float(ts))
    yield last
    pending = GaugeMetricFamily(
        "gcx_webhook_events_pending", "webhook events not applied yet", labels=["job"]
    )
    for job, n in r.get("pending", []):
        pending.add_metric([job], float(n))
    yield pending
    queue = GaugeMetricFamily(
        "gcx_queue_depth", "procrastinate jobs waiting or running", labels=["task", "status"]
    )
    for task, status, n in r.get("queue", []):
        queue.add_metric([task, status], float(n))
    yield queue
    fetches = CounterMetricFamily(
        "gcx_fleet_token_fetches", "tokens fetched for the fleet", labels=["client"]
    )
    for key, n in r.get("tokens", []):
        fetches.add_metric([key], float(n))
    yield fetches
    sent = CounterMetricFamily(
        "gcx_fleet_requests_paced", "requests paced by the shared budget", labels=["client"]
    )
    cut = CounterMetricFamily("gcx_fleet_rate_limited", "429s seen by the shared budget", labels=["client"])
    rate = GaugeMetricFamily(
        "gcx_fleet_rate_per_minute", "the shared budget's current rate", labels=["client"]
    )
    for key, n, n429, per_min in r.get("pacing", []):
        sent.add_metric([key], float(n))
        cut.add_metric([key], float(n429))
        rate.add_metric([key], float(per_min))
    yield from (sent, cut, rate)
    removed = CounterMetricFamily(
        "gcx_retention_removed",
        "old runs, webhook events, run files and decided plans removed by retention",
        labels=["job", "what"],
    )
    for job, what, n in r.get("removed", []):
        removed.add_metric([job, what], float(n))
    yield removed


class Metrics:
    """The web process's registry: the fleet's metrics plus its own webhook counters."""

    def __init__(self) -> None:
        self.registry = CollectorRegistry()
        self.fleet = FleetCollector()
        self.registry.register(self.fleet)
        self.webhooks = Counter(
            "gcx_webhook_requests",
            "webhook requests by job and answer",
            ["job", "code"],
            registry=self.registry,
        )
        self.events = Counter(
            "gcx_webhook_events_received",
            "webhook events stored (new ids only)",
            ["job"],
            registry=self.registry,
        )

    async def render(self, pool: AsyncConnectionPool) -> bytes:
        self.fleet.snap = await snapshot(pool)
        return generate_latest(self.registry)
