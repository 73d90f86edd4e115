"""Running a job's sync for the console: plan, wait for approval when the policy says so, and
apply *exactly* the approved plan.

Every run leaves two files in the job's reports directory, which the run page reads:
``run-<id>.json`` (the :class:`~gcx.sync.report.RunReport`) and ``run-<id>.ops.json`` (every
op as decided, with its per-field changes, in the plan file format). Plans waiting for an
operator are saved under ``plans/``.

Applying an approved plan (:func:`apply_exact`) first takes the job's ledger lease (no sync run
and no console edit can change the ledger meanwhile) and re-plans against Genesys and the
ledger as they are now, from the job's current source when it is given (the service), else
from the plan's own records (a dry run). When that gives the same operations and values as the
approved plan, the plan's records are applied with a guard: an operation that is not in the
approved plan (something changed in the instant between the re-plan and the write) stops the
run before it is written. When anything differs, the plan is *stale*: the fresh plan is
returned so it can be approved anew, and nothing is written. A resumed apply (the first one was
interrupted by a shutdown) may find part of the plan already done: it goes on when what is left
is part of the approved plan.
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import Callable, Iterable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, field, replace
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcx.sync.engine import SyncEngine
from gcx.sync.errors import LedgerLockedError, SyncError
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.plan import Op
from gcx.sync.planfile import PlanSource, PlanWriter
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.runfiles import keep_failed_run, keep_run_files, ops_writer
from gcx.sync.source import Source

ClientFactory = Callable[[], AbstractAsyncContextManager[Any]]
RemoteFactory = Callable[[Any], Remote]

Signature = tuple[tuple[str, str, str, str, str], ...]


@dataclass(frozen=True)
class JobTarget:
    """What running one job's sync needs: where its ledger is, how to reach its Genesys org."""

    name: str
    ledger_url: str
    region: str
    reports_dir: Path
    client: ClientFactory
    options: SyncOptions = field(default_factory=SyncOptions)
    remote: RemoteFactory = Remote
    ledger_prefix: str = "gcx_"  # the service keeps one ledger per job in its database: gcx_<job>_
    # where run reports live when not in reports_dir (the service's runs table): run id -> report
    report_loader: Callable[[int], dict[str, Any] | None] | None = None


@dataclass(frozen=True)
class PlanResult:
    plan_path: Path | None
    report: RunReport


@dataclass(frozen=True)
class ApplyOutcome:
    """``applied`` (run_id set), ``stale`` (fresh_plan set, nothing written), ``failed``,
    ``interrupted`` (a shutdown: the batches in flight were written; resume it) or ``busy``
    (another run holds the ledger: nothing was done, try again)."""

    state: str
    run_id: int | None = None
    fresh_plan: Path | None = None
    report: RunReport | None = None
    reason: str = ""
    differences: list[str] = field(default_factory=list)


def _stamp() -> str:
    return datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")


def op_signature(op: dict[str, Any]) -> tuple[str, str, str, str, str]:
    """Pure: what makes an op the same op (its kind, key, target id and the values written)."""
    changes = sorted(
        (str(c.get("field")), json.dumps(c.get("to"), sort_keys=True)) for c in op.get("changes") or []
    )
    values = json.dumps(op.get("values"), sort_keys=True) if op.get("op") == "create" else ""
    return (
        str(op.get("op")),
        str(op.get("kind")),
        str(op.get("externalId")),
        str(op.get("genesysId") or ""),
        json.dumps(changes) + values,
    )


def writes_data(op: dict[str, Any]) -> bool:
    """Pure: does this op change a record's data? Not an unchanged record, nor an update without
    changes: that only adds gcx's identity to a record that already matches the source (a plan
    made before gcx's External Source exists shows it unchanged: "apply will add it")."""
    kind = op.get("op")
    return kind != "unchanged" and not (kind == "update" and not op.get("changes"))


def plan_signature(ops: Iterable[dict[str, Any]]) -> Signature:
    """Pure: the writes of a plan (records whose data it leaves as they are left out),
    order-independent."""
    return tuple(sorted(op_signature(o) for o in ops if writes_data(o)))


def read_plan_ops(path: Path) -> list[dict[str, Any]]:
    data = json.loads(path.read_text(encoding="utf-8"))
    ops = data.get("ops") if isinstance(data, dict) else None
    return [o for o in ops if isinstance(o, dict)] if isinstance(ops, list) else []


def differences(approved: Signature, fresh: Signature, limit: int = 20) -> list[str]:
    """Pure: human lines saying how a fresh plan differs from the approved one."""
    a, f = set(approved), set(fresh)
    out = [f"no longer planned: {s[0]} {s[1]} {s[2]}" for s in sorted(a - f)]
    out += [f"now planned: {s[0]} {s[1]} {s[2]}" for s in sorted(f - a)]
    return out[:limit]


class NotApproved(SyncError):
    """An apply under approval met an operation the operator did not approve: it stopped there."""


def approved_only(approved: Signature) -> Callable[[Op], None]:
    """An ``on_op`` guard: raises :class:`NotApproved` (before the op is queued for writing) for
    any op that writes and is not in ``approved``."""
    allowed = set(approved)

    def check(op: Op) -> None:
        data = op.to_json()
        if writes_data(data) and op_signature(data) not in allowed:
            raise NotApproved(
                f"{op.op} {op.kind} {op.key} is not in the approved plan (Genesys, the ledger or the "
                "source changed while it was applied): stopped before writing it"
            )

    return check


async def _run(
    target: JobTarget,
    source: Source,
    *,
    dry_run: bool,
    writer: PlanWriter | None,
    options: SyncOptions | None = None,
    should_stop: Callable[[], bool] | None = None,
    guard: Callable[[Op], None] | None = None,
) -> RunReport:
    def on_op(op: Op) -> None:
        if guard is not None:
            guard(op)
        if writer is not None:
            writer.op(op)

    engine: SyncEngine | None = None
    try:
        with Ledger(target.ledger_url, prefix=target.ledger_prefix) as ledger:
            async with target.client() as gc:
                engine = SyncEngine(
                    ledger=ledger,
                    source=source,
                    remote=target.remote(gc),
                    region=target.region,
                    options=options or target.options,
                    dry_run=dry_run,
                    on_op=on_op,
                    should_stop=should_stop,
                )
                report = await engine.run()
    except BaseException as exc:
        # an apply keeps what it decided (and maybe wrote), marked incomplete; a plan keeps nothing
        if writer is not None:
            if writer.keep_incomplete:
                keep_failed_run(writer, engine.report if engine is not None else None, exc)
            else:
                writer.close(None)
        raise
    if writer is not None:
        writer.close(report)
    return report


def _writer(path: Path, source: Source, options: SyncOptions) -> PlanWriter:
    return PlanWriter(path, source=source.description, options=options.to_json())


async def plan_job(
    target: JobTarget, source: Source, should_stop: Callable[[], bool] | None = None
) -> PlanResult:
    """A dry run saved as a plan file under ``plans/`` (None when the plan did not complete)."""
    path = target.reports_dir / "plans" / f"plan-{_stamp()}.json"
    writer = _writer(path, source, target.options)
    report = await _run(target, source, dry_run=True, writer=writer, should_stop=should_stop)
    return PlanResult(path if path.exists() else None, report)


async def apply_source(
    target: JobTarget,
    source: Source,
    options: SyncOptions | None = None,
    *,
    should_stop: Callable[[], bool] | None = None,
    guard: Callable[[Op], None] | None = None,
) -> RunReport:
    """Apply (no approval step), keeping the run's report and ops for the run page."""
    opts = options or target.options
    writer = ops_writer(target.reports_dir, source.description, opts.to_json())  # kept even if incomplete
    report = await _run(
        target, source, dry_run=False, writer=writer, options=opts, should_stop=should_stop, guard=guard
    )
    keep_run_files(target.reports_dir, report, writer.path)
    return report


async def apply_exact(
    target: JobTarget,
    plan_path: Path,
    *,
    source: Source | None = None,
    resume: bool = False,
    should_stop: Callable[[], bool] | None = None,
    lease_wait: float = 30.0,
) -> ApplyOutcome:
    """Apply the approved plan at ``plan_path`` if, and only if, it is still what would be done.

    ``source``: the job's source as it is now (re-planned from it: a source changed since the
    plan makes it stale); None re-plans the plan's own records. ``resume``: an earlier apply of
    this plan was interrupted, so part of it may be done already."""
    plan = PlanSource(plan_path)
    approved = plan_signature(read_plan_ops(plan_path))
    options = _plan_options(plan.options(), target.options)
    lease = Ledger(target.ledger_url, prefix=target.ledger_prefix)
    try:
        if not await _take_lease(lease, lease_wait):
            return ApplyOutcome("busy", reason="another run holds the job's ledger: nothing was done yet")
        fresh = await plan_job(replace(target, options=options), source or plan, should_stop)
    finally:
        lease.release()
        lease.close()
    if fresh.plan_path is None:
        state = "interrupted" if fresh.report.status == "interrupted" else "failed"
        return ApplyOutcome(state, report=fresh.report, reason=fresh.report.error or "re-planning failed")
    fresh_sig = plan_signature(read_plan_ops(fresh.plan_path))
    same = set(fresh_sig) <= set(approved) if resume else fresh_sig == approved
    if not same:
        return ApplyOutcome(
            "stale",
            fresh_plan=fresh.plan_path,
            report=fresh.report,
            reason="the source, Genesys or the ledger changed since this plan was made: it was re-planned",
            differences=differences(approved, fresh_sig),
        )
    fresh.plan_path.unlink(missing_ok=True)
    report = await apply_source(target, plan, options, should_stop=should_stop, guard=approved_only(approved))
    if report.status == "interrupted":
        return ApplyOutcome("interrupted", run_id=report.run_id, report=report, reason=report.error or "")
    if report.status == "error" or report.run_id is None:
        return ApplyOutcome(
            "failed", run_id=report.run_id, report=report, reason=report.error or "apply failed"
        )
    done = plan_signature(read_plan_ops(target.reports_dir / f"run-{report.run_id}.ops.json"))
    diff = differences(approved, done) if done != approved and not resume else []
    return ApplyOutcome(
        "applied",
        run_id=report.run_id,
        report=report,
        reason="applied" if not diff else "applied; records changed while it ran (see the differences)",
        differences=diff,
    )


async def _take_lease(ledger: Ledger, wait: float) -> bool:
    """The ledger's run lease, waiting up to ``wait`` seconds for a run or an edit to end."""
    deadline = time.monotonic() + wait
    while True:
        try:
            ledger.acquire()
            return True
        except LedgerLockedError:
            if time.monotonic() >= deadline:
                return False
            await asyncio.sleep(0.5)


def _plan_options(saved: dict[str, Any], default: SyncOptions) -> SyncOptions:
    """The options the plan was made with (prune, threshold...) over the job's defaults."""
    on_conflict = saved.get("onConflict", default.on_conflict)
    return SyncOptions(
        prune=bool(saved.get("prune", default.prune)),
        force=bool(saved.get("force", default.force)),
        prune_threshold=float(saved.get("pruneThreshold", default.prune_threshold)),
        on_conflict="report" if on_conflict == "report" else "source-wins",
        trust_ledger=bool(saved.get("trustLedger", default.trust_ledger)),
        batch_size=int(saved.get("batchSize", default.batch_size)),
        external_source=str(saved.get("externalSource", default.external_source)),
    )
