"""What every ``gcx`` command shares: global options, settings, the client, errors, prompts.

The root callback (``gcx.cli.main``) parses the global options once into a :class:`CliContext`
stored in ``ctx.obj``; commands get it with :func:`get_cli` and then:

* ``cli.out`` (or ``cli.output_for(--output)``) prints records (see :mod:`gcx.cli.output`);
* ``cli.run(lambda gc: ...)`` opens an :class:`~gcx.client.AsyncClient` from the resolved
  settings, awaits the coroutine, and closes the client;
* ``cli.confirm(...)`` asks before a destructive change (only on a terminal; ``--yes`` skips);
* raising :class:`PartialFailure` ends with exit code 3, :class:`CliError` with exit code 1.

Errors are turned into one clean line by :class:`GcxGroup` (the root command class):
``error: 404 not.found: External contact xyz not found [correlation id 1234]``, never a
traceback unless ``--verbose``, and never a secret (every line is scrubbed by :class:`Redactor`).
"""

from __future__ import annotations

import asyncio
import logging
import os
import re
import sys
import traceback
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import typer
from typer import _click
from typer._click.exceptions import UsageError as ClickUsageError
from typer.core import TyperGroup

from gcx import redact
from gcx.cli.argv import hoist_global_options
from gcx.cli.output import Output, OutputFormat
from gcx.cli.safety import terminal_safe
from gcx.cli.shape import ShapeError, compile_query, parse_fields
from gcx.config import ConfigFile, Settings, default_config_path
from gcx.errors import (
    ApiError,
    AuthError,
    ConfigError,
    GcxError,
    OutcomeUnknownError,
    SettingError,
    TransportError,
    ValidationError,
)
from gcx.private import exposed
from gcx.sync.errors import SourceQueryError

if TYPE_CHECKING:  # imported when a command runs, so that ``gcx --help`` stays quick
    from gcx.client import AsyncClient

T = TypeVar("T")

#: Exit codes shared by every command.
EXIT_OK = 0
EXIT_ERROR = 1
EXIT_USAGE = 2
EXIT_PARTIAL = 3
EXIT_INTERRUPTED = 130


class CliError(Exception):
    """A user-facing failure decided by the CLI itself (exit 1): one line, no traceback."""

    exit_code = EXIT_ERROR


class PartialFailure(CliError):
    """Some items succeeded and some failed (exit 3). Details were already printed."""

    exit_code = EXIT_PARTIAL


class UsageError(CliError):
    """The options given do not make sense together (exit 2, like click's own usage errors)."""

    exit_code = EXIT_USAGE


class ConfirmationRequired(CliError):
    """A destructive command ran without a terminal and without ``--yes``."""


# --------------------------------------------------------------------------- redaction


class Redactor:
    """Removes secrets from text: the secrets this run knows (client secret, access token,
    anything registered with :mod:`gcx.redact` such as the tokens the client obtained), then
    credential-looking patterns (``Bearer ...``, ``client_secret=...``)."""

    MASK = redact.MASK

    def __init__(self, secrets: set[str] | None = None) -> None:
        self._secrets: set[str] = set()
        for secret in secrets or ():
            self.add(secret)

    def add(self, secret: str | None) -> None:
        """Register a secret value (client secret, access token) to scrub wherever it appears."""
        if secret and len(secret) >= 4:
            self._secrets.add(secret)

    def __call__(self, text: str) -> str:
        return redact.scrub(text, extra=self._secrets)


class RedactingFormatter(logging.Formatter):
    """A log formatter whose every line (message, exception, stack) goes through a redactor."""

    def __init__(self, redactor: Redactor, fmt: str | None = None) -> None:
        super().__init__(fmt or "%(asctime)s %(levelname)s %(name)s: %(message)s", datefmt="%H:%M:%S")
        self._redact = redactor

    def format(self, record: logging.LogRecord) -> str:
        return self._redact(super().format(record))


#: Loggers shown by ``--verbose``: gcx's request log (method, URL, status, time, attempt, correlation id).
VERBOSE_LOGGERS: dict[str, int] = {"gcx": logging.DEBUG}


def setup_verbose_logging(redactor: Redactor, stream: Any = None) -> Callable[[], None]:
    """Send the request log to stderr through ``redactor``; returns a function undoing it."""
    handler = logging.StreamHandler(stream if stream is not None else sys.stderr)
    handler.setFormatter(RedactingFormatter(redactor))
    previous: list[tuple[logging.Logger, int]] = []
    for name, level in VERBOSE_LOGGERS.items():
        logger = logging.getLogger(name)
        previous.append((logger, logger.level))
        logger.setLevel(level)
        logger.addHandler(handler)

    def undo() -> None:
        for logger, level in previous:
            logger.removeHandler(handler)
            logger.setLevel(level)
        handler.flush()

    return undo


# --------------------------------------------------------------------------- errors


def format_error(exc: BaseException) -> str:
    """The one line (without the ``error:`` prefix) describing ``exc`` to a user."""
    if isinstance(exc, ApiError):
        return str(exc)
    if isinstance(exc, ValidationError):
        text = str(exc)
        prefix = []
        if exc.record and exc.record not in text:
            prefix.append(exc.record)
        if exc.field and exc.field not in text:
            prefix.append(f"field {exc.field}")
        return (": ".join(prefix) + ": " + text) if prefix else text
    if isinstance(exc, AuthError):
        text = str(exc)
        if exc.status and str(exc.status) not in text:
            text = f"{exc.status}: {text}"
        return f"authentication failed: {text}" if "auth" not in text.lower() else text
    if isinstance(exc, OutcomeUnknownError):
        # The library's messages name the request and say it may have been applied: say each once.
        text = str(exc)
        if f"{exc.method} {exc.url}" not in text:
            text += f" ({exc.method} {exc.url})"
        if "applied" not in text:
            text += "; the change may or may not have been applied: check the record before retrying"
        return f"outcome unknown: {text}"
    if isinstance(exc, TransportError | ConfigError | CliError | GcxError | ShapeError):
        return str(exc) or type(exc).__name__
    if isinstance(exc, OSError) and exc.strerror:
        where = f"{exc.filename}: " if exc.filename else ""
        return f"{where}{exc.strerror}"
    return f"unexpected {type(exc).__name__}: {exc}"


def _plain_usage_error(exc: ClickUsageError) -> ClickUsageError:
    """typer validates option values with pydantic, whose prefix ("Value error, ") is noise."""
    exc.message = _PYDANTIC_PREFIX.sub("", exc.message)
    return exc


_PYDANTIC_PREFIX = re.compile(r"\b(?:Value|Assertion) error, ")


class GcxGroup(TyperGroup):
    """The root command: accepts its options after a subcommand too (:mod:`gcx.cli.argv`), and
    turns every error raised below it into one clean, redacted line."""

    def parse_args(self, ctx: _click.Context, args: list[str]) -> list[str]:
        try:
            return super().parse_args(ctx, hoist_global_options(self, ctx, args))
        except ClickUsageError as exc:
            raise _plain_usage_error(exc) from None

    def invoke(self, ctx: _click.Context) -> Any:
        try:
            return super().invoke(ctx)
        except ClickUsageError as exc:
            raise _plain_usage_error(exc) from None
        except (typer.Exit, typer.Abort, typer.TyperException):
            raise
        except BrokenPipeError:
            raise  # the reader went away (e.g. `| head`): typer exits quietly
        except KeyboardInterrupt:
            cli = ctx.obj if isinstance(ctx.obj, CliContext) else None
            message = "interrupted"
            if cli and cli.resume_hint:
                message += f": {cli.resume_hint}"
            print(f"error: {terminal_safe(message)}", file=sys.stderr, flush=True)
            raise typer.Exit(EXIT_INTERRUPTED) from None
        except Exception as exc:
            cli = ctx.obj if isinstance(ctx.obj, CliContext) else None
            redact = cli.redact if cli else Redactor()
            verbose = bool(cli and cli.verbose)
            if verbose:
                text = "".join(traceback.format_exception(exc))
                print(terminal_safe(redact(text).rstrip()), file=sys.stderr)
            line = redact(format_error(exc))
            if not verbose and not isinstance(exc, GcxError | CliError | OSError | ShapeError):
                line += " (run with --verbose for the traceback)"
            if cli and cli.resume_hint:
                line += f"; {cli.resume_hint}"
            print(f"error: {terminal_safe(line)}", file=sys.stderr, flush=True)
            raise typer.Exit(exit_code(exc)) from None


def exit_code(exc: BaseException) -> int:
    """The exit code of a command that failed with ``exc``."""
    if isinstance(exc, CliError):
        return exc.exit_code
    if isinstance(exc, SettingError | SourceQueryError | ShapeError):
        # how gcx was called: an unknown region or profile, missing credentials, a SQL source's
        # query that fails or returns what the mapping cannot read, a --query that cannot apply
        return EXIT_USAGE
    return EXIT_ERROR


# --------------------------------------------------------------------------- context


def _stdin_isatty() -> bool:
    try:
        return sys.stdin.isatty()
    except (AttributeError, ValueError):
        return False


@dataclass
class CliContext:
    """Global options and shared services for one ``gcx`` run (``ctx.obj``)."""

    profile: str | None = None
    region: str | None = None
    output: OutputFormat = OutputFormat.table
    quiet: bool = False
    verbose: bool = False
    no_color: bool = False
    #: CSV cells exactly as stored (no leading ' before a cell a spreadsheet would run as a formula).
    raw_csv: bool = False
    #: ``--fields`` (comma-separated dot paths) and ``--query`` (JMESPath), see :mod:`gcx.cli.shape`.
    fields: str | None = None
    query: str | None = None
    env: Mapping[str, str] = field(default_factory=lambda: os.environ)
    #: An httpx transport for the client (tests: ``httpx.MockTransport`` or the emulator's ASGI app).
    transport: Any = None
    #: Extra keyword arguments for the client constructor (``rate_limit``, ``retry``...).
    client_options: dict[str, Any] = field(default_factory=dict)
    redact: Redactor = field(default_factory=Redactor)
    #: Added to the error line when a resumable command stops (e.g. how to resume an export).
    resume_hint: str | None = None
    _settings: Settings | None = field(default=None, repr=False)
    _config_checked: bool = field(default=False, repr=False)
    _undo_logging: Callable[[], None] | None = field(default=None, repr=False)

    def __post_init__(self) -> None:
        try:
            fields, query = parse_fields(self.fields), compile_query(self.query)
        except ShapeError as exc:
            raise UsageError(str(exc)) from None
        self.out = Output(
            self.output,
            quiet=self.quiet,
            no_color=self.no_color,
            raw_csv=self.raw_csv,
            fields=fields,
            query=query,
        )
        for name in ("GENESYSCLOUD_OAUTHCLIENT_SECRET", "GENESYSCLOUD_ACCESS_TOKEN"):
            self.redact.add(self.env.get(name))

    # ---- output

    def output_for(self, fmt: OutputFormat | None) -> Output:
        """The output helper, honouring a command's own ``--output`` when given."""
        return self.out.with_format(fmt)

    # ---- logging

    def start_logging(self) -> None:
        # The library's log records reach the user only through --verbose: the commands say
        # what matters themselves (e.g. the search cap, once), so Python's last-resort handler
        # must not print them a second time.
        gcx_logger = logging.getLogger("gcx")
        if not any(isinstance(h, logging.NullHandler) for h in gcx_logger.handlers):
            gcx_logger.addHandler(logging.NullHandler())
        if self.verbose and self._undo_logging is None:
            self._undo_logging = setup_verbose_logging(self.redact)

    def close(self) -> None:
        if self._undo_logging is not None:
            self._undo_logging()
            self._undo_logging = None

    # ---- settings and client

    def config_file(self) -> ConfigFile:
        cfg = ConfigFile(default_config_path(self.env))
        if not self._config_checked:
            self._config_checked = True
            problem = exposed(cfg.path)
            if problem:
                self.out.warn(f"{cfg.path} is {problem} and may hold client secrets: chmod 600 {cfg.path}")
        return cfg

    def settings(self, *, require_credentials: bool = True) -> Settings:
        """Resolve region, credentials and profile (flags > environment > profile)."""
        if self._settings is None or require_credentials:
            settings = Settings.resolve(
                region=self.region,
                profile=self.profile,
                env=self.env,
                config_file=self.config_file(),
                require_credentials=require_credentials,
            )
            self.redact.add(settings.client_secret)
            self.redact.add(settings.access_token)
            if self._settings is None:
                self.warn_unknown_config_keys()
            self._settings = settings
        return self._settings

    def warn_unknown_config_keys(self) -> None:
        """One warning per key of the config file that gcx does not use (a typo would be silent)."""
        cfg = self.config_file()
        if cfg.path.exists():
            for key in cfg.unknown_keys():
                self.out.warn(f"{cfg.path}: unknown key {key} is ignored")

    def async_client(self) -> AsyncClient:
        """A new, unopened :class:`gcx.client.AsyncClient` for the resolved settings."""
        from gcx.client import AsyncClient

        kwargs: dict[str, Any] = dict(self.client_options)
        if self.transport is not None:
            kwargs["transport"] = self.transport
        return AsyncClient(settings=self.settings(), **kwargs)

    def run(self, fn: Callable[[AsyncClient], Awaitable[T]]) -> T:
        """Open a client, await ``fn(client)``, close the client; errors propagate."""

        async def main() -> T:
            async with self.async_client() as gc:
                return await fn(gc)

        return asyncio.run(main())

    # ---- prompts

    def confirm(self, question: str, *, yes: bool) -> None:
        """Ask before a destructive change. ``--yes`` skips; without a terminal, refuse."""
        if yes:
            return
        if not _stdin_isatty():
            raise ConfirmationRequired(f"{question} Not confirmed: pass --yes to run without a prompt")
        if not typer.confirm(question, default=False, err=True):
            raise CliError("aborted: nothing was changed")


def get_cli(ctx: _click.Context) -> CliContext:
    """The :class:`CliContext` of this run (created by the root callback)."""
    obj = ctx.find_root().obj
    if isinstance(obj, CliContext):
        return obj
    raise RuntimeError("gcx command run without the root callback (no CliContext in ctx.obj)")


def build_context(
    ctx: typer.Context,
    *,
    profile: str | None,
    region: str | None,
    output: OutputFormat,
    quiet: bool,
    verbose: bool,
    no_color: bool,
    raw_csv: bool = False,
    fields: str | None = None,
    query: str | None = None,
) -> CliContext:
    """Create the :class:`CliContext` for this run and store it in ``ctx.obj``.

    A caller (tests, embedding code) may preset ``ctx.obj`` to a mapping with ``transport``,
    ``env`` and ``client_options``: the client then talks through that transport.
    """
    preset = ctx.obj if isinstance(ctx.obj, Mapping) else {}
    cli = CliContext(
        profile=profile,
        region=region,
        output=output,
        quiet=quiet,
        verbose=verbose,
        no_color=no_color,
        raw_csv=raw_csv,
        fields=fields,
        query=query,
        env=preset.get("env", os.environ),
        transport=preset.get("transport"),
        client_options=dict(preset.get("client_options", {})),
    )
    ctx.obj = cli
    cli.start_logging()
    ctx.call_on_close(cli.close)
    return cli
