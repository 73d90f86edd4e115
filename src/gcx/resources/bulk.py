"""Bulk results: one :class:`BulkItem` per request item, in request order, and the error codes
gcx sets on items it could not send or could not map.

How the items are sent is :mod:`gcx.resources.bulk_run`; how the server's answers are matched
back to them is :mod:`gcx.resources.bulk_mapping`.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from dataclasses import dataclass, field
from typing import Any, Generic, TypeVar

from gcx.errors import ApiError, GcxError, OutcomeUnknownError

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
