"""Sending bulk items: chunking, 413 halving, retries of transient failures, per-item state.

Chunks are ``batch_size`` items (default 200); a chunk answered 413 is halved and retried (down
to one item, and later chunks use the smaller size). For idempotent operations (fetch, update,
remove, identifier-keyed enrich) items failing with a transient error (``retryable``, 5xx, 429)
are retried in a later chunk. :func:`build_result` turns the states into a
:class:`~gcx.resources.bulk.BulkResult` in request order.
"""

from __future__ import annotations

import math
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass
from typing import Any, TypeVar

from gcx.errors import ApiError, ForbiddenError, OutcomeUnknownError, PayloadTooLargeError, UnauthorizedError
from gcx.resources.bulk import UNMAPPED, BulkError, BulkItem, BulkResult
from gcx.resources.bulk_mapping import result_id

T = TypeVar("T")


@dataclass(slots=True)
class Mapped:
    """A chunk's answer already matched to its items by the sender (one that read only what
    matching needs): each item's result, in the chunk's order; nothing unmatched."""

    assigned: list[dict[str, Any] | None]


SendChunk = Callable[[list[Any]], Awaitable[dict[str, Any] | Mapped]]
MapChunk = Callable[
    [list[int], list[dict[str, Any]]], tuple[list[dict[str, Any] | None], list[dict[str, Any]]]
]
Sleep = Callable[[float], Awaitable[None]]


@dataclass(slots=True)
class ItemStates:
    """Each item's state so far, by request index: the server's answer, the error, the attempts.

    Three lists rather than an object per item: a first sync sends hundreds of thousands of
    items, and each is looked at a few times only.
    """

    results: list[dict[str, Any] | None]
    errors: list[BulkError | None]
    attempts: list[int]


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
) -> tuple[ItemStates, list[dict[str, Any]], int]:
    """Send ``bodies`` in chunks; return per-index state, unmatched results, requests sent.

    ``presets`` are items already failed locally (not sent). ``on_too_large`` is told the
    smaller chunk size each time a 413 halves it, so that later calls can start there.
    """
    n = len(bodies)
    results: list[dict[str, Any] | None] = [None] * n
    errors: list[BulkError | None] = [None] * n
    attempts = [0] * n
    for i, err in (presets or {}).items():
        errors[i] = err
    todo = [i for i in range(n) if errors[i] is None]
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
                attempts[i] += 1
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
                        attempts[i] -= 1
                    queue[0:0] = [chunk[:half], chunk[half:]]
                    continue
                errors[chunk[0]] = BulkError.from_exception(exc)
                continue
            except (UnauthorizedError, ForbiddenError):
                raise
            except (ApiError, OutcomeUnknownError) as exc:
                err = BulkError.from_exception(exc)
                for i in chunk:
                    errors[i] = err
                    if retry_transient and err.transient and attempts[i] < max_attempts:
                        retry_next.append(i)
                continue
            if isinstance(body, Mapped):
                assigned = body.assigned
            else:
                raw = body.get("results")
                answers = [r for r in raw if isinstance(r, dict)] if isinstance(raw, list) else []
                assigned, extra = map_chunk(chunk, answers)
                unmatched.extend(extra)
            for i, result in zip(chunk, assigned, strict=True):
                results[i] = result
                if result is None:
                    errors[i] = BulkError(
                        message="the server's answer for this item could not be identified among the "
                        "bulk results; look the record up before retrying it",
                        code=UNMAPPED,
                    )
                    continue
                if result.get("success") and not result.get("error"):
                    errors[i] = None
                    continue
                err = errors[i] = BulkError.from_api(result.get("error"), _status(result))
                if retry_transient and err.transient and attempts[i] < max_attempts:
                    retry_next.append(i)
        todo = sorted(set(retry_next))
        if todo:
            delay = backoff(round_no)
            if delay > 0 and sleep is not None:
                await sleep(delay)
    return ItemStates(results, errors, attempts), unmatched, requests


def _status(result: dict[str, Any]) -> int | None:
    st = result.get("status")
    return st if isinstance(st, int) else None


def build_result(
    requests: Sequence[Any],
    states: ItemStates,
    unmatched: list[dict[str, Any]],
    sent: int,
    parse: Callable[[dict[str, Any]], T] | None,
    ids: Sequence[str | None] | None = None,
) -> BulkResult[T]:
    """Per-item results in request order. ``ids``: the record ids the requests named (for
    fetch/update/remove), used when the server's answer does not repeat them."""
    items: list[BulkItem[T]] = []
    for i, (request, result, error, attempts) in enumerate(
        zip(requests, states.results, states.errors, states.attempts, strict=True)
    ):
        raw: dict[str, Any] | None = None
        rid: Any = None
        if result is not None:
            rid = result.get("id")  # the usual answer names its record: result_id's first rule
            if not (rid and type(rid) is str):
                rid = result_id(result)
            entity = result.get("entity")
            if isinstance(entity, dict):
                raw = entity
        if rid is None and ids is not None and ids[i]:
            rid = ids[i]
        # index, ok, request, id, raw, error, attempts, parse
        items.append(
            BulkItem(i, error is None and result is not None, request, rid, raw, error, attempts, parse)
        )
    return BulkResult(items=items, unmatched=unmatched, requests=sent)
