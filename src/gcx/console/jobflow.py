"""One job run under an approval policy: the call a worker makes instead of a plain apply.

``run_with_approval`` plans first (a dry run saved under ``plans/``); when the job's policy says
the plan must wait (:func:`~gcx.console.approvals.approval_reasons`), it is queued for an
operator and nothing is written; otherwise exactly that plan is applied at once
(:func:`~gcx.console.execute.apply_exact`). A job without a policy is applied directly.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path

from gcx.console.approvals import Approval, ApprovalPolicy, ApprovalStore, approval_reasons
from gcx.console.execute import JobTarget, apply_exact, apply_source, plan_job
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
    target: JobTarget, source: Source, policy: ApprovalPolicy, approvals: ApprovalStore
) -> FlowOutcome:
    if not policy.active:
        report = await apply_source(target, source)
        return FlowOutcome(
            "failed" if report.status == "error" else "applied", report, reason=report.error or ""
        )
    planned = await plan_job(target, source)
    if planned.plan_path is None:
        return FlowOutcome("failed", planned.report, reason=planned.report.error or "planning failed")
    counts = planned.report.planned.to_json()
    reasons = approval_reasons(policy, counts)
    if reasons:
        approval = approvals.submit(target.name, str(planned.plan_path), reasons, {"planned": counts})
        return FlowOutcome("waiting", planned.report, approval, "; ".join(reasons))
    outcome = await apply_exact(target, Path(planned.plan_path))
    _discard(planned.plan_path)
    if outcome.state == "applied":
        return FlowOutcome("applied", outcome.report, reason=outcome.reason)
    # stale between two steps of one run (someone edited meanwhile): the next run plans again
    return FlowOutcome("failed", outcome.report, reason=outcome.reason)


def _discard(path: Path) -> None:
    path.unlink(missing_ok=True)  # applied: the run's own files keep what was done
