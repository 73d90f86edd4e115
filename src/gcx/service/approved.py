"""Approved plans in the service: the web process records the decision, a worker applies the plan.

* :class:`WorkerExecutor` is the console's :class:`~gcx.console.backend.PlanExecutor` in ``gcx
  serve web`` / ``run``. Approving records the decision (who, when, which plan and its digest:
  the approval row and the activity log), marks the waiting run ``approved`` and defers the
  procrastinate task ``gcx.apply_approved`` (lock ``gcx-job:<job>``: never beside another run
  of the job; queueing lock ``gcx-approval:<id>``: queued once). The web process makes no
  Genesys request and needs no Genesys credentials. Rejecting ends the waiting run ``rejected``.
* :func:`run_approved` is that task on a worker: the job's ledger lease, a re-plan from the
  job's current source, the apply of exactly the approved operations (or a stale plan that
  waits again), recorded as a service run (trigger ``approval``) like any other. A shutdown
  stops it after the batch in flight; procrastinate's retry resumes it (``RunNotFinished``),
  and a worker that died has its task put back by the stalled-job recovery.
* :func:`settle_waiting_runs`: a run that ended ``waiting`` takes its plan's fate once decided
  (``approved``, ``rejected`` or ``stale``), so the run list says what happened to it.

The plan itself is in the database (``gcx_console_plans``): web and workers share no disk.
"""

from __future__ import annotations

import logging
from typing import TYPE_CHECKING, Any

from gcx.service import database as db
from gcx.service.runner import report_summary, source_for

if TYPE_CHECKING:
    from gcx.console.approvals import Approval, ApprovalStore
    from gcx.console.audit import AuditLog
    from gcx.console.backend import JobInfo
    from gcx.service.tasks import Service

log = logging.getLogger("gcx.service")

#: Attempts of one approved plan's task (a shutdown or a busy ledger uses one) before it fails.
ATTEMPTS = 20

_SETTLE = """
UPDATE gcx_svc_runs r
SET status = CASE a.state WHEN 'rejected' THEN 'rejected' WHEN 'stale' THEN 'stale' ELSE 'approved' END
FROM gcx_console_approvals a
WHERE a.service_run = r.id AND r.status = 'waiting' AND a.state <> 'pending'
"""


async def settle_waiting_runs(service: Service) -> None:
    """Waiting runs whose plan was decided take its fate (``approved``, ``rejected``, ``stale``)."""
    async with service.pool.connection() as conn:
        await conn.execute(_SETTLE)


def run_status(state: str, report_status: str | None, waits_again: bool) -> str:
    """Pure: the service run's status for what became of an approved plan (its approval's
    ``state`` after the attempt)."""
    if state == "applied":
        return report_status or "ok"
    if state == "stale":
        return "waiting" if waits_again else "stale"  # the fresh plan waits, as a scheduled run's would
    if state == "applying":
        return "interrupted"  # resumed by the retry
    return "skipped" if state == "skipped" else "error"


class WorkerExecutor:
    """Hands approved plans to the workers (the web process writes nothing to Genesys)."""

    def __init__(self, service: Service) -> None:
        self.service = service

    async def approved(
        self, job: JobInfo, approval: Approval, approvals: ApprovalStore, audit: AuditLog
    ) -> str:
        try:
            await settle_waiting_runs(self.service)
            queued = await self.service.defer_approved(job.name, approval.id)
        except Exception as exc:  # the workers' sweep queues it (see Service.sweep_approvals)
            log.warning(
                "approved plan not queued yet",
                extra={"job": job.name, "approval": approval.id, "error": str(exc)},
            )
            return "approved"
        log.info("approved plan queued", extra={"job": job.name, "approval": approval.id, "queued": queued})
        return "approved"

    async def rejected(self, approval: Approval) -> None:
        await settle_waiting_runs(self.service)


async def run_approved(service: Service, name: str, approval_id: int, *, last_attempt: bool) -> None:
    """The worker's side of an approved plan (see the module's docstring). Raises
    :class:`~gcx.service.tasks.RunNotFinished` when it was interrupted or the ledger was busy:
    procrastinate retries it, and the retry resumes it."""
    from gcx.console.audit import AuditLog
    from gcx.console.jobflow import apply_approved
    from gcx.service.console import job_target
    from gcx.service.tasks import RunNotFinished, worker_name

    job = service.cfg.job(name)
    store = service.approvals()
    audit = AuditLog(store.db)
    approval = store.get(approval_id)
    if approval is None or approval.state not in ("approved", "applying") or approval.job != name:
        log.info("approved plan: nothing to do", extra={"job": name, "approval": approval_id})
        return
    run_id = await db.start_run(service.pool, name, "approval", worker_name())
    log.info("approved plan started", extra={"job": name, "approval": approval_id, "run": run_id})
    try:
        result = await apply_approved(
            job_target(service.cfg, job, service.fleet),
            approval,
            store,
            audit,
            source=source_for(job, service.fleet.env),
            service_run=run_id,
            should_stop=service.stopping.is_set,
        )
    except Exception as exc:  # a source that cannot be read, a database error...
        reason = str(exc) or type(exc).__name__
        store.move(approval_id, "failed", note=reason)
        audit.record(approval.decided_by or "worker", "apply", f"approval:{approval_id}", {"job": name,
                     "reason": reason}, outcome="failed")  # fmt: skip
        await db.finish_run(service.pool, run_id, status="error", error=reason)
        log.error("approved plan failed", extra={"job": name, "approval": approval_id, "error": reason})
        return
    outcome = result.outcome
    report = outcome.report if outcome is not None else None
    summary: dict[str, Any] | None = report_summary(report) if report is not None else None
    status = run_status(result.state, report.status if report is not None else None, result.fresh is not None)
    await db.finish_run(
        service.pool,
        run_id,
        status=status,
        error=None if status in ("ok", "partial", "waiting") else result.reason or None,
        report=summary,
    )
    await settle_waiting_runs(service)
    log.info(
        "approved plan finished",
        extra={
            "job": name,
            "approval": approval_id,
            "run": run_id,
            "state": result.state,
            "reason": result.reason,
        },
    )
    if result.state == "applying":
        if last_attempt:
            note = f"gave up after {ATTEMPTS} attempts: {result.reason}"
            store.move(approval_id, "failed", note=note)
            audit.record(approval.decided_by or "worker", "apply", f"approval:{approval_id}", {"job": name,
                         "reason": note}, outcome="failed")  # fmt: skip
            return
        raise RunNotFinished(f"job {name}: approved plan {approval_id} not finished: {result.reason}")
