"""``gcx auth check``: get a token and say for which organization and region it works."""

from __future__ import annotations

from typing import TYPE_CHECKING

import typer

from gcx.cli.context import get_cli
from gcx.config import mask_secret
from gcx.redact import redact_url

if TYPE_CHECKING:
    from gcx.client import AsyncClient
    from gcx.models import Organization

auth_app = typer.Typer(
    name="auth", help="Check credentials.\n\nExample: gcx auth check", no_args_is_help=True
)


@auth_app.command("check")
def check(ctx: typer.Context) -> None:
    """Get a token and show the organization and region it belongs to (secrets masked).

    Exit code 1 with the server's reason when the credentials or the region are wrong.

    Example: gcx --profile prod auth check
    """
    cli = get_cli(ctx)
    settings = cli.settings()

    async def probe(gc: AsyncClient) -> Organization:
        return await gc.me()

    data = cli.run(probe).to_api()
    result = {
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
    cli.out.data(result)


def register(root: typer.Typer) -> None:
    """Add this module's commands to the root `gcx` app."""
    root.add_typer(auth_app, name="auth")
