"""Bulk operations: chunking, 413 halving, per-item results in request order.

The bulk endpoints answer HTTP 200 with one result per item, **in no guaranteed order**.
gcx maps every result back to the item it answers:

* fetch / update / remove: by record id;
* add (and enrich): a failure by the item the server echoes in ``error.entity``; a success by
  the item's ExternalId identifier or ``externalIds`` value when it has one, else by comparing
  the created record with the fields the caller sent (phones by E.164, server-filled fields
  ignored). Identical items are interchangeable. An item whose answer cannot be told apart is
  reported as *unmapped*, never guessed.

Chunks are ``batch_size`` items (default 200); a chunk answered 413 is halved and retried (down
to one item, and later chunks use the smaller size). For idempotent operations (fetch, update,
remove, identifier-keyed enrich) items failing with a transient error (``retryable``, 5xx, 429)
are retried in a later chunk.
"""

from __future__ import annotations

import json
import math
from collections.abc import Awaitable, Callable, Iterator, Sequence
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gcx.errors import (
    ApiError,
    ForbiddenError,
    GcxError,
    OutcomeUnknownError,
    PayloadTooLargeError,
    UnauthorizedError,
)
from gcx.merge import contains

T = TypeVar("T")

#: Error codes gcx sets on items it could not send or could not map.
UNMAPPED = "gcx.unmapped"
OUTCOME_UNKNOWN = "gcx.outcome_unknown"
NOT_SENT = "gcx.not_sent"
INVALID = "gcx.invalid"


@dataclass(frozen=True)
class BulkError:
    """Why one item failed (the API's BulkEntityError, or gcx's own reason)."""

    message: str
    status: int | None = None
    code: str | None = None
    retryable: bool = False
    details: list[dict[str, Any]] = field(default_factory=list)
    entity: dict[str, Any] | None = None

    @classmethod
    def from_api(cls, error: dict[str, Any] | None, status: int | None = None) -> BulkError:
        error = error or {}
        details = error.get("details")
        entity = error.get("entity")
        st = error.get("status", status)
        return cls(
            message=str(error.get("message") or "the item failed"),
            status=st if isinstance(st, int) else status,
            code=str(error["code"]) if error.get("code") else None,
            retryable=bool(error.get("retryable")),
            details=[d for d in details if isinstance(d, dict)] if isinstance(details, list) else [],
            entity=entity if isinstance(entity, dict) else None,
        )

    @classmethod
    def from_exception(cls, exc: GcxError) -> BulkError:
        if isinstance(exc, ApiError):
            return cls(
                message=exc.message,
                status=exc.status,
                code=exc.code,
                retryable=exc.status in (408, 429) or exc.status >= 500,
                details=exc.details,
            )
        if isinstance(exc, OutcomeUnknownError):
            return cls(message=str(exc), code=OUTCOME_UNKNOWN)
        return cls(message=str(exc), code=NOT_SENT)

    @property
    def transient(self) -> bool:
        return self.retryable or (self.status is not None and (self.status == 429 or self.status >= 500))

    def __str__(self) -> str:
        head = " ".join(str(p) for p in (self.status, self.code) if p is not None)
        return f"{head}: {self.message}" if head else self.message


@dataclass
class BulkItem(Generic[T]):
    """The outcome of one request item. ``index`` is its position in the request.

    ``raw`` is the record as the server answered it (JSON); ``entity`` is that record parsed into
    the model, on first access (a caller that needs only ids or the JSON pays no validation).
    """

    index: int
    ok: bool
    request: Any
    id: str | None = None
    raw: dict[str, Any] | None = None
    error: BulkError | None = None
    attempts: int = 0
    parse: Callable[[dict[str, Any]], T] | None = field(default=None, repr=False, compare=False)
    _entity: T | None = field(default=None, init=False, repr=False, compare=False)

    @property
    def entity(self) -> T | None:
        if self._entity is None and self.ok and self.raw is not None and self.parse is not None:
            self._entity = self.parse(self.raw)
        return self._entity

    @property
    def mapped(self) -> bool:
        """False when the server's answer for this item could not be identified."""
        return self.error is None or self.error.code != UNMAPPED

    @property
    def outcome_unknown(self) -> bool:
        return self.error is not None and self.error.code in (OUTCOME_UNKNOWN, UNMAPPED)


@dataclass
class BulkResult(Generic[T]):
    """One :class:`BulkItem` per request item, in request order."""

    items: list[BulkItem[T]]
    #: Raw results the server returned that match no request item.
    unmatched: list[dict[str, Any]] = field(default_factory=list)
    #: HTTP bulk requests sent.
    requests: int = 0

    @property
    def succeeded(self) -> list[BulkItem[T]]:
        return [i for i in self.items if i.ok]

    @property
    def failed(self) -> list[BulkItem[T]]:
        return [i for i in self.items if not i.ok]

    @property
    def ok(self) -> bool:
        return all(i.ok for i in self.items)

    @property
    def entities(self) -> list[T]:
        return [e for i in self.items if i.ok and (e := i.entity) is not None]

    def __iter__(self) -> Iterator[BulkItem[T]]:
        return iter(self.items)

    def __len__(self) -> int:
        return len(self.items)

    def __getitem__(self, index: int) -> BulkItem[T]:
        return self.items[index]

    def __repr__(self) -> str:
        return f"BulkResult({len(self.items)} items, {len(self.succeeded)} ok, {len(self.failed)} failed)"


# -- mapping results back to requests (pure) ------------------------------------------


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def _result_id(result: dict[str, Any]) -> str | None:
    for source in (result, result.get("entity"), (result.get("error") or {}).get("entity")):
        if isinstance(source, dict) and isinstance(source.get("id"), str) and source["id"]:
            return str(source["id"])
    return None


def external_keys(record: dict[str, Any] | None) -> set[tuple[str, str]]:
    """The record's ExternalId keys: ``(external source id, value)`` from its ``identifiers`` of
    type ExternalId and its ``externalIds``."""
    keys: set[tuple[str, str]] = set()
    if not isinstance(record, dict):
        return keys
    for ident in record.get("identifiers") or []:
        if isinstance(ident, dict) and ident.get("type") == "ExternalId" and ident.get("value"):
            src = ident.get("externalSource")
            sid = src.get("id") if isinstance(src, dict) else None
            keys.add((str(sid or ""), str(ident["value"]).strip()))
    for ext in record.get("externalIds") or []:
        if isinstance(ext, dict) and ext.get("value"):
            src = ext.get("externalSource")
            sid = src.get("id") if isinstance(src, dict) else None
            keys.add((str(sid or ""), str(ext["value"]).strip()))
    return keys


def map_by_id(
    request_ids: Sequence[str | None], results: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign results to requests by record id (duplicated ids are assigned in order)."""
    assigned: list[dict[str, Any] | None] = [None] * len(request_ids)
    slots: dict[str, list[int]] = {}
    for i, rid in enumerate(request_ids):
        if rid:
            slots.setdefault(rid, []).append(i)
    unmatched: list[dict[str, Any]] = []
    for result in results:
        rid = _result_id(result)
        free = slots.get(rid or "", [])
        if free:
            assigned[free.pop(0)] = result
        else:
            unmatched.append(result)
    return assigned, unmatched


def map_by_tracker(
    trackers: Sequence[Any], results: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign bulk enrich results by the tracker ``id`` each operation carried (the result's
    ``id``, or the ``id`` of the operation a failure echoes). Trackers used twice are left out;
    results without a usable tracker are returned for the next mapping."""
    assigned: list[dict[str, Any] | None] = [None] * len(trackers)
    counts: dict[str, int] = {}
    for t in trackers:
        if isinstance(t, str) and t:
            counts[t] = counts.get(t, 0) + 1
    slot = {t: k for k, t in enumerate(trackers) if isinstance(t, str) and counts.get(t) == 1}
    rest: list[dict[str, Any]] = []
    for result in results:
        echoed = (result.get("error") or {}).get("entity") if isinstance(result.get("error"), dict) else None
        tracker = result.get("id") or (echoed.get("id") if isinstance(echoed, dict) else None)
        k = slot.get(tracker) if isinstance(tracker, str) else None
        if k is not None and assigned[k] is None:
            assigned[k] = without_tracker(result, tracker)
        else:
            rest.append(result)
    return assigned, rest


def without_tracker(result: dict[str, Any], tracker: Any) -> dict[str, Any]:
    """A copy of an enrich result where the tracker no longer poses as the record's id."""
    if not isinstance(tracker, str):
        return result
    clean = {k: v for k, v in result.items() if not (k == "id" and v == tracker)}
    error = clean.get("error")
    if (
        isinstance(error, dict)
        and isinstance(error.get("entity"), dict)
        and error["entity"].get("id") == tracker
    ):
        clean["error"] = {**error, "entity": {k: v for k, v in error["entity"].items() if k != "id"}}
    return clean


def _norm_scalar(value: Any) -> tuple[str, Any] | None:
    """A hashable form of a scalar such that ``same_value(a, b)`` implies equal forms."""
    if isinstance(value, str):
        return ("s", value.strip())
    if isinstance(value, bool | int | float):
        return ("n", float(value))
    return None


class _ContentIndex:
    """Narrows the requests a returned record may come from, before the exact comparison.

    Each request is filed under one of its scalar top-level fields (its *anchor*): a record
    containing the request must hold the same value there. Requests without a scalar field are
    always candidates. ExternalId keys are indexed too. The anchors are built on first use:
    results matched by ExternalId (the usual case) never need them.
    """

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = records
        self._anchors: tuple[dict[tuple[str, tuple[str, Any]], list[int]], set[str], list[int]] | None = None
        self.keys = [external_keys(r) for r in records]
        self.by_key: dict[tuple[str, str], list[int]] = {}
        for i in range(len(records)):
            for key in self.keys[i]:
                self.by_key.setdefault(key, []).append(i)

    def _anchored(self) -> tuple[dict[tuple[str, tuple[str, Any]], list[int]], set[str], list[int]]:
        if self._anchors is None:
            by_anchor: dict[tuple[str, tuple[str, Any]], list[int]] = {}
            fields: set[str] = set()
            unanchored: list[int] = []
            for i, record in enumerate(self.records):
                anchor = None
                for name in sorted(record):
                    norm = _norm_scalar(record[name])
                    if norm is not None:
                        anchor = (name, norm)
                        break
                if anchor is None:
                    unanchored.append(i)
                else:
                    by_anchor.setdefault(anchor, []).append(i)
                    fields.add(anchor[0])
            self._anchors = (by_anchor, fields, unanchored)
        return self._anchors

    def containing(self, whole: dict[str, Any]) -> list[int]:
        """Requests every field of which ``whole`` holds (phones by E.164)."""
        by_anchor, fields, unanchored = self._anchored()
        found = set(unanchored)
        for name in fields:
            norm = _norm_scalar(whole.get(name))
            if norm is not None:
                found.update(by_anchor.get((name, norm), ()))
        return [i for i in sorted(found) if contains(whole, self.records[i])]

    def keyed(self, whole: dict[str, Any]) -> list[int]:
        """Requests with ExternalId keys, all of which ``whole`` holds."""
        ekeys = external_keys(whole)
        found: set[int] = set()
        for key in ekeys:
            found.update(self.by_key.get(key, ()))
        return [i for i in sorted(found) if self.keys[i] <= ekeys]


def map_by_content(
    records: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    *,
    echoes: Sequence[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign results of a create-like bulk call to the request records that produced them.

    ``records[i]`` is the record the caller sent for item ``i`` (the fields to compare);
    ``echoes[i]`` (default: the same) is what the server echoes back in ``error.entity``.
    Only unique answers are assigned; identical requests are interchangeable.
    """
    echoes = records if echoes is None else echoes
    n = len(records)
    assigned: list[dict[str, Any] | None] = [None] * n
    fingerprints: list[str | None] = [None] * n  # canonical JSON of each echo, made when needed
    exact: dict[str, list[int]] | None = None

    def fingerprint(i: int) -> str:
        fp = fingerprints[i]
        if fp is None:
            fp = fingerprints[i] = _canonical(echoes[i])
        return fp

    index = _ContentIndex(records)
    echo_index = index if echoes is records else _ContentIndex(echoes)
    candidates: list[tuple[dict[str, Any], list[int]]] = []
    unmatched: list[dict[str, Any]] = []
    for result in results:
        success = bool(result.get("success")) and not result.get("error")
        cands: list[int] = []
        if not success:
            echoed = (result.get("error") or {}).get("entity")
            if isinstance(echoed, dict):
                if exact is None:
                    exact = {}
                    for i in range(n):
                        exact.setdefault(fingerprint(i), []).append(i)
                cands = exact.get(_canonical(echoed)) or echo_index.containing(echoed)
        else:
            entity = result.get("entity")
            if isinstance(entity, dict):
                keyed = index.keyed(entity)
                if len(keyed) > 1:
                    # Among the requests with its key, prefer those whose fields it also holds.
                    cands = [i for i in keyed if contains(entity, records[i])] or keyed
                elif keyed:
                    cands = keyed  # the only request with its key: comparing fields cannot change that
                else:
                    cands = [i for i in index.containing(entity) if not index.keys[i]]
        candidates.append((result, cands))
    pending = list(range(len(candidates)))
    progress = True
    while pending and progress:
        progress = False
        still: list[int] = []
        for k in pending:
            result, cands = candidates[k]
            free = [i for i in cands if assigned[i] is None]
            if not free:
                unmatched.append(result)
                progress = True
                continue
            if len(free) == 1 or len({fingerprint(i) for i in free}) == 1:
                assigned[free[0]] = result
                progress = True
            else:
                still.append(k)
        pending = still
    unmatched.extend(candidates[k][0] for k in pending)
    return assigned, unmatched


# -- the chunk runner ---------------------------------------------------------------------

SendChunk = Callable[[list[Any]], Awaitable[dict[str, Any]]]
MapChunk = Callable[
    [list[int], list[dict[str, Any]]], tuple[list[dict[str, Any] | None], list[dict[str, Any]]]
]
Sleep = Callable[[float], Awaitable[None]]


@dataclass
class _ItemState:
    result: dict[str, Any] | None = None
    error: BulkError | None = None
    attempts: int = 0


async def run_bulk(
    bodies: Sequence[Any],
    *,
    send: SendChunk,
    map_chunk: MapChunk,
    batch_size: int,
    retry_transient: bool,
    max_attempts: int = 3,
    backoff: Callable[[int], float] = lambda attempt: 0.0,
    sleep: Sleep | None = None,
    presets: dict[int, BulkError] | None = None,
    on_too_large: Callable[[int], None] | None = None,
) -> tuple[dict[int, _ItemState], list[dict[str, Any]], int]:
    """Send ``bodies`` in chunks; return per-index state, unmatched results, requests sent.

    ``presets`` are items already failed locally (not sent). ``on_too_large`` is told the
    smaller chunk size each time a 413 halves it, so that later calls can start there.
    """
    states: dict[int, _ItemState] = {i: _ItemState() for i in range(len(bodies))}
    for i, err in (presets or {}).items():
        states[i].error = err
    todo = [i for i in range(len(bodies)) if states[i].error is None]
    unmatched: list[dict[str, Any]] = []
    size = max(1, batch_size)
    requests = 0
    round_no = 0
    while todo:
        round_no += 1
        queue: list[list[int]] = [todo[k : k + size] for k in range(0, len(todo), size)]
        retry_next: list[int] = []
        while queue:
            chunk = queue.pop(0)
            if len(chunk) > size:
                queue[0:0] = [chunk[k : k + size] for k in range(0, len(chunk), size)]
                continue
            for i in chunk:
                states[i].attempts += 1
            requests += 1
            try:
                body = await send([bodies[i] for i in chunk])
            except PayloadTooLargeError as exc:
                if len(chunk) > 1:
                    half = math.ceil(len(chunk) / 2)
                    size = min(size, half)
                    if on_too_large is not None:
                        on_too_large(size)
                    for i in chunk:
                        states[i].attempts -= 1
                    queue[0:0] = [chunk[:half], chunk[half:]]
                    continue
                states[chunk[0]].error = BulkError.from_exception(exc)
                continue
            except (UnauthorizedError, ForbiddenError):
                raise
            except (ApiError, OutcomeUnknownError) as exc:
                err = BulkError.from_exception(exc)
                for i in chunk:
                    states[i].error = err
                    if retry_transient and err.transient and states[i].attempts < max_attempts:
                        retry_next.append(i)
                continue
            raw = body.get("results")
            results = [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []
            assigned, extra = map_chunk(chunk, results)
            unmatched.extend(extra)
            for i, result in zip(chunk, assigned, strict=True):
                st = states[i]
                if result is None:
                    st.result = None
                    st.error = BulkError(
                        message="the server's answer for this item could not be identified among the "
                        "bulk results; look the record up before retrying it",
                        code=UNMAPPED,
                    )
                    continue
                if result.get("success") and not result.get("error"):
                    st.result, st.error = result, None
                    continue
                st.result = result
                st.error = BulkError.from_api(result.get("error"), _status(result))
                if retry_transient and st.error.transient and st.attempts < max_attempts:
                    retry_next.append(i)
        todo = sorted(set(retry_next))
        if todo:
            delay = backoff(round_no)
            if delay > 0 and sleep is not None:
                await sleep(delay)
    return states, unmatched, requests


def _status(result: dict[str, Any]) -> int | None:
    st = result.get("status")
    return st if isinstance(st, int) else None


def build_result(
    requests: Sequence[Any],
    states: dict[int, _ItemState],
    unmatched: list[dict[str, Any]],
    sent: int,
    parse: Callable[[dict[str, Any]], T] | None,
    ids: Sequence[str | None] | None = None,
) -> BulkResult[T]:
    """Per-item results in request order. ``ids``: the record ids the requests named (for
    fetch/update/remove), used when the server's answer does not repeat them."""
    items: list[BulkItem[T]] = []
    for i, request in enumerate(requests):
        st = states[i]
        ok = st.error is None and st.result is not None
        raw: dict[str, Any] | None = None
        rid: str | None = None
        if st.result is not None:
            rid = _result_id(st.result)
            entity = st.result.get("entity")
            raw = entity if isinstance(entity, dict) else None
        if rid is None and ids is not None and ids[i]:
            rid = ids[i]
        items.append(
            BulkItem(
                index=i,
                ok=ok,
                request=request,
                id=rid,
                raw=raw,
                error=st.error,
                attempts=st.attempts,
                parse=parse,
            )
        )
    return BulkResult(items=items, unmatched=unmatched, requests=sent)
