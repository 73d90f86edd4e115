"""What ``gcx sync plan|apply`` print about a run: a line per planned change, the summary, the
problems, the report file and the exit code, and the plan shown before an apply asks."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Any

import typer

from gcx.cli.context import CliContext, CliError, PartialFailure
from gcx.cli.output import Output, OutputFormat
from gcx.cli.sync_run import run_sync

if TYPE_CHECKING:
    from gcx.sync.options import SyncOptions
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport


def op_line(op: Op) -> str:
    head = f"{op.op:<9} {op.kind:<12} {op.key}"
    if op.line is not None:
        head += f" (line {op.line})"
    if op.adopted and op.op != "create":
        head += " [adopt]"
    parts = [f"{c.path}: {c.old!r} -> {c.new!r}" for c in op.changes]
    parts += [
        f"CONFLICT {c.path}: Genesys {c.old!r}, last applied {c.last!r}, source {c.new!r}"
        for c in op.conflicts
        if c not in op.changes
    ]
    return head + (("  " + "; ".join(parts)) if parts else "")


def summary_lines(report: RunReport) -> list[str]:
    lines = []
    p = report.planned.counts
    for kind in ("organization", "contact"):
        c = p[kind]
        lines.append(
            f"{kind}s: {c['create']} to create, {c['update']} to update, {c['move']} to move, "
            f"{c['unchanged']} unchanged, {c['delete']} to delete"
            + (f", {c['conflict']} with conflicts" if c["conflict"] else "")
        )
    if not report.dry_run:
        t = report.totals()
        lines.append(
            f"applied: {t['created']} created, {t['updated']} updated, {t['moved']} moved, "
            f"{t['deleted']} deleted, {t['adopted']} adopted, {t['failed']} failed"
        )
    lines.append(f"invalid rows: {len(report.invalid)}")
    line = _adoption_line(report)
    if line:
        lines.append(line)
    if report.reconciled["found"] or report.reconciled["absent"]:
        lines.append(
            f"reconciled from an interrupted run: {report.reconciled['found']} applied, "
            f"{report.reconciled['absent']} not applied"
        )
    lines.append(f"API requests: {report.requests} in {report.seconds:.1f} s")
    return lines


def _adoption_line(report: RunReport) -> str | None:
    a = report.adoption
    if not a:
        return None
    if set(a.get("strategy", {}).values()) == {"off"}:
        return "adoption checks: off (--no-adoption-checks)"
    if not a.get("checks") and not a.get("adopted"):
        return None
    rate = a.get("ratePerMinute")
    pace = f"about {a['seconds']:g} s at {rate:g} requests/min" if rate else "requests not paced"
    if report.dry_run:
        return (
            f"adoption checks: apply will make up to {a['checks']} ({pace}) for "
            f"{a['candidates']} record(s) made outside gcx and {a['keys']} key(s) not found by the scan; "
            "creates found to exist are adopted instead"
        )
    return f"adoption checks: {a['checks']} made ({pace}), {a['adopted']} record(s) adopted"


def _print_problems(out: Output, report: RunReport, limit: int = 20) -> None:
    rows = [
        f"{_where(i.get('line'))}{i.get('kind') or ''} {i.get('externalId') or ''} "
        f"{('field ' + str(i['field']) + ': ') if i.get('field') else ''}{i.get('reason')}"
        for i in report.invalid
    ]
    rows += [
        f"{_where(f.get('line'))}{f['kind']} {f['externalId']} ({f['op']}) "
        f"{('field ' + str(f['field']) + ': ') if f.get('field') else ''}{f['reason']}"
        + (f" [{f['status']} {f.get('code') or ''}]" if f.get("status") else "")
        for f in report.failures
    ]
    for row in rows[:limit]:
        out.warn(" ".join(row.split()))
    if len(rows) > limit:
        out.warn(f"... and {len(rows) - limit} more (see the report)")
    for c in report.conflicts[:limit]:
        fields = ", ".join(f"{f['field']} (Genesys {f['from']!r}, source {f['to']!r})" for f in c["fields"])
        verb = "overwritten" if c["policy"] == "source-wins" else "left as is"
        out.warn(f"conflict on {c['kind']} {c['externalId']}: {fields}: {verb}")
    if len(report.conflicts) > limit:
        out.warn(f"... and {len(report.conflicts) - limit} more conflicts (see the report)")
    for w in report.warnings:
        out.warn(w)


def _where(line: object) -> str:
    """``"line 12: "`` for a source row; nothing for a record the source no longer has (a prune)."""
    return f"line {line}: " if line is not None else ""


def finish(
    cli: CliContext,
    report: RunReport,
    exc: BaseException | None,
    url: str,
    report_path: Path | None,
    *,
    max_invalid: int = 0,
) -> None:
    from gcx.sync.report import default_report_path

    out = cli.out
    path = report_path or default_report_path(url, report.run_id, command=report.command)
    written: str | None = None
    try:
        report.write(path)
    except OSError as write_error:  # after the writes: say so, but the run's own outcome decides the exit
        written = write_error.strerror or str(write_error)
    if out.format is OutputFormat.json or (out.format is OutputFormat.jsonl and not report.dry_run):
        out.data(report.to_json())
    for line in summary_lines(report):
        out.message(line)
    _print_problems(out, report)
    if written is None:
        out.message(f"report: {path}")
    else:
        out.warn(
            f"could not write the report to {path}: {written}; the run itself is recorded in the "
            "ledger (gcx sync status) and the summary above is its outcome"
        )
    if exc is not None:
        raise exc
    if report.status == "error":
        raise CliError(report.error or "the sync failed")
    if report.exit_code == 3 and not report.failures and len(report.invalid) <= max_invalid:
        out.message(
            f"{len(report.invalid)} invalid row(s) accepted (--max-invalid {max_invalid}); "
            "every valid row is synced"
        )
        return
    if report.exit_code == 3:
        rest = "the rest would sync" if report.command == "plan" or report.dry_run else "the rest is synced"
        raise PartialFailure(
            f"{len(report.invalid)} invalid row(s) and {len(report.failures)} failed record(s); "
            f"{rest} (details in {path})"
        )


def preview_and_ask(cli: CliContext, src: Any, ledger: str | None, opts: SyncOptions) -> None:
    """Plan first (reads only), show its summary, and go on only when the person says yes."""
    report, exc, _ = run_sync(
        cli, source=src, ledger_arg=ledger, options=opts, dry_run=True, on_op=None, out=cli.out
    )
    if exc is not None:
        raise exc
    if report.status == "error":
        raise CliError(report.error or "the plan failed")
    for line in summary_lines(report)[:-1]:  # without the request count
        cli.out.message(line)
    changes = sum(
        report.planned.counts[k][op]
        for k in ("organization", "contact")
        for op in ("create", "update", "move", "delete")
    )
    if not changes:
        return  # nothing to approve: the apply only confirms it
    if not typer.confirm("Apply these changes?", default=False, err=True):
        raise CliError("aborted: nothing was changed (--yes applies without asking)")
