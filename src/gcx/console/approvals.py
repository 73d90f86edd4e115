"""Plan approval: when a job's plan must wait for an operator, and the queue of waiting plans.

A job's policy (``approval = "always"``, ``approval_above = N``, ``approval_on_delete = true``)
is checked against the plan's counts by :func:`approval_reasons` (pure). A plan that needs
approval is stored ``pending`` (the console says *waiting*), its document in the database with
its SHA-256 (:meth:`ApprovalStore.submit`); an operator approves or rejects it; an approved plan
is applied exactly (see :mod:`gcx.console.execute`, :func:`gcx.console.jobflow.apply_approved`),
in the web process (standalone console) or by a worker (the service), and ends ``applied``,
``stale`` (re-planned: a new pending approval replaces it) or ``failed``. States only move
forward::

    pending -> approved -> applying -> applied | stale | failed
    pending -> rejected | stale (a newer plan replaced it)

:func:`refusal` says, in words, why an approval that is not pending cannot be decided again.
"""

from __future__ import annotations

import hashlib
import json
import os
import tempfile
import zlib
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any

from sqlalchemy import and_, delete, insert, select, update

from gcx.console.db import ConsoleDb, now_iso
from gcx.errors import ConfigError

STATES = ("pending", "approved", "applying", "applied", "rejected", "stale", "failed")
_FROM: dict[str, tuple[str, ...]] = {
    "approved": ("pending",),
    "rejected": ("pending",),
    "applying": ("approved",),
    "applied": ("approved", "applying"),
    "failed": ("approved", "applying"),
    "stale": ("pending", "approved", "applying"),
}
#: What each state is called on the console's pages.
LABELS = {
    "pending": "waiting",
    "approved": "approved, queued",
    "applying": "applying",
    "applied": "applied",
    "rejected": "rejected",
    "stale": "stale",
    "failed": "failed",
}
#: States in which the approval may still change without anyone acting (the page refreshes).
IN_FLIGHT = ("approved", "applying")


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
    plan_digest: str | None = None
    service_run: int | None = None

    @property
    def label(self) -> str:
        return LABELS.get(self.state, self.state)


def refusal(approval: Approval, action: str = "approve") -> str:
    """Pure: why ``approval`` (not pending) cannot be approved or rejected, in an operator's words."""
    who = f" by {approval.decided_by}" if approval.decided_by else ""
    when = f" at {approval.decided_at}" if approval.decided_at else ""
    head = f"approval #{approval.id} cannot be {action}d: "
    tail = "; nothing was done"
    if approval.state in IN_FLIGHT:
        why = f"it was already approved{who}{when} and is {LABELS[approval.state]}"
    elif approval.state == "applied":
        why = f"it was already approved{who} and applied" + (
            f" (run #{approval.run_id})" if approval.run_id is not None else ""
        )
    elif approval.state == "rejected":
        why = f"it was rejected{who}{when}"
    elif approval.state == "stale":
        why = "it is stale" + (
            f": plan #{approval.replaced_by} replaced it, decide on that one"
            if approval.replaced_by is not None
            else f" ({approval.note or 'superseded'})"
        )
    elif approval.state == "failed":
        why = f"it was approved{who} and its apply failed ({approval.note or 'see the activity'})"
    else:
        why = f"it is {approval.state}"
    return head + why + tail


def plan_digest(document: bytes) -> str:
    return hashlib.sha256(document).hexdigest()


_CHUNK = 1 << 20


def _pack(path: Path) -> tuple[bytes, str, int]:
    """The file gzipped (level 6), its SHA-256 and size, read as a stream."""
    sha, packer, parts, size = hashlib.sha256(), zlib.compressobj(6, zlib.DEFLATED, 31), [], 0
    with path.open("rb") as fh:
        for chunk in iter(lambda: fh.read(_CHUNK), b""):
            sha.update(chunk)
            size += len(chunk)
            parts.append(packer.compress(chunk))
    parts.append(packer.flush())
    return b"".join(parts), sha.hexdigest(), size


def _unpack(packed: bytes, out: IO[bytes]) -> str:
    """Write the gunzipped ``packed`` to ``out`` a chunk at a time; returns its SHA-256."""
    sha, unpacker = hashlib.sha256(), zlib.decompressobj(31)
    for start in range(0, len(packed), _CHUNK):
        data = packed[start : start + _CHUNK]
        while data:
            chunk = unpacker.decompress(data, _CHUNK)
            sha.update(chunk)
            out.write(chunk)
            data = unpacker.unconsumed_tail
    rest = unpacker.flush()
    sha.update(rest)
    out.write(rest)
    return sha.hexdigest()


#: Plans decided for good (and their documents) a console keeps by default
#: (``gcx console serve --keep-approvals``).
DEFAULT_KEEP_APPROVALS = 1_000
#: States an approval ends in: only these are ever dropped to keep the bound.
FINISHED = ("applied", "rejected", "stale", "failed")


class ApprovalStore:
    """The approvals and their plan documents. With ``keep`` set, submitting a plan drops the
    oldest approvals decided for good (:data:`FINISHED`) beyond the newest ``keep`` of them, with
    their documents; a plan waiting, approved or being applied is never dropped (a job has at most
    one waiting: a newer plan makes the older one stale)."""

    def __init__(self, db: ConsoleDb, *, keep: int | None = None) -> None:
        self.db = db
        self.keep = keep

    def submit(
        self,
        job: str,
        plan: str | Path,
        reasons: list[str],
        summary: dict[str, Any],
        *,
        service_run: int | None = None,
    ) -> Approval:
        """Queue the plan file ``plan``: its document is stored in the database (the file may be
        deleted afterwards); an older plan of the same job still waiting is superseded (stale)
        and its document dropped (decided plans keep theirs: their pages show what was decided)."""
        path = Path(plan)
        packed, digest, size = _pack(path)
        t = self.db.approvals
        with self.db.engine.begin() as conn:
            res = conn.execute(
                insert(t).values(
                    job=job,
                    plan_path=path.name,
                    created_at=now_iso(),
                    reason="; ".join(reasons),
                    summary=json.dumps(summary, sort_keys=True, default=str),
                    state="pending",
                    plan_digest=digest,
                    service_run=service_run,
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
            new_id = int(pk[0])
            conn.execute(
                insert(self.db.plans).values(approval_id=new_id, digest=digest, size=size, document=packed)
            )
            superseded = (
                conn.execute(
                    update(t)
                    .where(and_(t.c.job == job, t.c.state == "pending", t.c.id != new_id))
                    .values(
                        state="stale",
                        replaced_by=new_id,
                        decided_at=now_iso(),
                        note="a newer plan replaced it",
                    )
                    .returning(t.c.id)
                )
                .scalars()
                .all()
            )
            if superseded:  # never decided, never applicable again: a job planning every 15 minutes
                # under approval would otherwise keep a copy of its source per run
                conn.execute(delete(self.db.plans).where(self.db.plans.c.approval_id.in_(list(superseded))))
            if self.keep is not None:
                self._trim(conn, self.keep)
        found = self.get(new_id)
        assert found is not None
        return found

    def _trim(self, conn: Any, keep: int) -> None:
        """Drop the finished approvals older than the newest ``keep`` finished ones, with their
        plan documents (in ``conn``'s transaction)."""
        t, finished = self.db.approvals, self.db.approvals.c.state.in_(FINISHED)
        edge = conn.execute(
            select(t.c.id).where(finished).order_by(t.c.id.desc()).offset(keep).limit(1)
        ).scalar()
        if edge is None:
            return
        gone = select(t.c.id).where(and_(finished, t.c.id <= edge))
        conn.execute(delete(self.db.plans).where(self.db.plans.c.approval_id.in_(gone)))
        conn.execute(delete(t).where(and_(finished, t.c.id <= edge)))

    def stored_digest(self, approval_id: int) -> str | None:
        """The SHA-256 of the stored plan (None: not stored)."""
        p = self.db.plans
        with self.db.engine.connect() as conn:
            return conn.execute(select(p.c.digest).where(p.c.approval_id == approval_id)).scalar()

    def plan_document(self, approval_id: int) -> bytes | None:
        """The plan's document as submitted, in memory (None: not stored); see :meth:`plan_file`."""
        with self.plan_file(approval_id) as path:
            return path.read_bytes() if path is not None else None

    @contextmanager
    def plan_file(self, approval_id: int, legacy: str | None = None) -> Iterator[Path | None]:
        """The plan as a private (0600) temporary file for the body, removed afterwards; None
        when it is not stored (an older approval's ``legacy`` path is used when it exists).
        Decompressed as a stream (memory: the compressed document and one chunk); refused
        (:class:`ConfigError`) when it does not match its digest."""
        p = self.db.plans
        with self.db.engine.connect() as conn:
            row = conn.execute(select(p.c.digest, p.c.document).where(p.c.approval_id == approval_id)).first()
        if row is None:
            yield Path(legacy) if legacy and Path(legacy).is_absolute() and Path(legacy).is_file() else None
            return
        fd, name = tempfile.mkstemp(prefix=f"gcx-plan-{approval_id}-", suffix=".json")  # mode 0600
        try:
            with os.fdopen(fd, "wb") as fh:
                digest = _unpack(row[1], fh)
            if digest != row[0]:
                raise ConfigError(f"approval {approval_id}: the stored plan does not match its digest")
            yield Path(name)
        finally:
            Path(name).unlink(missing_ok=True)

    def approve(self, approval_id: int, by: str) -> bool:
        """Record ``by``'s approval of a pending plan (atomic: two clicks, one winner)."""
        return self.move(approval_id, "approved", by=by)

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
        plan_digest=r.get("plan_digest"),
        service_run=r.get("service_run"),
    )
