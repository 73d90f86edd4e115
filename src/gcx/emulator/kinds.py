"""What the emulator's rules share: the kinds of records, their fields, and JSON helpers.

Kinds: ``"contacts"`` and ``"organizations"`` (the two record types share most rules),
plus external sources, notes and relationships.
"""

from __future__ import annotations

import math
from datetime import UTC, datetime
from functools import lru_cache
from typing import Any, TypeVar, cast

T = TypeVar("T")

CONTACTS = "contacts"
ORGS = "organizations"
SOURCES = "externalsources"
NOTES = "notes"
RELATIONSHIPS = "relationships"
RECORD_KINDS = (CONTACTS, ORGS)
ALL_KINDS = (SOURCES, ORGS, CONTACTS, NOTES, RELATIONSHIPS)

API = "/api/v2/externalcontacts"
SCHEMA_OF = {
    CONTACTS: "ExternalContact",
    ORGS: "ExternalOrganization",
    SOURCES: "ExternalSource",
    NOTES: "Note",
    RELATIONSHIPS: "Relationship",
}
IDENTIFIER_SCHEMA = {CONTACTS: "ContactIdentifier", ORGS: "ExternalOrganizationIdentifier"}
NOUN = {
    CONTACTS: "contact",
    ORGS: "external organization",
    SOURCES: "external source",
    NOTES: "note",
    RELATIONSHIPS: "relationship",
}
NOTE_ENTITY_TYPE = {CONTACTS: "contact", ORGS: "organization"}

#: Fields the server manages on stored records (never taken from a request body).
SERVER_FIELDS = frozenset(
    {"id", "createDate", "modifyDate", "selfUri", "type", "division", "identifiers", "trustor"}
)


_CONTAINERS = (dict, list)

MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a body or made by a PATCH (records need about 5)."""


def nests_deeper(data: Any, limit: int) -> bool:
    """Whether objects/arrays nest deeper than ``limit`` (iterative: no recursion on hostile input).

    Level by level: the containers at each depth, until none is left or the depth passes ``limit``.
    """
    level: list[Any] = [data] if isinstance(data, _CONTAINERS) else []
    depth = 1
    while level:
        if depth > limit:
            return True
        deeper: list[Any] = []
        for value in level:
            for child in value.values() if isinstance(value, dict) else value:
                if isinstance(child, _CONTAINERS):
                    deeper.append(child)
        level = deeper
        depth += 1
    return False


def iso_ms(epoch: float) -> str:
    """``2026-01-02T03:04:05.678Z``: what ``datetime.fromtimestamp(epoch, UTC)`` shows, its
    microseconds rounded half to even as datetime rounds them, then truncated to milliseconds.

    The text up to the second is made once per second (records written in the same second share
    it), the milliseconds appended: a sixth of the cost of a datetime and strftime per record.
    """
    fraction, whole = math.modf(epoch)
    micros = round(fraction * 1e6)
    if micros >= 1_000_000:
        micros -= 1_000_000
        whole += 1
    elif micros < 0:
        micros += 1_000_000
        whole -= 1
    return f"{_iso_second(int(whole))}{micros // 1000:03d}Z"


@lru_cache(maxsize=4)
def _iso_second(whole: int) -> str:
    return datetime.fromtimestamp(whole, tz=UTC).strftime("%Y-%m-%dT%H:%M:%S.")


def clone(value: T) -> T:
    """A deep copy of JSON-shaped data (dicts, lists, scalars); several times faster than deepcopy.

    Scalars are shared, never passed to a call of their own (most values of a record are).
    """
    if isinstance(value, dict):
        copied = dict(value)
        for key, item in copied.items():
            if isinstance(item, _CONTAINERS):
                copied[key] = clone(item)
        return cast(T, copied)
    if isinstance(value, list):
        return cast(T, [clone(item) if isinstance(item, _CONTAINERS) else item for item in value])
    return value


def is_empty(value: Any) -> bool:
    return value is None or value == "" or value == [] or value == {}


def record_ref(kind: str, record_id: str) -> dict[str, str]:
    return {"id": record_id, "selfUri": f"{API}/{kind}/{record_id}"}
