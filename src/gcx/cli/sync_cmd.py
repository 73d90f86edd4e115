"""``gcx sync plan|apply|status|unlock``: make Genesys match a source of truth, run after run.

See ``docs/sync.md``. Exit codes: 0 everything synced, 3 some rows or records failed (the
others are synced; see the report), 1 the run could not proceed (bad mapping, ledger bound to
another org, prune refused...).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import sys
from collections.abc import Callable
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.context import CliContext, CliError, PartialFailure, UsageError, get_cli
from gcx.cli.output import Output, OutputFormat
from gcx.cli.safety import json_safe, terminal_safe
from gcx.redact import redact_url

if TYPE_CHECKING:  # the engine (SQLAlchemy, the client) is imported when a sync command runs
    from gcx.client import AsyncClient
    from gcx.sync.options import SyncOptions
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport
    from gcx.sync.source import Source

DEFAULT_EXTERNAL_SOURCE = "gcx"

app = typer.Typer(
    name="sync",
    help=(
        "Idempotent, resumable sync of a source of truth (CSV + mapping, JSONL, SQL) into External "
        "Organizations and Contacts. plan reads only; apply writes; status shows the ledger.\n\n"
        "Example: gcx sync apply examples/crm_contacts.csv --mapping examples/crm_mapping.toml"
    ),
    no_args_is_help=True,
)

SourceArg = Annotated[
    Path | None,
    typer.Argument(help="CSV (with --mapping) or JSONL file of canonical records.", show_default=False),
]
MappingOpt = Annotated[
    Path | None, typer.Option("--mapping", "-m", help="Mapping file (TOML) for a CSV or SQL source.")
]
LedgerOpt = Annotated[
    str | None,
    typer.Option(
        "--ledger",
        help="Ledger database URL (sqlite:///..., postgresql+psycopg://...) or SQLite file "
        "(default: ./gcx-ledger.sqlite).",
        envvar="GCX_LEDGER",
        show_envvar=False,
    ),
]
SqlUrlOpt = Annotated[
    str | None, typer.Option("--sql-url", help="SQLAlchemy URL of a SQL source (with --query and --mapping).")
]
QueryOpt = Annotated[str | None, typer.Option("--query", help="SQL query of the SQL source.")]
ConflictOpt = Annotated[
    str,
    typer.Option(
        "--on-conflict",
        help="A managed field changed in Genesys since the last sync: source-wins (default) or report.",
    ),
]
AdoptOpt = Annotated[
    bool,
    typer.Option(
        "--adoption-checks/--no-adoption-checks",
        help="Look for records made by hand that hold a source key as an ExternalId identifier "
        "(off: when you know there is nothing to adopt).",
    ),
]
TrustOpt = Annotated[
    bool,
    typer.Option(
        "--trust-ledger",
        help="Compare with the ledger only: no scan, no org check; fetches only changed records.",
    ),
]
PruneOpt = Annotated[
    bool, typer.Option("--prune", help="Delete records gcx created that the source dropped.")
]
ForceOpt = Annotated[
    bool, typer.Option("--force", help="Allow a prune above the threshold (lifts the threshold only).")
]
UnreadableOpt = Annotated[
    bool,
    typer.Option(
        "--accept-unreadable",
        help="Prune even though some source rows could not be read (the records they hold are deleted).",
    ),
]
ThresholdOpt = Annotated[
    float,
    typer.Option(
        "--prune-threshold", min=0.0, max=1.0, help="Most a prune may delete, as a fraction of the ledger."
    ),
]
MaxInvalidOpt = Annotated[
    int,
    typer.Option(
        "--max-invalid",
        min=0,
        metavar="N",
        help="Accept up to N invalid source rows (known bad data): exit 0 instead of 3 when only "
        "invalid rows, no more than N, kept the run from being complete.",
    ),
]
SourceNameOpt = Annotated[
    str, typer.Option("--external-source", help="Name of the External Source gcx links records to.")
]
CountryOpt = Annotated[
    str,
    typer.Option("--phone-country", help="Country for phone numbers without +code in a JSONL source."),
]
ReportOpt = Annotated[
    Path | None, typer.Option("--report", help="Where to write the JSON run report (default: .gcx/reports/).")
]
BatchOpt = Annotated[int, typer.Option("--batch-size", min=1, max=200, help="Records per bulk request.")]
TokensOpt = Annotated[
    int,
    typer.Option(
        "--tokens",
        min=1,
        max=16,
        help="Client-credential tokens to spread the bulk writes over, each paced to its own "
        "--rate-limit (the platform limits each token; see docs/sync.md).",
    ),
]


def _source(
    source: Path | None, mapping: Path | None, sql_url: str | None, query: str | None, phone_country: str
) -> Source:
    from gcx.sync.errors import SourceArgumentError
    from gcx.sync.mapping import load_mapping
    from gcx.sync.source import open_source

    m = load_mapping(mapping) if mapping is not None else None
    try:
        return open_source(
            source, m, sql_url=sql_url, query=query, phone_country=phone_country.upper() or None
        )
    except SourceArgumentError as exc:
        raise UsageError(str(exc)) from None


def _check_conflict(value: str) -> str:
    if value not in ("source-wins", "report"):
        raise typer.BadParameter("must be source-wins or report", param_hint="--on-conflict")
    return value


def _run(
    cli: CliContext,
    *,
    source: Source,
    ledger_arg: str | None,
    options: SyncOptions,
    dry_run: bool,
    on_op: Callable[[Op], None] | None,
    out: Output,
    tokens: int = 1,
) -> tuple[RunReport, BaseException | None, str]:
    from gcx.sync.engine import SyncEngine
    from gcx.sync.ledger import Ledger, ledger_url
    from gcx.sync.remote import Remote
    from gcx.sync.source import check_source

    check_source(source)  # a mapping naming a column the file lacks: said before any request
    url = ledger_url(ledger_arg)
    region = cli.settings().region.name

    async def main() -> tuple[RunReport, BaseException | None]:
        with Ledger(url, create=not dry_run) as ledger, out.progress("connecting", transient=True) as bar:
            # Phases, each with its own count, rate and (for writes) total and time left:
            # reading and planning organizations, writing them, then the same for contacts.
            counts = {"organization": 0, "contact": 0}
            phase: list[tuple[str, str]] = [("", "")]

            def enter(step: str, kind: str, total: int | None) -> None:
                if phase[0] != (step, kind):
                    phase[0] = (step, kind)
                    bar.restart(f"{step} {kind}s", total)

            def progress(kind: str, n: int) -> None:
                enter("reading", kind, None)
                bar.advance(n - counts[kind])
                counts[kind] = n

            def on_write(kind: str, n: int, total: int) -> None:
                enter("writing", kind, total)
                bar.set_total(total)  # planning streams ahead of the writes: the total may grow
                bar.advance(n)

            async with contextlib.AsyncExitStack() as stack:
                gc = await stack.enter_async_context(cli.async_client())
                if not options.trust_ledger:
                    await _check_access(gc, options, dry_run=dry_run, out=out)
                writers = [await stack.enter_async_context(cli.async_client()) for _ in range(tokens - 1)]
                engine = SyncEngine(
                    ledger=ledger,
                    source=source,
                    remote=Remote(gc, writers=writers),
                    region=region,
                    options=options,
                    dry_run=dry_run,
                    on_op=on_op,
                    progress=progress,
                    on_write=on_write,
                )
                if not dry_run:  # what a Ctrl-C during the writes prints after "interrupted"
                    cli.resume_hint = (
                        "nothing is lost: run the same gcx sync apply again, it reconciles what was "
                        "sent and goes on (gcx sync status shows where it stopped)"
                    )
                report = await engine.run()  # a Ctrl-C escapes with the hint still set
                cli.resume_hint = None
                return report, engine.exception

    report, exc = asyncio.run(main())
    return report, exc, url


def _summary_lines(report: RunReport) -> list[str]:
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


def _finish(
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
    for line in _summary_lines(report):
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


async def _check_access(gc: AsyncClient, options: SyncOptions, *, dry_run: bool, out: Output) -> None:
    """Before anything is written: the permissions this run needs (harmless probes, gcx.access).
    A plan warns (it writes nothing); an apply stops with nothing written."""
    from gcx.access import check_sync_access

    problem = await check_sync_access(gc, source_name=options.external_source, prune=options.prune)
    if problem is None:
        return
    if dry_run:
        out.warn(f"apply would be refused: {problem}")
        return
    raise CliError(f"nothing was written: {problem}")


def _options(
    *,
    prune: bool,
    force: bool,
    accept_unreadable: bool,
    threshold: float,
    on_conflict: str,
    trust_ledger: bool,
    batch_size: int,
    external_source: str,
    adoption_checks: bool = True,
) -> SyncOptions:
    from gcx.sync.options import SyncOptions

    policy = _check_conflict(on_conflict)
    return SyncOptions(
        prune=prune,
        force=force,
        accept_unreadable=accept_unreadable,
        prune_threshold=threshold,
        on_conflict="report" if policy == "report" else "source-wins",
        trust_ledger=trust_ledger,
        batch_size=batch_size,
        external_source=external_source,
        adoption_checks=adoption_checks,
    )


def _op_line(op: Op) -> str:
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


@app.command("plan")
def plan_cmd(
    ctx: typer.Context,
    source: SourceArg = None,
    mapping: MappingOpt = None,
    out_file: Annotated[
        Path | None, typer.Option("--out", help="Save the plan (JSON) for apply --plan.")
    ] = None,
    sql_url: SqlUrlOpt = None,
    query: QueryOpt = None,
    ledger: LedgerOpt = None,
    on_conflict: ConflictOpt = "source-wins",
    trust_ledger: TrustOpt = False,
    adoption_checks: AdoptOpt = True,
    prune: PruneOpt = False,
    force: ForceOpt = False,
    accept_unreadable: UnreadableOpt = False,
    prune_threshold: ThresholdOpt = 0.1,
    external_source: SourceNameOpt = DEFAULT_EXTERNAL_SOURCE,
    phone_country: CountryOpt = "US",
    max_invalid: MaxInvalidOpt = 0,
    show: Annotated[
        int,
        typer.Option("--show", min=0, help="Per-record diffs to print (creates, updates, moves, deletes)."),
    ] = 50,
    report_file: ReportOpt = None,
) -> None:
    """Show what apply would do (reads only): counts and per-record diffs (-o jsonl: every decision as a JSON line).

    Example: gcx sync plan examples/crm_contacts.csv -m examples/crm_mapping.toml --out plan.json
    """
    cli = get_cli(ctx)
    src = _source(source, mapping, sql_url, query, phone_country)
    opts = _options(
        prune=prune,
        force=force,
        accept_unreadable=accept_unreadable,
        threshold=prune_threshold,
        on_conflict=on_conflict,
        trust_ledger=trust_ledger,
        batch_size=200,
        external_source=external_source,
        adoption_checks=adoption_checks,
    )
    from gcx.sync.planfile import PlanWriter

    writer = PlanWriter(out_file, source=src.description, options=opts.to_json()) if out_file else None
    shown = {"n": 0, "hidden": 0}
    table = cli.out.format is OutputFormat.table and not cli.out.quiet

    jsonl = cli.out.format is OutputFormat.jsonl

    def on_op(op: Op) -> None:
        if writer is not None:
            writer.op(op)
        if jsonl:  # scripts: every decision as one JSON line, unchanged records included
            cli.out.stdout.write(json_safe(json.dumps(op.to_json(), ensure_ascii=False, default=str)) + "\n")
            return
        if not table or (op.op == "unchanged" and not op.conflicts):
            return
        if shown["n"] < show:
            cli.out.text_line(_op_line(op))
            shown["n"] += 1
        else:
            shown["hidden"] += 1

    report: RunReport | None = None
    try:
        report, exc, url = _run(
            cli, source=src, ledger_arg=ledger, options=opts, dry_run=True, on_op=on_op, out=cli.out
        )
    finally:
        if writer is not None:
            writer.close(report)
    if shown["hidden"]:
        cli.out.message(f"... and {shown['hidden']} more changes (use --show N or --out plan.json)")
    if writer is not None and report is not None and report.status in ("ok", "partial"):
        cli.out.message(f"plan saved to {out_file}")
    _finish(cli, report, exc, url, report_file, max_invalid=max_invalid)


@app.command("apply")
def apply_cmd(
    ctx: typer.Context,
    source: SourceArg = None,
    mapping: MappingOpt = None,
    plan_file: Annotated[
        Path | None, typer.Option("--plan", help="Apply a saved plan (re-checked against Genesys).")
    ] = None,
    sql_url: SqlUrlOpt = None,
    query: QueryOpt = None,
    ledger: LedgerOpt = None,
    prune: PruneOpt = False,
    force: ForceOpt = False,
    accept_unreadable: UnreadableOpt = False,
    prune_threshold: ThresholdOpt = 0.1,
    on_conflict: ConflictOpt = "source-wins",
    trust_ledger: TrustOpt = False,
    adoption_checks: AdoptOpt = True,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Plan only, write nothing (same as sync plan).")
    ] = False,
    batch_size: BatchOpt = 200,
    tokens: TokensOpt = 1,
    report_file: ReportOpt = None,
    external_source: SourceNameOpt = DEFAULT_EXTERNAL_SOURCE,
    phone_country: CountryOpt = "US",
    max_invalid: MaxInvalidOpt = 0,
    yes: Annotated[
        bool,
        typer.Option(
            "--yes",
            "-y",
            help="Do not show the plan and ask first (on a terminal apply asks; a job never does).",
        ),
    ] = False,
) -> None:
    """Make Genesys match the source: organizations first, then contacts, in bulk batches.

    On a terminal, apply first shows what it would change and asks (--yes skips the question);
    without a terminal (cron, CI, a scheduler) it applies straight away.

    Interrupted (Ctrl-C, a crash, kill -9)? Run the same command again: the ledger knows what
    was sent, the next run reconciles it and goes on; nothing is duplicated.

    Example: gcx sync apply examples/crm_contacts.csv -m examples/crm_mapping.toml
    """
    from gcx.sync.planfile import PlanSource

    cli = get_cli(ctx)
    given: dict[str, Any] = {
        "prune": prune,
        "force": force,
        "accept_unreadable": accept_unreadable,
        "threshold": prune_threshold,
        "on_conflict": on_conflict,
        "external_source": external_source,
        "adoption_checks": adoption_checks,
    }
    if plan_file is not None:
        if source is not None or mapping is not None or sql_url or query:
            raise UsageError("--plan replaces the source: give either a plan or a source, not both")
        src: Any = PlanSource(plan_file)
        given = _plan_options(src.options(), given)  # also fails early on a file that is not a plan
    else:
        src = _source(source, mapping, sql_url, query, phone_country)
    opts = _options(**given, trust_ledger=trust_ledger, batch_size=batch_size)
    if not dry_run and not yes and _interactive():
        _preview_and_ask(cli, src, ledger, opts)
    report, exc, url = _run(
        cli,
        source=src,
        ledger_arg=ledger,
        options=opts,
        dry_run=dry_run,
        on_op=None,
        out=cli.out,
        tokens=tokens,
    )
    _finish(cli, report, exc, url, report_file, max_invalid=max_invalid)


def _interactive() -> bool:
    """A person at a terminal (stdin and stderr): apply shows the plan and asks."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


def _preview_and_ask(cli: CliContext, src: Any, ledger: str | None, opts: SyncOptions) -> None:
    """Plan first (reads only), show its summary, and go on only when the person says yes."""
    report, exc, _ = _run(
        cli, source=src, ledger_arg=ledger, options=opts, dry_run=True, on_op=None, out=cli.out
    )
    if exc is not None:
        raise exc
    if report.status == "error":
        raise CliError(report.error or "the plan failed")
    for line in _summary_lines(report)[:-1]:  # without the request count
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


#: Options that decide what a plan writes: apply --plan takes them from the plan.
_PLAN_OPTIONS = {
    "prune": ("prune", "--prune", False),
    "force": ("force", "--force", False),
    "accept_unreadable": ("acceptUnreadable", "--accept-unreadable", False),
    "threshold": ("pruneThreshold", "--prune-threshold", 0.1),
    "on_conflict": ("onConflict", "--on-conflict", "source-wins"),
    "external_source": ("externalSource", "--external-source", DEFAULT_EXTERNAL_SOURCE),
    "adoption_checks": ("adoptionChecks", "--no-adoption-checks", True),
}


def _plan_options(saved: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The options a saved plan was made with, which apply --plan honours; an option given on the
    command line with another value is a usage error (the plan reviewed is the plan applied)."""
    out = dict(given)
    for name, (key, flag, default) in _PLAN_OPTIONS.items():
        if key not in saved:
            continue
        if given[name] != default and given[name] != saved[key]:
            raise UsageError(
                f"{flag}: the plan was made with {saved[key]!r}, not {given[name]!r}: make a new plan "
                "with the options you want, or apply this one without the option"
            )
        out[name] = saved[key]
    return out


def _require_existing(led: Any, url: str) -> None:
    from gcx.sync.ledger import safe_url

    if not led.exists:
        raise CliError(f"{safe_url(url)} is not a gcx ledger (no ledger tables): nothing was changed")


def _require_ledger(url: str) -> None:
    if url.startswith("sqlite:///") and not Path(url[len("sqlite:///") :]).exists():
        raise CliError(
            f"no ledger at {url[len('sqlite:///') :]} (run gcx sync apply first, or pass --ledger)"
        )


@app.command("status")
def status_cmd(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    runs: Annotated[int, typer.Option("--runs", min=1, help="How many recent runs to show.")] = 5,
    failed: Annotated[int, typer.Option("--failed", min=0, help="How many failed records to show.")] = 20,
) -> None:
    """What the ledger holds: its org, record counts, the last runs and what failed.

    Example: gcx sync status --ledger postgresql+psycopg://sync@db/gcx
    """
    from gcx.sync.ledger import Ledger, ledger_url, safe_url

    cli = get_cli(ctx)
    url = ledger_url(ledger)
    _require_ledger(url)
    with Ledger(url, create=False) as led:
        _require_existing(led, url)
        binding = led.binding()
        entries = led.entries()
        data: dict[str, Any] = {
            "ledger": safe_url(url),
            "org": (
                {
                    "id": binding.org_id,
                    "name": binding.org_name,
                    "region": redact_url(binding.region),
                    "externalSource": binding.external_source_name,
                    "externalSourceId": binding.external_source_id,
                }
                if binding
                else None
            ),
            "records": {
                kind: {
                    "total": sum(1 for e in entries.values() if e.kind == kind),
                    "createdByGcx": sum(1 for e in entries.values() if e.kind == kind and e.created_by_gcx),
                }
                for kind in ("organization", "contact")
            },
            "ops": led.op_counts(),
            "pending": len(led.open_ops()),
            "lock": led.lock_info(),
            "runs": [
                {
                    "id": r["id"],
                    "command": r["command"],
                    "started": r["started_at"],
                    "finished": r["finished_at"],
                    "status": r["status"],
                    "reason": (r["counts"] or {}).get("error"),
                    "applied": _applied_total(r["counts"]),
                    "source": r["source"],
                }
                for r in led.runs(runs)
            ],
            "failed": [
                {
                    "kind": o.kind,
                    "externalId": o.key,
                    "op": o.op,
                    "line": o.line,
                    "run": o.run_id,
                    "reason": (o.error or {}).get("reason"),
                    "status": (o.error or {}).get("status"),
                }
                for o in led.failed_ops(failed)
            ],
        }
    out = cli.out
    if out.format is not OutputFormat.table:
        out.data(data)
        return
    org = data["org"]

    def w(text: str) -> None:
        out.stdout.write(terminal_safe(text))

    w(f"ledger: {data['ledger']}\n")
    if org:
        w(
            f"org: {org['name'] or ''} ({org['id']}) in {org['region']}, external source {org['externalSource']}\n"
        )
    else:
        w("org: not bound yet (no apply has run)\n")
    for kind, c in data["records"].items():
        w(f"{kind}s: {c['total']} ({c['createdByGcx']} created by gcx)\n")
    w("operations: " + (", ".join(f"{k} {v}" for k, v in sorted(data["ops"].items())) or "none") + "\n")
    lock = data["lock"]
    if lock:
        w(
            f"lock: held by run {lock['run'][:12]} (pid {lock['pid']} on {lock['host']}), renewed "
            f"{lock['renewedSecondsAgo']:.0f} s ago"
            + (" - stale: the next run takes it over" if lock["stale"] else "")
            + "\n"
        )
    else:
        w("lock: free\n")
    if data["pending"]:
        w(f"pending: {data['pending']} operation(s) of an interrupted run (the next apply reconciles them)\n")
    if data["runs"]:
        out.records(data["runs"], noun="run")
    if data["failed"]:
        w("failed (not synced since):\n")
        out.records(data["failed"], noun="failed record")


@app.command("unlock")
def unlock_cmd(
    ctx: typer.Context,
    ledger: LedgerOpt = None,
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
) -> None:
    """Release the ledger's run lock, whoever holds it (a run that was killed on another machine).

    A lock not renewed for two minutes is taken over by the next run anyway; this is for not
    waiting. A run still alive loses its lock and stops before its next write batch.

    Example: gcx sync unlock --ledger postgresql+psycopg://sync@db/gcx --yes
    """
    from gcx.sync.ledger import Ledger, ledger_url

    cli = get_cli(ctx)
    url = ledger_url(ledger)
    _require_ledger(url)
    with Ledger(url, create=False) as led:
        _require_existing(led, url)
        lock = led.lock_info()
        if lock is None:
            cli.out.message("the ledger is not locked: nothing to release")
            return
        who = f"run {lock['run'][:12]} (pid {lock['pid']} on {lock['host']})"
        cli.confirm(f"Release the lock of {who}, renewed {lock['renewedSecondsAgo']:.0f} s ago?", yes=yes)
        led.unlock()
    cli.out.message(f"released the lock of {who}")


def _applied_total(counts: Any) -> str:
    if not isinstance(counts, dict):
        return ""
    applied = counts.get("applied") or {}
    total: dict[str, int] = {}
    for kind_counts in applied.values():
        for k, v in kind_counts.items():
            total[k] = total.get(k, 0) + int(v)
    return ", ".join(f"{k} {v}" for k, v in total.items() if v)


def register(root: typer.Typer) -> None:
    """Add ``gcx sync`` to the root app."""
    root.add_typer(app, name="sync")
