"""The thin I/O layer between the sync and the client library.

Everything the sync needs from Genesys, as plain JSON dicts (unknown fields kept). The seam is
typed: :class:`GenesysApi` is the part of :class:`gcx.client.AsyncClient` the sync uses, as a
Protocol that strict mypy checks on both sides (here, and wherever an ``AsyncClient`` is passed
to :class:`Remote`). No decisions are taken here.
"""

from __future__ import annotations

from collections.abc import AsyncIterable, AsyncIterator, Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import TYPE_CHECKING, Any, Protocol, TypeVar

from gcx.errors import OutcomeUnknownError
from gcx.models import ExternalContact, ExternalOrganization, ExternalSource, Organization
from gcx.pacing import RateLimiter
from gcx.resources.bulk import BulkError, BulkResult
from gcx.sync.fields import Kind
from gcx.sync.quickinit import quick_init
from gcx.transport import RequestStats

M = TypeVar("M", ExternalOrganization, ExternalContact)


class Jsonable(Protocol):
    def to_api(self) -> dict[str, Any]: ...


class IdentifiersApi(Protocol):
    async def list(self, record_id: str) -> Sequence[Jsonable]: ...


class RecordsApi(Protocol[M]):
    """Organizations or contacts, as the sync reads and writes them."""

    @property
    def identifiers(self) -> IdentifiersApi: ...

    def scan_json(self, limit: int = ...) -> AsyncIterable[dict[str, Any]]: ...

    async def lookup_external_id(self, value: str, external_source_id: str | None = None) -> M | None: ...

    async def bulk_add(
        self, records: Sequence[Mapping[str, Any]], *, checked: bool = ..., entities: bool = ...
    ) -> BulkResult[M]: ...

    async def bulk_update(
        self, records: Sequence[Mapping[str, Any]], *, checked: bool = ...
    ) -> BulkResult[M]: ...

    async def bulk_remove(self, ids: Sequence[str]) -> BulkResult[M]: ...

    async def bulk_get(self, ids: Sequence[str]) -> BulkResult[M]: ...


class OrganizationsApi(RecordsApi[ExternalOrganization], Protocol):
    def contacts(
        self, org_id: str, *, page_size: int = ..., max_records: int | None = ...
    ) -> AsyncIterable[ExternalContact]: ...


class ExternalSourcesApi(Protocol):
    def list(self, *, name: str | None = ...) -> AsyncIterable[ExternalSource]: ...

    async def create(self, source: Mapping[str, Any]) -> ExternalSource: ...


class GenesysApi(Protocol):
    """What the sync needs of a client: :class:`gcx.client.AsyncClient` satisfies it."""

    @property
    def stats(self) -> RequestStats: ...

    @property
    def limiter(self) -> RateLimiter: ...

    @property
    def organizations(self) -> OrganizationsApi: ...

    @property
    def contacts(self) -> RecordsApi[ExternalContact]: ...

    @property
    def external_sources(self) -> ExternalSourcesApi: ...

    async def me(self) -> Organization: ...


AnyBulkResult = BulkResult[ExternalOrganization] | BulkResult[ExternalContact]

if TYPE_CHECKING:  # the client keeps satisfying the seam (checked by mypy, never run)
    from gcx.client import AsyncClient

    def _client_is_an_api(gc: AsyncClient) -> GenesysApi:
        return gc


@quick_init
@dataclass(frozen=True)
class ItemResult:
    """The outcome of one bulk item, in request order."""

    ok: bool
    id: str | None = None
    entity: dict[str, Any] | None = None
    error: dict[str, Any] | None = None
    unknown: bool = False  # no answer (or no identifiable answer): reconcile before retrying


def _error_json(err: BulkError | None) -> dict[str, Any]:
    if err is None:
        return {"reason": "the item failed"}
    return {"reason": err.message, "status": err.status, "code": err.code, "field": _first_field(err.details)}


def _first_field(details: Sequence[Mapping[str, Any]]) -> str | None:
    for d in details:
        if isinstance(d, Mapping) and d.get("fieldName"):
            return str(d["fieldName"])
    return None


def _items(result: AnyBulkResult, *, entities: bool = False) -> list[ItemResult]:
    out: list[ItemResult] = []
    for item in result.items:
        if item.ok:
            entity = item.raw if entities else None
            rid = item.id or (entity or {}).get("id")
            out.append(ItemResult(True, str(rid) if rid else None, entity))
        else:
            out.append(
                ItemResult(False, id=item.id, error=_error_json(item.error), unknown=item.outcome_unknown)
            )
    return out


class Remote:
    """Genesys (or the emulator) seen by the sync, over an open client (``AsyncClient``).

    ``writers``: more open clients, each with its own client-credentials token and its own rate
    budget (``gcx sync apply --tokens N``). Bulk calls go to the client with the fewest calls in
    flight; reads that follow a cursor (scans) and lookups stay on ``gc``.
    """

    def __init__(self, gc: GenesysApi, *, writers: Sequence[GenesysApi] = ()) -> None:
        self.gc = gc
        self.pool: list[GenesysApi] = [gc, *writers]
        self._busy = [0] * len(self.pool)

    @property
    def tokens(self) -> int:
        return len(self.pool)

    def _res(
        self, kind: Kind, gc: GenesysApi | None = None
    ) -> RecordsApi[ExternalOrganization] | RecordsApi[ExternalContact]:
        gc = gc or self.gc
        return gc.organizations if kind == "organization" else gc.contacts

    @property
    def requests(self) -> int:
        return sum(gc.stats.requests for gc in self.pool)

    def stats(self) -> dict[str, Any]:
        total: dict[str, Any] = dict(self.gc.stats.snapshot())
        for gc in self.pool[1:]:
            for name, value in gc.stats.snapshot().items():
                if isinstance(value, int | float) and isinstance(total.get(name), int | float):
                    total[name] += value
        if len(self.pool) > 1:
            total["tokens"] = len(self.pool)
        return total

    async def _pooled(
        self, kind: Kind, call: Callable[[RecordsApi[Any]], Awaitable[AnyBulkResult]]
    ) -> AnyBulkResult:
        """Run one bulk call on the least busy client of the pool."""
        n = min(range(len(self.pool)), key=lambda i: self._busy[i])
        self._busy[n] += 1
        try:
            return await call(self._res(kind, self.pool[n]))
        finally:
            self._busy[n] -= 1

    @property
    def rate_per_minute(self) -> float:
        """The client's request budget per minute (0: not paced)."""
        return self.gc.limiter.max_rate

    async def me(self) -> tuple[str, str | None]:
        org = await self.gc.me()
        return str(org.id), org.name

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
        async for body in self._res(kind).scan_json(limit=200):
            yield body

    async def org_contacts(self, org_id: str, limit: int = 25) -> list[dict[str, Any]]:
        """Up to ``limit`` contacts that belong to the organization now (one search request)."""
        found = []
        async for contact in self.gc.organizations.contacts(org_id, page_size=limit, max_records=limit):
            found.append(contact.to_api())
        return found

    async def org_has_contacts(self, org_id: str) -> bool:
        """Whether any contact still belongs to the organization (one search request, page of 1)."""
        async for _contact in self.gc.organizations.contacts(org_id, page_size=1, max_records=1):
            return True
        return False

    async def lookup(self, kind: Kind, key: str, source_id: str | None) -> dict[str, Any] | None:
        found = await self._res(kind).lookup_external_id(key, external_source_id=source_id)
        return found.to_api() if found is not None else None

    async def identifiers(self, kind: Kind, record_id: str) -> list[dict[str, Any]]:
        """The identifiers a record holds (one request; scans never show them)."""
        return [i.to_api() for i in await self._res(kind).identifiers.list(record_id)]

    async def bulk_add(self, kind: Kind, bodies: Sequence[dict[str, Any]]) -> list[ItemResult]:
        if not bodies:
            return []
        # the bodies are built from validated source values (gcx.sync.fields): no model round trip;
        # a create keeps the new record's id, not the record (the answers are read only that far)
        return _items(
            await self._pooled(kind, lambda res: res.bulk_add(list(bodies), checked=True, entities=False))
        )

    async def bulk_update(self, kind: Kind, bodies: Sequence[dict[str, Any]]) -> list[ItemResult]:
        if not bodies:
            return []
        return _items(await self._pooled(kind, lambda res: res.bulk_update(list(bodies), checked=True)))

    async def bulk_remove(self, kind: Kind, ids: Sequence[str]) -> list[ItemResult]:
        if not ids:
            return []
        return _items(await self._pooled(kind, lambda res: res.bulk_remove(list(ids))))

    async def bulk_get(self, kind: Kind, ids: Sequence[str]) -> list[ItemResult]:
        if not ids:
            return []
        return _items(await self._pooled(kind, lambda res: res.bulk_get(list(ids))), entities=True)
