"""``gcx serve``: the sync as a service (workers, webhooks, health, metrics). Needs ``gcx[service]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gcx.cli.context import CliError, get_cli

if TYPE_CHECKING:
    from gcx.service.config import ServiceConfig

app = typer.Typer(
    name="serve",
    help=(
        "Run the sync as a service: scheduled jobs and webhook intake, on any number of workers "
        "sharing one PostgreSQL. Without a subcommand: a worker and the web process in one.\n\n"
        "Example: gcx serve check service.toml && gcx serve run service.toml"
    ),
    no_args_is_help=True,
)

ConfigArg = Annotated[Path, typer.Argument(help="The service's TOML file (jobs, profiles, database).")]


def _load(path: Path) -> ServiceConfig:
    try:
        from gcx.service.config import load_config
    except ImportError as exc:  # procrastinate, prometheus-client... not installed
        raise CliError(
            f"gcx serve needs the service extra: pip install 'gcx[service]' ({exc.name} missing)"
        ) from None
    return load_config(path)


@app.command("check")
def check_cmd(
    ctx: typer.Context,
    config: ConfigArg,
    strict: Annotated[
        bool, typer.Option("--strict", help="Unset environment variables are errors too.")
    ] = False,
) -> None:
    """Validate CONFIG without touching Genesys or the database: jobs, schedules, sources, mappings.

    Example: gcx serve check service.toml --strict
    """
    from gcx.service.check import check_config

    cli = get_cli(ctx)
    cfg = _load(config)
    res = check_config(cfg)
    out = cli.out
    out.records(res.jobs, noun="job")
    for w in res.warnings:
        out.warn(w)
    for e in res.errors:
        out.error(e)
    if res.errors or (strict and res.warnings):
        raise CliError(f"{config}: {len(res.errors) + (len(res.warnings) if strict else 0)} problem(s)")
    out.message(f"{config}: {len(cfg.jobs)} job(s), configuration valid")


def _run(config: Path, *, worker: bool, web: bool) -> None:
    cfg = _load(config)
    from gcx.service import logs
    from gcx.service.process import run

    logs.setup()
    run(cfg, worker=worker, web=web)


@app.command("run")
def run_cmd(config: ConfigArg) -> None:
    """A worker and the web process in one (the quick start; an embedded PostgreSQL without a URL).

    Example: gcx serve run service.toml
    """
    _run(config, worker=True, web=True)


@app.command("worker")
def worker_cmd(config: ConfigArg) -> None:
    """Run jobs (scheduled runs and webhook batches); start as many as you like, on any hosts.

    Example: GCX_DATABASE_URL=postgresql://gcx@db/gcx gcx serve worker service.toml
    """
    _run(config, worker=True, web=False)


@app.command("web")
def web_cmd(config: ConfigArg) -> None:
    """Serve webhooks (POST /hooks/JOB), /healthz, /readyz and /metrics.

    Example: GCX_DATABASE_URL=postgresql://gcx@db/gcx gcx serve web service.toml
    """
    _run(config, worker=False, web=True)


def register(root: typer.Typer) -> None:
    """Add ``gcx serve`` to the root app."""
    root.add_typer(app, name="serve")
