"""PATCH ``changes``: six actions on ``$.a`` / ``$.a.b`` paths, for records, notes and relationships.

The emulator keeps its own copy of the actions (independent of the client's ``gcx.merge``), so
a bug in one is caught by the other.
"""

from __future__ import annotations

import re
from typing import Any

from gcx.emulator.errors import EmulatorError, bad_request, invalid
from gcx.emulator.kinds import (
    CONTACTS,
    MAX_JSON_DEPTH,
    NOTES,
    RELATIONSHIPS,
    SCHEMA_OF,
    is_empty,
    nests_deeper,
)
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem

#: Fields a PATCH of a contact or organization may not name.
PATCH_FORBIDDEN = frozenset(
    {
        "id",
        "createDate",
        "modifyDate",
        "selfUri",
        "type",
        "division",
        "identifiers",
        "trustor",
        "externalDataSources",
        "canonicalContact",
        "mergeSet",
        "mergedFrom",
        "mergedTo",
        "mergeOperation",
    }
)
#: Fields a PATCH of a note or relationship may not name.
CHILD_PATCH_FORBIDDEN = frozenset(
    {"id", "selfUri", "createDate", "modifyDate", "entityId", "entityType", "externalDataSources", "division"}
)
PATCH_ACTIONS = (
    "Update",
    "UpdateIfEmpty",
    "UpdateIfExists",
    "Remove",
    "AppendToCollection",
    "RemoveFromCollection",
)
#: Most dot-separated parts in a field path (a body nests at most MAX_JSON_DEPTH levels).
MAX_PATH_DEPTH = MAX_JSON_DEPTH - 1
#: A field path: ``$.name`` or ``$.address.city``.
FIELD_PATH = re.compile(r"^\$\.([A-Za-z0-9_]+(?:\.[A-Za-z0-9_]+)*)$")


def _matches(item: Any, pattern: Any) -> bool:
    """RemoveFromCollection: equal values, or for objects every key of the pattern equal."""
    if isinstance(item, dict) and isinstance(pattern, dict):
        return all(item.get(k) == v for k, v in pattern.items())
    return bool(item == pattern)


class Patching:
    """Applies a PATCH body's ``changes`` to a document (a record's writable fields)."""

    def __init__(self, state: State) -> None:
        self.state = state

    def apply_changes(self, kind: str, doc: dict[str, Any], body: Any) -> None:
        """Check every change, then apply them in order to ``doc`` (400/409 before any is applied)."""
        changes = body.get("changes") if isinstance(body, dict) else None
        if not isinstance(changes, list) or not changes:
            raise bad_request(
                "The patch request needs a non-empty 'changes' array",
                [FieldProblem("changes", "must be a non-empty array")],
            )
        parsed: list[tuple[list[str], str, Any, int]] = []
        problems: list[FieldProblem] = []
        for i, change in enumerate(changes):
            where = f"changes[{i}]"
            if not isinstance(change, dict):
                problems.append(FieldProblem(where, "must be a JSON object"))
                continue
            action = change.get("action")
            if action not in PATCH_ACTIONS:
                problems.append(
                    FieldProblem(
                        f"{where}.action", f"must be one of {', '.join(PATCH_ACTIONS)}", value=action
                    )
                )
            path = self.patch_path(kind, change.get("field"), f"{where}.field", problems)
            if path is not None and action in PATCH_ACTIONS:
                parsed.append((path, str(action), change.get("value"), i))
        if problems:
            raise invalid(problems, "patch request")
        for a, (pa, *_rest) in enumerate(parsed):
            for pb, *_ in parsed[a + 1 :]:
                short, long_ = (pa, pb) if len(pa) <= len(pb) else (pb, pa)
                if short != long_ and long_[: len(short)] == short:
                    raise EmulatorError(
                        409,
                        "conflict",
                        f"The patch names both $.{'.'.join(short)} and its child $.{'.'.join(long_)}",
                        [{"errorCode": "conflict", "fieldName": ".".join(long_)}],
                    )
        for path, action, value, i in parsed:
            self.apply_change(kind, doc, path, action, value, f"changes[{i}]")
        if nests_deeper(doc, MAX_JSON_DEPTH):
            problem = FieldProblem(
                "changes", f"would make the record nest deeper than {MAX_JSON_DEPTH} levels"
            )
            raise invalid([problem], "patch request")

    def patch_path(self, kind: str, raw: Any, where: str, problems: list[FieldProblem]) -> list[str] | None:
        """The path a change names, split at dots, or None with a problem at ``where``."""
        if isinstance(raw, str) and raw.count(".") > MAX_PATH_DEPTH:
            problems.append(
                FieldProblem(where, f"nests deeper than {MAX_PATH_DEPTH} levels", value=raw[:80] + "...")
            )
            return None
        match = FIELD_PATH.match(raw) if isinstance(raw, str) else None
        if match is None:
            problems.append(
                FieldProblem(where, "must be a dot path such as $.firstName or $.address.city", value=raw)
            )
            return None
        path = match.group(1).split(".")
        forbidden = CHILD_PATCH_FORBIDDEN if kind in (NOTES, RELATIONSHIPS) else PATCH_FORBIDDEN
        if path[0] in forbidden:
            problems.append(FieldProblem(where, f"names the read-only field {path[0]}", value=raw))
            return None
        if kind in (CONTACTS, RELATIONSHIPS) and path[0] == "externalOrganization":
            if len(path) > 2 or (len(path) == 2 and path[1] != "id"):
                problems.append(
                    FieldProblem(where, "only $.externalOrganization or its .id may be patched", value=raw)
                )
                return None
            return path
        if self.state.cleaner.field_schema(SCHEMA_OF[kind], path) is None:
            problems.append(FieldProblem(where, f"names no field of {SCHEMA_OF[kind]}", value=raw))
            return None
        return path

    def apply_change(
        self, kind: str, doc: dict[str, Any], path: list[str], action: str, value: Any, where: str
    ) -> None:
        parent: Any = doc
        for part in path[:-1]:
            child = parent.get(part)
            if not isinstance(child, dict):
                if action in ("Remove", "RemoveFromCollection", "UpdateIfExists"):
                    return
                child = {}
                parent[part] = child
            parent = child
        leaf = path[-1]
        current = parent.get(leaf)
        prop = self.state.cleaner.field_schema(SCHEMA_OF[kind], path) or {}
        if action == "Update":
            if value is None:
                parent.pop(leaf, None)
            else:
                parent[leaf] = value
        elif action == "UpdateIfEmpty":
            if is_empty(current) and value is not None:
                parent[leaf] = value
        elif action == "UpdateIfExists":
            if not is_empty(current):
                if value is None:
                    parent.pop(leaf, None)
                else:
                    parent[leaf] = value
        elif action == "Remove":
            parent.pop(leaf, None)
        else:
            free_form = not prop and (current is None or isinstance(current, list))
            if prop.get("type") != "array" and not free_form:
                raise bad_request(
                    f"{where}: {action} needs a collection, and $.{'.'.join(path)} is not one",
                    [FieldProblem(f"{where}.field", "is not a collection")],
                )
            items = value if isinstance(value, list) else [value]
            existing = list(current) if isinstance(current, list) else []
            if action == "AppendToCollection":
                parent[leaf] = existing + [x for x in items if x is not None and x not in existing]
            else:
                parent[leaf] = [x for x in existing if not any(_matches(x, pattern) for pattern in items)]
