"""``/{records}/{id}/identifiers``: the identifiers a record holds, and the identifier bodies
that claims, releases and lookups send."""

from __future__ import annotations

import builtins
from collections.abc import Sequence
from typing import Any, Generic, TypeVar

from gcx.errors import ValidationError
from gcx.models import ApiModel
from gcx.resources.bodies import body_of, seg
from gcx.resources.core import Core

I = TypeVar("I", bound=ApiModel)  # noqa: E741 - identifier model

#: The API's limit on an identifier value (after stripping surrounding white space).
MAX_IDENTIFIER_LENGTH = 255


class Identifiers(Generic[I]):
    """``/{record}/{id}/identifiers``: list, claim and release identifiers of one record."""

    def __init__(
        self,
        core: Core,
        base: str,
        model: type[I],
        claim_model: type[ApiModel],
        kind: str,
        types: Sequence[str],
    ) -> None:
        self._core = core
        self._base = base
        self._model = model
        self._claim_model = claim_model
        self._kind = kind
        self._types = types

    async def list(self, record_id: str) -> builtins.list[I]:
        """Every identifier the record holds."""
        data = await self._core.json("GET", f"{self._base}/{seg(record_id, record=self._kind)}/identifiers")
        entities = (data or {}).get("entities") or []
        return [self._model.from_api(e) for e in entities if isinstance(e, dict)]

    async def claim(
        self, record_id: str, type: str, value: str, *, external_source_id: str | None = None
    ) -> I:
        """Make the record hold the identifier (idempotent)."""
        return await self._operate("Claim", record_id, type, value, external_source_id)

    async def release(
        self, record_id: str, type: str, value: str, *, external_source_id: str | None = None
    ) -> I:
        """Stop the record holding the identifier (idempotent)."""
        return await self._operate("Release", record_id, type, value, external_source_id)

    async def _operate(self, operation: str, record_id: str, type_: str, value: str, source: str | None) -> I:
        record = f"{self._kind} {record_id}"
        ident = identifier_body(self._types, type_, value, source, record=record)
        body = body_of(self._claim_model, {"operation": operation, "identifier": ident}, record=record)
        data = await self._core.json(
            "PATCH", f"{self._base}/{seg(record_id, record=record)}/identifiers", body=body, idempotent=True
        )
        return self._model.from_api(data or ident)


def identifier_body(
    types: Sequence[str], type_: str, value: str, source: str | None, *, record: str
) -> dict[str, Any]:
    """The identifier ``{type, value[, externalSource]}``, checked: ``type`` one of ``types``,
    ``value`` a non-empty string of at most 255 characters (stripped)."""
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{record}: identifier value must be a non-empty string", field="value", record=record
        )
    if len(value.strip()) > MAX_IDENTIFIER_LENGTH:
        raise ValidationError(
            f"{record}: identifier value is longer than {MAX_IDENTIFIER_LENGTH} characters",
            field="value",
            record=record,
        )
    if type_ not in types:
        raise ValidationError(
            f"{record}: identifier type {type_!r} is not one of {', '.join(sorted(types))}",
            field="type",
            record=record,
        )
    body: dict[str, Any] = {"type": type_, "value": value.strip()}
    if source:
        body["externalSource"] = {"id": source}
    return body
