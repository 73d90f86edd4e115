"""The ledger's rows and operation states, as plain values (no database here).

The pure planner and the apply steps use these; :mod:`gcx.sync.ledger` stores them with
SQLAlchemy.

Operation states form a closed set changed only through named transitions
(:data:`TRANSITIONS`): ``planned -start-> started -succeed-> done``,
``started -fail-> failed``, ``started -lose-> unknown`` (no answer), and reconciliation
``started|unknown -reconcile_found-> done`` / ``-reconcile_absent-> failed``. Anything
else raises :class:`~gcx.sync.errors.IllegalTransitionError`.
"""

from __future__ import annotations

import json
from collections.abc import ItemsView, Iterator, Mapping, Sequence
from dataclasses import dataclass
from enum import StrEnum
from typing import Any

import orjson

from gcx import jsonfast
from gcx.redact import redact_url
from gcx.sync.errors import BindingError, IllegalTransitionError
from gcx.sync.fields import Kind
from gcx.sync.quickinit import quick_init


class OpState(StrEnum):
    PLANNED = "planned"
    STARTED = "started"
    DONE = "done"
    FAILED = "failed"
    UNKNOWN = "unknown"


#: event -> (allowed source states, target state)
TRANSITIONS: dict[str, tuple[frozenset[OpState], OpState]] = {
    "start": (frozenset({OpState.PLANNED}), OpState.STARTED),
    "succeed": (frozenset({OpState.STARTED}), OpState.DONE),
    "fail": (frozenset({OpState.STARTED, OpState.PLANNED}), OpState.FAILED),
    "lose": (frozenset({OpState.STARTED}), OpState.UNKNOWN),
    "reconcile_found": (frozenset({OpState.STARTED, OpState.UNKNOWN}), OpState.DONE),
    "reconcile_absent": (frozenset({OpState.STARTED, OpState.UNKNOWN}), OpState.FAILED),
}

#: States an interrupted run may leave behind, reconciled before the next plan.
OPEN_STATES = frozenset({OpState.STARTED, OpState.UNKNOWN})


def next_state(current: OpState | str, event_name: str) -> OpState:
    """Pure: the state after ``event_name``; raises :class:`IllegalTransitionError` if not allowed."""
    if event_name not in TRANSITIONS:
        raise IllegalTransitionError(f"unknown transition {event_name!r} (known: {', '.join(TRANSITIONS)})")
    allowed, target = TRANSITIONS[event_name]
    state = OpState(current)
    if state not in allowed:
        raise IllegalTransitionError(
            f"transition {event_name!r} is not allowed from {state.value!r} "
            f"(only from {', '.join(sorted(s.value for s in allowed))})"
        )
    return target


class JsonObject(Mapping[str, Any]):
    """A JSON object kept as its text and decoded on each read.

    The ledger's records are all held during a run (a million of them at scale): as text they
    cost their length, as dicts several times more. Each read decodes once (``items``, ``get``,
    ``==``); :attr:`text` is the stored JSON, written back as it is.
    """

    __slots__ = ("text",)

    def __init__(self, text: str) -> None:
        self.text = text

    def data(self) -> dict[str, Any]:
        value = json.loads(self.text)
        return value if isinstance(value, dict) else {}

    def __getitem__(self, name: str) -> Any:
        return self.data()[name]

    def get(self, name: str, default: Any = None) -> Any:
        return self.data().get(name, default)

    def items(self) -> ItemsView[str, Any]:
        return self.data().items()

    def __iter__(self) -> Iterator[str]:
        return iter(self.data())

    def __len__(self) -> int:
        return len(self.data())

    def __repr__(self) -> str:
        return f"JsonObject({self.text})"


class PackedObject(JsonObject):
    """A :class:`JsonObject` with the bytes the ledger stores for it (``packed``), worked out
    where its values were at hand (:class:`gcx.sync.plan.After`): its record is written without
    reading the text again. ``None``: the ledger packs the text as for any other."""

    __slots__ = ("packed",)

    def __init__(self, text: str, packed: bytes | None) -> None:
        self.text = text
        self.packed = packed


def json_text(values: Mapping[str, Any] | str) -> str:
    """The ledger's JSON of a values mapping (a :class:`JsonObject`, or text already written by
    :func:`op_payload`, is written as it was read)."""
    if isinstance(values, str):
        return values
    if isinstance(values, JsonObject):
        return values.text
    return jsonfast.dumps_sorted(dict(values))


def op_payload(applied: JsonObject, hash: str, org_key: str | None) -> str:
    """An op's payload ``{"applied": ..., "hash": ..., "org_key": ...}`` as the ledger's JSON text
    (text, not a :class:`JsonObject`: it is only written, once per op of a first sync),
    written around the applied values' text: the text :func:`json_text` gives for that dict
    (sorted keys: ``applied`` < ``hash`` < ``org_key``), without encoding the values again.

    Text orjson refuses (a lone surrogate) makes :func:`json_text` write the whole dict with the
    standard library: so is it written then (the applied values hold no NaN or infinity, which
    the two write apart: :func:`~gcx.sync.fields.to_value` refuses them)."""
    try:
        tail = orjson.dumps({"hash": hash, "org_key": org_key}, option=orjson.OPT_SORT_KEYS)
    except TypeError:  # orjson.JSONEncodeError
        return json_text({"applied": applied.data(), "hash": hash, "org_key": org_key})
    return f'{{"applied":{applied.text},{tail[1:].decode()}'


def done_payload(before: Mapping[str, Any] | None, after: Mapping[str, Any] | None) -> dict[str, Any] | None:
    """Pure: what a done op keeps in the ledger, its *undo*: ``None`` when the ledger held no
    record before it (a create), else the values it replaced (``before``: every path whose value
    changed or went away, a delete's every value) and the paths it added (``added``)."""
    if before is None:
        return None
    now = after or {}
    out: dict[str, Any] = {"before": {p: v for p, v in before.items() if p not in now or now[p] != v}}
    added = sorted(p for p in now if p not in before)
    if added:
        out["added"] = added
    return out


def undo(after: Mapping[str, Any] | None, payload: Mapping[str, Any]) -> dict[str, Any] | None:
    """Pure: the values before a done op, from those after it and its undo (``{}``: none kept,
    so there was no record before it)."""
    if "before" not in payload:
        return None
    added = set(payload.get("added") or ())
    values = {p: v for p, v in (after or {}).items() if p not in added}
    values.update(payload["before"])
    return values


def values_around(
    current: Mapping[str, Any] | None,
    later: Sequence[Mapping[str, Any]],
    own: Mapping[str, Any],
) -> tuple[dict[str, Any] | None, dict[str, Any] | None]:
    """Pure: (values before, values after) a done op, from the record's values now, the undos of
    the record's later done ops (latest first) and its own undo."""
    after = dict(current) if current is not None else None
    for payload in later:
        after = undo(after, payload)
    return undo(after, own), after


@quick_init
@dataclass(frozen=True, slots=True)
class LedgerEntry:
    kind: Kind
    key: str
    genesys_id: str
    hash: str
    applied: Mapping[str, Any]
    org_key: str | None
    created_by_gcx: bool


@dataclass(frozen=True)
class CheckedRecord:
    """A record an adoption check has read: its ``modifyDate`` then, and its ExternalId values
    (our External Source or none; another system's ExternalIds are not kept)."""

    kind: Kind
    genesys_id: str
    modify_date: str
    external_ids: tuple[str, ...]


@dataclass(frozen=True)
class Binding:
    org_id: str
    org_name: str | None
    region: str
    external_source_id: str
    external_source_name: str


@dataclass(frozen=True)
class OpRow:
    id: int
    run_id: int
    kind: Kind
    key: str
    op: str
    state: OpState
    attempt: int
    batch_id: str | None
    genesys_id: str | None
    payload: dict[str, Any]
    error: dict[str, Any] | None
    line: int | None


@quick_init
@dataclass(frozen=True, slots=True)
class NewOp:
    """An operation about to be started: the intended managed values travel with it."""

    kind: Kind
    key: str
    op: str
    payload: Mapping[str, Any] | str  # a dict, or its ledger text already written (:func:`op_payload`)
    genesys_id: str | None = None
    line: int | None = None


@quick_init
@dataclass(frozen=True, slots=True)
class Outcome:
    """The result of one started op, written with its ledger record in one transaction."""

    op_id: int
    ok: bool
    genesys_id: str | None = None
    error: dict[str, Any] | None = None


def check_binding(current: Binding, *, org_id: str | None, region: str) -> None:
    """Pure: refuse a ledger bound to another org or region."""
    if org_id is not None and current.org_id != org_id:
        raise BindingError(
            f"this ledger belongs to Genesys org {current.org_name or ''} ({current.org_id}) "
            f"in {redact_url(current.region)}, but the credentials are for org {org_id}: "
            "use another --ledger"
        )
    if _norm_region(current.region) != _norm_region(region):
        raise BindingError(
            f"this ledger belongs to region {redact_url(current.region)}, not "
            f"{redact_url(region)}: use another --ledger"
        )


def _norm_region(region: str) -> str:
    return redact_url(region.strip()).lower().replace("_", "-").rstrip("/")
