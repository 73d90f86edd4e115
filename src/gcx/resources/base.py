"""Shared machinery of the resources: request helpers, input coercion, the record resource."""

from __future__ import annotations

import builtins
import logging
import math
from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any, ClassVar, Generic, TypeVar
from urllib.parse import quote, unquote

import httpx
import pydantic
from pydantic_core import PydanticSerializationError, to_jsonable_python

from gcx.errors import ApiError, NotFoundError, ValidationError
from gcx.merge import apply_changes, to_patch_changes
from gcx.models import ApiModel
from gcx.pagination import ScanPager, SearchPager, scan_limit
from gcx.resources.bulk import (
    INVALID,
    BulkError,
    BulkResult,
    build_result,
    map_by_content,
    map_by_id,
    map_by_tracker,
    run_bulk,
    without_tracker,
)
from gcx.retry import RetryPolicy
from gcx.transport import REPLAYED, QueryValue, Requester

log = logging.getLogger("gcx.http")

API = "/api/v2/externalcontacts"

M = TypeVar("M", bound=ApiModel)
I = TypeVar("I", bound=ApiModel)  # noqa: E741 - identifier model
R = TypeVar("R", bound=ApiModel)  # enrich request model

#: PATCH actions that give the same result however often they are applied.
IDEMPOTENT_PATCH_ACTIONS = frozenset(
    {"Update", "UpdateIfEmpty", "UpdateIfExists", "Remove", "RemoveFromCollection"}
)
#: Statuses meaning "PATCH cannot express this change": safe_update falls back to read-merge-PUT.
PATCH_FALLBACK_STATUSES = frozenset({400, 405, 409, 415, 422, 501})

Sleep = Callable[[float], Awaitable[None]]


@dataclass
class Core:
    """What every resource needs from its client."""

    requester: Requester
    bulk_batch_size: int
    retry: RetryPolicy
    sleep: Sleep
    #: Largest chunk each bulk endpoint is known to take, learned from its 413 answers, so that
    #: later calls of the same client start there instead of being refused again.
    bulk_limits: dict[str, int] = field(default_factory=dict)

    def learn_bulk_limit(self, path: str, size: int) -> None:
        self.bulk_limits[path] = min(size, self.bulk_limits.get(path, size))

    async def json(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        response = await self.requester.request(method, path, params=params, json=body, idempotent=idempotent)
        return _decoded(response, method, path)

    async def json_with_status(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> tuple[int, Any]:
        response = await self.requester.request(method, path, params=params, json=body, idempotent=idempotent)
        return response.status_code, _decoded(response, method, path)

    async def json_replayed(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        body: Any = None,
        idempotent: bool | None = None,
    ) -> tuple[Any, bool]:
        """The parsed body, and whether an earlier attempt of the call may have been applied."""
        response = await self.requester.request(method, path, params=params, json=body, idempotent=idempotent)
        return _decoded(response, method, path), bool(response.extensions.get(REPLAYED))

    def backoff(self, attempt: int) -> float:
        return self.retry.delay(attempt)


def _decoded(response: httpx.Response, method: str, path: str) -> Any:
    """The answer's JSON (``None`` when empty), or an :class:`ApiError` saying it is not JSON."""
    if not response.content:
        return None
    try:
        return response.json()
    except (ValueError, RecursionError):
        raise ApiError(
            f"{method} {path}: the server answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
            method=method,
            url=path,
        ) from None


def _deleted_if_missing(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    status = (error or {}).get("status", result.get("status")) if isinstance(error, dict | None) else None
    if not result.get("success") and status == 404:
        rid = result.get("id") or ((error or {}).get("entity") or {}).get("id")
        return {"id": rid, "success": True, "status": 200}
    return result


def seg(value: str, *, field: str = "id", record: str | None = None) -> str:
    """A path segment from an id, checked and escaped.

    ``.`` and ``..`` (also percent-encoded) are refused: URL normalisation (httpx's, a proxy's)
    would remove them and send the request to another endpoint.
    """
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{field} must be a non-empty string, got {value!r}", field=field, record=record
        )
    text = value.strip()
    if unquote(text) in {".", ".."}:
        raise ValidationError(f"{field} {text!r} is not a valid id", field=field, record=record)
    return quote(text, safe="")


def coerce(model: type[M], value: M | Mapping[str, Any], *, record: str) -> M:
    """Accept a model or a dict; a dict is validated, errors name the record and the field."""
    if isinstance(value, model):
        return value
    if isinstance(value, ApiModel):
        return model.model_validate(value.to_api())
    if not isinstance(value, Mapping):
        raise ValidationError(
            f"{record}: expected a {model.__name__} or a dict, got {type(value).__name__}", record=record
        )
    try:
        return model.model_validate(dict(value))
    except pydantic.ValidationError as exc:
        first = exc.errors()[0]
        field = ".".join(str(p) for p in first.get("loc", ())) or None
        raise ValidationError(
            f"{record}: field {field or '?'}: {first.get('msg', 'invalid value')}", field=field, record=record
        ) from None


def body_of(model: type[M], value: M | Mapping[str, Any], *, record: str) -> dict[str, Any]:
    return api_body(coerce(model, value, record=record), record=record)


def api_body(model: ApiModel, *, record: str) -> dict[str, Any]:
    """``model.to_api()``, refusing what JSON cannot carry instead of altering it.

    pydantic writes NaN and infinities as ``null`` (the server would then erase the field) and
    raises its own error for objects it cannot serialise: both become a :class:`ValidationError`
    naming the record and the field.
    """
    _check_finite(model.model_dump(by_alias=True, exclude_unset=True), record)
    try:
        return model.to_api()
    except PydanticSerializationError as exc:
        field = _unserialisable_path(model.model_dump(by_alias=True, exclude_unset=True))
        raise ValidationError(
            f"{record}: field {field or '?'}: this value cannot be sent as JSON ({exc})",
            field=field,
            record=record,
        ) from None


_JSON_SCALARS = (str, int, float, bool, type(None))


def jsonable(value: Any, *, field: str, record: str) -> Any:
    """``value`` as plain JSON data (dates become strings...), or a :class:`ValidationError`
    naming the record and the field when JSON cannot carry it (NaN, infinities, objects)."""
    try:
        plain = to_jsonable_python(value, by_alias=True)
    except PydanticSerializationError as exc:
        raise ValidationError(
            f"{record}: field {field}: this value cannot be sent as JSON ({exc})", field=field, record=record
        ) from None
    for where, leaf in _walk(plain, field):
        if isinstance(leaf, float) and not math.isfinite(leaf):
            raise ValidationError(
                f"{record}: field {where}: {leaf} is not a JSON number", field=where, record=record
            )
    return plain


def _walk(data: Any, path: str = "") -> Iterator[tuple[str, Any]]:
    """Every leaf value of a dumped body with its dot path (list items by index)."""
    stack: builtins.list[tuple[str, Any]] = [(path, data)]
    while stack:
        where, value = stack.pop()
        if isinstance(value, Mapping):
            stack.extend((f"{where}.{k}" if where else str(k), v) for k, v in value.items())
        elif isinstance(value, builtins.list | tuple):
            stack.extend((f"{where}.{i}" if where else str(i), v) for i, v in enumerate(value))
        else:
            yield where, value


def _check_finite(data: Any, record: str) -> None:
    for where, value in _walk(data):
        if isinstance(value, float) and not math.isfinite(value):
            raise ValidationError(
                f"{record}: field {where}: {value} is not a JSON number", field=where, record=record
            )


def _unserialisable_path(data: Any) -> str | None:
    """The first leaf pydantic cannot write as JSON (scalars and what it converts are fine)."""
    adapter: pydantic.TypeAdapter[Any] = pydantic.TypeAdapter(Any)
    for where, value in _walk(data):
        if isinstance(value, _JSON_SCALARS):
            continue
        try:
            adapter.dump_python(value, mode="json")
        except PydanticSerializationError:
            return where
    return None


def as_list(value: Any, what: str) -> builtins.list[Any]:
    """A list from any iterable of items; a single string or mapping is refused (it would be
    taken apart character by character or key by key)."""
    if isinstance(value, str | bytes | Mapping):
        raise ValidationError(
            f"{what} must be a list (got a single {type(value).__name__}); wrap it in [...]", field=what
        )
    try:
        return builtins.list(value)
    except TypeError:
        raise ValidationError(f"{what} must be a list, got {type(value).__name__}", field=what) from None


@dataclass(frozen=True)
class EnrichResult(Generic[M]):
    """The record an enrich produced, and whether it was created (201) or updated (200)."""

    entity: M
    created: bool


class Identifiers(Generic[I]):
    """``/{record}/{id}/identifiers``: list, claim and release identifiers of one record."""

    def __init__(self, core: Core, base: str, model: type[I], claim_model: type[ApiModel], kind: str) -> None:
        self._core = core
        self._base = base
        self._model = model
        self._claim_model = claim_model
        self._kind = kind

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
        ident = identifier_body(self._model, type_, value, source, record=record)
        body = body_of(self._claim_model, {"operation": operation, "identifier": ident}, record=record)
        data = await self._core.json(
            "PATCH", f"{self._base}/{seg(record_id, record=record)}/identifiers", body=body, idempotent=True
        )
        return self._model.from_api(data or ident)


def identifier_body(
    model: type[ApiModel], type_: str, value: str, source: str | None, *, record: str
) -> dict[str, Any]:
    if not isinstance(value, str) or not value.strip():
        raise ValidationError(
            f"{record}: identifier value must be a non-empty string", field="value", record=record
        )
    if len(value.strip()) > 255:
        raise ValidationError(
            f"{record}: identifier value is longer than 255 characters", field="value", record=record
        )
    allowed = _enum_values(model, "type")
    if allowed and type_ not in allowed:
        raise ValidationError(
            f"{record}: identifier type {type_!r} is not one of {', '.join(sorted(allowed))}",
            field="type",
            record=record,
        )
    body: dict[str, Any] = {"type": type_, "value": value.strip()}
    if source:
        body["externalSource"] = {"id": source}
    return body


_ENUMS: dict[str, frozenset[str]] = {
    "ContactIdentifier": frozenset(
        {
            "SocialLine",
            "SocialFacebook",
            "SocialTwitter",
            "SocialWhatsapp",
            "SocialInstagram",
            "SocialWhatsappBsuid",
            "AppleOpaqueId",
            "Email",
            "Phone",
            "Cookie",
            "ExternalId",
            "SocialInstagramHandle",
        }
    ),
    "ExternalOrganizationIdentifier": frozenset({"ExternalId"}),
}


def _enum_values(model: type[ApiModel], field: str) -> frozenset[str]:
    return _ENUMS.get(model.__name__, frozenset()) if field == "type" else frozenset()


class RecordResource(Generic[M, I, R]):
    """Operations shared by contacts and organizations."""

    kind: ClassVar[str]
    path: ClassVar[str]
    bulk_path: ClassVar[str]
    scan_path: ClassVar[str]
    lookup_path: ClassVar[str]
    enrich_record_field: ClassVar[str]
    model: type[M]
    identifier_model: type[I]
    enrich_model: type[R]
    claim_model: type[ApiModel]

    def __init__(self, core: Core) -> None:
        self._core = core
        self.identifiers: Identifiers[I] = Identifiers(
            core, self.path, self.identifier_model, self.claim_model, self.kind
        )

    # -- helpers -----------------------------------------------------------------------

    def _record(self, id_: str | None = None, index: int | None = None) -> str:
        if id_:
            return f"{self.kind} {id_}"
        if index is not None:
            return f"{self.kind} #{index}"
        return f"new {self.kind}"

    def _parse(self, data: Any) -> M:
        if not isinstance(data, dict):
            raise ApiError(f"expected a {self.kind} in the response", status=200)
        return self.model.from_api(data)

    def _check_new(self, body: dict[str, Any], record: str) -> None:
        """Local checks before a create; subclasses add required fields."""

    # -- CRUD ----------------------------------------------------------------------------

    async def create(self, record: M | Mapping[str, Any]) -> M:
        """Create a record (POST). Not idempotent: a lost answer raises OutcomeUnknownError."""
        label = self._record()
        body = body_of(self.model, record, record=label)
        self._check_new(body, label)
        return self._parse(await self._core.json("POST", self.path, body=body, idempotent=False))

    async def get(self, id: str, *, expand: Sequence[str] | None = None) -> M:
        """The record with this id (raises NotFoundError)."""
        params: dict[str, QueryValue] = {"expand": builtins.list(expand) if expand else None}
        return self._parse(
            await self._core.json("GET", f"{self.path}/{seg(id, record=self.kind)}", params=params)
        )

    async def get_raw(self, id: str) -> dict[str, Any]:
        """The record exactly as the server sent it (a dict)."""
        data = await self._core.json("GET", f"{self.path}/{seg(id, record=self.kind)}")
        if not isinstance(data, dict):
            raise ApiError(f"expected a {self.kind} in the response", status=200)
        return data

    async def update(self, record: M | Mapping[str, Any], *, id: str | None = None) -> M:
        """Replace the record (PUT): fields left out are erased on the server. A model read
        from the server keeps every field, unknown ones included."""
        model = coerce(self.model, record, record=self._record(id))
        record_id = id or getattr(model, "id", None)
        label = self._record(record_id)
        if not record_id:
            raise ValidationError(f"{label}: an update needs the record's id", field="id", record=label)
        body = api_body(model, record=label)
        return await self.put_raw(record_id, body)

    async def put_raw(self, id: str, body: Mapping[str, Any]) -> M:
        label = self._record(id)
        return self._parse(
            await self._core.json("PUT", f"{self.path}/{seg(id, record=label)}", body=dict(body))
        )

    async def patch(self, id: str, changes: Sequence[Any]) -> M:
        """Apply PATCH changes (``PatchChange`` models or dicts with field/value/action)."""
        label = self._record(id)
        items: builtins.list[dict[str, Any]] = []
        for n, change in enumerate(as_list(changes, "changes")):
            item = change.to_api() if isinstance(change, ApiModel) else dict(change)
            field = item.get("field")
            if not isinstance(field, str) or not field.startswith("$."):
                raise ValidationError(
                    f"{label}: change #{n} needs a field like '$.address.city', got {field!r}",
                    field=str(field),
                    record=label,
                )
            if item.get("action") is None:
                raise ValidationError(
                    f"{label}: change #{n} ({field}) has no action", field=field, record=label
                )
            if "value" in item:
                item["value"] = jsonable(item["value"], field=field[2:], record=label)
            items.append(item)
        idempotent = all(i.get("action") in IDEMPOTENT_PATCH_ACTIONS for i in items)
        data = await self._core.json(
            "PATCH", f"{self.path}/{seg(id, record=label)}", body={"changes": items}, idempotent=idempotent
        )
        return self._parse(data)

    async def safe_update(self, id: str, changes: Mapping[str, Any], *, method: str = "auto") -> M:
        """Change some fields, leaving every other field (unknown ones included) as it is.

        ``changes`` maps dot paths (``"address.city"``) or top-level names to values; ``None``
        removes the field. ``method``: ``"auto"`` (PATCH, falling back to read-merge-PUT when
        the server refuses the PATCH), ``"patch"`` or ``"put"``.

        Read-merge-PUT is not atomic: the API has no ETag, so a write by someone else between
        the read and the PUT is overwritten.
        """
        label = self._record(id)
        if method not in ("auto", "patch", "put"):
            raise ValidationError(
                f"method must be auto, patch or put, got {method!r}", field="method", record=label
            )
        if not isinstance(changes, Mapping):
            raise ValidationError(
                f"{label}: changes must be a mapping of field paths to values, got {type(changes).__name__}",
                field="changes",
                record=label,
            )
        changes = {k: jsonable(v, field=str(k), record=label) for k, v in changes.items()}
        patch_changes = to_patch_changes(changes, record=label)
        if not patch_changes:
            return await self.get(id)
        refused: ApiError | None = None
        if method in ("auto", "patch"):
            try:
                data = await self._core.json(
                    "PATCH",
                    f"{self.path}/{seg(id, record=label)}",
                    body={"changes": patch_changes},
                    idempotent=True,
                )
                return self._parse(data)
            except NotFoundError:
                raise
            except ApiError as exc:
                if method == "patch" or exc.status not in PATCH_FALLBACK_STATUSES:
                    raise
                refused = exc
                log.info("%s: PATCH refused (%s); falling back to read-merge-PUT", label, exc.status)
        current = await self.get_raw(id)
        if refused is not None:
            self._check_put_keeps(changes, current, refused, label)
        merged = apply_changes(current, changes, record=label)
        return await self.put_raw(id, merged)

    def _check_put_keeps(
        self, changes: Mapping[str, Any], current: Mapping[str, Any], refused: ApiError, label: str
    ) -> None:
        """Before falling back to a PUT: a field set that neither the model declares nor the
        record holds would most likely be dropped by the server without a word (the PATCH
        refusal says as much), so say so instead of reporting a change that did not happen."""
        declared = {f.alias or name for name, f in self.model.model_fields.items()}
        for path, value in changes.items():
            top = str(path).split(".")[0]
            if value is not None and top not in declared and top not in current:
                raise ValidationError(
                    f"{label}: field {top}: a {self.kind} has no such field (the API refused the PATCH: "
                    f"{refused}); a PUT would drop it, pass method='put' to send it anyway",
                    field=top,
                    record=label,
                )

    async def delete(self, id: str) -> None:
        """Delete the record (idempotent on the wire; a second delete raises NotFoundError)."""
        await self._core.json("DELETE", f"{self.path}/{seg(id, record=self.kind)}")

    # -- reading many --------------------------------------------------------------------

    def search(
        self,
        q: str | None = None,
        *,
        page_size: int = 100,
        sort_order: str | None = None,
        expand: Sequence[str] | None = None,
        division_ids: Sequence[str] | None = None,
        max_records: int | None = None,
    ) -> SearchPager[M]:
        """Search records (async iterator). Stops at the API's 1,000-record cap: check
        ``.truncated`` afterwards; use :meth:`scan` to read everything."""
        return self._search(
            self.path, q, page_size=page_size, sort_order=sort_order, expand=expand,
            division_ids=division_ids, max_records=max_records,
        )  # fmt: skip

    def _search(
        self,
        path: str,
        q: str | None,
        *,
        page_size: int,
        sort_order: str | None,
        expand: Sequence[str] | None,
        division_ids: Sequence[str] | None,
        max_records: int | None,
        what: str | None = None,
    ) -> SearchPager[M]:
        async def fetch(page: int, size: int) -> dict[str, Any]:
            params: dict[str, QueryValue] = {
                "pageSize": size,
                "pageNumber": page,
                "q": q or None,
                "sortOrder": sort_order,
                "expand": builtins.list(expand) if expand else None,
                "divisionIds": builtins.list(division_ids) if division_ids else None,
            }
            data = await self._core.json("GET", path, params=params)
            return data if isinstance(data, dict) else {}

        return SearchPager(
            fetch,
            self.model.from_api,
            page_size=page_size,
            max_records=max_records,
            what=what or f"{self.kind} search",
        )

    def scan(
        self,
        limit: int = 100,
        *,
        division_id: str | None = None,
        max_records: int | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> ScanPager[M]:
        """Every record, page by page along the scan cursors (async iterator). ``limit`` is
        the page size (10..200); ``where`` filters the raw records client-side."""
        size = scan_limit(limit)

        async def fetch(cursor: str | None) -> dict[str, Any]:
            params: dict[str, QueryValue] = {"limit": size, "cursor": cursor, "divisionId": division_id}
            data = await self._core.json("GET", self.scan_path, params=params)
            return data if isinstance(data, dict) else {}

        return ScanPager(
            fetch, self.model.from_api, where=where, max_records=max_records, what=f"{self.kind} scan"
        )

    # -- identity ------------------------------------------------------------------------

    async def _lookup(self, type_: str, value: str, external_source_id: str | None) -> M | None:
        label = f"{self.kind} lookup"
        body = identifier_body(self.identifier_model, type_, value, external_source_id, record=label)
        try:
            data = await self._core.json("POST", self.lookup_path, body=body, idempotent=True)
        except NotFoundError:
            return None
        return self._parse(data)

    async def lookup_external_id(self, value: str, external_source_id: str | None = None) -> M | None:
        """The record holding the ExternalId identifier ``value`` (of that external source when
        given), or ``None``."""
        return await self._lookup("ExternalId", value, external_source_id)

    # -- bulk ------------------------------------------------------------------------------

    def _batch(self, batch_size: int | None, suffix: str) -> int:
        size = self._core.bulk_batch_size if batch_size is None else batch_size
        if not isinstance(size, int) or size < 1:
            raise ValidationError(f"batch_size must be a positive integer, got {size!r}", field="batch_size")
        return min(size, self._core.bulk_limits.get(f"{self.bulk_path}{suffix}", size))

    def _learner(self, suffix: str) -> Callable[[int], None]:
        path = f"{self.bulk_path}{suffix}"
        return lambda size: self._core.learn_bulk_limit(path, size)

    async def _send_bulk(
        self,
        suffix: str,
        entities: builtins.list[Any],
        *,
        idempotent: bool,
        params: Mapping[str, QueryValue] | None = None,
    ) -> dict[str, Any]:
        data = await self._core.json(
            "POST",
            f"{self.bulk_path}{suffix}",
            body={"entities": entities},
            params=params,
            idempotent=idempotent,
        )
        return data if isinstance(data, dict) else {}

    async def bulk_get(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """Fetch many records by id. Missing ids come back as failed items (404)."""
        id_list = [str(i) for i in as_list(ids, "ids")]
        presets = {n: BulkError("empty id", code=INVALID) for n, i in enumerate(id_list) if not i.strip()}

        async def send(chunk: builtins.list[Any]) -> dict[str, Any]:
            return await self._send_bulk("", [{"id": i} for i in chunk], idempotent=True)

        return await self._run_by_id(id_list, id_list, send, batch_size, presets, retry=True, suffix="")

    async def bulk_remove(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """Delete many records by id."""
        id_list = [str(i) for i in as_list(ids, "ids")]
        presets = {n: BulkError("empty id", code=INVALID) for n, i in enumerate(id_list) if not i.strip()}

        async def send(chunk: builtins.list[Any]) -> dict[str, Any]:
            data, replayed = await self._core.json_replayed(
                "POST",
                f"{self.bulk_path}/remove",
                body={"entities": [{"id": i} for i in chunk]},
                idempotent=True,
            )
            body = data if isinstance(data, dict) else {}
            if replayed:
                # An earlier attempt of this chunk may have deleted some records before its
                # answer was lost: for those, "not found" now means "deleted".
                body["results"] = [
                    _deleted_if_missing(r) for r in body.get("results") or [] if isinstance(r, dict)
                ]
            return body

        return await self._run_by_id(
            id_list, id_list, send, batch_size, presets, retry=True, suffix="/remove"
        )

    async def bulk_update(
        self, records: Sequence[M | Mapping[str, Any]], *, batch_size: int | None = None
    ) -> BulkResult[M]:
        """Replace many records (each a full body with its id; PUT semantics)."""
        records = as_list(records, "records")
        bodies, presets = self._bodies(records, need_id=True)
        ids = [b.get("id") if b else None for b in bodies]

        async def send(chunk: builtins.list[Any]) -> dict[str, Any]:
            return await self._send_bulk("/update", chunk, idempotent=True)

        return await self._run_by_id(bodies, ids, send, batch_size, presets, retry=True, suffix="/update")

    async def bulk_add(
        self, records: Sequence[M | Mapping[str, Any]], *, batch_size: int | None = None
    ) -> BulkResult[M]:
        """Create many records. Not idempotent: items whose chunk got no answer are reported
        with ``error.code == "gcx.outcome_unknown"`` (reconcile them by ExternalId)."""
        records = as_list(records, "records")
        bodies, presets = self._bodies(records, need_id=False)

        async def send(chunk: builtins.list[Any]) -> dict[str, Any]:
            return await self._send_bulk("/add", chunk, idempotent=False)

        def map_chunk(chunk: builtins.list[int], results: builtins.list[dict[str, Any]]) -> Any:
            return map_by_content([bodies[i] or {} for i in chunk], results)

        states, unmatched, sent = await run_bulk(
            bodies, send=send, map_chunk=map_chunk, batch_size=self._batch(batch_size, "/add"),
            retry_transient=False, presets=presets, sleep=self._core.sleep, on_too_large=self._learner("/add"),
        )  # fmt: skip
        return build_result(records, states, unmatched, sent, self.model.from_api)

    def _bodies(
        self, records: Sequence[M | Mapping[str, Any]], *, need_id: bool
    ) -> tuple[builtins.list[dict[str, Any] | None], dict[int, BulkError]]:
        bodies: builtins.list[dict[str, Any] | None] = []
        presets: dict[int, BulkError] = {}
        for n, record in enumerate(as_list(records, "records")):
            label = self._record(index=n)
            try:
                body = body_of(self.model, record, record=label)
                if need_id and not body.get("id"):
                    raise ValidationError(
                        f"{label}: an update needs the record's id", field="id", record=label
                    )
                if not need_id:
                    self._check_new(body, label)
            except ValidationError as exc:
                presets[n] = BulkError(
                    str(exc), code=INVALID, details=[{"fieldName": exc.field}] if exc.field else []
                )
                bodies.append(None)
                continue
            bodies.append(body)
        return bodies, presets

    async def _run_by_id(
        self,
        requests: Sequence[Any],
        ids: Sequence[str | None],
        send: Callable[[builtins.list[Any]], Awaitable[dict[str, Any]]],
        batch_size: int | None,
        presets: dict[int, BulkError],
        *,
        retry: bool,
        suffix: str,
    ) -> BulkResult[M]:
        def map_chunk(chunk: builtins.list[int], results: builtins.list[dict[str, Any]]) -> Any:
            return map_by_id([ids[i] for i in chunk], results)

        states, unmatched, sent = await run_bulk(
            requests, send=send, map_chunk=map_chunk, batch_size=self._batch(batch_size, suffix),
            retry_transient=retry, max_attempts=self._core.retry.max_attempts, backoff=self._core.backoff,
            sleep=self._core.sleep, presets=presets, on_too_large=self._learner(suffix),
        )  # fmt: skip
        return build_result(requests, states, unmatched, sent, self.model.from_api, ids=ids)

    # -- enrich --------------------------------------------------------------------------

    def _enrich_idempotent(self, body: Mapping[str, Any]) -> bool:
        action = body.get("action") or "Upsert"
        if action not in ("Upsert", "Update"):
            return False
        # ``id`` is only the bulk tracker string: it names no record, so it makes nothing idempotent.
        return bool(body.get("matchingIdentifiers"))

    async def enrich(self, request: R | Mapping[str, Any], *, dry_run: bool = False) -> EnrichResult[M]:
        """Server-side upsert matched by identifiers. ``created`` tells insert from update."""
        label = f"{self.kind} enrich"
        body = body_of(self.enrich_model, request, record=label)
        status, data = await self._core.json_with_status(
            "POST",
            f"{self.path}/enrich",
            params={"dryRun": dry_run or None},
            body=body,
            idempotent=self._enrich_idempotent(body),
        )
        return EnrichResult(entity=self._parse(data), created=status == 201)

    async def bulk_enrich(
        self, requests: Sequence[R | Mapping[str, Any]], *, dry_run: bool = False, batch_size: int = 10
    ) -> BulkResult[M]:
        """Many enrich operations, 10 per request (the API's limit), results in request order."""
        if not 1 <= batch_size <= 10:
            raise ValidationError("bulk enrich takes at most 10 operations per request", field="batch_size")
        bodies: builtins.list[dict[str, Any] | None] = []
        presets: dict[int, BulkError] = {}
        requests = as_list(requests, "requests")
        for n, req in enumerate(requests):
            label = f"{self.kind} enrich #{n}"
            try:
                bodies.append(body_of(self.enrich_model, req, record=label))
            except ValidationError as exc:
                presets[n] = BulkError(str(exc), code=INVALID)
                bodies.append(None)
        idempotent = all(self._enrich_idempotent(b) for b in bodies if b is not None)
        field = self.enrich_record_field
        # The spec's tracker: each operation's ``id`` comes back as its result's ``id``. Operations
        # without one get ``gcx-<index>`` (the caller's requests are left as they were given).
        given = [b.get("id") for b in bodies if b is not None and isinstance(b.get("id"), str)]
        for n, b in enumerate(bodies):
            if b is not None and not (isinstance(b.get("id"), str) and b["id"]):
                tracker = f"gcx-{n}"
                while tracker in given:
                    tracker += "-"
                b["id"] = tracker

        def record_of(b: dict[str, Any]) -> dict[str, Any]:
            return dict(b.get(field) or {})

        async def send(chunk: builtins.list[Any]) -> dict[str, Any]:
            return await self._send_bulk(
                "/enrich", chunk, idempotent=idempotent, params={"dryRun": dry_run or None}
            )

        def map_chunk(chunk: builtins.list[int], results: builtins.list[dict[str, Any]]) -> Any:
            sent = [bodies[i] or {} for i in chunk]
            assigned, rest = map_by_tracker([b.get("id") for b in sent], results)
            if not rest:
                return assigned, []
            left = [k for k, r in enumerate(assigned) if r is None]
            by_content, unmatched = map_by_content(
                [record_of(sent[k]) for k in left], rest, echoes=[sent[k] for k in left]
            )
            for k, result in zip(left, by_content, strict=True):
                assigned[k] = without_tracker(result, sent[k].get("id")) if result is not None else None
            return assigned, unmatched

        states, unmatched, sent_count = await run_bulk(
            bodies, send=send, map_chunk=map_chunk, batch_size=batch_size, retry_transient=idempotent,
            max_attempts=self._core.retry.max_attempts, backoff=self._core.backoff, sleep=self._core.sleep,
            presets=presets,
        )  # fmt: skip
        return build_result(requests, states, unmatched, sent_count, self.model.from_api)
