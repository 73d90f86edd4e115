"""``gcx sync plan|apply|status|unlock|trim-history``: make Genesys match a source of truth, run after run.

See ``docs/sync.md``. Exit codes: 0 everything synced, 3 some rows or records failed (the
others are synced; see the report), 1 the run could not proceed (bad mapping, ledger bound to
another org, prune refused...).

This module holds the plan and apply commands; their options are in ``sync_options``, the engine
run in ``sync_run``, what a run prints in ``sync_show``, and status, unlock and trim-history in ``sync_status``.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.context import UsageError, get_cli
from gcx.cli.output import OutputFormat
from gcx.cli.safety import json_safe
from gcx.cli.sync_options import (
    DEFAULT_EXTERNAL_SOURCE,
    AdoptOpt,
    BatchOpt,
    ConflictOpt,
    CountryOpt,
    ForceOpt,
    LedgerOpt,
    MappingOpt,
    MaxInvalidOpt,
    PruneOpt,
    QueryOpt,
    ReportOpt,
    SourceArg,
    SourceNameOpt,
    SqlUrlOpt,
    ThresholdOpt,
    TokensOpt,
    TrustOpt,
    UnreadableOpt,
    plan_options,
    sync_options,
)
from gcx.cli.sync_run import run_sync
from gcx.cli.sync_show import finish, op_line, preview_and_ask
from gcx.cli.sync_status import status_cmd, trim_history_cmd, unlock_cmd

if TYPE_CHECKING:  # the engine (SQLAlchemy, the client) is imported when a sync command runs
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport
    from gcx.sync.source import Source

app = typer.Typer(
    name="sync",
    help=(
        "Idempotent, resumable sync of a source of truth (CSV + mapping, JSONL, SQL) into External "
        "Organizations and Contacts. plan reads only; apply writes; status shows the ledger.\n\n"
        "Example: gcx sync apply examples/crm_contacts.csv --mapping examples/crm_mapping.toml"
    ),
    no_args_is_help=True,
)


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
    opts = sync_options(
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
            cli.out.text_line(op_line(op))
            shown["n"] += 1
        else:
            shown["hidden"] += 1

    report: RunReport | None = None
    try:
        report, exc, url = run_sync(
            cli, source=src, ledger_arg=ledger, options=opts, dry_run=True, on_op=on_op, out=cli.out
        )
    finally:
        if writer is not None:
            writer.close(report)
    if shown["hidden"]:
        cli.out.message(f"... and {shown['hidden']} more changes (use --show N or --out plan.json)")
    if writer is not None and report is not None and report.status in ("ok", "partial"):
        cli.out.message(f"plan saved to {out_file}")
    finish(cli, report, exc, url, report_file, max_invalid=max_invalid)


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
        given = plan_options(src.options(), given)  # also fails early on a file that is not a plan
    else:
        src = _source(source, mapping, sql_url, query, phone_country)
    opts = sync_options(**given, trust_ledger=trust_ledger, batch_size=batch_size)
    if not dry_run and not yes and _interactive():
        preview_and_ask(cli, src, ledger, opts)
    report, exc, url = run_sync(
        cli,
        source=src,
        ledger_arg=ledger,
        options=opts,
        dry_run=dry_run,
        on_op=None,
        out=cli.out,
        tokens=tokens,
    )
    finish(cli, report, exc, url, report_file, max_invalid=max_invalid)


def _interactive() -> bool:
    """A person at a terminal (stdin and stderr): apply shows the plan and asks."""
    try:
        return sys.stdin.isatty() and sys.stderr.isatty()
    except (AttributeError, ValueError):
        return False


# after plan and apply: the order of the commands in ``gcx sync --help``
app.command("status")(status_cmd)
app.command("unlock")(unlock_cmd)
app.command("trim-history")(trim_history_cmd)


def register(root: typer.Typer) -> None:
    """Add ``gcx sync`` to the root app."""
    root.add_typer(app, name="sync")
