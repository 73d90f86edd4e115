"""The emulator's API errors: each becomes an ErrorBody (or a bulk item's error)."""

from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from gcx.emulator.faults import Fault
from gcx.emulator.kinds import NOUN
from gcx.emulator.schema import FieldProblem


class EmulatorError(Exception):
    """An API error: becomes an ErrorBody with ``status``, ``code``, ``message``, ``details``."""

    def __init__(
        self,
        status: int,
        code: str,
        message: str,
        details: list[dict[str, Any]] | None = None,
        *,
        entity_id: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.code = code
        self.message = message
        self.details = details or []
        self.entity_id = entity_id
        self.headers = headers or {}

    def body(self, context_id: str) -> dict[str, Any]:
        body: dict[str, Any] = {
            "message": self.message,
            "code": self.code,
            "status": self.status,
            "messageParams": {},
            "contextId": context_id,
            "details": [
                {k: v for k, v in d.items() if k in ("errorCode", "fieldName", "entityId", "entityName")}
                for d in self.details
            ],
            "errors": [],
        }
        if self.entity_id:
            body["entityId"] = self.entity_id
        return body

    def bulk_error(self, entity: Any) -> dict[str, Any]:
        """The per-item error of a bulk result (``BulkEntityError*``), echoing the item sent."""
        error: dict[str, Any] = {
            "code": self.code,
            "message": self.message,
            "status": self.status,
            "retryable": self.status in (408, 429) or self.status >= 500,
            "details": [
                {
                    k: v
                    for k, v in (
                        ("fieldName", d.get("fieldName")),
                        ("value", None if d.get("value") is None else str(d.get("value"))),
                        ("message", d.get("message")),
                    )
                    if v is not None
                }
                for d in self.details
            ],
        }
        if isinstance(entity, dict):
            error["entity"] = entity
        return error


def bad_request(message: str, problems: Iterable[FieldProblem] = ()) -> EmulatorError:
    details = [
        {"errorCode": p.code, "fieldName": p.field, "message": f"{p.field} {p.message}", "value": p.value}
        for p in problems
    ]
    return EmulatorError(400, "bad.request", message, details)


def invalid(problems: list[FieldProblem], what: str = "request body") -> EmulatorError:
    text = "; ".join(f"{p.field} {p.message}" for p in problems[:5])
    if len(problems) > 5:
        text += f"; and {len(problems) - 5} more"
    return bad_request(f"The {what} is invalid: {text}", problems)


def not_found(kind: str, record_id: str) -> EmulatorError:
    return EmulatorError(
        404, "not.found", f"No {NOUN[kind]} with id {record_id!r} exists", entity_id=record_id
    )


def fault_error(fault: Fault) -> EmulatorError:
    """The error an injected fault answers (with ``Retry-After`` when it has one)."""
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    return EmulatorError(fault.status, fault.code, fault.message, headers=headers)
