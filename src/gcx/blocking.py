"""The blocking :class:`Client`: the same surface as :class:`~gcx.client.AsyncClient`.

:class:`Client` runs an :class:`AsyncClient` on a private event loop in a background thread
and blocks on each call; it has the same attributes and methods, async iterators become
plain iterators. It is safe to use from many threads at once (they share one token, one rate
limiter and one connection pool). ``close()`` (or leaving the ``with`` block) stops the thread.
"""

from __future__ import annotations

import asyncio
import builtins
import threading
import weakref
from collections.abc import AsyncIterator, Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any, Generic, TypeVar

import httpx

from gcx.auth import TokenCache
from gcx.client import AsyncClient
from gcx.config import Settings
from gcx.models import (
    ContactEnrichRequest,
    ContactIdentifier,
    ContactListing,
    ContactSearchRequest,
    ExternalContact,
    ExternalOrganization,
    ExternalOrganizationEnrichRequest,
    ExternalOrganizationIdentifier,
    ExternalSource,
    Note,
    Organization,
    Relationship,
)
from gcx.pacing import RateLimiter
from gcx.pagination import ScanPager, SearchPager
from gcx.resources.bulk import BulkResult
from gcx.resources.children import Notes, Relationships
from gcx.resources.contacts import Contacts
from gcx.resources.external_sources import ExternalSources
from gcx.resources.identifiers import Identifiers
from gcx.resources.organizations import Organizations
from gcx.resources.records import EnrichResult, M, R, RecordResource
from gcx.retry import RetryPolicy
from gcx.transport import QueryValue

T = TypeVar("T")


class _Bridge:
    """Runs coroutines of one AsyncClient on a private event loop in a daemon thread.

    A daemon thread, so that a client somebody forgot to close never blocks interpreter exit;
    ``close()`` (or garbage collection, through a finalizer) stops the loop and joins the thread.
    """

    def __init__(self) -> None:
        self.loop = asyncio.new_event_loop()
        self._ready = threading.Event()
        self.thread = threading.Thread(target=self._run, name="gcx-client-loop", daemon=True)
        self.thread.start()
        self._ready.wait()
        self.open = True
        self._lock = threading.Lock()

    def _run(self) -> None:
        asyncio.set_event_loop(self.loop)
        self.loop.call_soon(self._ready.set)
        self.loop.run_forever()

    def call(self, fn: Callable[..., Awaitable[T]], /, *args: Any, **kwargs: Any) -> T:
        if not self.open:
            raise RuntimeError("the client is closed")
        if threading.current_thread() is self.thread:
            raise RuntimeError("a sync Client method was called from its own event loop; use the AsyncClient")

        async def run() -> T:
            return await fn(*args, **kwargs)

        future = asyncio.run_coroutine_threadsafe(run(), self.loop)
        try:
            return future.result()
        except BaseException:
            future.cancel()  # e.g. KeyboardInterrupt: do not leave the call running
            raise

    def close(self, final: Callable[[], Awaitable[None]] | None = None) -> None:
        with self._lock:
            if not self.open:
                return
            self.open = False
        try:
            if final is not None and self.loop.is_running():

                async def run_final() -> None:
                    await final()

                asyncio.run_coroutine_threadsafe(run_final(), self.loop).result()
        finally:
            if self.loop.is_running():
                asyncio.run_coroutine_threadsafe(self._drain(), self.loop).result()
                self.loop.call_soon_threadsafe(self.loop.stop)
            self.thread.join()
            self.loop.close()

    async def _drain(self) -> None:
        """Cancel whatever is still running (abandoned iterators) and finish async generators."""
        current = asyncio.current_task()
        pending = [t for t in asyncio.all_tasks() if t is not current]
        for task in pending:
            task.cancel()
        if pending:
            await asyncio.gather(*pending, return_exceptions=True)
        await self.loop.shutdown_asyncgens()
        await self.loop.shutdown_default_executor()


class SyncIterator(Generic[T], Iterator[T]):
    """A blocking iterator over one of the client's async iterators (a search or scan pager).
    Attributes of the pager (``truncated``, ``total``, ``pages``...) are readable here."""

    def __init__(self, bridge: _Bridge, source: AsyncIterator[T]) -> None:
        self._bridge = bridge
        self._source = source

    def __iter__(self) -> SyncIterator[T]:
        return self

    def __next__(self) -> T:
        async def step() -> tuple[bool, T | None]:
            try:
                return True, await self._source.__anext__()
            except StopAsyncIteration:
                return False, None

        more, value = self._bridge.call(step)
        if not more:
            raise StopIteration
        return value  # type: ignore[return-value]

    @property
    def truncated(self) -> bool:
        return bool(getattr(self._source, "truncated", False))

    @property
    def total(self) -> int | None:
        value = getattr(self._source, "total", None)
        return value if isinstance(value, int) else None

    @property
    def pages(self) -> int:
        return int(getattr(self._source, "pages", 0))

    @property
    def pager(self) -> AsyncIterator[T]:
        """The underlying async pager (its attributes describe the iteration)."""
        return self._source


I = TypeVar("I", ExternalOrganizationIdentifier, ContactIdentifier)  # noqa: E741


class SyncIdentifiers(Generic[I]):
    """Blocking :class:`~gcx.resources.identifiers.Identifiers`."""

    def __init__(self, bridge: _Bridge, inner: Identifiers[I]) -> None:
        self._b = bridge
        self._a: Identifiers[I] = inner

    def list(self, record_id: str) -> builtins.list[I]:
        return self._b.call(self._a.list, record_id)

    def claim(self, record_id: str, type: str, value: str, *, external_source_id: str | None = None) -> I:
        return self._b.call(self._a.claim, record_id, type, value, external_source_id=external_source_id)

    def release(self, record_id: str, type: str, value: str, *, external_source_id: str | None = None) -> I:
        return self._b.call(self._a.release, record_id, type, value, external_source_id=external_source_id)


class _SyncRecords(Generic[M, R]):
    """Blocking methods shared by organizations and contacts (see :class:`RecordResource`):
    ``M`` is the record model, ``R`` its enrich request model."""

    _a: RecordResource[M, Any, R]

    def __init__(self, bridge: _Bridge) -> None:
        self._b = bridge

    def create(self, record: M | Mapping[str, Any]) -> M:
        return self._b.call(self._a.create, record)

    def get(self, id: str, *, expand: Sequence[str] | None = None) -> M:
        return self._b.call(self._a.get, id, expand=expand)

    def get_raw(self, id: str) -> dict[str, Any]:
        return self._b.call(self._a.get_raw, id)

    def update(self, record: M | Mapping[str, Any], *, id: str | None = None) -> M:
        return self._b.call(self._a.update, record, id=id)

    def put_raw(self, id: str, body: Mapping[str, Any]) -> M:
        return self._b.call(self._a.put_raw, id, body)

    def patch(self, id: str, changes: Sequence[Any]) -> M:
        return self._b.call(self._a.patch, id, changes)

    def safe_update(self, id: str, changes: Mapping[str, Any], *, method: str = "auto") -> M:
        return self._b.call(self._a.safe_update, id, changes, method=method)

    def delete(self, id: str) -> None:
        self._b.call(self._a.delete, id)

    def search(
        self,
        q: str | None = None,
        *,
        page_size: int = 100,
        sort_order: str | None = None,
        expand: Sequence[str] | None = None,
        division_ids: Sequence[str] | None = None,
        max_records: int | None = None,
    ) -> SyncIterator[M]:
        """Search (capped at 1,000 records by the API: check ``.truncated`` afterwards)."""
        pager = self._a.search(
            q, page_size=page_size, sort_order=sort_order, expand=expand,
            division_ids=division_ids, max_records=max_records,
        )  # fmt: skip
        return SyncIterator(self._b, pager)

    def scan(
        self,
        limit: int = 100,
        *,
        division_id: str | None = None,
        max_records: int | None = None,
        where: Callable[[dict[str, Any]], bool] | None = None,
    ) -> SyncIterator[M]:
        """Every record, along the scan cursors."""
        pager = self._a.scan(limit, division_id=division_id, max_records=max_records, where=where)
        return SyncIterator(self._b, pager)

    def scan_json(self, limit: int = 100, *, division_id: str | None = None) -> SyncIterator[dict[str, Any]]:
        """Every record as the server sent it (JSON dicts, no model validation)."""
        return SyncIterator(self._b, self._a.scan_json(limit, division_id=division_id))

    def lookup_external_id(
        self, value: str, external_source_id: str | None = None, *, expand: Sequence[str] | None = None
    ) -> M | None:
        return self._b.call(self._a.lookup_external_id, value, external_source_id, expand=expand)

    def bulk_add(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
        entities: bool = True,
    ) -> BulkResult[M]:
        return self._b.call(
            self._a.bulk_add, records, batch_size=batch_size, checked=checked, entities=entities
        )

    def bulk_get(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        return self._b.call(self._a.bulk_get, ids, batch_size=batch_size)

    def bulk_update(
        self,
        records: Sequence[M | Mapping[str, Any]],
        *,
        batch_size: int | None = None,
        checked: bool = False,
    ) -> BulkResult[M]:
        return self._b.call(self._a.bulk_update, records, batch_size=batch_size, checked=checked)

    def bulk_remove(self, ids: Sequence[str], *, batch_size: int | None = None) -> BulkResult[M]:
        return self._b.call(self._a.bulk_remove, ids, batch_size=batch_size)

    def enrich(self, request: R | Mapping[str, Any], *, dry_run: bool = False) -> EnrichResult[M]:
        return self._b.call(self._a.enrich, request, dry_run=dry_run)

    def bulk_enrich(
        self,
        requests: Sequence[R | Mapping[str, Any]],
        *,
        dry_run: bool = False,
        batch_size: int = 10,
    ) -> BulkResult[M]:
        return self._b.call(self._a.bulk_enrich, requests, dry_run=dry_run, batch_size=batch_size)


class SyncNotes:
    """Blocking :class:`~gcx.resources.children.Notes`."""

    def __init__(self, bridge: _Bridge, inner: Notes) -> None:
        self._b = bridge
        self._a = inner

    def list(self, record_id: str, *, sort_order: str | None = None) -> SyncIterator[Note]:
        return SyncIterator(self._b, self._a.list(record_id, sort_order=sort_order))

    def get(self, record_id: str, note_id: str) -> Note:
        return self._b.call(self._a.get, record_id, note_id)

    def create(self, record_id: str, note: Note | Mapping[str, Any] | str) -> Note:
        return self._b.call(self._a.create, record_id, note)

    def update(self, record_id: str, note: Note | Mapping[str, Any], *, id: str | None = None) -> Note:
        return self._b.call(self._a.update, record_id, note, id=id)

    def patch(self, record_id: str, note_id: str, changes: Sequence[Any]) -> Note:
        return self._b.call(self._a.patch, record_id, note_id, changes)

    def delete(self, record_id: str, note_id: str) -> None:
        self._b.call(self._a.delete, record_id, note_id)


class SyncRelationships:
    """Blocking :class:`~gcx.resources.children.Relationships`."""

    def __init__(self, bridge: _Bridge, inner: Relationships) -> None:
        self._b = bridge
        self._a = inner

    def list(self, org_id: str, *, sort_order: str | None = None) -> SyncIterator[Relationship]:
        return SyncIterator(self._b, self._a.list(org_id, sort_order=sort_order))

    def get(self, relationship_id: str) -> Relationship:
        return self._b.call(self._a.get, relationship_id)

    def create(self, relationship: Relationship | Mapping[str, Any]) -> Relationship:
        return self._b.call(self._a.create, relationship)

    def update(
        self, relationship: Relationship | Mapping[str, Any], *, id: str | None = None
    ) -> Relationship:
        return self._b.call(self._a.update, relationship, id=id)

    def patch(self, relationship_id: str, changes: Sequence[Any]) -> Relationship:
        return self._b.call(self._a.patch, relationship_id, changes)

    def delete(self, relationship_id: str) -> None:
        self._b.call(self._a.delete, relationship_id)


class SyncOrganizations(_SyncRecords[ExternalOrganization, ExternalOrganizationEnrichRequest]):
    """Blocking :class:`~gcx.resources.organizations.Organizations`."""

    def __init__(self, bridge: _Bridge, inner: Organizations) -> None:
        super().__init__(bridge)
        self._a: Organizations = inner
        self.identifiers = SyncIdentifiers(bridge, inner.identifiers)
        self.notes = SyncNotes(bridge, inner.notes)

    def contacts(
        self,
        org_id: str,
        *,
        q: str | None = None,
        all: bool = False,
        page_size: int = 100,
        sort_order: str | None = None,
        expand: Sequence[str] | None = None,
        limit: int = 200,
        max_records: int | None = None,
    ) -> SyncIterator[ExternalContact]:
        """Contacts of the organization: search-based (1,000 cap), or ``all=True`` to scan."""
        pager: SearchPager[ExternalContact] | ScanPager[ExternalContact] = self._a.contacts(
            org_id, q=q, all=all, page_size=page_size, sort_order=sort_order, expand=expand,
            limit=limit, max_records=max_records,
        )  # fmt: skip
        return SyncIterator(self._b, pager)


class SyncContacts(_SyncRecords[ExternalContact, ContactEnrichRequest]):
    """Blocking :class:`~gcx.resources.contacts.Contacts`."""

    def __init__(self, bridge: _Bridge, inner: Contacts) -> None:
        super().__init__(bridge)
        self._a: Contacts = inner
        self.identifiers = SyncIdentifiers(bridge, inner.identifiers)
        self.notes = SyncNotes(bridge, inner.notes)

    def merge(
        self, contact_ids: Sequence[str], *, value_override: Mapping[str, Any] | None = None
    ) -> ExternalContact:
        return self._b.call(self._a.merge, contact_ids, value_override=value_override)

    def merge_into(self, source_id: str, target_id: str) -> ExternalContact:
        return self._b.call(self._a.merge_into, source_id, target_id)

    def search_body(self, request: ContactSearchRequest | Mapping[str, Any]) -> ContactListing:
        return self._b.call(self._a.search_body, request)

    def lookup(
        self,
        type: str,
        value: str,
        *,
        external_source_id: str | None = None,
        expand: Sequence[str] | None = None,
    ) -> ExternalContact | None:
        return self._b.call(self._a.lookup, type, value, external_source_id=external_source_id, expand=expand)

    def move(self, contact_id: str, org_id: str | None) -> ExternalContact:
        return self._b.call(self._a.move, contact_id, org_id)


class SyncExternalSources:
    """Blocking :class:`~gcx.resources.external_sources.ExternalSources`."""

    def __init__(self, bridge: _Bridge, inner: ExternalSources) -> None:
        self._b = bridge
        self._a = inner

    def list(
        self, *, name: str | None = None, active: bool | None = None, limit: int = 100
    ) -> SyncIterator[ExternalSource]:
        return SyncIterator(self._b, self._a.list(name=name, active=active, limit=limit))

    def create(self, source: ExternalSource | Mapping[str, Any]) -> ExternalSource:
        return self._b.call(self._a.create, source)

    def get(self, id: str) -> ExternalSource:
        return self._b.call(self._a.get, id)

    def update(self, source: ExternalSource | Mapping[str, Any], *, id: str | None = None) -> ExternalSource:
        return self._b.call(self._a.update, source, id=id)

    def delete(self, id: str) -> None:
        self._b.call(self._a.delete, id)


class Client:
    """Blocking client: the same surface as :class:`AsyncClient` (same arguments too).

    ``transport`` must be an async transport (:class:`httpx.AsyncBaseTransport`, e.g.
    ``httpx.MockTransport`` or the emulator's), since the work happens in an AsyncClient.
    """

    def __init__(
        self,
        region: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        access_token: str | None = None,
        profile: str | None = None,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limit: float = 300,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = 30.0,
        bulk_batch_size: int = 200,
        token_cache: TokenCache | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {
            "access_token": access_token,
            "profile": profile,
            "settings": settings,
            "transport": transport,
            "rate_limit": rate_limit,
            "retry": retry,
            "timeout": timeout,
            "bulk_batch_size": bulk_batch_size,
            "token_cache": token_cache,
            "limiter": limiter,
            "clock": clock,
            "sleep": sleep,
            "rand": rand,
            "headers": headers,
        }
        args = (region, client_id, client_secret)
        self._bridge = _Bridge()
        try:
            self._async: AsyncClient = self._bridge.call(_make_async_client, args, kwargs)
        except BaseException:
            self._bridge.close()
            raise
        # Closed when garbage collected, if the caller forgot (the loop thread is a daemon).
        self._finalizer = weakref.finalize(self, self._bridge.close, self._async.aclose)
        self.settings = self._async.settings
        self.stats = self._async.stats
        self.retry_policy = self._async.retry_policy
        self.limiter = self._async.limiter
        self.auth = self._async.auth
        self.organizations = SyncOrganizations(self._bridge, self._async.organizations)
        self.contacts = SyncContacts(self._bridge, self._async.contacts)
        self.external_sources = SyncExternalSources(self._bridge, self._async.external_sources)
        self.relationships = SyncRelationships(self._bridge, self._async.relationships)

    def __repr__(self) -> str:
        return f"Client(region={self.settings.region.name!r}, client_id={self.settings.client_id!r})"

    @property
    def closed(self) -> bool:
        return not self._bridge.open

    @property
    def async_client(self) -> AsyncClient:
        """The AsyncClient doing the work (runs on the facade's private loop)."""
        return self._async

    def me(self) -> Organization:
        return self._bridge.call(self._async.me)

    def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        return self._bridge.call(
            self._async.request, method, path, params=params, json=json, idempotent=idempotent
        )

    def close(self) -> None:
        """Close the connections and stop the background loop (idempotent)."""
        self._finalizer()

    def __enter__(self) -> Client:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


async def _make_async_client(args: tuple[Any, ...], kwargs: dict[str, Any]) -> AsyncClient:
    return AsyncClient(*args, **kwargs)
