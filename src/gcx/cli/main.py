"""Root of the ``gcx`` command: global options and the command groups."""

from __future__ import annotations

import typer

from gcx.cli import auth_cmd, config_cmd, contacts, demo, emulator_cmd, export, orgs, sync_cmd

app = typer.Typer(
    name="gcx",
    help="Genesys Cloud External Contacts and Organizations: CRUD, export, sync, emulator.",
    no_args_is_help=True,
    pretty_exceptions_enable=False,
)

for _module in (orgs, contacts, export, config_cmd, auth_cmd, emulator_cmd, sync_cmd, demo):
    _module.register(app)


def main() -> None:
    app()


if __name__ == "__main__":
    main()
