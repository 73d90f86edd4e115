"""``gcx config``: named profiles (region, client id, client secret) in the config file.

The file (``GCX_CONFIG`` or ``~/.config/gcx/config.toml``) is written readable by its owner
only. Secrets are read from a hidden prompt or stdin; ``--client-secret`` works but warns,
because command lines end up in shell history and process lists. ``show`` and ``list`` mask it.
"""

from __future__ import annotations

import sys
from typing import Annotated

import typer

from gcx.cli.context import CliError, UsageError, get_cli
from gcx.config import (
    ENV_CLIENT_SECRET,
    REGIONS,
    ConfigFile,
    Profile,
    default_config_path,
    mask_secret,
    resolve_region,
)
from gcx.errors import ConfigError, SettingError
from gcx.redact import redact_url


def complete_profile(incomplete: str) -> list[str]:
    """Shell completion: the profile names of the config file that start with ``incomplete``."""
    try:
        names = ConfigFile(default_config_path()).profiles()
    except (ConfigError, OSError):
        return []
    return sorted(name for name in names if name.startswith(incomplete))


def complete_region(incomplete: str) -> list[str]:
    """Shell completion: the region names that start with ``incomplete``."""
    return [name for name in REGIONS if name.startswith(incomplete.lower())]


config_app = typer.Typer(
    name="config",
    help="Manage profiles (region, client id, secret) in the config file.\n\nExample: gcx config add prod --region eu-west-1 --client-id ID",
    no_args_is_help=True,
)


def _read_secret(*, flag_value: str | None, from_stdin: bool, cli_warn: typer.Context) -> str | None:
    cli = get_cli(cli_warn)
    if flag_value is not None and from_stdin:
        raise UsageError("give the client secret once: --client-secret or --client-secret-stdin, not both")
    if flag_value is not None:
        cli.out.warn(
            "--client-secret puts the secret in your shell history and process list; "
            "prefer the prompt, --client-secret-stdin or the environment"
        )
        cli.redact.add(flag_value)
        return flag_value.strip() or None
    if from_stdin:
        secret = sys.stdin.readline().strip()
        if not secret:
            raise CliError("--client-secret-stdin: nothing was read from stdin")
        cli.redact.add(secret)
        return secret
    if sys.stdin.isatty():
        secret = typer.prompt("Client secret (hidden, empty to skip)", default="", hide_input=True, err=True)
        secret = str(secret).strip()
        cli.redact.add(secret)
        return secret or None
    return None


@config_app.command("add")
def add(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile name, e.g. prod.")],
    region: Annotated[
        str,
        typer.Option("--region", help="Region name, domain or base URL.", autocompletion=complete_region),
    ],
    client_id: Annotated[str | None, typer.Option("--client-id", help="OAuth client id.")] = None,
    client_secret_stdin: Annotated[
        bool, typer.Option("--client-secret-stdin", help="Read the client secret from stdin (one line).")
    ] = False,
    client_secret: Annotated[
        str | None,
        typer.Option("--client-secret", help="The client secret (discouraged: visible in shell history)."),
    ] = None,
    default: Annotated[bool, typer.Option("--default", help="Make this the default profile.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Show what would be saved, save nothing.")
    ] = False,
) -> None:
    """Add or replace a profile. Prompts for the secret (hidden) on a terminal.

    Example: gcx config add prod --region eu-west-1 --client-id 0a1b... --default
    """
    cli = get_cli(ctx)
    name = name.strip()
    if not name:
        raise UsageError("profile name must not be empty")
    resolved = resolve_region(region)
    secret = _read_secret(flag_value=client_secret, from_stdin=client_secret_stdin, cli_warn=ctx)
    profile = Profile(name=name, region=region.strip(), client_id=client_id, client_secret=secret)
    cfg = cli.config_file()
    if dry_run:
        cli.out.message(f"dry run: would save profile {name!r} to {cfg.path}")
        cli.out.data({**profile.masked(), "api": redact_url(resolved.api_base), "default": default})
        return
    cfg.save_profile(profile, make_default=default)
    is_default = cfg.default_profile() == name
    cli.out.message(
        f"saved profile {name!r} ({resolved.name}) to {cfg.path}" + (" as the default" if is_default else "")
    )
    if secret is None:
        cli.out.message(f"no client secret stored: set {ENV_CLIENT_SECRET} when using this profile")


@config_app.command("list")
def list_profiles(ctx: typer.Context) -> None:
    """List profiles (secrets masked); the default is marked.

    Example: gcx config list
    """
    cli = get_cli(ctx)
    cfg = cli.config_file()
    cli.warn_unknown_config_keys()
    default = cfg.default_profile()
    rows = [{**p.masked(), "default": p.name == default} for p in cfg.profiles().values()]
    cli.out.records(rows, noun="profile")


@config_app.command("use")
def use(
    ctx: typer.Context,
    name: Annotated[
        str, typer.Argument(help="Profile to make the default.", autocompletion=complete_profile)
    ],
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the profile exists, change nothing.")
    ] = False,
) -> None:
    """Make a profile the default.

    Example: gcx config use prod
    """
    cli = get_cli(ctx)
    cfg = cli.config_file()
    cfg.get(name)
    if dry_run:
        cli.out.message(f"dry run: would make {name!r} the default profile")
        return
    cfg.set_default(name)
    cli.out.message(f"default profile is now {name!r}")


@config_app.command("show")
def show(
    ctx: typer.Context,
    name: Annotated[
        str | None, typer.Argument(help="Profile (default: the active one).", autocompletion=complete_profile)
    ] = None,
) -> None:
    """Show a profile, or the settings in effect, with the secret masked.

    Without NAME it shows what commands would use: global --profile/--region, the
    environment and the default profile merged.

    Example: gcx config show prod
    """
    cli = get_cli(ctx)
    cfg = cli.config_file()
    if name:
        cli.warn_unknown_config_keys()
        prof = cfg.get(name)
        cli.out.data({**prof.masked(), "default": cfg.default_profile() == name, "file": str(cfg.path)})
        return
    try:
        settings = cli.settings(require_credentials=False)
    except SettingError as exc:
        raise UsageError(f"no settings in effect: {exc}") from None
    except ConfigError as exc:
        raise CliError(f"no settings in effect: {exc}") from None
    cli.out.data(
        {
            "profile": settings.profile,
            "region": settings.region.name,
            "api": redact_url(settings.region.api_base),
            "login": redact_url(settings.region.login_base),
            "client_id": settings.client_id,
            "client_secret": mask_secret(settings.client_secret),
            "access_token": mask_secret(settings.access_token),
            "file": str(cfg.path),
            "from": dict(settings.sources),
        }
    )


@config_app.command("remove")
def remove(
    ctx: typer.Context,
    name: Annotated[str, typer.Argument(help="Profile to delete.", autocompletion=complete_profile)],
    yes: Annotated[bool, typer.Option("--yes", "-y", help="Do not ask for confirmation.")] = False,
    dry_run: Annotated[
        bool, typer.Option("--dry-run", help="Check the profile exists, change nothing.")
    ] = False,
) -> None:
    """Delete a profile from the config file.

    Example: gcx config remove old --yes
    """
    cli = get_cli(ctx)
    cfg = cli.config_file()
    cfg.get(name)
    if dry_run:
        cli.out.message(f"dry run: would remove profile {name!r} from {cfg.path}")
        return
    cli.confirm(f"Remove profile {name!r}?", yes=yes)
    cfg.remove_profile(name)
    cli.out.message(f"removed profile {name!r}")


@config_app.command("path")
def path(ctx: typer.Context) -> None:
    """Print the config file's path.

    Example: gcx config path
    """
    cli = get_cli(ctx)
    typer.echo(str(cli.config_file().path))


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.add_typer(config_app, name="config")
