"""The record operations behind ``gcx orgs`` and ``gcx contacts`` (shared by both groups).

Each function takes the :class:`~gcx.cli.context.CliContext`, validates everything locally
first (a bad record anywhere means nothing is sent), then talks to the API only through the
client library. Results go to stdout through the output helper; notes and per-item errors go
to stderr; partial success raises :class:`~gcx.cli.context.PartialFailure` (exit 3).
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcx.cli.context import CliContext, CliError, PartialFailure, UsageError
from gcx.cli.output import CONTACT, IDENTIFIER, ORGANIZATION, Output, OutputFormat, RecordKind, to_dict
from gcx.cli.records import (
    Document,
    build_record,
    flatten_changes,
    parse_assignments,
    strip_server_fields,
    unknown_field,
    validate_changes,
    validate_new_record,
)
from gcx.errors import ApiError, NotFoundError, OutcomeUnknownError, ValidationError
from gcx.merge import deep_merge, get_path
from gcx.models.values import PATCH_ACTIONS

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


def _raise_invalid(out: Output, problems: list[str], total: int, what: str) -> None:
    if not problems:
        return
    if len(problems) == 1:
        raise ValidationError(problems[0])
    for line in problems[:MAX_LISTED_ERRORS]:
        out.error(line)
    if len(problems) > MAX_LISTED_ERRORS:
        out.error(f"... and {len(problems) - MAX_LISTED_ERRORS} more")
    raise CliError(f"{len(problems)} of {total} {what} are invalid; nothing was sent")


def _describe(kind: Kind, row: Mapping[str, Any]) -> str:
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


def get_records(cli: CliContext, kind: Kind, ids: Sequence[str], *, output: OutputFormat | None) -> None:
    """One record (a detailed view) or several (a listing; unknown ids are reported, exit 3)."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        if len(ids) == 1:
            out.record(await resource.get(ids[0]), kind.output)
            return
        missing: list[str] = []
        with out.stream(kind.output) as writer:
            for record_id in ids:
                try:
                    writer.write(await resource.get(record_id))
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
    _raise_invalid(out, problems, len(documents), kind.plural)
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
        _finish(failed, len(bodies), kind, "created")

    cli.run(go)


def _finish(failed: int, total: int, kind: Kind, verb: str) -> None:
    if not failed:
        return
    if failed == total:
        raise CliError(f"no {kind.name} was {verb} ({failed} failed)")
    raise PartialFailure(f"{failed} of {kind.count(total)} were not {verb}")


# --------------------------------------------------------------------------- updating


@dataclass(frozen=True)
class UpdateItem:
    label: str
    record_id: str
    changes: dict[str, Any]


def plan_updates(
    kind: Kind,
    record_id: str | None,
    documents: list[Document] | None,
    changes: Mapping[str, Any],
) -> list[UpdateItem]:
    """Pure: which record gets which change set (validated), from the argument, options and file."""
    items: list[UpdateItem] = []
    if documents is None:
        if record_id is None:
            raise UsageError(f"which {kind.name}? give its ID (or --file with an id in each record)")
        if not changes:
            raise UsageError("nothing to update: give fields as options, --set/--unset, or --file")
        items.append(UpdateItem(f"{kind.name} {record_id}", record_id, dict(changes)))
    else:
        if record_id is not None and len(documents) > 1:
            raise UsageError(
                f"ID and a --file with {len(documents)} records: put an id in each record instead"
            )
        for doc in documents:
            data, _removed = strip_server_fields(doc.data)
            doc_id = doc.data.get("id") or record_id
            if not doc_id:
                raise ValidationError(
                    f"{doc.label}: field id: each record needs its id", field="id", record=doc.label
                )
            if record_id is not None and doc.data.get("id") and doc.data["id"] != record_id:
                raise ValidationError(
                    f"{doc.label}: field id: {doc.data['id']!r} does not match the ID argument {record_id!r}",
                    field="id",
                    record=doc.label,
                )
            merged = flatten_changes(data)
            for key, value in changes.items():
                merged[key] = value
            if not merged:
                raise ValidationError(f"{doc.label}: no field to change", record=doc.label)
            items.append(UpdateItem(doc.label, str(doc_id), merged))
    for item in items:
        validate_changes(kind.name, item.changes, record=item.label)
    return items


def update_records(
    cli: CliContext,
    kind: Kind,
    items: list[UpdateItem],
    *,
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    """Safe updates: only the named fields change, every other field is kept."""
    out = cli.output_for(output)

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        if dry_run:
            previews = []
            for item in items:
                current = to_dict(await resource.get(item.record_id))
                previews.append(
                    {
                        "id": item.record_id,
                        "changes": {
                            path: {"from": get_path(current, path), "to": value}
                            for path, value in item.changes.items()
                        },
                    }
                )
            out.message(f"dry run: would update {kind.count(len(items))}; nothing was sent")
            if len(previews) == 1:
                out.data(previews[0])
            else:
                out.records(previews, noun="change")
            return
        if len(items) == 1:
            item = items[0]
            updated = await resource.safe_update(item.record_id, item.changes)
            out.message(f"updated {kind.name} {item.record_id} ({', '.join(item.changes)})")
            out.record(updated, kind.output)
            return
        failed = 0
        with out.stream(kind.output) as writer:
            for item in items:
                try:
                    writer.write(await resource.safe_update(item.record_id, item.changes))
                except (ApiError, OutcomeUnknownError) as exc:  # this record only; others stop the run
                    failed += 1
                    out.error(f"{item.label} ({kind.name} {item.record_id}): {exc}")
        out.message(f"updated {len(items) - failed} of {kind.count(len(items))}")
        _finish(failed, len(items), kind, "updated")

    cli.run(go)


def run_update(
    cli: CliContext,
    kind: Kind,
    record_id: str | None,
    documents: list[Document] | None,
    changes: dict[str, Any],
    *,
    unset: Sequence[str] | None,
    replace: bool,
    yes: bool,
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    """The body of ``gcx orgs|contacts update``: a safe update of the given fields (``--unset``
    paths removed), or with ``--replace`` a whole-record PUT."""
    if replace:
        if unset:
            raise UsageError("--unset has no meaning with --replace: leave the field out of the document")
        replace_record(cli, kind, record_id, documents, changes, yes=yes, dry_run=dry_run, output=output)
        return
    for path in unset or []:
        if path in changes:
            raise ValidationError(f"--unset {path}: the field is also given a value", field=path)
        changes[path] = None
    update_records(
        cli, kind, plan_updates(kind, record_id, documents, changes), dry_run=dry_run, output=output
    )


def replace_record(
    cli: CliContext,
    kind: Kind,
    record_id: str | None,
    documents: list[Document] | None,
    overlay: Mapping[str, Any],
    *,
    yes: bool,
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    """Replace a whole record (PUT): the document becomes the record, other fields are erased."""
    out = cli.output_for(output)
    if documents is not None and len(documents) != 1:
        raise UsageError(f"--replace takes one record, the --file has {len(documents)}")
    doc = documents[0] if documents else Document("options", {})
    body = deep_merge(doc.data, build_record(overlay))
    target = record_id or body.get("id")
    if not target:
        raise UsageError(f"which {kind.name}? give its ID or an id in the document")
    if body.get("id") and body["id"] != target:
        raise ValidationError(
            f"{doc.label}: field id: {body['id']!r} does not match the ID argument {target!r}",
            field="id",
            record=doc.label,
        )
    body, _removed = strip_server_fields(body)
    validate_new_record(kind.name, body, record=doc.label)
    body["id"] = target

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        current = to_dict(await resource.get(target))
        lost = sorted(
            k for k in current if k not in body and k not in ("selfUri", "createDate", "modifyDate")
        )
        if dry_run:
            out.message(
                f"dry run: would replace {_describe(kind, current)}"
                + (f"; fields erased: {', '.join(lost)}" if lost else "")
                + "; nothing was sent"
            )
            out.record(body, kind.output)
            return
        question = f"Replace {_describe(kind, current)} with the document?"
        if lost:
            question += f" These fields will be erased: {', '.join(lost)}."
        cli.confirm(question, yes=yes)
        updated = await resource.update(body, id=target)
        out.message(f"replaced {kind.name} {target}")
        out.record(updated, kind.output)

    cli.run(go)


# --------------------------------------------------------------------------- patching


def patch_changes(
    *,
    sets: Sequence[str] | None,
    set_if_empty: Sequence[str] | None,
    removes: Sequence[str] | None,
    appends: Sequence[str] | None,
    documents: list[Document] | None,
) -> list[dict[str, Any]]:
    """Pure: the PATCH change list from the options and/or a file of changes."""
    changes: list[dict[str, Any]] = []

    def path_of(path: str) -> str:
        path = path.strip()
        return path if path.startswith("$.") else f"$.{path}"

    for action, values in (
        ("Update", sets),
        ("UpdateIfEmpty", set_if_empty),
        ("AppendToCollection", appends),
    ):
        option = {"Update": "--set", "UpdateIfEmpty": "--set-if-empty", "AppendToCollection": "--append"}[
            action
        ]
        for path, value in parse_assignments(values or [], option=option).items():
            changes.append({"field": path_of(path), "value": value, "action": action})
    for path in removes or []:
        if not path.strip():
            raise ValidationError("--remove: the field path is empty", field="field")
        changes.append({"field": path_of(path), "action": "Remove"})
    for doc in documents or []:
        raw = doc.data.get("changes")
        if not isinstance(raw, list):
            raise ValidationError(
                f'{doc.label}: expected {{"changes": [{{"field": "$.x", "value": ..., "action": "Update"}}]}}',
                field="changes",
                record=doc.label,
            )
        for n, change in enumerate(raw, start=1):
            if not isinstance(change, dict) or not isinstance(change.get("field"), str):
                raise ValidationError(
                    f"{doc.label}: change {n} needs a field", field="field", record=doc.label
                )
            entry = dict(change)
            entry["field"] = path_of(entry["field"])
            entry.setdefault("action", "Update")
            changes.append(entry)
    for change in changes:
        if change["action"] not in PATCH_ACTIONS:
            raise ValidationError(
                f"change {change['field']}: unknown action {change['action']!r}; one of {', '.join(PATCH_ACTIONS)}",
                field=change["field"],
            )
    if not changes:
        raise UsageError("nothing to patch: give --set, --set-if-empty, --append, --remove or --file")
    return changes


def patch_record(
    cli: CliContext,
    kind: Kind,
    record_id: str,
    changes: list[dict[str, Any]],
    *,
    dry_run: bool,
    output: OutputFormat | None,
) -> None:
    out = cli.output_for(output)
    if dry_run:
        out.message(f"dry run: would PATCH {kind.name} {record_id}; nothing was sent")
        out.data({"id": record_id, "changes": changes})
        return

    async def go(gc: AsyncClient) -> None:
        updated = await kind.of(gc).patch(record_id, changes)
        out.message(
            f"patched {kind.name} {record_id} ({len(changes)} change{'s' if len(changes) != 1 else ''})"
        )
        out.record(updated, kind.output)

    cli.run(go)


# --------------------------------------------------------------------------- deleting


def delete_records(cli: CliContext, kind: Kind, ids: Sequence[str], *, yes: bool, dry_run: bool) -> None:
    """Delete records by id; every id is read first, so an unknown id deletes nothing."""
    out = cli.out

    async def go(gc: AsyncClient) -> None:
        resource = kind.of(gc)
        targets = [to_dict(await resource.get(record_id)) for record_id in dict.fromkeys(ids)]
        names = ", ".join(_describe(kind, t) for t in targets[:5]) + (" ..." if len(targets) > 5 else "")
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
                out.message(f"deleted {_describe(kind, target)}")
            except (ApiError, OutcomeUnknownError) as exc:  # this record only; others stop the run
                failed += 1
                out.error(f"{_describe(kind, target)}: {exc}")
        _finish(failed, len(targets), kind, "deleted")

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
        label = _describe(kind, org)
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


# --------------------------------------------------------------------------- identity


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
