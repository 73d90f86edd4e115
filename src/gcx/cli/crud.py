"""The record operations behind ``gcx orgs`` and ``gcx contacts`` (shared by both groups):
the record kinds, listing, searching, reading, creating and deleting. Changing records is
:mod:`gcx.cli.updates`, identifiers :mod:`gcx.cli.identity`.

Each function takes the :class:`~gcx.cli.context.CliContext`, validates everything locally
first (a bad record anywhere means nothing is sent), then talks to the API only through the
client library. Results go to stdout through the output helper; notes and per-item errors go
to stderr; partial success raises :class:`~gcx.cli.context.PartialFailure` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcx.cli.columns import CONTACT, ORGANIZATION, RecordKind, to_dict
from gcx.cli.context import CliContext, CliError, PartialFailure, UsageError
from gcx.cli.output import Output, OutputFormat
from gcx.cli.records import (
    Document,
    build_record,
    parse_assignments,
    strip_server_fields,
    unknown_field,
    validate_new_record,
)
from gcx.errors import ApiError, NotFoundError, OutcomeUnknownError, ValidationError
from gcx.merge import deep_merge

if TYPE_CHECKING:
    from gcx.client import AsyncClient
    from gcx.resources.records import RecordResource

#: How many invalid records are listed one by one before "... and N more".
MAX_LISTED_ERRORS = 20


@dataclass(frozen=True)
class Kind:
    """A record kind: its output definition and its client resource."""

    name: str  # "contact" | "organization"
    plural: str
    output: RecordKind

    def of(self, gc: AsyncClient) -> RecordResource[Any, Any, Any]:
        """The client's resource for this kind."""
        return gc.contacts if self is CONTACTS else gc.organizations

    def count(self, n: int) -> str:
        return f"{n} {self.name if n == 1 else self.plural}"


CONTACTS = Kind("contact", "contacts", CONTACT)
ORGANIZATIONS = Kind("organization", "organizations", ORGANIZATION)


def raise_invalid(out: Output, problems: list[str], total: int, what: str) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise ValidationError(problems[0])
    for line in problems[:MAX_LISTED_ERRORS]:
        out.error(line)
    if len(problems) > MAX_LISTED_ERRORS:
        out.error(f"... and {len(problems) - MAX_LISTED_ERRORS} more")
    raise CliError(f"{len(problems)} of {total} {what} are invalid; nothing was sent")


def describe(kind: Kind, row: Mapping[str, Any]) -> str:
    """``contact 3f1c... (Ada Lovelace)`` for prompts and messages."""
    if kind is CONTACTS:
        name = " ".join(str(row[k]) for k in ("firstName", "lastName") if row.get(k))
    else:
        name = str(row.get("name") or "")
    return f"{kind.name} {row.get('id')}" + (f" ({name})" if name else "")


# --------------------------------------------------------------------------- reading


def list_records(
    cli: CliContext,
    kind: Kind,
    *,
    limit: int | None,
    page_size: int,
    output: OutputFormat | None,
    org_id: str | None = None,
) -> None:
    """Every record through scan (no 1,000 ceiling); ``org_id``: the contacts of one organization."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        if org_id is not None:
            await gc.organizations.get(org_id)  # a clear 404 for an unknown organization
            pager = gc.organizations.contacts(org_id, all=True, limit=page_size, max_records=limit)
        else:
            pager = kind.of(gc).scan(limit=page_size, max_records=limit)
        with out.stream(kind.output) as writer:
            async for record in pager:
                writer.write(record)

    cli.run(go)


def search_records(
    cli: CliContext, kind: Kind, query: str | None, *, limit: int | None, output: OutputFormat | None
) -> None:
    """Records matching ``query`` through search (the API serves at most 1,000)."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        pager = kind.of(gc).search(q=query, page_size=100, max_records=limit)
        with out.stream(kind.output) as writer:
            async for record in pager:
                writer.write(record)
        if getattr(pager, "truncated", False) and limit is None:
            out.warn(
                f"search stops at 1,000 results ({pager.total} matched): "
                f"use 'gcx {'contacts' if kind is CONTACTS else 'orgs'} list' to read everything"
            )

    cli.run(go)


#: What ``get`` asks Genesys to add to a record: its identifiers, which it shows only when asked
#: (the documented API; docs/emulator.md "Identity"), for the same single request.
SHOW = ["identifiers"]


def get_records(cli: CliContext, kind: Kind, ids: Sequence[str], *, output: OutputFormat | None) -> None:
    """One record (a detailed view) or several (a listing; unknown ids are reported, exit 3),
    with its identifiers (``expand=identifiers``)."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        if len(ids) == 1:
            out.record(await resource.get(ids[0], expand=SHOW), kind.output)
            return
        missing: list[str] = []
        with out.stream(kind.output) as writer:
            for record_id in ids:
                try:
                    writer.write(await resource.get(record_id, expand=SHOW))
                except NotFoundError as exc:
                    out.error(f"{kind.name} {record_id}: {exc}")
                    missing.append(record_id)
        if missing:
            if len(missing) == len(ids):
                raise CliError(f"none of the {len(ids)} {kind.plural} was found")
            raise PartialFailure(f"{len(missing)} of {len(ids)} {kind.plural} were not found")

    cli.run(go)


# --------------------------------------------------------------------------- creating


def option_changes(fields: Mapping[str, Any], sets: Sequence[str] | None, *, kind: str) -> dict[str, Any]:
    """The change set given by field options (``None`` = not given) and ``--set`` assignments.

    A ``--set`` path naming no field of a ``kind`` record is refused: the API would drop it
    silently on a create (and refuse it on an update)."""
    changes = {path: value for path, value in fields.items() if value is not None}
    for path, value in parse_assignments(sets or [], option="--set").items():
        unknown = unknown_field(kind, path)
        if unknown is not None:
            raise ValidationError(
                f"--set {path}: {unknown!r} is not a field of a {kind} (the API would drop it)", field=path
            )
        if path in changes:
            raise ValidationError(f"--set {path}: the field is also given by its own option", field=path)
        changes[path] = value
    return changes


def create_records(
    cli: CliContext,
    kind: Kind,
    *,
    documents: list[Document] | None,
    overlay: Mapping[str, Any],
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    """Create one record (options) or many (``--file``; options apply to every record)."""
    out = cli.output_for(output)
    overlay_record = build_record(overlay)
    from_options = documents is None
    if documents is None:
        if not overlay_record:
            raise UsageError("nothing to create: give fields as options (see --help) or --file")
        documents = [Document("options", {})]
    if not documents:
        raise UsageError(f"nothing to create: the file holds no {kind.plural}")
    bodies: list[dict[str, Any]] = []
    problems: list[str] = []
    dropped: set[str] = set()
    for doc in documents:
        body, removed = strip_server_fields(deep_merge(doc.data, overlay_record))
        dropped.update(removed)
        try:
            validate_new_record(kind.name, body, record=doc.label)
        except ValidationError as exc:
            problems.append(str(exc))
        bodies.append(body)
    if from_options and problems:  # e.g. orgs create without --name: how the command was called
        raise UsageError(problems[0])
    raise_invalid(out, problems, len(documents), kind.plural)
    if dropped:
        out.message(
            f"note: ignoring server-owned fields {', '.join(sorted(dropped))} (new records get new ids)"
        )
    if dry_run:
        out.message(f"dry run: would create {kind.count(len(bodies))}; nothing was sent")
        if len(bodies) == 1:
            out.record(bodies[0], kind.output)
        else:
            out.records(bodies, kind.output)
        return

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        if len(bodies) == 1:
            created = await resource.create(bodies[0])
            out.message(f"created {kind.name} {created.id}")
            out.record(created, kind.output)
            return
        cli.resume_hint = f"some {kind.plural} may already have been created: check before running it again"
        result = await resource.bulk_add(bodies)
        cli.resume_hint = None
        failed = 0
        with out.stream(kind.output) as writer:
            for item in result.items:
                if item.ok:
                    writer.write(item.entity if item.entity is not None else {"id": item.id})
                else:
                    failed += 1
                    label = documents[item.index].label if item.index < len(documents) else f"#{item.index}"
                    note = (
                        " (it may have been created: check before retrying)" if item.outcome_unknown else ""
                    )
                    out.error(f"{label}: {item.error}{note}")
        out.message(f"created {len(bodies) - failed} of {kind.count(len(bodies))}")
        finish(failed, len(bodies), kind, "created")

    cli.run(go)


def finish(failed: int, total: int, kind: Kind, verb: str) -> None:
    if not failed:
        return
    if failed == total:
        raise CliError(f"no {kind.name} was {verb} ({failed} failed)")
    raise PartialFailure(f"{failed} of {kind.count(total)} were not {verb}")


# --------------------------------------------------------------------------- deleting


def delete_records(cli: CliContext, kind: Kind, ids: Sequence[str], *, yes: bool, dry_run: bool) -> None:
    """Delete records by id; every id is read first, so an unknown id deletes nothing."""
    out = cli.out

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        targets = [to_dict(await resource.get(record_id)) for record_id in dict.fromkeys(ids)]
        names = ", ".join(describe(kind, t) for t in targets[:5]) + (" ..." if len(targets) > 5 else "")
        if dry_run:
            out.message(f"dry run: would delete {kind.count(len(targets))}: {names}; nothing was sent")
            out.records(targets, kind.output)
            return
        cli.confirm(
            f"Delete {names}?" if len(targets) == 1 else f"Delete {kind.count(len(targets))}: {names}?",
            yes=yes,
        )
        failed = 0
        for target in targets:
            try:
                await resource.delete(target["id"])
                out.message(f"deleted {describe(kind, target)}")
            except (ApiError, OutcomeUnknownError) as exc:  # this record only; others stop the run
                failed += 1
                out.error(f"{describe(kind, target)}: {exc}")
        finish(failed, len(targets), kind, "deleted")

    cli.run(go)


async def count_org_contacts(gc: AsyncClient, org_id: str) -> tuple[int, bool]:
    """How many contacts an organization has, and whether that is exact (search total)."""
    pager = gc.organizations.contacts(org_id, page_size=1, max_records=1)
    seen = 0
    async for _ in pager:
        seen += 1
    total = getattr(pager, "total", None)
    if isinstance(total, int):
        return total, True
    return seen, False


def delete_organization(
    cli: CliContext, org_id: str, *, with_contacts: bool, yes: bool, dry_run: bool
) -> None:
    """Delete an organization; refuse while contacts belong to it unless ``with_contacts``."""
    out = cli.out
    kind = ORGANIZATIONS

    async def go(gc: AsyncClient) -> None:
        org = to_dict(await gc.organizations.get(org_id))
        label = describe(kind, org)
        count, exact = await count_org_contacts(gc, org_id)
        amount = f"{count}" if exact else f"at least {count}"
        noun = "contact" if count == 1 else "contacts"
        if count and not with_contacts:
            raise CliError(
                f"{label} has {amount} {noun}: delete or move them first "
                "(gcx contacts move ID --to OTHER_ORG), or pass --with-contacts to delete them too"
            )
        contact_ids: list[str] = []
        if count and with_contacts:
            async for contact in gc.organizations.contacts(org_id, all=True):
                if contact.id:  # the server always sends one; a record without it cannot be deleted
                    contact_ids.append(contact.id)
        if dry_run:
            extra = f" and its {len(contact_ids)} {noun}" if contact_ids else ""
            out.message(f"dry run: would delete {label}{extra}; nothing was sent")
            out.data({"organization": org_id, "contacts": contact_ids})
            return
        if contact_ids:
            cli.confirm(f"Delete {label} and its {len(contact_ids)} {noun}?", yes=yes)
            result = await gc.contacts.bulk_remove(contact_ids)
            failures = result.failed
            for item in failures:
                out.error(f"contact {contact_ids[item.index]}: {item.error}")
            out.message(f"deleted {len(contact_ids) - len(failures)} of {len(contact_ids)} contacts")
            if failures:
                raise PartialFailure(
                    f"{len(failures)} of {len(contact_ids)} contacts could not be deleted; {label} was kept"
                )
        else:
            cli.confirm(f"Delete {label}?", yes=yes)
        await gc.organizations.delete(org_id)
        out.message(f"deleted {label}")

    cli.run(go)
