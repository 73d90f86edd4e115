"""The emulator's cleaning rules as a plain walk over the spec: the oracle of the compiled rules.

:meth:`gcx.emulator.schema.Cleaner.clean` runs the contract's field rules compiled ahead, one
function per property. This module reads each property's schema and description as it goes,
the slow and obvious way, so ``test_schema_compiled.py`` can require the same cleaned values
and the same problems, in the same order, from both.
"""

from __future__ import annotations

from typing import Any
from urllib.parse import urlsplit

from gcx.emulator.schema import (
    _INT32,
    _ISO,
    READ_ONLY,
    URL_FIELDS,
    Cleaner,
    FieldProblem,
    _join,
    _short,
    between_chars,
    email_problem,
    max_chars,
    max_items,
    normalize_phone,
)


def clean_reference(
    self: Cleaner,
    schema_name: str,
    value: Any,
    path: str,
    problems: list[FieldProblem],
    *,
    nested: bool = False,
) -> Any:
    """:meth:`clean` as a walk over the spec: the rules as written, slower (the reference)."""
    if value is None:
        return None
    if not isinstance(value, dict):
        problems.append(FieldProblem(path or "body", "must be a JSON object", value=_short(value)))
        return None
    read_only = READ_ONLY.get(schema_name, frozenset())
    if nested:
        read_only = read_only - {"id"}
    out: dict[str, Any] = {}
    for name, prop in self.properties(schema_name).items():
        if name in read_only or name not in value:
            continue
        cleaned = _clean_prop(self, name, prop, value[name], _join(path, name), problems)
        if cleaned is not None:
            out[name] = cleaned
    if schema_name == "PhoneNumber":
        out = normalize_phone(out)
    return out


def _clean_prop(
    self: Cleaner, name: str, prop: dict[str, Any], value: Any, path: str, problems: list[FieldProblem]
) -> Any:
    if value is None:
        return None
    ref = self.ref_name(prop)
    if ref is not None:
        if ref not in self.schemas or "properties" not in self.schemas[ref]:
            return value
        return clean_reference(self, ref, value, path, problems, nested=True)
    kind = prop.get("type")
    description = str(prop.get("description") or "")
    if kind == "string":
        return _clean_string(self, name, prop, description, value, path, problems)
    if kind == "integer":
        if isinstance(value, bool) or not isinstance(value, int):
            problems.append(FieldProblem(path, "must be an integer", value=_short(value)))
            return None
        if prop.get("format") == "int32" and not _INT32[0] <= value <= _INT32[1]:
            problems.append(FieldProblem(path, "is outside the 32-bit integer range", value=value))
            return None
        return value
    if kind == "number":
        if isinstance(value, bool) or not isinstance(value, int | float):
            problems.append(FieldProblem(path, "must be a number", value=_short(value)))
            return None
        return value
    if kind == "boolean":
        if not isinstance(value, bool):
            problems.append(FieldProblem(path, "must be true or false", value=_short(value)))
            return None
        return value
    if kind == "array":
        return _clean_array(self, name, prop, description, value, path, problems)
    if kind == "object":
        if not isinstance(value, dict):
            problems.append(FieldProblem(path, "must be a JSON object", value=_short(value)))
            return None
        return value
    return value


def _clean_string(
    self: Cleaner,
    name: str,
    prop: dict[str, Any],
    description: str,
    value: Any,
    path: str,
    problems: list[FieldProblem],
) -> str | None:
    if not isinstance(value, str):
        problems.append(FieldProblem(path, "must be a string", value=_short(value)))
        return None
    text = value.strip()
    if not text:
        return None
    enum = prop.get("enum")
    if enum and text not in enum:
        problems.append(
            FieldProblem(path, f"must be one of {', '.join(enum)}", code="invalid.value", value=text)
        )
        return None
    limit = max_chars(description)
    if limit is not None and len(text) > limit:
        problems.append(FieldProblem(path, f"is longer than {limit} characters", value=text[:40] + "..."))
        return None
    between = between_chars(description)
    if between is not None:
        low, high = between
        if not low <= len(text) <= high:
            problems.append(FieldProblem(path, f"must be between {low} and {high} characters"))
            return None
    if "valid email" in description.lower():
        problem = email_problem(text)
        if problem is not None:
            problems.append(FieldProblem(path, f"is not a valid email address ({problem})", value=text))
            return None
    if name in URL_FIELDS:
        parts = urlsplit(text)
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            problems.append(FieldProblem(path, "must be an http(s) URL", value=text))
            return None
    if prop.get("format") == "date-time" and not _ISO.match(text):
        problems.append(FieldProblem(path, "must be an ISO-8601 date-time", value=text))
        return None
    return text


def _clean_array(
    self: Cleaner,
    name: str,
    prop: dict[str, Any],
    description: str,
    value: Any,
    path: str,
    problems: list[FieldProblem],
) -> list[Any] | None:
    if not isinstance(value, list):
        problems.append(FieldProblem(path, "must be a JSON array", value=_short(value)))
        return None
    limit = max_items(description)
    if limit is not None and len(value) > limit:
        problems.append(FieldProblem(path, f"holds more than {limit} items", value=len(value)))
        return None
    items = prop.get("items", {})
    out: list[Any] = []
    for i, item in enumerate(value):
        cleaned = _clean_prop(self, name, items, item, f"{path}[{i}]", problems)
        if cleaned is not None:
            out.append(cleaned)
    return out
