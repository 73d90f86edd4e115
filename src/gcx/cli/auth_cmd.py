"""``gcx auth check``: get a token and say for which organization and region it works."""

from __future__ import annotations

from typing import TYPE_CHECKING, Annotated

import typer

from gcx import access, permissions
from gcx.cli.context import CliError, get_cli
from gcx.config import mask_secret
from gcx.redact import redact_url

if TYPE_CHECKING:
    from gcx.client import AsyncClient
    from gcx.models import Organization

auth_app = typer.Typer(
    name="auth", help="Check credentials.\n\nExample: gcx auth check", no_args_is_help=True
)


@auth_app.command("check")
def check(
    ctx: typer.Context,
    no_probe: Annotated[
        bool, typer.Option("--no-probe", help="Only get a token and the organization; probe nothing.")
    ] = False,
) -> None:
    """Get a token, show the organization and region, and what the OAuth client may do.

    Each permission gcx uses is probed with a request that cannot change anything (a
    one-record read; a create, update or delete that can never succeed), and the ones the
    client's role lacks are listed: externalContacts:contact:view|add|edit|delete and
    externalContacts:externalOrganization:view|add|edit|delete for every command, and
    externalContacts:externalSource:view|add for gcx sync. When every call is refused, the
    org may lack the External Contacts licence. Exit code 1 when the credentials or the
    region are wrong, or a contact or organization permission is missing.

    Example: gcx --profile prod auth check
    """
    cli = get_cli(ctx)
    settings = cli.settings()

    async def probe(gc: AsyncClient) -> tuple[Organization, list[access.ProbeResult]]:
        me = await gc.me()
        return me, ([] if no_probe else await access.probe_access(gc))

    me, results = cli.run(probe)
    data = me.to_api()
    result: dict[str, object] = {
        "status": "ok",
        "organization": data.get("name"),
        "organization_id": data.get("id"),
        "region": settings.region.name,
        "api": redact_url(settings.region.api_base),
        "profile": settings.profile,
        "client_id": settings.client_id,
        "client_secret": mask_secret(settings.client_secret),
        "auth": "access token" if settings.access_token else "client credentials",
    }
    if results:
        result["permissions"] = {r.permission: r.verdict for r in results}
        result["missing"] = access.missing(results)
        record_problem = access.summary(results, permissions.RECORD_PERMISSIONS)
        sync_problem = access.summary(results, permissions.SYNC_PERMISSIONS)
        if record_problem or sync_problem:
            result["status"] = "missing permissions"
    cli.out.data(result)
    for r in results:
        if r.verdict == "unknown":
            cli.out.warn(f"could not tell whether the client may {r.what} ({r.permission}): {r.detail}")
    if results and record_problem:
        raise CliError(record_problem)
    if results and sync_problem:
        cli.out.warn(f"gcx sync needs more: {sync_problem} (see docs/sync.md, 'The role a sync needs')")


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.add_typer(auth_app, name="auth")
