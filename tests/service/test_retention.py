"""Retention: old finished runs, applied events, run files and decided plans go; pending and running
ones stay."""

from __future__ import annotations

import json
import os
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from gcx.console.db import ConsoleDb
from gcx.errors import ConfigError
from gcx.service import database as db
from gcx.service.config import load_config
from gcx.service.database import ledger_url
from gcx.service.metrics import Metrics
from gcx.service.retention import RETENTION_TASK, old_run_files, remove_old
from gcx.service.tasks import Service

from .helpers import config_text, query

JOBS = """
[jobs.crm]
profile = "emu"
schedule = "0 0 1 1 *"
source = { type = "jsonl", path = "crm.jsonl" }
"""


def _config(tmp_path: Path, **service: object) -> Path:
    path = tmp_path / "service.toml"
    path.write_text(config_text({"emu": "http://127.0.0.1:9"}, JOBS, data_dir="state", **service))
    return path


def test_retention_keys_defaults_and_errors_naming_the_key(tmp_path: Path) -> None:
    s = load_config(_config(tmp_path)).service
    assert (s.keep_runs_days, s.keep_events_days, s.retention_schedule) == (90, 30, "17 * * * *")
    s = load_config(_config(tmp_path, keep_runs_days=0, keep_events_days=7)).service
    assert (s.keep_runs_days, s.keep_events_days) == (0, 7)
    for key, value, message in [
        ("keep_runs_days", -1, r"\[service\].keep_runs_days must be a whole number between 0 and 36500"),
        ("keep_events_days", 1.5, r"\[service\].keep_events_days must be a whole number"),
        ("keep_events_days", "30", r"\[service\].keep_events_days must be a whole number"),
        ("retention_schedule", "hourly", r"\[service\].retention_schedule: 'hourly' is not a cron"),
    ]:
        with pytest.raises(ConfigError, match=message):
            load_config(_config(tmp_path, **{key: value}))


def test_old_run_files_are_the_run_files_past_the_cutoff() -> None:
    now = 1_000 * 86_400.0
    old, new = now - 31 * 86_400, now - 29 * 86_400
    entries = [
        ("run-4.json", old),
        ("run-4.ops.json", old),
        ("ops-20260101T000000.json", old),
        ("ops-20260102T000000Z.failed.json", old),  # a run that raised before it had an id
        ("ops-20260103T000000Z.json.tmp", old),  # a worker killed mid-run
        ("ops-20260104T000000Z.json.tmp", new),  # a run writing now
        ("run-5.json", new),
        ("run-5.json.tmp", old),
        ("notes.txt", old),
        ("plan-1.json", old),
    ]
    assert old_run_files(entries, now, 30) == [
        "ops-20260101T000000.json",
        "ops-20260102T000000Z.failed.json",
        "ops-20260103T000000Z.json.tmp",
        "run-4.json",
        "run-4.ops.json",
    ]
    assert old_run_files(entries, now, 0) == []


def _report(requests: int, created: int) -> str:
    return json.dumps(
        {
            "requestStats": {
                "requests": requests,
                "rate_limited": 1,
                "token_requests": 1,
                "by_status": {"200": requests},
            },
            "applied": {"contact": {"created": created}},
            "invalid": [{"line": 1}],
        }
    )


def _seed(url: str) -> None:
    import psycopg

    runs = [  # job, status, started days ago, finished days ago (None: still running), report
        ("crm", "ok", 100, 100, _report(10, 3)),
        ("crm", "error", 95, 95, None),
        ("crm", "partial", 92, 92, _report(5, 2)),
        ("crm", "running", 120, None, None),
        ("crm", "waiting", 100, 100, None),
        ("crm", "ok", 1, 1, _report(7, 1)),
        ("push", "ok", 200, 200, _report(2, 2)),
    ]
    events = [  # job, event id, received days ago, applied days ago (None: pending)
        ("push", "e-old-1", 40, 40),
        ("push", "e-old-2", 35, 35),
        ("push", "e-old-3", 31, 31),
        ("push", "e-pending", 60, None),
        ("push", "e-new", 2, 2),
    ]
    with psycopg.connect(url, autocommit=True) as conn:
        for job, status, started, finished, report in runs:
            conn.execute(
                "INSERT INTO gcx_svc_runs (job, trigger, worker, started_at, finished_at, status, report) "
                "VALUES (%s, 'schedule', 'w', now() - make_interval(days => %s), "
                "now() - make_interval(days => %s) + interval '3 seconds', %s, %s::jsonb)",
                (job, started, finished, status, report),
            )
        for job, eid, received, applied in events:
            conn.execute(
                "INSERT INTO gcx_svc_events (job, event_id, kind, external_id, record, received_at, applied_at) "
                "VALUES (%s, %s, 'contact', 'c-1', '{}'::jsonb, now() - make_interval(days => %s), "
                "now() - make_interval(days => %s))",
                (job, eid, received, applied),
            )


def _counters(text: str) -> list[str]:
    keep = (
        "gcx_api_requests",
        "gcx_records_total",
        "gcx_runs_total",
        "gcx_run_duration_seconds",
        "gcx_invalid",
    )
    keep += ("gcx_token_requests", "gcx_last_success")
    return sorted(line for line in text.splitlines() if line.startswith(keep))


@pytest.mark.postgres
async def test_a_round_removes_old_finished_rows_in_chunks_and_counters_never_go_down(
    pg_url: str, tmp_path: Path
) -> None:
    cfg = load_config(_config(tmp_path, keep_runs_days=90, keep_events_days=30))
    _seed(pg_url)
    reports = cfg.service.data_dir / "reports" / "crm"
    (reports / "plans").mkdir(parents=True)
    stale = time.time() - 91 * 86_400
    for name in ("run-1.json", "run-1.ops.json", "ops-x.json", "run-9.json", "plans/plan-1.json"):
        (reports / name).write_text("{}")
        if name != "run-9.json":
            os.utime(reports / name, (stale, stale))
    pool = db.open_pool(pg_url)
    await pool.open()
    try:
        metrics = Metrics()
        before = _counters((await metrics.render(pool)).decode())
        removed = await remove_old(pool, cfg.service, chunk=2)
        after_text = (await metrics.render(pool)).decode()
        assert removed.runs == {"crm": 3, "push": 1}
        assert removed.events == {"push": 3}
        assert removed.files == {"crm": 3}
        # the metrics keep what the removed runs counted: no counter goes down
        assert _counters(after_text) == before
        assert 'gcx_retention_removed_total{job="push",what="events"} 3.0' in after_text
        assert 'gcx_retention_removed_total{job="crm",what="runs"} 3.0' in after_text
        assert 'gcx_retention_removed_total{job="crm",what="files"} 3.0' in after_text
        # a second round removes nothing and counts nothing twice
        again = await remove_old(pool, cfg.service, chunk=2)
        assert again.total() == 0
        assert _counters((await metrics.render(pool)).decode()) == before
    finally:
        await pool.close()
    left = query(pg_url, "SELECT job, status FROM gcx_svc_runs ORDER BY id")
    assert left == [("crm", "running"), ("crm", "waiting"), ("crm", "ok")]
    assert query(pg_url, "SELECT event_id FROM gcx_svc_events ORDER BY id") == [("e-pending",), ("e-new",)]
    assert sorted(p.name for p in reports.iterdir()) == ["plans", "run-9.json"]
    assert (reports / "plans" / "plan-1.json").exists()


@pytest.mark.postgres
async def test_zero_days_keeps_everything(pg_url: str, tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, keep_runs_days=0, keep_events_days=0))
    _seed(pg_url)
    pool = db.open_pool(pg_url)
    await pool.open()
    try:
        assert (await remove_old(pool, cfg.service)).total() == 0
    finally:
        await pool.close()
    assert query(pg_url, "SELECT count(*) FROM gcx_svc_runs") == [(7,)]


@pytest.mark.postgres
@pytest.mark.real_clock  # the worker's deferrer sends the tick of */5 that fell in the last 10 minutes
async def test_the_service_schedules_one_round_for_the_fleet(pg_url: str, tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, retention_schedule="*/5 * * * *"))
    _seed(pg_url)
    service = Service(cfg, pg_url)
    periodic = service.app.periodic_registry.periodic_tasks
    task = next(p for (name, _), p in periodic.items() if name == RETENTION_TASK)
    assert task.cron == "*/5 * * * *"
    assert task.configure_kwargs["lock"] == task.configure_kwargs["queueing_lock"] == "gcx-retention"
    await service.open()
    try:
        await service.app.tasks[RETENTION_TASK].defer_async(timestamp=0)
        assert await service.app.run_worker_async(wait=False, install_signal_handlers=False) is None
    finally:
        await service.close()
    assert query(pg_url, "SELECT count(*) FROM gcx_svc_events") == [(2,)]
    # the job deferred above, and the tick of the schedule the worker's periodic deferrer sent
    statuses = query(pg_url, "SELECT status FROM procrastinate_jobs WHERE task_name = %s", (RETENTION_TASK,))
    assert statuses and {s for (s,) in statuses} == {"succeeded"}


@pytest.mark.postgres
async def test_plans_decided_long_ago_go_with_their_documents_waiting_and_in_flight_ones_stay(
    pg_url: str, tmp_path: Path
) -> None:
    cfg = load_config(_config(tmp_path, keep_runs_days=90))
    ConsoleDb(ledger_url(pg_url)).close()  # the console's tables, as a console makes them
    plans = [  # job, state, made days ago, decided days ago (None: never decided)
        ("crm", "applied", 100, 99),
        ("crm", "rejected", 120, 95),
        ("crm", "stale", 92, None),  # replaced while it waited
        ("push", "failed", 200, 91),
        ("crm", "applied", 100, 2),  # decided recently: kept
        ("crm", "pending", 300, None),  # still waiting: kept however old
        ("crm", "approved", 100, 100),  # queued for a worker: kept
        ("crm", "applying", 100, 100),
    ]
    import psycopg

    with psycopg.connect(pg_url, autocommit=True) as conn:
        for i, (job, state, made, decided) in enumerate(plans, start=1):
            conn.execute(
                "INSERT INTO gcx_console_approvals (id, job, plan_path, created_at, reason, summary, state, "
                "decided_at) VALUES (%s, %s, '', %s, 'always', '{}', %s, %s)",
                (i, job, _days_ago_iso(made), state, None if decided is None else _days_ago_iso(decided)),
            )
            conn.execute(
                "INSERT INTO gcx_console_plans (approval_id, digest, size, document) VALUES (%s, 'd', 1, %s)",
                (i, b"x"),
            )
    pool = db.open_pool(pg_url)
    await pool.open()
    try:
        removed = await remove_old(pool, cfg.service, chunk=2)
        assert removed.approvals == {"crm": 3, "push": 1}
        text = (await Metrics().render(pool)).decode()
        assert 'gcx_retention_removed_total{job="crm",what="approvals"} 3.0' in text
        assert (await remove_old(pool, cfg.service, chunk=2)).total() == 0
    finally:
        await pool.close()
    kept = [(5, "applied"), (6, "pending"), (7, "approved"), (8, "applying")]
    assert query(pg_url, "SELECT id, state FROM gcx_console_approvals ORDER BY id") == kept
    assert query(pg_url, "SELECT approval_id FROM gcx_console_plans ORDER BY approval_id") == [
        (5,),
        (6,),
        (7,),
        (8,),
    ]


@pytest.mark.postgres
async def test_a_database_no_console_opened_has_no_plans_to_remove(pg_url: str, tmp_path: Path) -> None:
    cfg = load_config(_config(tmp_path, keep_runs_days=90))
    _seed(pg_url)
    pool = db.open_pool(pg_url)
    await pool.open()
    try:
        removed = await remove_old(pool, cfg.service)
    finally:
        await pool.close()
    assert removed.approvals == {} and removed.runs == {"crm": 3, "push": 1}
    assert query(pg_url, "SELECT to_regclass('gcx_console_approvals') IS NULL") == [(True,)]


def _days_ago_iso(days: int) -> str:
    return datetime.fromtimestamp(time.time() - days * 86_400, UTC).isoformat(timespec="seconds")
