"""Bulk fetch, add, update and remove: per-item results, never in request order (per setting)."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from gcx.emulator.errors import EmulatorError, bad_request
from gcx.emulator.rules.records import Records
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem


class Bulk:
    """The ``/bulk/{kind}`` endpoints over :class:`Records`' rules, one item at a time."""

    def __init__(self, state: State, records: Records) -> None:
        self.state = state
        self.records = records

    def entities(self, body: Any, *, limit: int | None = None, status_over: int = 413) -> list[Any]:
        """A bulk body's ``entities`` (400 when missing or empty, ``status_over`` above the cap)."""
        entities = body.get("entities") if isinstance(body, dict) else None
        if not isinstance(entities, list) or not entities:
            raise bad_request(
                "The bulk request needs a non-empty 'entities' array",
                [FieldProblem("entities", "must be a non-empty array")],
            )
        cap = self.state.settings.max_bulk_size if limit is None else limit
        if len(entities) > cap:
            raise EmulatorError(
                status_over,
                "request.too.large" if status_over == 413 else "bad.request",
                f"The bulk request holds {len(entities)} entities; at most {cap} are allowed",
                [{"errorCode": "too.many.entities", "fieldName": "entities"}],
            )
        return entities

    def response(self, results: list[dict[str, Any]]) -> dict[str, Any]:
        """The bulk answer; results shuffled out of request order when the setting says so."""
        if self.state.settings.shuffle_bulk_results and len(results) > 1:
            original = list(results)
            self.state.rng.shuffle(results)
            if results == original:
                results.append(results.pop(0))
        errors = [i for i, r in enumerate(results) if not r["success"]]
        return {"results": results, "errorCount": len(errors), "errorIndexes": errors}

    def _each(
        self, entities: list[Any], op: Callable[[Any], tuple[str | None, dict[str, Any] | None]]
    ) -> dict[str, Any]:
        results: list[dict[str, Any]] = []
        for item in entities:
            try:
                rid, entity = op(item)
            except EmulatorError as err:
                result: dict[str, Any] = {
                    "success": False,
                    "error": err.bulk_error(item),
                    "status": err.status,
                }
                item_id = item.get("id") if isinstance(item, dict) else None
                if isinstance(item_id, str) and item_id:
                    result["id"] = item_id
                results.append(result)
                continue
            ok: dict[str, Any] = {"success": True, "status": 200}
            if rid is not None:
                ok["id"] = rid
            if entity is not None:
                ok["entity"] = entity
            results.append(ok)
        return self.response(results)

    @staticmethod
    def _item_id(item: Any) -> str:
        item_id = item.get("id") if isinstance(item, dict) else None
        if not isinstance(item_id, str) or not item_id.strip():
            raise bad_request("The item needs an id", [FieldProblem("id", "is required")])
        return item_id.strip()

    def bulk_fetch(self, kind: str, body: Any) -> dict[str, Any]:
        st = self.state
        with st.lock:
            entities = self.entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                rid = self._item_id(item)
                return rid, st.render(kind, st.require_current(kind, rid))

            return self._each(entities, op)

    def bulk_add(self, kind: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            entities = self.entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                record = self.records.writes.apply(self.records.plan_create(kind, item))
                return record["id"], self.state.render(kind, record)

            return self._each(entities, op)

    def bulk_update(self, kind: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            entities = self.entities(body)

            def op(item: Any) -> tuple[str, dict[str, Any]]:
                rid = self._item_id(item)
                record = self.records.writes.apply(self.records.plan_replace(kind, rid, item))
                return rid, self.state.render(kind, record)

            return self._each(entities, op)

    def bulk_remove(self, kind: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            entities = self.entities(body)

            def op(item: Any) -> tuple[str, None]:
                rid = self._item_id(item)
                self.records.remove(kind, rid)
                return rid, None

            return self._each(entities, op)
