"""The options of ``gcx sync plan|apply``: how they read on the command line (help text, ranges),
the :class:`~gcx.sync.options.SyncOptions` made from them, and the options a saved plan fixes."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated, Any

import typer

from gcx.cli.context import UsageError

if TYPE_CHECKING:  # the engine is imported when a sync command runs
    from gcx.sync.options import SyncOptions

DEFAULT_EXTERNAL_SOURCE = "gcx"

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


def check_conflict(value: str) -> str:
    if value not in ("source-wins", "report"):
        raise typer.BadParameter("must be source-wins or report", param_hint="--on-conflict")
    return value


def sync_options(
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

    policy = check_conflict(on_conflict)
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


#: Options that decide what a plan writes: apply --plan takes them from the plan.
PLAN_OPTIONS = {
    "prune": ("prune", "--prune", False),
    "force": ("force", "--force", False),
    "accept_unreadable": ("acceptUnreadable", "--accept-unreadable", False),
    "threshold": ("pruneThreshold", "--prune-threshold", 0.1),
    "on_conflict": ("onConflict", "--on-conflict", "source-wins"),
    "external_source": ("externalSource", "--external-source", DEFAULT_EXTERNAL_SOURCE),
    "adoption_checks": ("adoptionChecks", "--no-adoption-checks", True),
}


def plan_options(saved: dict[str, Any], given: dict[str, Any]) -> dict[str, Any]:
    """The options a saved plan was made with, which apply --plan honours; an option given on the
    command line with another value is a usage error (the plan reviewed is the plan applied)."""
    out = dict(given)
    for name, (key, flag, default) in PLAN_OPTIONS.items():
        if key not in saved:
            continue
        if given[name] != default and given[name] != saved[key]:
            raise UsageError(
                f"{flag}: the plan was made with {saved[key]!r}, not {given[name]!r}: make a new plan "
                "with the options you want, or apply this one without the option"
            )
        out[name] = saved[key]
    return out
