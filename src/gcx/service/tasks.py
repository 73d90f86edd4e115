"""The jobs as procrastinate tasks: schedules, one run per job at a time, retries, stalled workers.

* ``gcx.run_job(job)``: a scheduled run (a periodic task per job with a ``schedule``).
* ``gcx.apply_events(job)``: applies the job's pending webhook events in one coalesced run,
  deferred by the web process ``coalesce_seconds`` after the first event of a burst.
* ``gcx.apply_approved(job, approval)``: applies a plan an operator approved in the console
  (deferred by the web process; see :mod:`gcx.service.approved`), retried by procrastinate
  after a shutdown or while the ledger is busy (the retry resumes it).

Every task of a job carries the procrastinate ``lock`` ``gcx-job:<job>``: whatever the number
of workers, one run of a job at a time (the ledger's run lock is the second fence). The
``queueing_lock`` keeps at most one waiting run per job and trigger. A run interrupted by a
shutdown or failing as a whole is retried (``RETRY``). A worker that dies (``kill -9``) stops
sending heartbeats: after ``stalled_after`` seconds any live worker puts its jobs back in the
queue (:func:`recover_stalled`), where another worker resumes them from the ledger.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import socket
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from procrastinate import App, JobContext, PsycopgConnector, RetryStrategy
from procrastinate.exceptions import AlreadyEnqueued
from procrastinate.jobs import Status
from procrastinate.types import TimeDeltaParams
from psycopg_pool import AsyncConnectionPool

from gcx.service import approved as approved_plans
from gcx.service import database as db
from gcx.service import retention
from gcx.service.config import JobConfig, ServiceConfig
from gcx.service.database import ledger_url
from gcx.service.intake import coalesce
from gcx.service.runner import Fleet, report_summary, run_sync, source_for

if TYPE_CHECKING:
    from gcx.console.approvals import ApprovalStore
    from gcx.sync.report import RunReport

log = logging.getLogger("gcx.service")

RUN_TASK = "gcx.run_job"
SCHEDULED_TASK = "gcx.scheduled_run"
APPLY_TASK = "gcx.apply_events"
APPROVED_TASK = "gcx.apply_approved"


_UNQUEUED_APPROVALS = """
SELECT a.id, a.job FROM gcx_console_approvals a
WHERE a.state = 'approved' AND NOT EXISTS (
    SELECT 1 FROM procrastinate_jobs j
    WHERE j.task_name = %s AND j.status IN ('todo', 'doing') AND j.args->>'approval' = a.id::text)
"""


class RunNotFinished(Exception):
    """A run ended in error or was interrupted: it is queued again (see :meth:`Service._guarded`)."""


#: Seconds before a run that did not finish is tried again, by attempt (then the last one).
RETRY_DELAYS = (1.0, 5.0, 15.0, 60.0, 300.0)


def job_lock(job: str) -> str:
    return f"gcx-job:{job}"


def worker_name() -> str:
    import os

    return f"{socket.gethostname()}:{os.getpid()}"


class Service:
    """Everything one process (worker or web) shares: config, app, pool, fleet, stop flag."""

    def __init__(
        self,
        cfg: ServiceConfig,
        url: str,
        *,
        transport: Callable[[Any], Any] | None = None,
    ) -> None:
        self.cfg = cfg
        self.url = url
        self.fleet = Fleet(url, transport=transport, data_dir=cfg.service.data_dir)
        self.pool: AsyncConnectionPool = db.open_pool(url)
        self.stopping = asyncio.Event()
        self.app = App(connector=PsycopgConnector(conninfo=url))
        self._approvals: ApprovalStore | None = None  # the console's queue, for jobs under approval
        self._register()

    # ------------------------------------------------------------------ tasks

    def _register(self) -> None:
        app = self.app

        @app.task(name=RUN_TASK, pass_context=True)
        async def run_job(context: JobContext, job: str) -> None:
            await self._guarded(job, self.run_scheduled, context)

        @app.task(name=SCHEDULED_TASK, pass_context=True)
        async def scheduled(context: JobContext, timestamp: int, job: str) -> None:
            await self._guarded(job, self.run_scheduled, context)

        @app.task(name=APPLY_TASK, pass_context=True)
        async def apply_events(context: JobContext, job: str) -> None:
            await self._guarded(job, self.apply_pending, context)

        retention.register(app, self)

        @app.task(
            name=APPROVED_TASK,
            pass_context=True,
            retry=RetryStrategy(
                max_attempts=approved_plans.ATTEMPTS, wait=1, linear_wait=3, retry_exceptions={RunNotFinished}
            ),
        )
        async def apply_approved(context: JobContext, job: str, approval: int) -> None:
            attempts = context.job.attempts if context.job is not None else 0
            last = attempts + 1 >= approved_plans.ATTEMPTS
            await approved_plans.run_approved(self, job, approval, last_attempt=last)

        for job in self.cfg.jobs.values():
            if job.schedule:
                app.periodic(
                    cron=job.schedule,
                    periodic_id=job.name,
                    task_kwargs={"job": job.name},
                    lock=job_lock(job.name),
                    queueing_lock=f"gcx-run:{job.name}",
                )(scheduled)
        self.run_job = run_job
        self.apply_events = apply_events
        self.apply_approved = apply_approved

    async def open(self) -> None:
        await self.pool.open(wait=True)
        await self.app.open_async()

    async def close(self) -> None:
        await self.app.close_async()
        await self.pool.close()
        self.fleet.close()
        if self._approvals is not None:
            self._approvals.db.close()

    # ------------------------------------------------------------------ running

    async def _run(self, job: JobConfig, trigger: str, records: list[dict[str, Any]] | None) -> str:
        run_id = await db.start_run(self.pool, job.name, trigger, worker_name())
        log.info("run started", extra={"job": job.name, "trigger": trigger, "run": run_id})
        if records is None and job.approval is not None:
            return await self._run_under_approval(job, run_id)
        crashed: list[RunReport] = []
        try:
            report = await run_sync(
                job, self.fleet, records=records, should_stop=self.stopping.is_set, on_failure=crashed.append
            )
        except Exception as exc:  # config errors, a source that cannot be read, a bug...
            await self._failed(job, run_id, exc, crashed)
            raise
        await db.finish_run(
            self.pool,
            run_id,
            status=report.status,
            events=len(records or []),
            error=report.error,
            report=report_summary(report),
        )
        log.info(
            "run finished",
            extra={
                "job": job.name,
                "run": run_id,
                "status": report.status,
                "requests": report.requests,
                "seconds": round(report.seconds, 3),
            },
        )
        if report.status not in ("ok", "partial"):
            raise RunNotFinished(f"job {job.name}: run {run_id} ended {report.status}: {report.error}")
        return report.status

    async def _failed(self, job: JobConfig, run_id: int, exc: Exception, crashed: list[RunReport]) -> None:
        """A run that raised: its row says why, with the report so far when the run had got its
        ledger id (``crashed``: its ``runId`` leads to the run page and the ops it kept)."""
        error = crashed[-1].error if crashed else None
        summary = report_summary(crashed[-1]) if crashed else None
        await db.finish_run(
            self.pool, run_id, status="error", error=error or str(exc) or type(exc).__name__, report=summary
        )
        log.error("run failed", extra={"job": job.name, "run": run_id, "error": str(exc)})

    async def _run_under_approval(self, job: JobConfig, run_id: int) -> str:
        """A job with an approval policy: plan, and queue the plan for an operator in the console
        (``waiting``, with the plan's report: nothing written; approved there, a worker applies
        exactly that plan: :mod:`gcx.service.approved`) or apply it at once when the policy lets
        it through (:func:`gcx.console.jobflow.run_with_approval`)."""
        from gcx.console.jobflow import run_with_approval
        from gcx.service.console import job_target

        assert job.approval is not None
        try:
            flow = await run_with_approval(
                job_target(self.cfg, job, self.fleet),
                source_for(job, self.fleet.env),
                job.approval,
                self.approvals(),
                service_run=run_id,
                should_stop=self.stopping.is_set,
            )
        except Exception as exc:
            await self._failed(job, run_id, exc, [])
            raise
        report = flow.report
        if flow.state == "waiting":
            assert flow.approval is not None
            summary = report_summary(report) if report is not None else None
            await db.finish_run(self.pool, run_id, status="waiting", error=None, report=summary)
            await approved_plans.settle_waiting_runs(self)  # a plan it replaced: its run is stale
            log.info(
                "plan waiting for approval",
                extra={"job": job.name, "run": run_id, "approval": flow.approval.id, "reason": flow.reason},
            )
            return "waiting"
        status = report.status if flow.state == "applied" and report is not None else "error"
        await db.finish_run(
            self.pool,
            run_id,
            status=status,
            error=(report.error if report is not None else None) or flow.reason or None,
            report=report_summary(report) if report is not None else None,
        )
        log.info("run finished", extra={"job": job.name, "run": run_id, "status": status})
        if status not in ("ok", "partial"):
            raise RunNotFinished(f"job {job.name}: run {run_id} ended {status}: {flow.reason}")
        return status

    def approvals(self) -> ApprovalStore:
        """The console's approval queue in the service database (opened on first use)."""
        if self._approvals is None:
            from gcx.console.approvals import ApprovalStore
            from gcx.console.db import ConsoleDb

            self._approvals = ApprovalStore(ConsoleDb(ledger_url(self.url)))
        return self._approvals

    async def _guarded(
        self, name: str, action: Callable[[JobConfig], Awaitable[None]], context: JobContext
    ) -> None:
        """Run ``action``; a run that did not finish is queued again (after a delay growing
        with the attempts) instead of failing the procrastinate job. A new job is deferred
        rather than procrastinate's retry, because a retry may not take the place of the run
        already waiting under the same queueing lock (it would fail, and hold the job's lock)."""
        job = self.cfg.job(name)
        try:
            await action(job)
        except RunNotFinished as exc:
            streak = await db.unfinished_streak(self.pool, name)
            delay = RETRY_DELAYS[min(max(streak - 1, 0), len(RETRY_DELAYS) - 1)]
            if self.stopping.is_set():
                delay = 0.0  # interrupted by a shutdown: the next worker resumes at once
            log.warning("run queued again", extra={"job": name, "in_seconds": delay, "reason": str(exc)})
            if job.is_webhook:
                await self.defer_apply(name, delay=delay)
            else:
                await self.defer_run(name, delay=delay)

    async def run_scheduled(self, job: JobConfig) -> None:
        if job.is_webhook:
            await self.apply_pending(job)
            return
        await self._run(job, "schedule", None)

    async def apply_pending(self, job: JobConfig) -> None:
        """Apply the job's pending events once the burst is quiet for ``coalesce_seconds`` (or
        its first event is ``coalesce_max_seconds`` old), in runs of ``max_batch_events``."""
        s = self.cfg.service
        ages = await db.pending_ages(self.pool, job.name)
        if ages is None:
            return
        oldest, newest = ages
        if newest < s.coalesce_seconds and oldest < s.coalesce_max_seconds:
            wait = min(s.coalesce_seconds - newest, s.coalesce_max_seconds - oldest)
            await self.defer_apply(job.name, delay=max(0.2, wait))
            return
        limit = s.max_batch_events
        while not self.stopping.is_set():
            pending = await db.pending_events(self.pool, job.name, limit)
            if not pending:
                return
            retry = await self._run_events(job, pending)
            if retry:  # records that failed for a transient reason: their events wait for the next batch
                await self.defer_apply(job.name, delay=max(1.0, self.cfg.service.coalesce_seconds))
                return
            if len(pending) < limit:
                return

    async def _run_events(self, job: JobConfig, pending: list[db.PendingEvent]) -> int:
        """Apply pending events in one run; mark applied all but those of records that failed
        for a transient reason (429, 5xx, no answer). Returns how many stay pending."""
        records = coalesce(p.record for p in pending)
        run_id = await db.start_run(self.pool, job.name, "webhook", worker_name())
        crashed: list[RunReport] = []
        try:
            report = await run_sync(
                job, self.fleet, records=records, should_stop=self.stopping.is_set, on_failure=crashed.append
            )
        except Exception as exc:
            await self._failed(job, run_id, exc, crashed)
            raise
        ok = report.status in ("ok", "partial")
        await db.finish_run(
            self.pool,
            run_id,
            status=report.status,
            events=len(pending),
            error=report.error,
            report=report_summary(report),
        )
        if not ok:
            log.info(
                "webhook batch not finished", extra={"job": job.name, "run": run_id, "status": report.status}
            )
            raise RunNotFinished(
                f"job {job.name}: webhook run {run_id} ended {report.status}: {report.error}"
            )
        transient = {
            (f["kind"], f["externalId"])
            for f in report.failures
            if f.get("status") is None or f["status"] == 429 or f["status"] >= 500
        }
        done = [p.id for p in pending if (p.kind, p.external_id) not in transient]
        # after the run's row: a death in between re-applies them (idempotent), never loses them
        await db.mark_applied(self.pool, done, run_id)
        log.info(
            "webhook batch applied",
            extra={
                "job": job.name,
                "run": run_id,
                "events": len(done),
                "records": len(records),
                "pending": len(pending) - len(done),
                "requests": report.requests,
            },
        )
        return len(pending) - len(done)

    # ------------------------------------------------------------------ deferring

    async def defer_apply(self, job: str, *, delay: float | None = None) -> bool:
        """Queue an apply of ``job``'s pending events (False: one is already waiting)."""
        wait = self.cfg.service.coalesce_seconds if delay is None else delay
        try:
            await self.apply_events.configure(
                lock=job_lock(job),
                queueing_lock=f"gcx-hooks:{job}",
                schedule_in=TimeDeltaParams(milliseconds=int(wait * 1000)) if wait > 0 else None,
            ).defer_async(job=job)
        except AlreadyEnqueued:
            return False
        return True

    async def defer_approved(self, job: str, approval_id: int) -> bool:
        """Queue the apply of an approved plan (False: it is already queued)."""
        try:
            await self.apply_approved.configure(
                lock=job_lock(job), queueing_lock=f"gcx-approval:{approval_id}"
            ).defer_async(job=job, approval=approval_id)
        except AlreadyEnqueued:
            return False
        return True

    async def defer_run(self, job: str, *, delay: float = 0.0) -> bool:
        """Queue a run of ``job`` (False: one is already waiting)."""
        try:
            await self.run_job.configure(
                lock=job_lock(job),
                queueing_lock=f"gcx-run:{job}",
                schedule_in=TimeDeltaParams(milliseconds=int(delay * 1000)) if delay > 0 else None,
            ).defer_async(job=job)
        except AlreadyEnqueued:
            return False
        return True

    # ------------------------------------------------------------------ maintenance

    async def recover_stalled(self) -> list[int]:
        """Jobs of workers that stopped sending heartbeats (``kill -9``, a lost host): each is
        closed as failed (which frees its job's lock) and its run is queued again, to resume
        from the ledger on a live worker."""
        manager = self.app.job_manager
        recovered: list[int] = []
        for job in await manager.get_stalled_jobs(seconds_since_heartbeat=self.cfg.service.stalled_after):
            assert job.id is not None
            try:
                await manager.finish_job(job, status=Status.FAILED, delete_job=False)
            except Exception as exc:  # another worker got to it first
                log.debug("stalled job %s not recovered: %s", job.id, exc)
                continue
            name = str((job.task_kwargs or {}).get("job", ""))
            if name in self.cfg.jobs:
                if job.task_name == APPLY_TASK:
                    await self.defer_apply(name, delay=0)
                elif job.task_name == APPROVED_TASK:  # resumed: the approval is still 'applying'
                    await self.defer_approved(name, int(str((job.task_kwargs or {}).get("approval", 0))))
                else:
                    await self.defer_run(name)
            recovered.append(job.id)
            log.warning(
                "stalled job put back in the queue",
                extra={"procrastinate_job": job.id, "task": job.task_name, "job": name},
            )
        if recovered:
            await manager.prune_stalled_workers(self.cfg.service.stalled_after)
        return recovered

    async def sweep_events(self) -> None:
        """Make sure every job with pending events has an apply queued (e.g. a lost defer)."""
        for job in await db.jobs_with_pending_events(self.pool):
            if job in self.cfg.jobs:
                await self.defer_apply(job)

    async def sweep_approvals(self) -> None:
        """Make sure every approved plan has its apply queued or running (e.g. the web process
        approved it and lost its database connection before deferring)."""
        if not any(j.approval is not None for j in self.cfg.jobs.values()):
            return
        async with self.pool.connection() as conn:
            found = await (await conn.execute("SELECT to_regclass('gcx_console_approvals')")).fetchone()
            if found is None or found[0] is None:
                return  # the console has not created its tables yet: nothing was approved
            cur = await conn.execute(_UNQUEUED_APPROVALS, (APPROVED_TASK,))
            rows = await cur.fetchall()
        for approval_id, job in rows:
            if job in self.cfg.jobs:
                await self.defer_approved(str(job), int(approval_id))

    async def maintenance(self) -> None:
        interval = self.cfg.service.heartbeat_interval
        while not self.stopping.is_set():
            try:
                await self.recover_stalled()
                await self.sweep_events()
                await self.sweep_approvals()
            except Exception as exc:
                log.warning("maintenance round failed: %s", exc)
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self.stopping.wait(), timeout=interval)

    async def run_worker(self) -> None:
        """Run jobs until :attr:`stopping` is set (SIGTERM), then finish the batches in flight."""
        s = self.cfg.service
        worker = asyncio.create_task(
            self.app.run_worker_async(
                name=worker_name(),
                concurrency=s.concurrency,
                install_signal_handlers=False,
                update_heartbeat_interval=s.heartbeat_interval,
                stalled_worker_timeout=s.stalled_after,
                fetch_job_polling_interval=min(5.0, s.heartbeat_interval),
                delete_jobs="successful",
            )
        )
        upkeep = asyncio.create_task(self.maintenance())
        stop = asyncio.create_task(self.stopping.wait())
        await asyncio.wait({worker, stop}, return_when=asyncio.FIRST_COMPLETED)
        self.stopping.set()
        worker.cancel()
        for task in (worker, upkeep, stop):
            with contextlib.suppress(asyncio.CancelledError):
                await task
