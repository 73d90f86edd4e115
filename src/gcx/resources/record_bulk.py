"""Bulk operations on one record kind (``/bulk/{records}``, ``/add``, ``/update``, ``/remove``):
input checked item by item, sent in chunks (sizes learned from 413 answers), answers mapped back
to request order. :class:`~gcx.resources.records.RecordResource` exposes them as ``bulk_*``."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping, Sequence
from typing import Any, Generic, TypeVar

from gcx.errors import ValidationError
from gcx.models import ApiModel
from gcx.resources.bodies import as_list, body_of
from gcx.resources.bulk import INVALID, BulkError, BulkResult
from gcx.resources.bulk_lean import read_add_answer
from gcx.resources.bulk_mapping import map_by_content, map_by_id
from gcx.resources.bulk_run import Mapped, build_result, run_bulk
from gcx.resources.core import MAX_ANSWER_DEPTH, Core, decoded
from gcx.transport import QueryValue

M = TypeVar("M", bound=ApiModel)


class RecordBulk(Generic[M]):
    """The bulk endpoints of one record kind."""

    def __init__(
        self,
        core: Core,
        path: str,
        model: type[M],
        *,
        label: Callable[[int], str],
        check_new: Callable[[dict[str, Any], str], None] | None,
    ) -> None:
        self._core = core
        self._path = path
        self._model = model
        #: How an item of a request is named in errors (``contact #3``).
        self._label = label
        #: The local checks before a create (an organization needs a name...); ``None``: the
        #: kind has none, so an item that needs no conversion is never named (the usual add).
        self._check_new = check_new

    def _batch(self, batch_size: int | None, suffix: str) -> int:
        size = self._core.bulk_batch_size if batch_size is None else batch_size
        if not isinstance(size, int) or size < 1:
            raise ValidationError(f"batch_size must be a positive integer, got {size!r}", field="batch_size")
        return min(size, self._core.bulk_limits.get(f"{self._path}{suffix}", size))

    def _learner(self, suffix: str) -> Callable[[int], None]:
        path = f"{self._path}{suffix}"
        return lambda size: self._core.learn_bulk_limit(path, size)

    async def send(
        self,
        suffix: str,
        entities: list[Any],
        *,
        idempotent: bool,
        params: Mapping[str, QueryValue] | None = None,
    ) -> dict[str, Any]:
        """One chunk to ``{bulk path}{suffix}`` (``/enrich`` too); the answer's body as a dict."""
        data = await self._core.json(
            "POST",
            f"{self._path}{suffix}",
            body={"entities": entities},
            params=params,
            idempotent=idempotent,
        )
        return data if isinstance(data, dict) else {}

    async def get(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """``POST /bulk/{records}`` with ids: missing ids come back as failed items (404)."""
        id_list = [str(i) for i in as_list(ids, "ids")]
        presets = {n: BulkError("empty id", code=INVALID) for n, i in enumerate(id_list) if not i.strip()}

        async def send(chunk: list[Any]) -> dict[str, Any]:
            return await self.send("", [{"id": i} for i in chunk], idempotent=True)

        return await self._run_by_id(id_list, id_list, send, batch_size, presets, retry=True, suffix="")

    async def remove(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        """``/remove``: after a lost answer, "not found" for a record of the chunk means "deleted"."""
        id_list = [str(i) for i in as_list(ids, "ids")]
        presets = {n: BulkError("empty id", code=INVALID) for n, i in enumerate(id_list) if not i.strip()}

        async def send(chunk: list[Any]) -> dict[str, Any]:
            reply = await self._core.call(
                "POST",
                f"{self._path}/remove",
                body={"entities": [{"id": i} for i in chunk]},
                idempotent=True,
            )
            body = reply.data if isinstance(reply.data, dict) else {}
            if reply.replayed:
                # An earlier attempt of this chunk may have deleted some records before its
                # answer was lost: for those, "not found" now means "deleted".
                body["results"] = [
                    _deleted_if_missing(r) for r in body.get("results") or [] if isinstance(r, dict)
                ]
            return body

        return await self._run_by_id(
            id_list, id_list, send, batch_size, presets, retry=True, suffix="/remove"
        )

    async def update(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
    ) -> BulkResult[M]:
        """``/update``: full bodies with their ids; ``checked`` bodies are sent as given."""
        records = as_list(records, "records")
        bodies, presets = self._bodies(records, need_id=True, checked=checked)
        ids = [b.get("id") if b else None for b in bodies]

        async def send(chunk: list[Any]) -> dict[str, Any]:
            return await self.send("/update", chunk, idempotent=True)

        return await self._run_by_id(bodies, ids, send, batch_size, presets, retry=True, suffix="/update")

    async def add(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
        entities: bool = True,
    ) -> BulkResult[M]:
        """``/add``: not idempotent, never retried blindly; results mapped back by content.

        ``entities=False``: the items keep their ids and errors but not the created records
        (``raw`` and ``entity`` are ``None``), so an answer is read only as far as matching it
        needs (:mod:`gcx.resources.bulk_lean`) when it can be; the outcomes are the same."""
        records = as_list(records, "records")
        bodies, presets = self._bodies(records, need_id=False, checked=checked)
        path = f"{self._path}/add"

        async def send(chunk: list[Any]) -> dict[str, Any] | Mapped:
            if entities:
                return await self.send("/add", chunk, idempotent=False)
            response = await self._core.answer("POST", path, body={"entities": chunk}, idempotent=False)
            assigned = read_add_answer(response.content, chunk, MAX_ANSWER_DEPTH)
            if assigned is not None:
                return Mapped(assigned)
            data = decoded(response, "POST", path)
            return data if isinstance(data, dict) else {}

        def map_chunk(chunk: list[int], results: list[dict[str, Any]]) -> Any:
            return map_by_content([bodies[i] or {} for i in chunk], results)

        states, unmatched, sent = await run_bulk(
            bodies, send=send, map_chunk=map_chunk, batch_size=self._batch(batch_size, "/add"),
            retry_transient=False, presets=presets, sleep=self._core.sleep, on_too_large=self._learner("/add"),
        )  # fmt: skip
        result = build_result(records, states, unmatched, sent, self._model.from_api)
        if not entities:  # an answer read in full: its records are dropped all the same
            for item in result.items:
                item.raw = None
        return result

    def _bodies(
        self, records: Sequence[M | Mapping[str, Any]], *, need_id: bool, checked: bool = False
    ) -> tuple[list[dict[str, Any] | None], dict[int, BulkError]]:
        bodies: list[dict[str, Any] | None] = []
        presets: dict[int, BulkError] = {}
        check_new = None if need_id else self._check_new
        for n, record in enumerate(as_list(records, "records")):
            try:
                if checked and isinstance(record, dict):
                    body = record
                else:
                    body = body_of(self._model, record, record=self._label(n))
                if need_id and not body.get("id"):
                    label = self._label(n)
                    raise ValidationError(
                        f"{label}: an update needs the record's id", field="id", record=label
                    )
                if check_new is not None:
                    check_new(body, self._label(n))
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
        send: Callable[[list[Any]], Awaitable[dict[str, Any]]],
        batch_size: int | None,
        presets: dict[int, BulkError],
        *,
        retry: bool,
        suffix: str,
    ) -> BulkResult[M]:
        def map_chunk(chunk: list[int], results: list[dict[str, Any]]) -> Any:
            return map_by_id([ids[i] for i in chunk], results)

        states, unmatched, sent = await run_bulk(
            requests, send=send, map_chunk=map_chunk, batch_size=self._batch(batch_size, suffix),
            retry_transient=retry, max_attempts=self._core.retry.max_attempts, backoff=self._core.backoff,
            sleep=self._core.sleep, presets=presets, on_too_large=self._learner(suffix),
        )  # fmt: skip
        return build_result(requests, states, unmatched, sent, self._model.from_api, ids=ids)


def _deleted_if_missing(result: dict[str, Any]) -> dict[str, Any]:
    error = result.get("error")
    status = (error or {}).get("status", result.get("status")) if isinstance(error, dict | None) else None
    if not result.get("success") and status == 404:
        rid = result.get("id") or ((error or {}).get("entity") or {}).get("id")
        return {"id": rid, "success": True, "status": 200}
    return result
