"""The thin I/O layer between the sync engine and the client library.

Everything the engine needs from Genesys, as plain JSON dicts (unknown fields kept), over
:class:`gcx.client.AsyncClient`. No decisions are taken here.
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Sequence
from dataclasses import dataclass
from typing import Any

from gcx.errors import OutcomeUnknownError
from gcx.sync.fields import Kind


@dataclass(frozen=True)
class ItemResult:
    """The outcome of one bulk item, in request order."""

    ok: bool
    id: str | None = None
    entity: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    unknown: bool = False  # no answer (or no identifiable answer): reconcile before retrying


def _error_json(err: Any) -> dict[str, Any]:
    if err is None:
        return {"reason": "the item failed"}
    return {
        "reason": str(getattr(err, "message", err)),
        "status": getattr(err, "status", None),
        "code": getattr(err, "code", None),
        "field": _first_field(getattr(err, "details", None)),
    }


def _first_field(details: Any) -> str | None:
    if isinstance(details, list):
        for d in details:
            if isinstance(d, dict) and d.get("fieldName"):
                return str(d["fieldName"])
    return None


class Remote:
    """Genesys (or the emulator) seen by the sync engine, over an open ``AsyncClient``."""

    def __init__(self, gc: Any) -> None:
        self.gc = gc

    def _res(self, kind: Kind) -> Any:
        return self.gc.organizations if kind == "organization" else self.gc.contacts

    @property
    def requests(self) -> int:
        stats = getattr(self.gc, "stats", None)
        return int(getattr(stats, "requests", 0)) if stats is not None else 0

    def stats(self) -> dict[str, Any]:
        stats = getattr(self.gc, "stats", None)
        snap = getattr(stats, "snapshot", None)
        return dict(snap()) if callable(snap) else {}

    async def me(self) -> tuple[str, str | None]:
        org = await self.gc.me()
        return str(org.id), getattr(org, "name", None)

    async def find_source(self, name: str) -> str | None:
        async for src in self.gc.external_sources.list(name=name):
            if (src.name or "").strip() == name.strip() and src.id:
                return str(src.id)
        return None

    async def ensure_source(self, name: str) -> str:
        """The id of the External Source named ``name``, created when missing."""
        found = await self.find_source(name)
        if found:
            return found
        try:
            created = await self.gc.external_sources.create({"name": name, "active": True})
        except OutcomeUnknownError:
            again = await self.find_source(name)
            if again:
                return again
            raise
        return str(created.id)

    async def scan(self, kind: Kind) -> AsyncIterator[dict[str, Any]]:
        async for model in self._res(kind).scan(limit=200):
            yield model.to_api()

    async def org_has_contacts(self, org_id: str) -> bool:
        """Whether any contact still belongs to the organization (one search request, page of 1)."""
        async for _contact in self._res("organization").contacts(org_id, page_size=1, max_records=1):
            return True
        return False

    async def lookup(self, kind: Kind, key: str, source_id: str | None) -> dict[str, Any] | None:
        found = await self._res(kind).lookup_external_id(key, external_source_id=source_id)
        return found.to_api() if found is not None else None

    async def _bulk(
        self, kind: Kind, method: str, items: Sequence[Any], *, entities: bool = False
    ) -> list[ItemResult]:
        if not items:
            return []
        result = await getattr(self._res(kind), method)(list(items))
        out: list[ItemResult] = []
        for item in result.items:
            if item.ok:
                entity = item.entity.to_api() if entities and item.entity is not None else None
                rid = item.id or (entity or {}).get("id")
                out.append(ItemResult(True, id=str(rid) if rid else None, entity=entity))
            else:
                out.append(
                    ItemResult(False, id=item.id, error=_error_json(item.error), unknown=item.outcome_unknown)
                )
        return out

    async def bulk_add(self, kind: Kind, bodies: Sequence[dict[str, Any]]) -> list[ItemResult]:
        return await self._bulk(kind, "bulk_add", bodies)

    async def bulk_update(self, kind: Kind, bodies: Sequence[dict[str, Any]]) -> list[ItemResult]:
        return await self._bulk(kind, "bulk_update", bodies)

    async def bulk_remove(self, kind: Kind, ids: Sequence[str]) -> list[ItemResult]:
        return await self._bulk(kind, "bulk_remove", ids)

    async def bulk_get(self, kind: Kind, ids: Sequence[str]) -> list[ItemResult]:
        return await self._bulk(kind, "bulk_get", ids, entities=True)
