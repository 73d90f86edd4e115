"""The console's narrow view of the service: which jobs exist and how a plan gets applied.

The ``gcx serve`` web process gives the console a :class:`JobDirectory` (its jobs, their
schedules and pending webhook events) and a :class:`PlanExecutor` (how an approved plan is
applied: in this process, or handed to a worker). Everything else the console reads itself:
the ledger (runs, ops, records), the run files in each job's reports directory, and Genesys
through the job's client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Protocol

from gcx.console.approvals import Approval, ApprovalPolicy
from gcx.console.execute import ApplyOutcome, JobTarget, apply_exact


@dataclass(frozen=True)
class JobInfo:
    target: JobTarget
    source: str = ""
    schedule: str | None = None
    next_run: str | None = None
    pending_events: int = 0
    approval: ApprovalPolicy = field(default_factory=ApprovalPolicy)

    @property
    def name(self) -> str:
        return self.target.name


class JobDirectory(Protocol):
    def jobs(self) -> Sequence[JobInfo]:
        """Every job, fresh (next run and pending events as of now)."""
        ...


class PlanExecutor(Protocol):
    async def execute(self, job: JobInfo, approval: Approval) -> ApplyOutcome:
        """Apply exactly the approved plan (or report it stale); see :func:`apply_exact`."""
        ...


@dataclass(frozen=True)
class StaticJobs:
    """A fixed list of jobs (a standalone console, tests)."""

    items: Sequence[JobInfo]

    def jobs(self) -> Sequence[JobInfo]:
        return self.items


class InProcessExecutor:
    """Applies the plan in the web process itself (a standalone console, tests)."""

    async def execute(self, job: JobInfo, approval: Approval) -> ApplyOutcome:
        return await apply_exact(job.target, Path(approval.plan_path))


def find_job(jobs: JobDirectory, name: str) -> JobInfo | None:
    for job in jobs.jobs():
        if job.name == name:
            return job
    return None
