"""Pure rules of the record editor: which fields a form shows, what a submitted form changes,
and which of those changes someone else made first (conflicts are never overwritten)."""

from __future__ import annotations

import json
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

#: Server-owned or identity fields, never edited in the form (moves have their own page).
READ_ONLY = frozenset(
    {
        "id", "selfUri", "createDate", "modifyDate", "type", "externalDataSources", "division",
        "externalOrganization", "externalIds", "identifiers", "schema", "version",
    }
)  # fmt: skip

MISSING = object()


@dataclass(frozen=True)
class FieldView:
    path: str
    value: Any
    editable: bool
    known: bool

    @property
    def text(self) -> str:
        if self.value is None:
            return ""
        if isinstance(self.value, bool):
            return "true" if self.value else "false"
        if isinstance(self.value, str):
            return self.value
        return json.dumps(self.value, ensure_ascii=False)

    @property
    def original(self) -> str:
        return json.dumps(self.value, ensure_ascii=False, sort_keys=True)


def flatten(
    record: Mapping[str, Any], known: frozenset[str] = frozenset(), prefix: str = ""
) -> Iterator[FieldView]:
    """Every leaf of a record as a dot path; lists are one read-only leaf."""
    for key in sorted(record):
        value = record[key]
        path = f"{prefix}{key}"
        top = path.split(".")[0]
        if isinstance(value, Mapping) and value and top not in READ_ONLY:
            yield from flatten(value, known, path + ".")
            continue
        editable = top not in READ_ONLY and not isinstance(value, list | dict)
        yield FieldView(path, value, editable, top in known)


def get_path(record: Mapping[str, Any], path: str) -> Any:
    cur: Any = record
    for part in path.split("."):
        if not isinstance(cur, Mapping) or part not in cur:
            return MISSING
        cur = cur[part]
    return cur


class EditError(ValueError):
    def __init__(self, path: str, reason: str) -> None:
        super().__init__(f"field {path}: {reason}")
        self.path = path


def parse_value(text: str, original: Any, path: str) -> Any:
    """The typed value a text input means, by the type the field had (empty removes it)."""
    text = text.strip() if not isinstance(original, str) else text
    if text == "":
        return None
    if isinstance(original, bool):
        if text.lower() in ("true", "false"):
            return text.lower() == "true"
        raise EditError(path, f"must be true or false, got {text!r}")
    if isinstance(original, int):
        try:
            return int(text)
        except ValueError:
            raise EditError(path, f"must be a whole number, got {text!r}") from None
    if isinstance(original, float):
        try:
            return float(text)
        except ValueError:
            raise EditError(path, f"must be a number, got {text!r}") from None
    return text


def form_changes(form: Mapping[str, str]) -> tuple[dict[str, Any], dict[str, Any]]:
    """Pure: ``(changes, originals)`` from a submitted form: fields ``f.<path>`` (new text) and
    ``o.<path>`` (the JSON value the form was made from); only fields whose value differs."""
    changes: dict[str, Any] = {}
    originals: dict[str, Any] = {}
    for name, text in form.items():
        if not name.startswith("f."):
            continue
        path = name[2:]
        if path.split(".")[0] in READ_ONLY or not path or len(path) > 200:
            raise EditError(path, "cannot be edited here")
        raw_orig = form.get("o." + path)
        if raw_orig is None:
            raise EditError(path, "the form has no original value for it: reload the page")
        try:
            original = json.loads(raw_orig)
        except ValueError:
            raise EditError(path, "the form's original value is garbled: reload the page") from None
        value = parse_value(text, original, path)
        if value != original and not (value is None and original in (None, "")):
            changes[path] = value
            originals[path] = original
    new_path = str(form.get("new_path") or "").strip()
    if new_path:
        if new_path.split(".")[0] in READ_ONLY or len(new_path) > 200 or not all(new_path.split(".")):
            raise EditError(new_path, "cannot be added here")
        changes[new_path] = str(form.get("new_value") or "")
        originals[new_path] = None
    return changes, originals


def conflicts(current: Mapping[str, Any], originals: Mapping[str, Any]) -> list[str]:
    """Pure: the fields someone changed since the form was loaded (they are not written)."""
    out = []
    for path, original in originals.items():
        now = get_path(current, path)
        now = None if now is MISSING else now
        if now != original:
            out.append(path)
    return out
