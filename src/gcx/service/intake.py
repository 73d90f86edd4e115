"""Webhook bodies -> validated events, and pending events -> coalesced records. Pure.

A body is one event or many::

    {"id": "evt-1", "record": {"kind": "contact", "externalId": "c-1", "firstName": "Jane"}}
    {"events": [{"id": "evt-1", "record": {...}}, {"id": "evt-2", "record": {...}}]}

``record`` is a canonical JSON record exactly as ``gcx sync`` reads from JSONL (the fields
present are the fields gcx manages). ``id`` is the sender's event id: an id already received
for the job is ignored, so a sender may safely retry. A body with any bad event is refused
whole (400) with one reason per bad event, and nothing of it is stored.
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from dataclasses import dataclass
from typing import Any

from gcx.service.database import Event
from gcx.sync.records import record_from_json

MAX_EVENT_ID = 200


@dataclass(frozen=True)
class Problem:
    index: int | None
    reason: str
    event_id: str | None = None
    external_id: str | None = None
    field: str | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {"index": self.index, "reason": self.reason}
        for key, value in (
            ("eventId", self.event_id),
            ("externalId", self.external_id),
            ("field", self.field),
        ):
            if value is not None:
                out[key] = value
        return out


def parse_body(
    body: bytes, *, max_events: int, phone_country: str = "US"
) -> tuple[list[Event], list[Problem]]:
    """The events of a body, or the reasons it is refused (then no event)."""
    try:
        doc = json.loads(body)
    except (UnicodeDecodeError, json.JSONDecodeError, RecursionError) as exc:
        return [], [Problem(None, f"the body is not JSON: {exc}"[:300])]
    if isinstance(doc, dict) and "events" in doc:
        if set(doc) != {"events"} or not isinstance(doc["events"], list):
            return [], [Problem(None, 'a batch is {"events": [...]} and nothing else')]
        items: list[Any] = doc["events"]
    elif isinstance(doc, dict):
        items = [doc]
    else:
        return [], [Problem(None, f"expected a JSON object, got {type(doc).__name__}")]
    if not items:
        return [], [Problem(None, "no event in the body")]
    if len(items) > max_events:
        return [], [Problem(None, f"{len(items)} events in one request; the limit is {max_events}")]
    events: list[Event] = []
    problems: list[Problem] = []
    for i, item in enumerate(items):
        ev, probs = _event(i, item, phone_country)
        problems.extend(probs)
        if ev is not None:
            events.append(ev)
    return (events, []) if not problems else ([], problems)


def _event(i: int, item: Any, phone_country: str) -> tuple[Event | None, list[Problem]]:
    if not isinstance(item, dict):
        return None, [Problem(i, f"an event is a JSON object, got {type(item).__name__}")]
    extra = set(item) - {"id", "record"}
    if extra:
        return None, [Problem(i, f"unknown key(s) {', '.join(sorted(extra))}: an event has id and record")]
    eid = item.get("id")
    if not isinstance(eid, str) or not eid.strip() or len(eid) > MAX_EVENT_ID:
        return None, [
            Problem(i, f"id must be a non-empty string of at most {MAX_EVENT_ID} characters", field="id")
        ]
    record = item.get("record")
    if not isinstance(record, dict):
        return None, [Problem(i, "record must be a JSON object", event_id=eid, field="record")]
    built = record_from_json(record, line=i + 1, phone_country=phone_country)
    key = record.get("externalId") if isinstance(record.get("externalId"), str) else None
    if built.record is None or built.issues:
        probs = [
            Problem(i, issue.reason, event_id=eid, external_id=key, field=issue.field)
            for issue in built.issues
        ] or [Problem(i, "the record is not valid", event_id=eid, external_id=key)]
        return None, probs
    rec = built.record
    return Event(event_id=eid, kind=rec.kind, external_id=rec.key, record=record), []


def _merge(into: dict[str, Any], newer: dict[str, Any]) -> None:
    for key, value in newer.items():
        old = into.get(key)
        if isinstance(old, dict) and isinstance(value, dict):
            merged = dict(old)
            merged.update(value)
            into[key] = merged
        else:
            into[key] = value


def coalesce(records: Iterable[dict[str, Any]]) -> list[dict[str, Any]]:
    """One record per (kind, externalId), later events' fields over earlier ones (receipt order).

    Organizations come first, so that a contact's organization is known before the contact."""
    merged: dict[tuple[str, str], dict[str, Any]] = {}
    for rec in records:
        key = (str(rec.get("kind")), str(rec.get("externalId")))
        if key in merged:
            _merge(merged[key], rec)
        else:
            merged[key] = dict(rec)
    orgs = [r for (k, _), r in merged.items() if k == "organization"]
    return orgs + [r for (k, _), r in merged.items() if k != "organization"]


def summary(problems: Sequence[Problem]) -> dict[str, Any]:
    return {"error": "invalid events: nothing was stored", "problems": [p.to_json() for p in problems]}
