"""Contacts and organizations over HTTP: create, get, PUT, PATCH, delete, server-managed fields."""

from __future__ import annotations

import re

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.emulator.conftest import API, client_for
from tests.emulator.openapi_check import detail_fields, error_body

ISO_MS = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}:\d{2}\.\d{3}Z$")


async def make_org(api: httpx.AsyncClient, name: str = "Acme", **fields: object) -> dict:
    r = await api.post(f"{API}/organizations", json={"name": name, **fields})
    assert r.status_code == 200, r.text
    return r.json()


async def test_create_contact_sets_server_fields_and_trims(api: httpx.AsyncClient) -> None:
    r = await api.post(
        f"{API}/contacts",
        json={"firstName": "  Ann ", "lastName": "Lee", "id": "ignored", "type": "Ephemeral", "x-unknown": 1},
    )
    assert r.status_code == 200
    c = r.json()
    assert c["firstName"] == "Ann"
    assert c["id"] != "ignored" and re.fullmatch(r"[0-9a-f-]{36}", c["id"])
    assert c["type"] == "Curated"
    assert c["selfUri"] == f"{API}/contacts/{c['id']}"
    assert ISO_MS.match(c["createDate"]) and c["createDate"] == c["modifyDate"]
    assert "x-unknown" not in c
    assert c["division"]["id"]
    got = await api.get(f"{API}/contacts/{c['id']}")
    assert got.json() == c


async def test_custom_fields_are_kept_whole(api: httpx.AsyncClient) -> None:
    body = {"firstName": "A", "customFields": {"tier_text": "gold", "nested": {"a": [1, 2]}}}
    c = (await api.post(f"{API}/contacts", json=body)).json()
    assert c["customFields"] == body["customFields"]


async def test_phone_numbers_are_normalised(api: httpx.AsyncClient) -> None:
    c = (
        await api.post(
            f"{API}/contacts",
            json={
                "cellPhone": {"display": "(317) 555-0123"},
                "workPhone": {"display": "020 7946 0958", "normalizationCountryCode": "GB"},
                "homePhone": {"display": "call me maybe", "e164": "+10000000000"},
            },
        )
    ).json()
    assert c["cellPhone"] == {
        "display": "+1 317-555-0123",
        "userInput": "(317) 555-0123",
        "e164": "+13175550123",
        "countryCode": "US",
    }
    assert c["workPhone"]["e164"] == "+442079460958"
    assert c["workPhone"]["countryCode"] == "GB"
    assert c["homePhone"] == {"display": "call me maybe", "userInput": "call me maybe"}


async def test_contact_with_org_reference_returns_full_org(api: httpx.AsyncClient) -> None:
    org = await make_org(api, industry="Retail")
    c = (
        await api.post(f"{API}/contacts", json={"firstName": "B", "externalOrganization": {"id": org["id"]}})
    ).json()
    assert c["externalOrganization"]["id"] == org["id"]
    assert c["externalOrganization"]["name"] == "Acme"
    assert c["externalOrganization"]["industry"] == "Retail"


async def test_unknown_org_reference_is_400_naming_the_field(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/contacts", json={"externalOrganization": {"id": "nope"}})
    assert r.status_code == 400
    assert detail_fields(r) == ["externalOrganization.id"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"workEmail": "not-an-email"}, "workEmail"),
        ({"personalEmail": "a@" + "b" * 260 + ".com"}, "personalEmail"),
        ({"firstName": "x" * 1001}, "firstName"),
        ({"address": {"city": "c" * 101}}, "address.city"),
        ({"address": {"postalCode": "1" * 26}}, "address.postalCode"),
        ({"externalSystemUrl": "ftp://example.com/x"}, "externalSystemUrl"),
        ({"externalSystemUrl": "example.com"}, "externalSystemUrl"),
        ({"cellPhone": {"display": "1" * 513}}, "cellPhone.display"),
        ({"surveyOptOut": "yes"}, "surveyOptOut"),
        ({"firstName": 12}, "firstName"),
        ({"address": "Main street"}, "address"),
        ({"externalIds": [{"value": "k"}]}, "externalIds[0].externalSource.id"),
        (
            {"externalIds": [{"externalSource": {"id": "missing"}, "value": "k"}]},
            "externalIds[0].externalSource.id",
        ),
        ({"identifiers": [{"type": "Fax", "value": "1"}]}, "identifiers[0].type"),
        ({"identifiers": [{"type": "Email"}]}, "identifiers[0].value"),
        ({"appleOpaqueIds": [{"value": str(i)} for i in range(11)]}, "appleOpaqueIds"),
        ({"division": {"id": "elsewhere"}}, "division.id"),
    ],
)
async def test_contact_field_rules(api: httpx.AsyncClient, body: dict, field: str) -> None:
    r = await api.post(f"{API}/contacts", json=body)
    assert r.status_code == 400, r.text
    assert field in detail_fields(r)
    assert field in error_body(r)["message"]


async def test_organization_requires_name_and_validates_enums(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/organizations", json={"industry": "x"})
    assert r.status_code == 400 and detail_fields(r) == ["name"]
    r = await api.post(f"{API}/organizations", json={"name": "   "})
    assert r.status_code == 400 and detail_fields(r) == ["name"]
    r = await api.post(f"{API}/organizations", json={"name": "A", "employeeCount": "many"})
    assert r.status_code == 400 and detail_fields(r) == ["employeeCount"]
    r = await api.post(
        f"{API}/organizations", json={"name": "A", "identifiers": [{"type": "Email", "value": "a@b.c"}]}
    )
    assert r.status_code == 400 and detail_fields(r) == ["identifiers[0].type"]


async def test_put_replaces_whole_record(api: httpx.AsyncClient) -> None:
    c = (
        await api.post(
            f"{API}/contacts",
            json={
                "firstName": "A",
                "lastName": "B",
                "title": "Dr",
                "address": {"city": "Paris", "state": "IDF"},
            },
        )
    ).json()
    body = {"id": c["id"], "firstName": "A2", "address": {"city": "Lyon"}}
    r = await api.put(f"{API}/contacts/{c['id']}", json=body)
    assert r.status_code == 200
    u = r.json()
    assert u["firstName"] == "A2"
    assert "lastName" not in u and "title" not in u
    assert u["address"] == {"city": "Lyon"}
    assert u["createDate"] == c["createDate"] and u["id"] == c["id"] and u["type"] == "Curated"
    assert u["modifyDate"] >= c["modifyDate"]


async def test_put_unknown_id_is_404_and_mismatched_id_400(api: httpx.AsyncClient) -> None:
    r = await api.put(f"{API}/contacts/nope", json={"firstName": "x"})
    assert r.status_code == 404 and error_body(r)["code"] == "not.found"
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    r = await api.put(f"{API}/contacts/{c['id']}", json={"id": "other", "firstName": "x"})
    assert r.status_code == 400 and detail_fields(r) == ["id"]


async def test_put_moves_contact_between_organizations(api: httpx.AsyncClient) -> None:
    a, b = await make_org(api, "A"), await make_org(api, "B")
    c = (
        await api.post(f"{API}/contacts", json={"firstName": "C", "externalOrganization": {"id": a["id"]}})
    ).json()
    moved = (
        await api.put(
            f"{API}/contacts/{c['id']}", json={"firstName": "C", "externalOrganization": {"id": b["id"]}}
        )
    ).json()
    assert moved["externalOrganization"]["id"] == b["id"]
    in_a = (await api.get(f"{API}/organizations/{a['id']}/contacts")).json()
    in_b = (await api.get(f"{API}/organizations/{b['id']}/contacts")).json()
    assert in_a["total"] == 0 and [x["id"] for x in in_b["entities"]] == [c["id"]]


async def test_delete_then_get_is_404(api: httpx.AsyncClient) -> None:
    c = (await api.post(f"{API}/contacts", json={"firstName": "A"})).json()
    r = await api.delete(f"{API}/contacts/{c['id']}")
    assert r.status_code == 200 and r.content == b""
    assert (await api.get(f"{API}/contacts/{c['id']}")).status_code == 404
    assert (await api.delete(f"{API}/contacts/{c['id']}")).status_code == 404


async def test_org_crud(api: httpx.AsyncClient) -> None:
    o = await make_org(api, "  Acme  ", websites=["https://acme.example"], tickers=[{"symbol": "ACM"}])
    assert o["name"] == "Acme" and "type" not in o
    u = (await api.put(f"{API}/organizations/{o['id']}", json={"name": "Acme2"})).json()
    assert u["name"] == "Acme2" and "websites" not in u
    assert (await api.delete(f"{API}/organizations/{o['id']}")).status_code == 200
    assert (await api.get(f"{API}/organizations/{o['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("mode", "contact_after"),
    [("reject", "kept"), ("unlink", "unlinked"), ("cascade", "deleted")],
)
async def test_delete_org_with_contacts(mode: str, contact_after: str) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, org_delete_with_contacts=mode))
    async with client_for(emu, emu.issue_token()) as api:
        org = await make_org(api)
        c = (
            await api.post(
                f"{API}/contacts", json={"firstName": "A", "externalOrganization": {"id": org["id"]}}
            )
        ).json()
        r = await api.delete(f"{API}/organizations/{org['id']}")
        got = await api.get(f"{API}/contacts/{c['id']}")
        if mode == "reject":
            assert r.status_code == 409 and error_body(r)["entityId"] == org["id"]
            assert got.json()["externalOrganization"]["id"] == org["id"]
        elif mode == "unlink":
            assert r.status_code == 200
            assert got.status_code == 200 and "externalOrganization" not in got.json()
        else:
            assert r.status_code == 200 and got.status_code == 404


async def test_organizations_me(api: httpx.AsyncClient, emu: Emulator) -> None:
    me = (await api.get("/api/v2/organizations/me")).json()
    assert me["id"] == emu.settings.org_id and me["name"] == emu.settings.org_name
