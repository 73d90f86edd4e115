"""Plan approval: when a job's plan must wait for an operator, and the queue of waiting plans.

A job's policy (``approval = "always"``, ``approval_above = N``, ``approval_on_delete = true``)
is checked against the plan's counts by :func:`approval_reasons` (pure). A plan that needs
approval is stored ``pending``; an operator approves or rejects it; an approved plan is applied
exactly (see :mod:`gcx.console.execute`) and ends ``applied``, ``stale`` (re-planned: a new
pending approval replaces it) or ``failed``. States only move forward:
``pending -> approved -> applied|stale|failed`` and ``pending -> rejected|stale``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import and_, insert, select, update

from gcx.console.db import ConsoleDb, now_iso
from gcx.errors import ConfigError

STATES = ("pending", "approved", "applied", "rejected", "stale", "failed")
_FROM: dict[str, tuple[str, ...]] = {
    "approved": ("pending",),
    "rejected": ("pending",),
    "applied": ("approved",),
    "failed": ("approved",),
    "stale": ("pending", "approved"),
}


@dataclass(frozen=True)
class ApprovalPolicy:
    always: bool = False
    above: int | None = None  # more than this many changes (creates+updates+moves+deletes)
    on_delete: bool = False

    @property
    def active(self) -> bool:
        return self.always or self.above is not None or self.on_delete

    def describe(self) -> str:
        if not self.active:
            return "none"
        parts = []
        if self.always:
            parts.append("every plan")
        if self.above is not None:
            parts.append(f"more than {self.above} changes")
        if self.on_delete:
            parts.append("any delete")
        return ", ".join(parts)

    @classmethod
    def from_config(cls, data: dict[str, Any], *, job: str) -> ApprovalPolicy:
        """``approval = "always"|"never"``, ``approval_above = N``, ``approval_on_delete = bool``."""
        mode = data.get("approval", "never")
        if mode not in ("always", "never"):
            raise ConfigError(f"job {job}: approval must be 'always' or 'never', got {mode!r}")
        above = data.get("approval_above")
        if above is not None and (not isinstance(above, int) or isinstance(above, bool) or above < 0):
            raise ConfigError(f"job {job}: approval_above must be a whole number >= 0, got {above!r}")
        on_delete = data.get("approval_on_delete", False)
        if not isinstance(on_delete, bool):
            raise ConfigError(f"job {job}: approval_on_delete must be true or false, got {on_delete!r}")
        return cls(always=mode == "always", above=above, on_delete=on_delete)


def change_counts(planned: dict[str, Any]) -> dict[str, int]:
    """Pure: creates/updates/moves/deletes over both kinds, from a plan's ``planned`` counts."""
    out = {"create": 0, "update": 0, "move": 0, "delete": 0}
    for kind in ("organization", "contact"):
        counts = planned.get(kind) or {}
        for op in out:
            out[op] += int(counts.get(op, 0) or 0)
    return out


def approval_reasons(policy: ApprovalPolicy, planned: dict[str, Any]) -> list[str]:
    """Pure: why this plan must wait for an operator (empty: it may be applied at once)."""
    counts = change_counts(planned)
    total = sum(counts.values())
    reasons = []
    if policy.always and total:
        reasons.append("the job requires approval of every plan")
    if policy.above is not None and total > policy.above:
        reasons.append(f"{total} changes, more than the {policy.above} allowed without approval")
    if policy.on_delete and counts["delete"]:
        reasons.append(f"{counts['delete']} delete(s)")
    return reasons


@dataclass(frozen=True)
class Approval:
    id: int
    job: str
    plan_path: str
    created_at: str
    reason: str
    summary: dict[str, Any]
    state: str
    decided_by: str | None
    decided_at: str | None
    note: str | None
    run_id: int | None
    replaced_by: int | None


class ApprovalStore:
    def __init__(self, db: ConsoleDb) -> None:
        self.db = db

    def submit(self, job: str, plan_path: str, reasons: list[str], summary: dict[str, Any]) -> Approval:
        """Queue a plan; an older plan of the same job still waiting is superseded (stale)."""
        t = self.db.approvals
        with self.db.engine.begin() as conn:
            res = conn.execute(
                insert(t).values(
                    job=job,
                    plan_path=plan_path,
                    created_at=now_iso(),
                    reason="; ".join(reasons),
                    summary=json.dumps(summary, sort_keys=True, default=str),
                    state="pending",
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
            new_id = int(pk[0])
            conn.execute(
                update(t)
                .where(and_(t.c.job == job, t.c.state == "pending", t.c.id != new_id))
                .values(
                    state="stale", replaced_by=new_id, decided_at=now_iso(), note="a newer plan replaced it"
                )
            )
        found = self.get(new_id)
        assert found is not None
        return found

    def get(self, approval_id: int) -> Approval | None:
        t = self.db.approvals
        with self.db.engine.connect() as conn:
            row = conn.execute(select(t).where(t.c.id == approval_id)).mappings().first()
        return _row(row) if row else None

    def list(self, *, job: str | None = None, state: str | None = None, limit: int = 100) -> list[Approval]:
        t = self.db.approvals
        stmt = select(t).order_by(t.c.id.desc()).limit(limit)
        if job is not None:
            stmt = stmt.where(t.c.job == job)
        if state is not None:
            stmt = stmt.where(t.c.state == state)
        with self.db.engine.connect() as conn:
            return [_row(r) for r in conn.execute(stmt).mappings().all()]

    def move(
        self,
        approval_id: int,
        state: str,
        *,
        by: str | None = None,
        note: str | None = None,
        run_id: int | None = None,
        replaced_by: int | None = None,
    ) -> bool:
        """Move to ``state`` if allowed from the current one (atomic: two clicks, one winner)."""
        if state not in _FROM:
            raise ValueError(f"unknown approval state {state!r}")
        t = self.db.approvals
        values: dict[str, Any] = {"state": state}
        if by is not None:
            values.update(decided_by=by, decided_at=now_iso())
        if note is not None:
            values["note"] = note
        if run_id is not None:
            values["run_id"] = run_id
        if replaced_by is not None:
            values["replaced_by"] = replaced_by
        with self.db.engine.begin() as conn:
            res = conn.execute(
                update(t).where(and_(t.c.id == approval_id, t.c.state.in_(_FROM[state]))).values(**values)
            )
            return bool(res.rowcount)


def _row(r: Any) -> Approval:
    return Approval(
        id=int(r["id"]),
        job=r["job"],
        plan_path=r["plan_path"],
        created_at=r["created_at"],
        reason=r["reason"],
        summary=json.loads(r["summary"]),
        state=r["state"],
        decided_by=r["decided_by"],
        decided_at=r["decided_at"],
        note=r["note"],
        run_id=r["run_id"],
        replaced_by=r["replaced_by"],
    )
