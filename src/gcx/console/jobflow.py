"""A job run under an approval policy, and the apply of an approved plan: the calls a worker
(or a standalone console) makes.

``run_with_approval`` plans first (a dry run); when the job's policy says the plan must wait
(:func:`~gcx.console.approvals.approval_reasons`), the plan is stored in the approvals queue
(its document in the database) and nothing is written; otherwise exactly that plan is applied
at once (:func:`~gcx.console.execute.apply_exact`). A job without a policy is applied directly.

``apply_approved`` applies a plan an operator approved: it moves the approval to ``applying``,
checks the stored plan against the digest recorded at the decision, applies it exactly (or
finds it stale and queues the fresh plan as waiting), records the outcome on the approval and
in the activity log, and returns it. An ``interrupted`` or ``busy`` outcome leaves the approval
``applying``: applying it again resumes it.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

from gcx.console.approvals import Approval, ApprovalPolicy, ApprovalStore, approval_reasons
from gcx.console.audit import AuditLog
from gcx.console.execute import (
    ApplyOutcome,
    JobTarget,
    apply_exact,
    apply_source,
    plan_job,
    plan_signature,
    read_plan_ops,
)
from gcx.errors import ConfigError
from gcx.sync.report import RunReport
from gcx.sync.source import Source


@dataclass(frozen=True)
class FlowOutcome:
    """``applied`` (report of the run), ``waiting`` (approval queued) or ``failed``."""

    state: str
    report: RunReport | None = None
    approval: Approval | None = None
    reason: str = ""


async def run_with_approval(
    target: JobTarget,
    source: Source,
    policy: ApprovalPolicy,
    approvals: ApprovalStore,
    *,
    service_run: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> FlowOutcome:
    if not policy.active:
        report = await apply_source(target, source, should_stop=should_stop)
        return FlowOutcome(
            "failed" if report.status == "error" else "applied", report, reason=report.error or ""
        )
    planned = await plan_job(target, source, should_stop)
    if planned.plan_path is None:
        return FlowOutcome("failed", planned.report, reason=planned.report.error or "planning failed")
    counts = planned.report.planned.to_json()
    reasons = approval_reasons(policy, counts)
    if reasons:
        try:
            approval = approvals.submit(
                target.name, planned.plan_path, reasons, {"planned": counts}, service_run=service_run
            )
        finally:
            _discard(planned.plan_path)  # kept in the database now
        return FlowOutcome("waiting", planned.report, approval, "; ".join(reasons))
    outcome = await apply_exact(target, Path(planned.plan_path), should_stop=should_stop)
    _discard(planned.plan_path)
    if outcome.state == "applied":
        return FlowOutcome("applied", outcome.report, reason=outcome.reason)
    # stale between two steps of one run (someone edited meanwhile): the next run plans again
    return FlowOutcome("failed", outcome.report, reason=outcome.reason)


@dataclass(frozen=True)
class ApprovedResult:
    """What became of an approved plan: ``state`` is the approval's state now (``applied``,
    ``stale``, ``failed``; ``applying`` when interrupted or busy: apply it again to resume;
    ``skipped`` when it was not approved any more)."""

    state: str
    outcome: ApplyOutcome | None = None
    fresh: Approval | None = None  # the re-planned approval that waits instead (stale)
    reason: str = ""


async def apply_approved(
    target: JobTarget,
    approval: Approval,
    approvals: ApprovalStore,
    audit: AuditLog,
    *,
    source: Source | None = None,
    service_run: int | None = None,
    should_stop: Callable[[], bool] | None = None,
) -> ApprovedResult:
    """Apply the approved ``approval`` exactly (see the module's docstring). ``source``: the job's
    source as it is now (None: the plan's own records); ``service_run``: the service's run row,
    given to a fresh plan that waits again."""
    current = approvals.get(approval.id)
    if current is None or current.state not in ("approved", "applying"):
        state = current.state if current is not None else "gone"
        return ApprovedResult("skipped", reason=f"approval {approval.id} is {state}: nothing to apply")
    resume = current.state == "applying"
    if not resume and not approvals.move(current.id, "applying"):
        return ApprovedResult("skipped", reason=f"approval {approval.id} was taken by another worker")
    who = current.decided_by or "worker"
    target_name = f"approval:{current.id}"
    stored = approvals.stored_digest(current.id)
    try:
        if stored is None or (current.plan_digest is not None and stored != current.plan_digest):
            raise ConfigError("the approved plan is not stored any more, or not the one approved")
        with approvals.plan_file(current.id) as plan:
            assert plan is not None
            outcome = await apply_exact(target, plan, source=source, resume=resume, should_stop=should_stop)
    except ConfigError as exc:  # checked before anything is planned or written
        note = f"{exc}: nothing was written"
        approvals.move(current.id, "failed", note=note)
        audit.record(who, "apply", target_name, {"job": target.name, "reason": note}, outcome="failed")
        return ApprovedResult("failed", reason=note)
    return _record(target, current, outcome, approvals, audit, who, service_run)


def _record(
    target: JobTarget,
    approval: Approval,
    outcome: ApplyOutcome,
    approvals: ApprovalStore,
    audit: AuditLog,
    who: str,
    service_run: int | None,
) -> ApprovedResult:
    """The outcome of an apply, on the approval and in the activity log."""
    name = f"approval:{approval.id}"
    detail: dict[str, object] = {"job": target.name, "plan": (approval.plan_digest or "")[:12]}
    if outcome.state == "applied":
        note = outcome.reason + ("" if not outcome.differences else ": " + "; ".join(outcome.differences))
        approvals.move(approval.id, "applied", note=note, run_id=outcome.run_id)
        audit.record(who, "apply", name, {**detail, "run": outcome.run_id})
        return ApprovedResult("applied", outcome, reason=note)
    if outcome.state == "stale" and outcome.fresh_plan is not None:
        note = outcome.reason + (": " + "; ".join(outcome.differences) if outcome.differences else "")
        fresh = None
        report = outcome.report
        planned = report.planned.to_json() if report is not None else {}
        try:
            if plan_signature(read_plan_ops(outcome.fresh_plan)):
                fresh = approvals.submit(
                    target.name,
                    outcome.fresh_plan,
                    [f"re-planned from approval {approval.id}: {outcome.reason}"],
                    {"planned": planned, "replanned_from": approval.id},
                    service_run=service_run,
                )
            else:
                note += " (the fresh plan has nothing to write: nothing waits)"
        finally:
            outcome.fresh_plan.unlink(missing_ok=True)
        approvals.move(approval.id, "stale", note=note, replaced_by=fresh.id if fresh else None)
        extra = {"replanned": fresh.id} if fresh else {}
        audit.record(who, "apply", name, {**detail, **extra, "why": note[:500]}, outcome="stale")
        return ApprovedResult("stale", outcome, fresh, reason=note)
    if outcome.state in ("interrupted", "busy"):
        audit.record(who, "apply", name, {**detail, "reason": outcome.reason}, outcome=outcome.state)
        return ApprovedResult("applying", outcome, reason=outcome.reason)
    approvals.move(approval.id, "failed", note=outcome.reason, run_id=outcome.run_id)
    audit.record(who, "apply", name, {**detail, "reason": outcome.reason}, outcome="failed")
    return ApprovedResult("failed", outcome, reason=outcome.reason)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)  # applied: the run's own files keep what was done
