"""Changing existing records for ``gcx orgs`` and ``gcx contacts``: safe updates (only the named
fields change), whole-record replacement (PUT) and PATCH changes.

Like :mod:`gcx.cli.crud`, everything is validated locally before anything is sent.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any

from gcx.cli.columns import to_dict
from gcx.cli.context import CliContext, UsageError
from gcx.cli.crud import Kind, describe, finish
from gcx.cli.output import OutputFormat
from gcx.cli.records import (
    Document,
    build_record,
    flatten_changes,
    parse_assignments,
    strip_server_fields,
    validate_changes,
    validate_new_record,
)
from gcx.errors import ApiError, OutcomeUnknownError, ValidationError
from gcx.merge import deep_merge, get_path
from gcx.models.values import PATCH_ACTIONS

if TYPE_CHECKING:
    from gcx.client import AsyncClient


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
        finish(failed, len(items), kind, "updated")

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
                f"dry run: would replace {describe(kind, current)}"
                + (f"; fields erased: {', '.join(lost)}" if lost else "")
                + "; nothing was sent"
            )
            out.record(body, kind.output)
            return
        question = f"Replace {describe(kind, current)} with the document?"
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
