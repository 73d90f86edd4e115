"""Identifiers (list, claim, release), identifier lookup, externalIds and external sources.

These run the emulator's earlier, kind identity settings (``KIND_IDENTITY``: identifiers from
``externalIds`` and from a body, shown in every answer, a conflicting write refused): they must
stay reachable. The documented default rules are in ``test_identity_documented.py``.
"""

from __future__ import annotations

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from tests.emulator.conftest import API, FakeClock, client_for
from tests.emulator.openapi_check import detail_fields, error_body


@pytest.fixture
def emu(clock: FakeClock) -> Emulator:
    return Emulator(EmulatorSettings(seed=7, rate_limit=0, **KIND_IDENTITY), clock=clock)


@pytest.fixture
def source(emu: Emulator) -> dict:
    return emu.backend.create_source({"name": "crm"})


def ext(source: dict, value: str) -> dict:
    return {"externalIds": [{"externalSource": {"id": source["id"]}, "value": value}]}


async def test_external_ids_become_identifiers_and_lookup_finds_them(
    api: httpx.AsyncClient, source: dict
) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A", **ext(source, "k-1")})).json()
    idents = (await api.get(f"{API}/contacts/{c['id']}/identifiers")).json()["entities"]
    assert [(i["type"], i["value"], i["externalSource"]["id"]) for i in idents] == [
        ("ExternalId", "k-1", source["id"])
    ]
    assert idents[0]["dateCreated"].endswith("Z")
    with_source = {"type": "ExternalId", "value": "k-1", "externalSource": {"id": source["id"]}}
    found = await api.post(f"{API}/identifierlookup/contacts", json=with_source)
    assert found.status_code == 200 and found.json()["id"] == c["id"]
    found = await api.post(f"{API}/identifierlookup", json={"type": "ExternalId", "value": " k-1 "})
    assert found.json()["id"] == c["id"]
    other = await api.post(f"{API}/externalsources", json={"name": "erp"})
    assert other.status_code == 200
    miss = {"type": "ExternalId", "value": "k-1", "externalSource": {"id": other.json()["id"]}}
    r = await api.post(f"{API}/identifierlookup/contacts", json=miss)
    assert r.status_code == 404 and error_body(r)["code"] == "not.found"


async def test_put_never_releases_identifiers(api: httpx.AsyncClient, source: dict) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A", **ext(source, "k-2")})).json()
    u = (await api.put(f"{API}/contacts/{c['id']}", json={"firstName": "B"})).json()
    assert "externalIds" not in u
    assert [i["value"] for i in u["identifiers"]] == ["k-2"]
    r = await api.post(f"{API}/identifierlookup/contacts", json={"type": "ExternalId", "value": "k-2"})
    assert r.json()["id"] == c["id"]


async def test_claim_and_release(api: httpx.AsyncClient) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    url = f"{API}/contacts/{c['id']}/identifiers"
    ident = {"type": "Email", "value": "a@example.com"}
    r = await api.patch(url, json={"operation": "Claim", "identifier": ident})
    assert r.status_code == 200 and r.json()["value"] == "a@example.com"
    again = await api.patch(url, json={"operation": "Claim", "identifier": ident})
    assert again.status_code == 200
    assert len((await api.get(url)).json()["entities"]) == 1
    lookup = await api.post(f"{API}/identifierlookup/contacts", json=ident)
    assert lookup.json()["id"] == c["id"]
    other = (await api.post(f"{API}/contacts", json={"firstName": "B"})).json()
    r = await api.patch(
        f"{API}/contacts/{other['id']}/identifiers", json={"operation": "Claim", "identifier": ident}
    )
    assert r.status_code == 409 and error_body(r)["entityId"] == c["id"]
    r = await api.patch(url, json={"operation": "Release", "identifier": ident})
    assert r.status_code == 200
    assert (await api.get(url)).json()["entities"] == []
    assert (await api.post(f"{API}/identifierlookup/contacts", json=ident)).status_code == 404
    r = await api.patch(url, json={"operation": "Release", "identifier": ident})
    assert r.status_code == 404


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"operation": "Take", "identifier": {"type": "Email", "value": "x"}}, "operation"),
        ({"operation": "Claim"}, "identifier"),
        ({"operation": "Claim", "identifier": {"type": "Fax", "value": "x"}}, "identifier.type"),
        ({"operation": "Claim", "identifier": {"type": "Email"}}, "identifier.value"),
        ({"operation": "Claim", "identifier": {"type": "Email", "value": "v" * 256}}, "identifier.value"),
        (
            {
                "operation": "Claim",
                "identifier": {"type": "ExternalId", "value": "x", "externalSource": {"id": "no"}},
            },
            "identifier.externalSource.id",
        ),
    ],
)
async def test_identifier_patch_validation(api: httpx.AsyncClient, body: dict, field: str) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    r = await api.patch(f"{API}/contacts/{c['id']}/identifiers", json=body)
    assert r.status_code == 400 and field in detail_fields(r)


async def test_org_identifiers(api: httpx.AsyncClient, source: dict) -> None:
    o = (await api.post(f"{API}/organizations", json={"name": "O", **ext(source, "org-1")})).json()
    assert (await api.get(f"{API}/organizations/{o['id']}/identifiers")).json()["entities"][0][
        "value"
    ] == "org-1"
    r = await api.post(f"{API}/identifierlookup/organizations", json={"type": "ExternalId", "value": "org-1"})
    assert r.json()["id"] == o["id"]
    r = await api.patch(
        f"{API}/organizations/{o['id']}/identifiers",
        json={"operation": "Claim", "identifier": {"type": "ExternalId", "value": "org-2"}},
    )
    assert r.status_code == 200
    r = await api.post(f"{API}/identifierlookup/organizations", json={"type": "Email", "value": "x"})
    assert r.status_code == 400 and detail_fields(r) == ["type"]


async def test_unique_external_ids_conflict(api: httpx.AsyncClient, source: dict) -> None:
    a = (await api.post(f"{API}/contacts", json=ext(source, "dup"))).json()
    r = await api.post(f"{API}/contacts", json=ext(source, "dup"))
    assert r.status_code == 409 and error_body(r)["entityId"] == a["id"]
    assert "dup" in error_body(r)["message"]


async def test_duplicate_external_ids_allowed_when_configured() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, unique_external_ids=False, **KIND_IDENTITY))
    source = emu.backend.create_source({"name": "crm"})
    async with client_for(emu, emu.issue_token()) as api:
        a = await api.post(f"{API}/contacts", json=ext(source, "dup"))
        b = await api.post(f"{API}/contacts", json=ext(source, "dup"))
        assert a.status_code == b.status_code == 200
        found = await api.post(
            f"{API}/identifierlookup/contacts", json={"type": "ExternalId", "value": "dup"}
        )
        assert found.json()["id"] == a.json()["id"]  # the oldest holder
        await api.delete(f"{API}/contacts/{a.json()['id']}")
        found = await api.post(
            f"{API}/identifierlookup/contacts", json={"type": "ExternalId", "value": "dup"}
        )
        assert found.json()["id"] == b.json()["id"]


async def test_delete_frees_identifiers(api: httpx.AsyncClient, source: dict) -> None:
    a = (await api.post(f"{API}/contacts", json=ext(source, "k"))).json()
    await api.delete(f"{API}/contacts/{a['id']}")
    assert (await api.post(f"{API}/contacts", json=ext(source, "k"))).status_code == 200


async def test_external_sources_crud_and_listing(api: httpx.AsyncClient) -> None:
    r = await api.post(
        f"{API}/externalsources",
        json={"name": " CRM ", "linkConfiguration": {"uriTemplate": "https://crm/{id}"}},
    )
    s = r.json()
    assert s["name"] == "CRM" and s["active"] is True and s["selfUri"].endswith(s["id"])
    assert (await api.post(f"{API}/externalsources", json={"name": "crm"})).status_code == 409
    assert (await api.post(f"{API}/externalsources", json={"active": True})).status_code == 400
    r = await api.post(
        f"{API}/externalsources", json={"name": "x", "linkConfiguration": {"uriTemplate": "nope"}}
    )
    assert r.status_code == 400 and detail_fields(r) == ["linkConfiguration.uriTemplate"]
    u = (await api.put(f"{API}/externalsources/{s['id']}", json={"name": "CRM2", "active": False})).json()
    assert u["active"] is False and "linkConfiguration" not in u
    assert (await api.get(f"{API}/externalsources/{s['id']}")).json() == u
    for i in range(12):
        await api.post(f"{API}/externalsources", json={"name": f"src-{i:02d}"})
    page = (await api.get(f"{API}/externalsources", params={"limit": 10})).json()
    assert len(page["entities"]) == 10 and page["cursors"]["after"]
    rest = (
        await api.get(f"{API}/externalsources", params={"limit": 10, "cursor": page["cursors"]["after"]})
    ).json()
    assert len(rest["entities"]) == 3 and "cursors" not in rest
    named = (await api.get(f"{API}/externalsources", params={"name": "SRC-0"})).json()
    assert len(named["entities"]) == 10
    inactive = (await api.get(f"{API}/externalsources", params={"active": "false"})).json()
    assert [x["id"] for x in inactive["entities"]] == [s["id"]]
    assert (await api.get(f"{API}/externalsources", params={"active": "maybe"})).status_code == 400
    assert (await api.get(f"{API}/externalsources", params={"limit": 5})).status_code == 400
    assert (await api.delete(f"{API}/externalsources/{s['id']}")).status_code == 200
    assert (await api.get(f"{API}/externalsources/{s['id']}")).status_code == 404
