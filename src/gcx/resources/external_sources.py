"""External sources: ``/api/v2/externalcontacts/externalsources``."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from gcx.errors import ValidationError
from gcx.models import ExternalSource
from gcx.pagination import ScanPager, scan_limit
from gcx.resources.bodies import coerce, seg
from gcx.resources.core import API, Core
from gcx.transport import QueryValue


class ExternalSources:
    """The systems records are linked to (``externalIds``)."""

    path = f"{API}/externalsources"

    def __init__(self, core: Core) -> None:
        self._core = core

    def list(
        self, *, name: str | None = None, active: bool | None = None, limit: int = 100
    ) -> ScanPager[ExternalSource]:
        """Every external source (async iterator, cursor paged); ``name`` filters by prefix."""
        size = scan_limit(limit)

        async def fetch(cursor: str | None) -> dict[str, Any]:
            params: dict[str, QueryValue] = {"limit": size, "cursor": cursor, "name": name, "active": active}
            data = await self._core.json("GET", self.path, params=params)
            return data if isinstance(data, dict) else {}

        return ScanPager(fetch, ExternalSource.from_api, what="external sources")

    async def create(self, source: ExternalSource | Mapping[str, Any]) -> ExternalSource:
        model = coerce(ExternalSource, source, record="new external source")
        if not model.name or not model.name.strip():
            raise ValidationError(
                "new external source: a name is required", field="name", record="new external source"
            )
        data = await self._core.json("POST", self.path, body=model.to_api(), idempotent=False)
        return ExternalSource.from_api(data)

    async def get(self, id: str) -> ExternalSource:
        data = await self._core.json("GET", f"{self.path}/{seg(id, record='external source')}")
        return ExternalSource.from_api(data)

    async def update(
        self, source: ExternalSource | Mapping[str, Any], *, id: str | None = None
    ) -> ExternalSource:
        model = coerce(ExternalSource, source, record=f"external source {id or ''}".strip())
        source_id = id or model.id
        if not source_id:
            raise ValidationError(
                "external source: an update needs its id", field="id", record="external source"
            )
        data = await self._core.json(
            "PUT", f"{self.path}/{seg(source_id, record='external source')}", body=model.to_api()
        )
        return ExternalSource.from_api(data)

    async def delete(self, id: str) -> None:
        await self._core.send("DELETE", f"{self.path}/{seg(id, record='external source')}")
