"""Operations shared by contacts and organizations: CRUD, safe updates, search and scan,
identifier lookup, bulk and enrich. :mod:`gcx.resources.contacts` and
:mod:`gcx.resources.organizations` only name their paths and models and add their own extras."""

from __future__ import annotations

import builtins
import logging
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, ClassVar, Generic, TypeVar

from gcx.errors import ApiError, NotFoundError, ValidationError
from gcx.merge import apply_changes, to_patch_changes
from gcx.models import ApiModel
from gcx.models.values import IDEMPOTENT_PATCH_ACTIONS
from gcx.pagination import ScanPager, SearchPager, scan_limit
from gcx.resources.bodies import api_body, as_list, body_of, coerce, expand_param, jsonable, patch_items, seg
from gcx.resources.bulk import INVALID, BulkError, BulkResult
from gcx.resources.bulk_mapping import map_by_content, map_by_tracker, without_tracker
from gcx.resources.bulk_run import build_result, run_bulk
from gcx.resources.core import Core
from gcx.resources.identifiers import Identifiers, identifier_body
from gcx.resources.record_bulk import RecordBulk
from gcx.transport import QueryValue

log = logging.getLogger("gcx.http")

M = TypeVar("M", bound=ApiModel)
I = TypeVar("I", bound=ApiModel)  # noqa: E741 - identifier model
R = TypeVar("R", bound=ApiModel)  # enrich request model

#: Statuses meaning "PATCH cannot express this change": safe_update falls back to read-merge-PUT.
PATCH_FALLBACK_STATUSES = frozenset({400, 405, 409, 415, 422, 501})


@dataclass(frozen=True)
class EnrichResult(Generic[M]):
    """The record an enrich produced, and whether it was created (201) or updated (200)."""

    entity: M
    created: bool


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
    #: The identifier types a record of this kind may hold (:mod:`gcx.models.values`).
    identifier_types: ClassVar[tuple[str, ...]]

    def __init__(self, core: Core) -> None:
        self._core = core
        # a kind without checks of its own (contacts) is not asked about each new record
        checks_new = type(self)._check_new is not RecordResource._check_new
        self._bulk: RecordBulk[M] = RecordBulk(
            core,
            self.bulk_path,
            self.model,
            label=lambda n: self._record(index=n),
            check_new=self._check_new if checks_new else None,
        )
        self.identifiers: Identifiers[I] = Identifiers(
            core, self.path, self.identifier_model, self.claim_model, self.kind, self.identifier_types
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
        params: dict[str, QueryValue] = {"expand": expand_param(expand, record=self._record(id))}
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
        items = patch_items(changes, record=label)
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
        """Delete the record (idempotent on the wire; a second delete raises NotFoundError). The
        answer's body means nothing (the SDK reads it as a bare object): it is not read."""
        await self._core.send("DELETE", f"{self.path}/{seg(id, record=self.kind)}")

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
        expanded = expand_param(expand, record=what or f"{self.kind} search")

        async def fetch(page: int, size: int) -> dict[str, Any]:
            params: dict[str, QueryValue] = {
                "pageSize": size,
                "pageNumber": page,
                "q": q or None,
                "sortOrder": sort_order,
                "expand": expanded,
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

    def scan_json(self, limit: int = 100, *, division_id: str | None = None) -> ScanPager[dict[str, Any]]:
        """:meth:`scan` yielding the records as the server sent them (JSON dicts, no model
        validation): for callers that read a few fields of very many records."""
        size = scan_limit(limit)

        async def fetch(cursor: str | None) -> dict[str, Any]:
            params: dict[str, QueryValue] = {"limit": size, "cursor": cursor, "divisionId": division_id}
            data = await self._core.json("GET", self.scan_path, params=params)
            return data if isinstance(data, dict) else {}

        return ScanPager(fetch, _as_json, what=f"{self.kind} scan")

    # -- identity ------------------------------------------------------------------------

    async def _lookup(
        self, type_: str, value: str, external_source_id: str | None, expand: Sequence[str] | None = None
    ) -> M | None:
        label = f"{self.kind} lookup"
        body = identifier_body(self.identifier_types, type_, value, external_source_id, record=label)
        params: dict[str, QueryValue] = {"expand": expand_param(expand, record=label)}
        try:
            data = await self._core.json("POST", self.lookup_path, params=params, body=body, idempotent=True)
        except NotFoundError:
            return None
        return self._parse(data)

    async def lookup_external_id(
        self, value: str, external_source_id: str | None = None, *, expand: Sequence[str] | None = None
    ) -> M | None:
        """The record holding the ExternalId identifier ``value`` (of that external source when
        given), or ``None``. ``expand=["identifiers"]`` shows the identifiers it holds."""
        return await self._lookup("ExternalId", value, external_source_id, expand)

    # -- bulk (the work is RecordBulk's, in gcx.resources.record_bulk) ----------------------

    async def bulk_get(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """Fetch many records by id. Missing ids come back as failed items (404)."""
        return await self._bulk.get(ids, batch_size=batch_size)

    async def bulk_remove(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """Delete many records by id."""
        return await self._bulk.remove(ids, batch_size=batch_size)

    async def bulk_update(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
    ) -> BulkResult[M]:
        """Replace many records (each a full body with its id; PUT semantics). ``checked``: the
        records are JSON-ready dicts the caller has validated already; they are sent as given,
        without a round trip through the model (the cost that matters at a million records)."""
        return await self._bulk.update(records, batch_size=batch_size, checked=checked)

    async def bulk_add(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
        entities: bool = True,
    ) -> BulkResult[M]:
        """Create many records. Not idempotent: items whose chunk got no answer are reported
        with ``error.code == "gcx.outcome_unknown"`` (reconcile them by ExternalId). ``checked``:
        as for :meth:`bulk_update`. ``entities=False``: the items keep ids and errors, not the
        created records (``raw``, ``entity``: ``None``), and the answers are read faster."""
        return await self._bulk.add(records, batch_size=batch_size, checked=checked, entities=entities)

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
        reply = await self._core.call(
            "POST",
            f"{self.path}/enrich",
            params={"dryRun": dry_run or None},
            body=body,
            idempotent=self._enrich_idempotent(body),
        )
        return EnrichResult(entity=self._parse(reply.data), created=reply.status == 201)

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
            return await self._bulk.send(
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


def _as_json(record: dict[str, Any]) -> dict[str, Any]:
    return record
