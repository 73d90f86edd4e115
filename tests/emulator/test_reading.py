"""Search (pages, q, sort, the 1,000-record cap) and scan (cursors to the end)."""

from __future__ import annotations

import base64
import json

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.emulator.conftest import API, FakeClock, client_for
from tests.emulator.openapi_check import detail_fields


def seed_contacts(emu: Emulator, n: int, org_id: str | None = None) -> list[str]:
    ids = []
    for i in range(n):
        body: dict = {
            "firstName": f"First{i:04d}",
            "lastName": f"Last{(n - i):04d}",
            "workEmail": f"p{i}@ex.com",
        }
        if org_id:
            body["externalOrganization"] = {"id": org_id}
        ids.append(emu.backend.create("contacts", body)["id"])
    return ids


async def test_search_pages_and_listing_fields(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = seed_contacts(emu, 30)
    r = await api.get(f"{API}/contacts", params={"pageSize": 10, "pageNumber": 2})
    page = r.json()
    assert [e["id"] for e in page["entities"]] == ids[10:20]
    assert page["total"] == 30 and page["pageCount"] == 3 and page["pageNumber"] == 2
    assert "pageNumber=1" in page["firstUri"] and "pageNumber=3" in page["lastUri"]
    assert "pageNumber=3" in page["nextUri"] and "pageNumber=1" in page["previousUri"]
    default = (await api.get(f"{API}/contacts")).json()
    assert default["pageSize"] == 20 and len(default["entities"]) == 20  # SDK docs: "default to 20"


async def test_search_q_matches_names_emails_phones_and_org(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "Globex Corp"})
    emu.backend.create("contacts", {"firstName": "Zed", "externalOrganization": {"id": org["id"]}})
    emu.backend.create("contacts", {"lastName": "Quux", "workEmail": "zz@example.org"})
    emu.backend.create("contacts", {"cellPhone": {"display": "317 555 0199"}})
    for q, expected in (
        ("globex", 1),
        ("QUUX", 1),
        ("zz@EXAMPLE", 1),
        ("+13175550199", 1),
        ("z", 2),
        ("nothing", 0),
    ):
        r = await api.get(f"{API}/contacts", params={"q": q})
        assert r.json()["total"] == expected, q
    orgs = (await api.get(f"{API}/organizations", params={"q": "glob"})).json()
    assert [o["name"] for o in orgs["entities"]] == ["Globex Corp"]


async def test_search_sort_order(api: httpx.AsyncClient, emu: Emulator) -> None:
    seed_contacts(emu, 5)
    r = await api.get(f"{API}/contacts", params={"sortOrder": "lastName:asc"})
    assert [e["lastName"] for e in r.json()["entities"]] == [f"Last{i:04d}" for i in range(1, 6)]
    r = await api.get(f"{API}/contacts", params={"sortOrder": "firstName:desc"})
    assert r.json()["entities"][0]["firstName"] == "First0004"
    r = await api.get(f"{API}/contacts", params={"sortOrder": "workEmail:asc"})
    assert r.status_code == 400 and detail_fields(r) == ["sortOrder"]


@pytest.mark.parametrize(
    ("params", "field"),
    [
        ({"pageSize": 100, "pageNumber": 11}, "pageNumber"),
        ({"pageSize": 201}, "pageSize"),
        ({"pageSize": 0}, "pageSize"),
        ({"pageNumber": 0}, "pageNumber"),
        ({"pageSize": "ten"}, "pageSize"),
    ],
)
async def test_search_cap_and_bad_paging(api: httpx.AsyncClient, params: dict, field: str) -> None:
    r = await api.get(f"{API}/contacts", params=params)
    assert r.status_code == 400 and detail_fields(r) == [field]


async def test_search_cap_boundary_is_allowed(api: httpx.AsyncClient, emu: Emulator) -> None:
    seed_contacts(emu, 3)
    r = await api.get(f"{API}/contacts", params={"pageSize": 100, "pageNumber": 10})
    assert r.status_code == 200 and r.json()["entities"] == []


async def test_post_contacts_search(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = seed_contacts(emu, 5)
    body = {"pageSize": 2, "pageNumber": 1, "operation": {"simpleSearch": {"query": "first000"}}}
    r = await api.post(f"{API}/contacts/search", json=body)
    assert r.json()["total"] == 5 and len(r.json()["entities"]) == 2
    body = {"operation": {"simpleSearch": {"ids": ids[3:], "sortOrder": ["firstName:desc"]}}}
    r = await api.post(f"{API}/contacts/search", json=body)
    assert [e["id"] for e in r.json()["entities"]] == [ids[4], ids[3]]
    r = await api.post(f"{API}/contacts/search", json={"pageSize": 500, "pageNumber": 3})
    assert r.status_code == 400


async def test_org_contacts_listing(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "O"})
    inside = seed_contacts(emu, 3, org["id"])
    seed_contacts(emu, 2)
    r = await api.get(f"{API}/organizations/{org['id']}/contacts")
    assert [e["id"] for e in r.json()["entities"]] == inside
    assert (await api.get(f"{API}/organizations/missing/contacts")).status_code == 404


async def scan_all(api: httpx.AsyncClient, kind: str, limit: int) -> tuple[list[str], int]:
    seen: list[str] = []
    pages = 0
    params: dict = {"limit": limit}
    while True:
        r = await api.get(f"{API}/scan/{kind}", params=params)
        assert r.status_code == 200
        page = r.json()
        pages += 1
        seen.extend(e["id"] for e in page["entities"])
        after = (page.get("cursors") or {}).get("after")
        if not after:
            return seen, pages
        params = {"limit": limit, "cursor": after}


async def test_scan_reaches_the_end_in_insertion_order(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = seed_contacts(emu, 45)
    seen, pages = await scan_all(api, "contacts", 10)
    assert seen == ids and pages == 5


async def test_scan_exact_multiple_has_no_trailing_cursor(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = seed_contacts(emu, 20)
    seen, pages = await scan_all(api, "contacts", 10)
    assert seen == ids and pages == 2


async def test_scan_survives_deletes_and_inserts_mid_way(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = seed_contacts(emu, 30)
    first = (await api.get(f"{API}/scan/contacts", params={"limit": 10})).json()
    for rid in ids[5:15]:
        emu.backend.delete("contacts", rid)
    late = seed_contacts(emu, 2)
    r = await api.get(f"{API}/scan/contacts", params={"limit": 10, "cursor": first["cursors"]["after"]})
    assert [e["id"] for e in r.json()["entities"]] == ids[15:25]
    r = await api.get(f"{API}/scan/contacts", params={"limit": 10, "cursor": r.json()["cursors"]["after"]})
    assert [e["id"] for e in r.json()["entities"]] == ids[25:] + late
    assert "cursors" not in r.json()


async def test_scan_organizations_empty(api: httpx.AsyncClient) -> None:
    r = await api.get(f"{API}/scan/organizations")
    assert r.json()["entities"] == [] and "cursors" not in r.json()


@pytest.mark.parametrize("limit", [9, 201, 0, -1])
async def test_scan_limit_bounds(api: httpx.AsyncClient, limit: int) -> None:
    r = await api.get(f"{API}/scan/contacts", params={"limit": limit})
    assert r.status_code == 400 and detail_fields(r) == ["limit"]


@pytest.mark.parametrize(
    "cursor",
    [
        "garbage!!",
        base64.urlsafe_b64encode(b'{"k":"contacts"}').decode(),
        base64.urlsafe_b64encode(b"[1,2]").decode(),
        base64.urlsafe_b64encode(b"\xff\xfe").decode(),
    ],
)
async def test_scan_garbage_cursor_is_400(api: httpx.AsyncClient, cursor: str) -> None:
    r = await api.get(f"{API}/scan/contacts", params={"cursor": cursor})
    assert r.status_code == 400 and detail_fields(r) == ["cursor"]


async def test_scan_cursor_of_other_kind_or_expired(
    api: httpx.AsyncClient, emu: Emulator, clock: FakeClock
) -> None:
    for i in range(12):
        emu.backend.create("organizations", {"name": f"O{i}"})
    page = (await api.get(f"{API}/scan/organizations", params={"limit": 10})).json()
    cursor = page["cursors"]["after"]
    assert json.loads(base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)))["k"] == "organizations"
    r = await api.get(f"{API}/scan/contacts", params={"cursor": cursor})
    assert r.status_code == 400
    emu.backend.wall_clock = lambda: 10**10
    r = await api.get(f"{API}/scan/organizations", params={"cursor": cursor})
    assert r.status_code == 400 and "expired" in r.json()["message"]


async def test_search_sees_updates_and_org_renames(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "Initech"})
    c = emu.backend.create("contacts", {"firstName": "Peter", "externalOrganization": {"id": org["id"]}})
    assert (await api.get(f"{API}/contacts", params={"q": "peter"})).json()["total"] == 1
    emu.backend.replace(
        "contacts", c["id"], {"firstName": "Milton", "externalOrganization": {"id": org["id"]}}
    )
    assert (await api.get(f"{API}/contacts", params={"q": "peter"})).json()["total"] == 0
    assert (await api.get(f"{API}/contacts", params={"q": "milton"})).json()["total"] == 1
    emu.backend.replace("organizations", org["id"], {"name": "Initrode"})
    assert (await api.get(f"{API}/contacts", params={"q": "initrode"})).json()["total"] == 1
    assert (await api.get(f"{API}/contacts", params={"q": "initech"})).json()["total"] == 0
    emu.backend.delete("contacts", c["id"])
    assert (await api.get(f"{API}/contacts", params={"q": "milton"})).json()["total"] == 0


async def test_page_size_enrich_bulk_and_cursor_ttl_settings(clock: FakeClock) -> None:
    wall = FakeClock(1_700_000_000.0)
    emu = Emulator(
        EmulatorSettings(rate_limit=0, search_max_page_size=50, max_enrich_bulk_size=2, cursor_ttl=60),
        clock=clock,
        wall_clock=wall,
    )
    seed_contacts(emu, 12)
    async with client_for(emu, emu.issue_token()) as api:
        assert (await api.get(f"{API}/contacts", params={"pageSize": 50})).status_code == 200
        r = await api.get(f"{API}/contacts", params={"pageSize": 51})
        assert r.status_code == 400 and detail_fields(r) == ["pageSize"]
        op = {"matchingIdentifiers": [{"type": "Email", "value": "x@y.z"}], "action": "Upsert", "contact": {}}
        r = await api.post(f"{API}/bulk/contacts/enrich", json={"entities": [op, op, op]})
        assert r.status_code == 400
        page = (await api.get(f"{API}/scan/contacts", params={"limit": 10})).json()
        wall.advance(61)
        r = await api.get(f"{API}/scan/contacts", params={"limit": 10, "cursor": page["cursors"]["after"]})
        assert r.status_code == 400 and "expired" in r.json()["message"]
