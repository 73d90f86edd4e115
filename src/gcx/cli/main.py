"""Root of the ``gcx`` command: global options and the command groups."""

from __future__ import annotations

import importlib.metadata
from typing import Annotated

import typer

from gcx.cli import (
    auth_cmd,
    config_cmd,
    console_cmd,
    contacts,
    demo,
    emulator_cmd,
    export,
    orgs,
    serve_cmd,
    sync_cmd,
)
from gcx.cli.context import GcxGroup, build_context
from gcx.cli.output import OutputFormat
from gcx.retry import RetryPolicy

app = typer.Typer(
    name="gcx",
    cls=GcxGroup,
    help=(
        "Genesys Cloud External Contacts and Organizations: CRUD, export, sync, emulator.\n\n"
        "Credentials come from the environment (GENESYSCLOUD_OAUTHCLIENT_ID, "
        "GENESYSCLOUD_OAUTHCLIENT_SECRET, GENESYSCLOUD_REGION) or a profile (gcx config add).\n\n"
        "Exit codes: 0 success, 1 error, 2 usage error (a bad option or value, an unknown region or profile, missing credentials, nothing to do), 3 partial success.\n\n"
        "Example: gcx --output json contacts get 3f1c...e2"
    ),
    no_args_is_help=True,
    pretty_exceptions_enable=False,
    rich_markup_mode="markdown",
    context_settings={"help_option_names": ["-h", "--help"]},
)


def _version(value: bool) -> None:
    if value:
        try:
            version = importlib.metadata.version("gcx")
        except importlib.metadata.PackageNotFoundError:
            version = "unknown"
        typer.echo(f"gcx {version}")
        raise typer.Exit()


@app.callback()
def root(
    ctx: typer.Context,
    profile: Annotated[
        str | None,
        typer.Option(
            "--profile",
            "-p",
            help="Profile from the config file (default: GCX_PROFILE or the file's default).",
            envvar="GCX_PROFILE",
            autocompletion=config_cmd.complete_profile,
            show_envvar=False,
        ),
    ] = None,
    region: Annotated[
        str | None,
        typer.Option(
            "--region",
            "-r",
            help="Region name (eu-west-1), domain (mypurecloud.ie) or base URL (http://127.0.0.1:8787).",
            autocompletion=config_cmd.complete_region,
        ),
    ] = None,
    output: Annotated[
        OutputFormat,
        typer.Option(
            "--output",
            "-o",
            help="Output format: table for people; json, jsonl, yaml or csv for scripts.",
            envvar="GCX_OUTPUT",
            show_envvar=False,
            case_sensitive=False,
        ),
    ] = OutputFormat.table,
    quiet: Annotated[
        bool, typer.Option("--quiet", "-q", help="Print data only: no counts, no progress, no notes.")
    ] = False,
    verbose: Annotated[
        bool,
        typer.Option(
            "--verbose",
            "-v",
            help="Log every request to stderr (tokens and secrets redacted); tracebacks on errors.",
        ),
    ] = False,
    no_color: Annotated[bool, typer.Option("--no-color", help="No colours (also NO_COLOR=1).")] = False,
    raw_csv: Annotated[
        bool,
        typer.Option(
            "--raw-csv",
            help="CSV cells exactly as stored (-o csv, export --format csv). By default a cell starting "
            "with = + - @ tab or CR gets a leading ' so a spreadsheet shows it instead of running it.",
        ),
    ] = False,
    fields: Annotated[
        str | None,
        typer.Option(
            "--fields",
            help="Print only these fields (comma-separated dot paths, e.g. id,firstName,address.city); "
            "'all' prints every column in CSV and tables.",
            metavar="F1,F2",
        ),
    ] = None,
    query: Annotated[
        str | None,
        typer.Option(
            "--query",
            help="JMESPath expression applied to the result (the list of records, or the record), "
            "as aws --query: e.g. \"[?address.city=='Paris'].id\".",
            metavar="JMESPATH",
        ),
    ] = None,
    retries: Annotated[
        int | None,
        typer.Option(
            "--retries",
            min=0,
            max=20,
            help="Retries of a failed request (5xx, network; 429s are waited out within the deadline); 0 = never retry.",
            envvar="GCX_RETRIES",
            show_envvar=False,
        ),
    ] = None,
    version: Annotated[
        bool,
        typer.Option("--version", help="Print the gcx version and exit.", callback=_version, is_eager=True),
    ] = False,
    rate_limit: Annotated[
        int | None,
        typer.Option(
            "--rate-limit",
            min=0,
            help="Client-side limit in requests per minute (default 300; 0 = off).",
            envvar="GCX_RATE_LIMIT",
            show_envvar=False,
        ),
    ] = None,
) -> None:
    """Global options apply to every command, before or after it: gcx -o json orgs list, gcx orgs list -o json."""
    cli = build_context(
        ctx,
        profile=profile,
        region=region,
        output=output,
        quiet=quiet,
        verbose=verbose,
        no_color=no_color,
        raw_csv=raw_csv,
        fields=fields,
        query=query,
    )
    if retries is not None:
        cli.client_options["retry"] = RetryPolicy(max_attempts=retries + 1)
    if rate_limit is not None:
        cli.client_options["rate_limit"] = rate_limit


for _module in (
    orgs,
    contacts,
    export,
    config_cmd,
    auth_cmd,
    emulator_cmd,
    sync_cmd,
    serve_cmd,
    demo,
    console_cmd,
):
    _module.register(app)


def main() -> None:
    """The ``gcx`` console script (also ``python -m gcx.cli.main``)."""
    app(prog_name="gcx")


if __name__ == "__main__":
    main()
