"""Search pages (1,000 cap, truncation flag) and scan cursors, against a fake listing API."""

from __future__ import annotations

import logging
from typing import Any

import httpx
import pytest

from gcx import AsyncClient, Client
from gcx.errors import GcxError, ValidationError
from tests.client.conftest import BASE, CREDS, FakeApi

CONTACTS = "/api/v2/externalcontacts/contacts"
SCAN = "/api/v2/externalcontacts/scan/contacts"


def records(n: int) -> list[dict[str, Any]]:
    return [
        {
            "id": f"c{i:05d}",
            "firstName": f"P{i}",
            "externalOrganization": {"id": "o1" if i % 3 == 0 else "o2"},
        }
        for i in range(n)
    ]


def install_search(api: FakeApi, data: list[dict[str, Any]], path: str = CONTACTS) -> list[tuple[int, int]]:
    seen: list[tuple[int, int]] = []

    @api.route("GET", path)
    def search(request: httpx.Request) -> httpx.Response:
        size = int(request.url.params["pageSize"])
        page = int(request.url.params["pageNumber"])
        seen.append((page, size))
        if page * size > 1000:
            return httpx.Response(
                400, json={"message": "pageNumber * pageSize must be <= 1000", "status": 400}
            )
        chunk = data[(page - 1) * size : page * size]
        count = -(-len(data) // size)
        return httpx.Response(
            200,
            json={
                "entities": chunk,
                "pageSize": size,
                "pageNumber": page,
                "total": len(data),
                "pageCount": count,
            },
        )

    return seen


def install_scan(api: FakeApi, data: list[dict[str, Any]]) -> list[str | None]:
    cursors: list[str | None] = []

    @api.route("GET", SCAN)
    def scan(request: httpx.Request) -> httpx.Response:
        limit = int(request.url.params["limit"])
        assert 10 <= limit <= 200
        cursor = request.url.params.get("cursor")
        cursors.append(cursor)
        start = int(cursor.split("-")[1]) if cursor else 0
        chunk = data[start : start + limit]
        body: dict[str, Any] = {"entities": chunk}
        if chunk:
            body["cursors"] = {"after": f"cur-{start + limit}"}
        return httpx.Response(200, json=body)

    return cursors


def client(api: FakeApi) -> AsyncClient:
    return AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0)


async def test_search_reads_everything_below_the_cap(api: FakeApi) -> None:
    seen = install_search(api, records(250))
    async with client(api) as gc:
        pager = gc.contacts.search("p")
        found = [c.id async for c in pager]
    assert len(found) == 250 and found[0] == "c00000"
    assert seen == [(1, 100), (2, 100), (3, 100)]
    assert not pager.truncated and pager.total == 250


async def test_search_stops_at_the_cap_and_says_so(api: FakeApi, caplog: pytest.LogCaptureFixture) -> None:
    seen = install_search(api, records(1500))
    caplog.set_level(logging.WARNING, logger="gcx")
    async with client(api) as gc:
        pager = gc.contacts.search(page_size=200)
        found = [c async for c in pager]
    assert len(found) == 1000
    assert max(p * s for p, s in seen) == 1000
    assert pager.truncated and pager.total == 1500
    assert any("cap of 1000" in r.getMessage() and "use scan" in r.getMessage() for r in caplog.records)


async def test_search_exactly_1000_is_not_truncated(api: FakeApi) -> None:
    install_search(api, records(1000))
    async with client(api) as gc:
        pager = gc.contacts.search()
        assert len([c async for c in pager]) == 1000
    assert not pager.truncated


async def test_search_page_size_not_dividing_1000(api: FakeApi) -> None:
    seen = install_search(api, records(2000))
    async with client(api) as gc:
        pager = gc.contacts.search(page_size=300)
        found = [c async for c in pager]
    assert len(found) == 900 and pager.truncated
    assert seen == [(1, 300), (2, 300), (3, 300)]


async def test_max_records(api: FakeApi) -> None:
    install_search(api, records(500))
    async with client(api) as gc:
        pager = gc.contacts.search(max_records=120)
        assert len([c async for c in pager]) == 120
    assert pager.truncated


async def test_scan_follows_cursors_past_1000(api: FakeApi) -> None:
    cursors = install_scan(api, records(2345))
    async with client(api) as gc:
        pager = gc.contacts.scan(limit=200)
        found = [c.id async for c in pager]
    assert len(found) == 2345 and len(set(found)) == 2345
    assert cursors[0] is None and cursors[1] == "cur-200"
    assert pager.pages == 13  # 12 full/partial pages + the empty one


async def test_scan_stops_without_cursor(api: FakeApi) -> None:
    @api.route("GET", SCAN)
    def scan(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"entities": records(5)})

    async with client(api) as gc:
        assert len([c async for c in gc.contacts.scan()]) == 5


async def test_scan_detects_a_cursor_loop(api: FakeApi) -> None:
    @api.route("GET", SCAN)
    def scan(request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json={"entities": records(10), "cursors": {"after": "same"}})

    async with client(api) as gc:
        with pytest.raises(GcxError, match="twice"):
            [c async for c in gc.contacts.scan()]


async def test_scan_limit_is_checked(api: FakeApi) -> None:
    async with client(api) as gc:
        with pytest.raises(ValidationError, match="between 10 and 200"):
            gc.contacts.scan(limit=500)


async def test_contacts_of_an_organization(api: FakeApi) -> None:
    data = records(60)
    install_search(
        api,
        [r for r in data if r["externalOrganization"]["id"] == "o1"],
        "/api/v2/externalcontacts/organizations/o1/contacts",
    )
    install_scan(api, data)
    async with client(api) as gc:
        by_search = [c.id async for c in gc.organizations.contacts("o1")]
        by_scan = [c.id async for c in gc.organizations.contacts("o1", all=True, limit=10)]
    assert by_search == by_scan == [r["id"] for r in data if r["externalOrganization"]["id"] == "o1"]


def test_sync_iterators(api: FakeApi) -> None:
    install_search(api, records(1200))
    install_scan(api, records(1200))
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        pager = gc.contacts.search()
        assert len(list(pager)) == 1000
        assert pager.truncated and pager.total == 1200 and pager.pages == 10
        assert sum(1 for _ in gc.contacts.scan(limit=200)) == 1200
