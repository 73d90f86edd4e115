"""Pure helpers for changing part of a record without touching the rest.

A *change set* maps dot paths (``"address.city"``) or top-level names (``"industry"``) to
new values; ``None`` removes the field. From it gcx builds either:

* PATCH changes (``{"field": "$.address.city", "action": "Update", "value": ...}``), never
  naming a field together with one of its parents (the API answers 409 to that); or
* the full body for a PUT: the record as read, deep-merged with the changes, every other
  field kept, including fields gcx does not model.

:func:`diff` goes the other way (the change set that turns one body into another), comparing
phone numbers by E.164 because the server rewrites their ``display``.
"""

from __future__ import annotations

import copy
import functools
import re
from collections.abc import Iterable, Mapping
from typing import Any

from gcx.errors import ValidationError
from gcx.phones import read_phone

Path = tuple[str, ...]

#: Fields the server owns: a change set may not name them, :func:`diff` ignores them.
READ_ONLY_FIELDS = frozenset(
    {"id", "selfUri", "createDate", "modifyDate", "type", "mergeSet", "mergedFrom", "mergedTo", "trustor"}
)
#: Fields of a PhoneNumber the server fills from ``display``.
PHONE_SERVER_FIELDS = frozenset({"e164", "countryCode", "userInput"})

_SEGMENT = re.compile(r"^[A-Za-z_][A-Za-z0-9_\-]*$")


def split_path(path: str, *, record: str | None = None) -> Path:
    """``"address.city"`` or ``"$.address.city"`` -> ``("address", "city")``."""
    if not isinstance(path, str):
        raise ValidationError(f"change key {path!r} must be a string", field=str(path), record=record)
    text = path.strip()
    if text.startswith("$."):
        text = text[2:]
    parts = tuple(text.split("."))
    if not text or any(not _SEGMENT.match(p) for p in parts):
        raise ValidationError(
            f"invalid field path {path!r}: use dot-separated field names such as 'address.city'",
            field=path,
            record=record,
        )
    return parts


def normalize_changes(changes: Mapping[str, Any], *, record: str | None = None) -> dict[Path, Any]:
    """Validate a change set: paths well formed, no read-only field, no field named together
    with one of its parents or children (ambiguous, and a 409 from PATCH)."""
    if not isinstance(changes, Mapping):
        raise ValidationError("changes must be a mapping of field paths to values", record=record)
    out: dict[Path, Any] = {}
    for key, value in changes.items():
        path = split_path(key, record=record)
        if path[0] in READ_ONLY_FIELDS:
            raise ValidationError(
                f"field {key!r} is read-only and cannot be changed", field=key, record=record
            )
        if path in out:
            raise ValidationError(f"field {key!r} is named twice", field=key, record=record)
        out[path] = value
    paths = sorted(out, key=len)
    for i, shorter in enumerate(paths):
        for longer in paths[i + 1 :]:
            if longer[: len(shorter)] == shorter:
                raise ValidationError(
                    f"change set names both {'.'.join(shorter)!r} and its child {'.'.join(longer)!r}; "
                    "name one of them",
                    field=".".join(longer),
                    record=record,
                )
    return out


def apply_changes(
    body: Mapping[str, Any], changes: Mapping[str, Any], *, record: str | None = None
) -> dict[str, Any]:
    """A deep copy of ``body`` with ``changes`` applied (``None`` removes the field).

    Every key not named by a change survives, known to gcx or not. Intermediate objects are
    created as needed; an intermediate value that is not an object is an error.
    """
    normalized = normalize_changes(changes, record=record)
    result = copy.deepcopy(dict(body))
    for path, value in normalized.items():
        target: dict[str, Any] = result
        for depth, part in enumerate(path[:-1]):
            child = target.get(part)
            if child is None:
                if value is None:
                    break  # removing below a missing object: nothing to do
                child = {}
                target[part] = child
            elif not isinstance(child, dict):
                raise ValidationError(
                    f"cannot set {'.'.join(path)!r}: {'.'.join(path[: depth + 1])!r} is not an object",
                    field=".".join(path),
                    record=record,
                )
            target = child
        else:
            leaf = path[-1]
            if value is None:
                target.pop(leaf, None)
            else:
                target[leaf] = copy.deepcopy(_plain(value))
    return result


def to_patch_changes(changes: Mapping[str, Any], *, record: str | None = None) -> list[dict[str, Any]]:
    """The PATCH ``changes`` list for a change set: ``Update`` for values, ``Remove`` for ``None``."""
    out: list[dict[str, Any]] = []
    for path, value in normalize_changes(changes, record=record).items():
        field = "$." + ".".join(path)
        if value is None:
            out.append({"field": field, "action": "Remove"})
        else:
            out.append({"field": field, "action": "Update", "value": _plain(value)})
    return out


def get_path(data: Mapping[str, Any], path: str) -> Any:
    """The value at a dot path: ``get_path({"a": {"b": 1}}, "a.b") == 1``; ``None`` when any
    step is missing or is not an object."""
    current: Any = data
    for part in path.split("."):
        if not isinstance(current, Mapping):
            return None
        current = current.get(part)
    return current


def deep_merge(base: Mapping[str, Any], overlay: Mapping[str, Any]) -> dict[str, Any]:
    """``base`` with ``overlay`` merged in: objects merge recursively, everything else
    (scalars, lists) is replaced. Neither input is modified."""
    result = copy.deepcopy(dict(base))
    for key, value in overlay.items():
        current = result.get(key)
        if isinstance(current, dict) and isinstance(value, Mapping):
            result[key] = deep_merge(current, value)
        else:
            result[key] = copy.deepcopy(_plain(value))
    return result


def phone_key(phone: Any) -> str | None:
    """The comparable identity of a PhoneNumber: its E.164 form when known or derivable,
    else its digits (plus extension)."""
    if not isinstance(phone, Mapping):
        return None

    def text(name: str) -> str | None:
        value = phone.get(name)
        return value if isinstance(value, str) else None

    ext = phone.get("extension")
    region = text("normalizationCountryCode") or text("countryCode")
    return _phone_key(
        text("e164"),
        text("display"),
        text("userInput"),
        region,
        None if ext in (None, "") else str(ext),
    )


@functools.lru_cache(maxsize=4096)
def _phone_key(
    e164: str | None, display: str | None, user_input: str | None, region: str | None, ext: str | None
) -> str | None:
    suffix = f";ext={ext}" if ext else ""
    if e164 and e164.strip():
        return e164.strip() + suffix
    for raw in (display, user_input):
        if not raw or not raw.strip():
            continue
        e164, _ = read_phone(raw, region or None)
        if e164 is not None:
            return e164 + suffix
        return (re.sub(r"[^\d+]", "", raw) or raw.strip()) + suffix
    return None


def _is_phone(value: Any) -> bool:
    return isinstance(value, Mapping) and any(k in value for k in ("display", "e164", "userInput"))


def same_value(a: Any, b: Any) -> bool:
    """Equality as the API means it: phones by E.164, strings ignoring surrounding white space,
    objects recursively (a field absent on one side equals ``None``)."""
    if _is_phone(a) and _is_phone(b):
        if phone_key(a) != phone_key(b):
            return False
        rest_a = {k: v for k, v in a.items() if k not in PHONE_SERVER_FIELDS and k != "display"}
        rest_b = {k: v for k, v in b.items() if k not in PHONE_SERVER_FIELDS and k != "display"}
        return same_value(rest_a, rest_b)
    if isinstance(a, Mapping) and isinstance(b, Mapping):
        keys = set(a) | set(b)
        return all(same_value(a.get(k), b.get(k)) for k in keys)
    if isinstance(a, str) and isinstance(b, str):
        return a.strip() == b.strip()
    if isinstance(a, list) and isinstance(b, list):
        return len(a) == len(b) and all(same_value(x, y) for x, y in zip(a, b, strict=True))
    if a is None or b is None:
        return a is None and b is None
    return bool(a == b)


def contains(whole: Any, part: Any) -> bool:
    """True when every field set in ``part`` has the same value in ``whole`` (fields the server
    adds to ``whole`` are ignored; phones compare by E.164)."""
    if _is_phone(part) and _is_phone(whole):
        return phone_key(part) == phone_key(whole)
    if isinstance(part, Mapping):
        if not isinstance(whole, Mapping):
            return False
        return all(
            (v is None and whole.get(k) is None) or (k in whole and contains(whole[k], v))
            for k, v in part.items()
        )
    if isinstance(part, list):
        # Order-insensitive: every element sent is found in what the server holds (it may add
        # elements of its own, e.g. identifiers derived from externalIds).
        if not isinstance(whole, list):
            return False
        return all(any(contains(w, p) for w in whole) for p in part)
    return same_value(whole, part)


def diff(
    old: Mapping[str, Any],
    new: Mapping[str, Any],
    *,
    ignore: Iterable[str] = READ_ONLY_FIELDS,
) -> dict[str, Any]:
    """The change set turning ``old`` into ``new`` (dot paths; ``None`` removes).

    Objects are compared field by field (phones as a whole, by E.164); lists are replaced
    whole. ``apply_changes(old, diff(old, new))`` equals ``new`` up to :func:`same_value`.
    """
    skipped = set(ignore)
    out: dict[str, Any] = {}
    _diff_into(out, (), old, new, skipped)
    return out


def _diff_into(
    out: dict[str, Any], prefix: Path, old: Mapping[str, Any], new: Mapping[str, Any], skip: set[str]
) -> None:
    for key in sorted(set(old) | set(new)):
        if not prefix and key in skip:
            continue
        path = (*prefix, key)
        a, b = old.get(key), new.get(key)
        if same_value(a, b):
            continue
        if (
            isinstance(a, Mapping)
            and isinstance(b, Mapping)
            and not (_is_phone(a) or _is_phone(b))
            and all(isinstance(k, str) and _SEGMENT.match(k) for k in (*a, *b))
        ):
            _diff_into(out, path, a, b, skip)
            continue
        out[".".join(path)] = copy.deepcopy(b)


def _plain(value: Any) -> Any:
    """Models become their API JSON; everything else is returned as is."""
    to_api = getattr(value, "to_api", None)
    if callable(to_api):
        return to_api()
    return value
