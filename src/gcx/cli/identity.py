"""Identifiers from the command line: the record holding one (lookup), the identifiers a record
holds, claiming and releasing one (shared by ``gcx orgs`` and ``gcx contacts``)."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gcx.cli.columns import IDENTIFIER
from gcx.cli.context import CliContext, CliError
from gcx.cli.crud import CONTACTS, Kind
from gcx.cli.output import OutputFormat

if TYPE_CHECKING:
    from gcx.client import AsyncClient


def lookup_record(
    cli: CliContext,
    kind: Kind,
    identifier_type: str,
    value: str,
    *,
    external_source: str | None,
    output: OutputFormat | None,
) -> None:
    """The record holding an identifier (exit 1 when none does)."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        if kind is CONTACTS:
            found = await gc.contacts.lookup(identifier_type, value, external_source_id=external_source)
        else:
            found = await kind.of(gc).lookup_external_id(value, external_source_id=external_source)
        if found is None:
            source = f" of external source {external_source}" if external_source else ""
            hint = ""
            if identifier_type in {"Email", "Phone"}:
                noun = "contacts" if kind is CONTACTS else "orgs"
                hint = f" (lookup matches identifiers, not fields: try gcx {noun} search {value!r})"
            raise CliError(f"no {kind.name} holds the {identifier_type} identifier {value!r}{source}{hint}")
        out.record(found, kind.output)

    cli.run(go)


def list_identifiers(cli: CliContext, kind: Kind, record_id: str, *, output: OutputFormat | None) -> None:
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        items = await kind.of(gc).identifiers.list(record_id)
        out.records(items, IDENTIFIER)

    cli.run(go)


def change_identifier(
    cli: CliContext,
    kind: Kind,
    operation: str,
    record_id: str,
    identifier_type: str,
    value: str,
    *,
    external_source: str | None,
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    """Claim or release one identifier for a record."""
    out = cli.output_for(output)
    identifier: dict[str, Any] = {"type": identifier_type, "value": value}
    if external_source:
        identifier["externalSource"] = {"id": external_source}
    verb = "claim" if operation == "Claim" else "release"
    if dry_run:
        out.message(
            f"dry run: would {verb} {identifier_type} {value!r} for {kind.name} {record_id}; nothing was sent"
        )
        out.data({"id": record_id, "operation": operation, "identifier": identifier})
        return

    async def go(gc: AsyncClient) -> None:
        identifiers = kind.of(gc).identifiers
        method = identifiers.claim if operation == "Claim" else identifiers.release
        result = await method(record_id, identifier_type, value, external_source_id=external_source)
        past = "claimed" if operation == "Claim" else "released"
        out.message(f"{past} {identifier_type} {value!r} for {kind.name} {record_id}")
        out.record(result, IDENTIFIER)

    cli.run(go)
