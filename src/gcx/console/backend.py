"""The console's narrow view of the service: which jobs exist and how a plan gets applied.

The ``gcx serve`` web process gives the console a :class:`JobDirectory` (its jobs, their
schedules and pending webhook events) and a :class:`PlanExecutor` (what follows an operator's
decision: a standalone console applies the approved plan in its own process
(:class:`InProcessExecutor`); the service queues it for a worker and writes nothing itself). Everything else the console reads itself:
the ledger (runs, ops, records), the run files in each job's reports directory, and Genesys
through the job's client.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass, field
from typing import Protocol

from gcx.console.approvals import Approval, ApprovalPolicy, ApprovalStore
from gcx.console.audit import AuditLog
from gcx.console.execute import JobTarget
from gcx.console.jobflow import apply_approved


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
    async def approved(
        self, job: JobInfo, approval: Approval, approvals: ApprovalStore, audit: AuditLog
    ) -> str:
        """An operator approved ``approval`` (recorded): have exactly that plan applied (see
        :func:`gcx.console.jobflow.apply_approved`). Returns the approval's state afterwards."""
        ...

    async def rejected(self, approval: Approval) -> None:
        """An operator rejected ``approval`` (recorded)."""
        ...


@dataclass(frozen=True)
class StaticJobs:
    """A fixed list of jobs (a standalone console, tests)."""

    items: Sequence[JobInfo]

    def jobs(self) -> Sequence[JobInfo]:
        return self.items


class InProcessExecutor:
    """Applies the plan in the web process itself, within the approving request (a standalone
    console: ``gcx console serve`` has no worker). Re-plans from the plan's own records."""

    async def approved(
        self, job: JobInfo, approval: Approval, approvals: ApprovalStore, audit: AuditLog
    ) -> str:
        return (await apply_approved(job.target, approval, approvals, audit)).state

    async def rejected(self, approval: Approval) -> None:
        return None


def find_job(jobs: JobDirectory, name: str) -> JobInfo | None:
    for job in jobs.jobs():
        if job.name == name:
            return job
    return None
