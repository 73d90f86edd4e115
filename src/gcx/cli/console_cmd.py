"""``gcx console``: the web console's users, and the console served on its own.

``gcx console user add NAME --role operator`` (password prompted, or one line on stdin with
``--password-stdin``), ``user list``, ``user disable|enable``, ``user remove``; ``session list``,
``session revoke HANDLE|--user NAME``. ``gcx console serve`` serves the console
for one ledger on 127.0.0.1 (the Genesys org from the global --profile/--region or the
environment); inside the service the console is part of ``gcx serve``'s web process.
"""

from __future__ import annotations

import os
import secrets
import sys
from pathlib import Path
from typing import Annotated, Any

import typer

from gcx.cli.context import CliError, UsageError, get_cli

ENV_DB = "GCX_CONSOLE_DB"
ENV_SECRET = "GCX_CONSOLE_SECRET"  # noqa: S105 - the name of an environment variable
DEFAULT_DB_FILE = "gcx-console.sqlite"
#: a session's limits in minutes (gcx.console.sessions IDLE_SECONDS, LIFETIME_SECONDS; the
#: service's [web] session_idle_minutes, session_lifetime_minutes)
IDLE_MINUTES, LIFETIME_MINUTES, MAX_SESSION_MINUTES = 60, 720, 43_200

app = typer.Typer(
    help="The web console: its users, and serving it alone (gcx serve includes it).",
    no_args_is_help=True,
)
user_app = typer.Typer(
    help="Console users (roles: viewer reads, operator also edits and approves).", no_args_is_help=True
)
session_app = typer.Typer(
    help="Console sessions: who is logged in, and ending a session.", no_args_is_help=True
)

DbOpt = Annotated[
    str | None,
    typer.Option(
        "--db",
        help=f"The console's database (URL or SQLite file; default ${ENV_DB} or ./{DEFAULT_DB_FILE}).",
        envvar=ENV_DB,
        show_envvar=False,
    ),
]


IdleOpt = Annotated[
    int | None,
    typer.Option(
        "--session-idle",
        metavar="MINUTES",
        min=1,
        max=MAX_SESSION_MINUTES,
        help=f"A session ends after this many minutes without a request (default {IDLE_MINUTES}, "
        "or the lifetime when that is shorter; at most the lifetime).",
    ),
]
LifetimeOpt = Annotated[
    int,
    typer.Option(
        "--session-lifetime",
        metavar="MINUTES",
        min=1,
        max=MAX_SESSION_MINUTES,
        help="A session ends this many minutes after login, active or not (720: 12 hours).",
    ),
]


def session_limits(idle: int | None, lifetime: int) -> tuple[float, float]:
    """Pure: a console session's (idle, lifetime) in seconds from the options' minutes."""
    if idle is None:
        idle = min(IDLE_MINUTES, lifetime)
    elif idle > lifetime:
        raise UsageError(
            f"--session-idle ({idle} minutes) must not be more than --session-lifetime ({lifetime}): "
            "a session ends at its lifetime anyway"
        )
    return idle * 60.0, lifetime * 60.0


def db_url(value: str | None) -> str:
    if not value:
        return f"sqlite:///{Path.cwd() / DEFAULT_DB_FILE}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def add_user(url: str, name: str, role: str, *, replace: bool, password_stdin: bool) -> None:
    """Create (or with ``replace`` reset) a user in the console database at ``url``."""
    from gcx.console.db import ConsoleDb
    from gcx.console.users import UserStore, check_name, check_password, check_role
    from gcx.errors import ConfigError

    try:
        check_name(name)
        check_role(role)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    if password_stdin:
        password = sys.stdin.readline().rstrip("\r\n")
    else:
        password = typer.prompt(f"Password for {name}", hide_input=True, confirmation_prompt=True)
    try:
        check_password(password)
        with ConsoleDb(url) as cdb:
            user = UserStore(cdb).add(name, role, password, replace=replace)
    except ConfigError as exc:
        raise CliError(str(exc)) from None
    typer.echo(f"user {user.name} ({user.role}) saved")


def list_users(ctx: typer.Context, url: str) -> None:
    from gcx.console.db import ConsoleDb
    from gcx.console.users import UserStore

    cli = get_cli(ctx)
    with ConsoleDb(url) as cdb:
        users = UserStore(cdb).list()
    cli.out.records([{"name": u.name, "role": u.role, "disabled": u.disabled} for u in users], noun="user")


def disable_user(url: str, name: str, disabled: bool) -> None:
    """Disable (their sessions end) or enable a console user."""
    from gcx.console.db import ConsoleDb
    from gcx.console.users import UserStore

    with ConsoleDb(url) as cdb:
        if not UserStore(cdb).set_disabled(name, disabled):
            raise CliError(f"no console user named {name!r}")
    typer.echo(f"user {name} {'disabled (their sessions ended)' if disabled else 'enabled'}")


def list_sessions(ctx: typer.Context, url: str, user: str | None, limits: tuple[float, float]) -> None:
    """Live sessions; ``limits`` (idle, lifetime seconds) are the console's: the ones past them
    are ended on the way."""
    from gcx.console.db import ConsoleDb
    from gcx.console.sessions import SessionStore

    cli = get_cli(ctx)
    idle, lifetime = limits
    with ConsoleDb(url) as cdb:
        live = SessionStore(cdb, idle=idle, lifetime=lifetime).active(user)
    cli.out.records(
        [
            {"handle": s.handle, "user": s.user, "created": s.created_at, "lastSeen": s.last_seen,
             "address": s.address, "agent": s.agent}
            for s in live
        ],
        noun="session",
    )  # fmt: skip


def revoke_sessions(url: str, handle: str | None, user: str | None) -> None:
    """End one session (by handle) or every session of a user."""
    from gcx.console.audit import AuditLog
    from gcx.console.db import ConsoleDb
    from gcx.console.sessions import SessionStore

    if (handle is None) == (user is None):
        raise CliError("give a session handle (see session list) or --user NAME, not both")
    with ConsoleDb(url) as cdb:
        store = SessionStore(cdb)
        if handle is not None:
            found = store.revoke(handle, "revoked from the command line")
            if found is None:
                raise CliError(f"no live session {handle!r} (see gcx console session list)")
            AuditLog(cdb).record("cli", "revoke", f"session {handle}", {"user": found.user})
            typer.echo(f"session {handle} of {found.user} ended")
        else:
            assert user is not None
            n = store.end_user(user, "revoked from the command line")
            AuditLog(cdb).record("cli", "revoke", f"sessions of {user}", {"ended": n})
            typer.echo(f"{n} session(s) of {user} ended")


def remove_user(url: str, name: str) -> None:
    from gcx.console.db import ConsoleDb
    from gcx.console.users import UserStore

    with ConsoleDb(url) as cdb:
        if not UserStore(cdb).remove(name):
            raise CliError(f"no console user named {name!r}")
    typer.echo(f"user {name} removed")


NameArg = Annotated[str, typer.Argument(help="Login name.")]
RoleOpt = Annotated[str, typer.Option("--role", help="viewer (read only) or operator.")]
ReplaceOpt = Annotated[
    bool, typer.Option("--replace", help="Reset the password and role of an existing user.")
]
StdinOpt = Annotated[
    bool, typer.Option("--password-stdin", help="Read the password from the first line of stdin.")
]


@user_app.command("add")
def user_add(
    name: NameArg,
    role: RoleOpt = "viewer",
    db: DbOpt = None,
    replace: ReplaceOpt = False,
    password_stdin: StdinOpt = False,
) -> None:
    """Create a console user; the password is prompted (never an argument).

    Example: gcx console user add ada --role operator
    """
    add_user(db_url(db), name, role, replace=replace, password_stdin=password_stdin)


@user_app.command("list")
def user_list(ctx: typer.Context, db: DbOpt = None) -> None:
    """The console's users and their roles.

    Example: gcx console user list
    """
    list_users(ctx, db_url(db))


@user_app.command("remove")
def user_remove(name: NameArg, db: DbOpt = None) -> None:
    """Remove a console user (their sessions end now).

    Example: gcx console user remove ada
    """
    remove_user(db_url(db), name)


@user_app.command("disable")
def user_disable(name: NameArg, db: DbOpt = None) -> None:
    """Disable a console user: they cannot log in, their sessions end now.

    Example: gcx console user disable ada
    """
    disable_user(db_url(db), name, True)


@user_app.command("enable")
def user_enable(name: NameArg, db: DbOpt = None) -> None:
    """Let a disabled console user log in again.

    Example: gcx console user enable ada
    """
    disable_user(db_url(db), name, False)


HandleArg = Annotated[str | None, typer.Argument(help="The session's handle (see session list).")]
UserOpt = Annotated[str | None, typer.Option("--user", help="Only this user's sessions.")]


@session_app.command("list")
def session_list(
    ctx: typer.Context,
    user: UserOpt = None,
    db: DbOpt = None,
    session_idle: IdleOpt = None,
    session_lifetime: LifetimeOpt = LIFETIME_MINUTES,
) -> None:
    """Live console sessions: handle, user, login time, last request, address, browser.

    Sessions past their time are ended on the way: give the --session-idle and --session-lifetime
    that console serve was given.

    Example: gcx console session list
    """
    list_sessions(ctx, db_url(db), user, session_limits(session_idle, session_lifetime))


@session_app.command("revoke")
def session_revoke(handle: HandleArg = None, user: UserOpt = None, db: DbOpt = None) -> None:
    """End a session now (its cookie is refused from then on), or every session of --user.

    Example: gcx console session revoke 3f9a1c2b7d4e
    """
    revoke_sessions(db_url(db), handle, user)


def session_secret(db: str) -> str:
    """``$GCX_CONSOLE_SECRET``, else a random key kept (0600) beside a SQLite console database."""
    env = os.environ.get(ENV_SECRET)
    if env:
        return env
    if not db.startswith("sqlite:///"):
        raise CliError(
            f"set {ENV_SECRET} (a long random string shared by every web process) to sign sessions"
        )
    path = Path(db[len("sqlite:///") :]).with_suffix(".secret")
    if not path.exists():
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


@app.command("serve")
def serve(
    ctx: typer.Context,
    ledger: Annotated[
        str | None, typer.Option("--ledger", help="The sync's ledger (URL or SQLite file).")
    ] = None,
    job: Annotated[str, typer.Option("--job", help="A name for this sync in the console.")] = "sync",
    reports: Annotated[
        Path | None,
        typer.Option("--reports", help="Where run reports and plans live (default .gcx/reports)."),
    ] = None,
    db: DbOpt = None,
    host: Annotated[
        str, typer.Option("--host", help="Interface (loopback unless you say otherwise).")
    ] = "127.0.0.1",
    port: Annotated[
        int,
        typer.Option(
            "--port",
            min=0,
            max=65535,
            help="TCP port; 0 picks a free one (the 'console on URL/' line on stderr says which).",
        ),
    ] = 8790,
    keep_audit: Annotated[
        int,
        typer.Option(
            "--keep-audit",
            min=0,
            help="Audit entries kept in the console database: the oldest go first (0: keep every one).",
        ),
    ] = 10_000,
    keep_approvals: Annotated[
        int,
        typer.Option(
            "--keep-approvals",
            min=0,
            help="Plans decided for good (applied, rejected, stale, failed) kept with their documents: "
            "the oldest go first; a plan waiting, approved or being applied is always kept (0: keep every one).",
        ),
    ] = 1_000,
    session_idle: IdleOpt = None,
    session_lifetime: LifetimeOpt = LIFETIME_MINUTES,
) -> None:
    """Serve the console for one ledger (its runs, plans waiting for approval, the records).

    Example: gcx -p prod console serve --ledger gcx-ledger.sqlite
    """
    import uvicorn

    from gcx.console import ConsoleDb, ConsoleState, JobInfo, JobTarget, StaticJobs, create_console_app
    from gcx.listening import ListeningServer
    from gcx.sync.ledger import ledger_url

    cli = get_cli(ctx)
    idle, lifetime = session_limits(session_idle, session_lifetime)
    url = ledger_url(ledger)
    reports_dir = reports or (
        Path(url[len("sqlite:///") :]).parent / ".gcx" / "reports"
        if url.startswith("sqlite:///")
        else Path(".gcx/reports")
    )
    settings = cli.settings()

    def client() -> Any:
        return cli.async_client()

    target = JobTarget(
        name=job, ledger_url=url, region=settings.region.name, reports_dir=reports_dir, client=client
    )
    cdb = ConsoleDb(db_url(db))
    state = ConsoleState(
        db=cdb,
        jobs=StaticJobs([JobInfo(target=target, source=f"ledger {url}")]),
        secret_key=session_secret(db_url(db)),
        keep_audit=keep_audit or None,
        keep_approvals=keep_approvals or None,
        session_idle=idle,
        session_lifetime=lifetime,
    )
    if not state.users.list():
        typer.echo(
            "warning: no console user yet: add one with gcx console user add NAME --role operator", err=True
        )
    if host not in ("127.0.0.1", "::1", "localhost"):
        typer.echo(f"warning: serving on {host}: put it behind HTTPS before anyone else uses it", err=True)
    config = uvicorn.Config(
        create_console_app(state), host=host, port=port, log_level="warning", server_header=False
    )
    # Said once the socket listens, with its real port (--port 0 picks one).
    ListeningServer(config, lambda url: typer.echo(f"console on {url}/", err=True)).run()


app.add_typer(user_app, name="user")
app.add_typer(session_app, name="session")


def register(root: typer.Typer) -> None:
    """Add ``gcx console`` to the root app."""
    root.add_typer(app, name="console")
