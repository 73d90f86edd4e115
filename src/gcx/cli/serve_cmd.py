"""``gcx serve``: the sync as a service (workers, webhooks, health, metrics). Needs ``gcx[service]``."""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Annotated

import typer

from gcx.cli import console_cmd
from gcx.cli.context import CliError, get_cli

if TYPE_CHECKING:
    from gcx.service.config import ServiceConfig

app = typer.Typer(
    name="serve",
    help=(
        "Run the sync as a service: scheduled jobs and webhook intake, on any number of workers "
        "sharing one PostgreSQL. gcx serve run: a worker and the web process in one.\n\n"
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
    """Serve webhooks (POST /hooks/JOB), /healthz, /readyz, /metrics and the web console (/console).

    It listens on [web] host and port; with port = 0 it picks a free port and logs the address
    once listening: {"msg": "web listening on URL", "url": URL}.

    Example: GCX_DATABASE_URL=postgresql://gcx@db/gcx gcx serve web service.toml
    """
    _run(config, worker=False, web=True)


user_app = typer.Typer(
    help="Console users in the service's database (roles: viewer reads, operator also edits and approves).",
    no_args_is_help=True,
)


def _console_db(config: Path | ServiceConfig) -> str:
    cfg = _load(config) if isinstance(config, Path) else config
    from gcx.service.database import ledger_url
    from gcx.service.process import database_url

    return ledger_url(database_url(cfg))


@user_app.command("add")
def user_add_cmd(
    config: ConfigArg,
    name: console_cmd.NameArg,
    role: console_cmd.RoleOpt = "viewer",
    replace: console_cmd.ReplaceOpt = False,
    password_stdin: console_cmd.StdinOpt = False,
) -> None:
    """Create a user of the web console at /console; the password is prompted.

    Example: gcx serve user add service.toml ada --role operator
    """
    console_cmd.add_user(_console_db(config), name, role, replace=replace, password_stdin=password_stdin)


@user_app.command("list")
def user_list_cmd(ctx: typer.Context, config: ConfigArg) -> None:
    """The console's users and their roles.

    Example: gcx serve user list service.toml
    """
    console_cmd.list_users(ctx, _console_db(config))


@user_app.command("remove")
def user_remove_cmd(config: ConfigArg, name: console_cmd.NameArg) -> None:
    """Remove a console user (their sessions end now).

    Example: gcx serve user remove service.toml ada
    """
    console_cmd.remove_user(_console_db(config), name)


@user_app.command("disable")
def user_disable_cmd(config: ConfigArg, name: console_cmd.NameArg) -> None:
    """Disable a console user: they cannot log in, their sessions end now.

    Example: gcx serve user disable service.toml ada
    """
    console_cmd.disable_user(_console_db(config), name, True)


@user_app.command("enable")
def user_enable_cmd(config: ConfigArg, name: console_cmd.NameArg) -> None:
    """Let a disabled console user log in again.

    Example: gcx serve user enable service.toml ada
    """
    console_cmd.disable_user(_console_db(config), name, False)


session_app = typer.Typer(
    help="Console sessions in the service's database: who is logged in, and ending a session.",
    no_args_is_help=True,
)


@session_app.command("list")
def session_list_cmd(ctx: typer.Context, config: ConfigArg, user: console_cmd.UserOpt = None) -> None:
    """Live console sessions: handle, user, login time, last request, address, browser.

    Example: gcx serve session list service.toml
    """
    cfg = _load(config)  # sessions past the console's [web] limits are ended on the way
    console_cmd.list_sessions(ctx, _console_db(cfg), user, cfg.service.session_seconds)


@session_app.command("revoke")
def session_revoke_cmd(
    config: ConfigArg, handle: console_cmd.HandleArg = None, user: console_cmd.UserOpt = None
) -> None:
    """End a console session now (its cookie is refused from then on), or every session of --user.

    Example: gcx serve session revoke service.toml 3f9a1c2b7d4e
    """
    console_cmd.revoke_sessions(_console_db(config), handle, user)


app.add_typer(user_app, name="user")
app.add_typer(session_app, name="session")


def register(root: typer.Typer) -> None:
    """Add ``gcx serve`` to the root app."""
    root.add_typer(app, name="serve")
