"""Notes on contacts and organizations, and relationships between users and organizations."""

from __future__ import annotations

import httpx
import pytest

from gcx.emulator import Emulator
from tests.emulator.conftest import API
from tests.emulator.openapi_check import detail_fields, error_body


@pytest.mark.parametrize("kind", ["contacts", "organizations"])
async def test_note_crud_and_listing(api: httpx.AsyncClient, emu: Emulator, kind: str) -> None:
    parent = emu.backend.create(kind, {"name": "Org"} if kind == "organizations" else {"firstName": "A"})
    base = f"{API}/{kind}/{parent['id']}/notes"
    r = await api.post(
        base, json={"noteText": "  first  ", "createdBy": {"id": "user-1"}, "entityId": "ignored"}
    )
    assert r.status_code == 200
    note = r.json()
    assert note["noteText"] == "first" and note["entityId"] == parent["id"]
    assert note["entityType"] == ("contact" if kind == "contacts" else "organization")
    assert note["createdBy"]["id"] == "user-1" and note["selfUri"] == f"{base}/{note['id']}"
    for i in range(3):
        await api.post(base, json={"noteText": f"note {i}"})
    listing = (await api.get(base, params={"pageSize": 2})).json()
    assert listing["total"] == 4 and listing["pageCount"] == 2 and listing["entities"][0]["id"] == note["id"]
    newest = (await api.get(base, params={"sortOrder": "createDate:desc"})).json()
    assert newest["entities"][0]["noteText"] == "note 2"
    put = await api.put(f"{base}/{note['id']}", json={"noteText": "replaced"})
    assert put.json()["noteText"] == "replaced" and "createdBy" not in put.json()
    patched = await api.patch(
        f"{base}/{note['id']}",
        json={"changes": [{"field": "$.noteText", "value": "patched", "action": "Update"}]},
    )
    assert patched.json()["noteText"] == "patched"
    assert (await api.get(f"{base}/{note['id']}")).json()["noteText"] == "patched"
    assert (await api.delete(f"{base}/{note['id']}")).status_code == 200
    assert (await api.get(f"{base}/{note['id']}")).status_code == 404


async def test_note_validation_and_ownership(api: httpx.AsyncClient, emu: Emulator) -> None:
    a = emu.backend.create("contacts", {"firstName": "A"})
    b = emu.backend.create("contacts", {"firstName": "B"})
    r = await api.post(f"{API}/contacts/{a['id']}/notes", json={"noteText": ""})
    assert r.status_code == 400 and detail_fields(r) == ["noteText"]
    r = await api.post(f"{API}/contacts/{a['id']}/notes", json={"noteText": "x" * 32001})
    assert r.status_code == 400 and detail_fields(r) == ["noteText"]
    r = await api.post(f"{API}/contacts/{a['id']}/notes", json={"noteText": "x", "createdBy": {"id": 5}})
    assert r.status_code == 400 and detail_fields(r) == ["createdBy.id"]
    note = (await api.post(f"{API}/contacts/{a['id']}/notes", json={"noteText": "mine"})).json()
    assert (await api.get(f"{API}/contacts/{b['id']}/notes/{note['id']}")).status_code == 404
    assert (await api.post(f"{API}/contacts/missing/notes", json={"noteText": "x"})).status_code == 404
    r = await api.get(f"{API}/contacts/{a['id']}/notes", params={"pageSize": 101})
    assert r.status_code == 400 and detail_fields(r) == ["pageSize"]
    r = await api.get(f"{API}/contacts/{a['id']}/notes", params={"sortOrder": "noteText:asc"})
    assert r.status_code == 400 and detail_fields(r) == ["sortOrder"]
    r = await api.patch(
        f"{API}/contacts/{a['id']}/notes/{note['id']}",
        json={"changes": [{"field": "$.entityId", "value": b["id"], "action": "Update"}]},
    )
    assert r.status_code == 400 and detail_fields(r) == ["changes[0].field"]
    emu.backend.delete("contacts", a["id"])
    assert emu.backend.counts()["notes"] == 0  # a contact's notes go with it


async def test_relationships(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "Acme"})
    other = emu.backend.create("organizations", {"name": "Other"})
    body = {
        "user": {"id": "u-1"},
        "externalOrganization": {"id": org["id"]},
        "relationship": " Account Manager ",
    }
    r = await api.post(f"{API}/relationships", json=body)
    assert r.status_code == 200
    rel = r.json()
    assert rel["relationship"] == "Account Manager" and rel["externalOrganization"]["name"] == "Acme"
    await api.post(f"{API}/relationships", json={**body, "relationship": "Engineer"})
    listing = (
        await api.get(
            f"{API}/organizations/{org['id']}/relationships", params={"sortOrder": "relationship:desc"}
        )
    ).json()
    assert [x["relationship"] for x in listing["entities"]] == ["Engineer", "Account Manager"]
    moved = await api.put(
        f"{API}/relationships/{rel['id']}", json={**body, "externalOrganization": {"id": other["id"]}}
    )
    assert moved.json()["externalOrganization"]["id"] == other["id"]
    assert (await api.get(f"{API}/organizations/{org['id']}/relationships")).json()["total"] == 1
    patched = await api.patch(
        f"{API}/relationships/{rel['id']}",
        json={"changes": [{"field": "$.relationship", "value": "Sponsor", "action": "Update"}]},
    )
    assert patched.json()["relationship"] == "Sponsor"
    assert (await api.get(f"{API}/relationships/{rel['id']}")).json()["user"]["id"] == "u-1"
    assert (await api.delete(f"{API}/relationships/{rel['id']}")).status_code == 200
    assert (await api.get(f"{API}/relationships/{rel['id']}")).status_code == 404
    emu.backend.delete("organizations", org["id"])
    assert emu.backend.counts()["relationships"] == 0


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"externalOrganization": {"id": "ORG"}, "relationship": "x"}, "user.id"),
        ({"user": {"id": "u"}, "relationship": "x"}, "externalOrganization.id"),
        (
            {"user": {"id": "u"}, "externalOrganization": {"id": "missing"}, "relationship": "x"},
            "externalOrganization.id",
        ),
        ({"user": {"id": "u"}, "externalOrganization": {"id": "ORG"}}, "relationship"),
        (
            {"user": {"id": "u"}, "externalOrganization": {"id": "ORG"}, "relationship": "r" * 101},
            "relationship",
        ),
    ],
)
async def test_relationship_validation(api: httpx.AsyncClient, emu: Emulator, body: dict, field: str) -> None:
    org = emu.backend.create("organizations", {"name": "Acme"})
    if body.get("externalOrganization", {}).get("id") == "ORG":
        body = {**body, "externalOrganization": {"id": org["id"]}}
    r = await api.post(f"{API}/relationships", json=body)
    assert r.status_code == 400 and field in detail_fields(r) and error_body(r)


async def test_state_round_trip_keeps_notes_and_relationships(emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "Acme"})
    emu.backend.create_note("organizations", org["id"], {"noteText": "n"})
    emu.backend.create_relationship(
        {"user": {"id": "u"}, "externalOrganization": {"id": org["id"]}, "relationship": "r"}
    )
    state = emu.dump()
    emu.reset()
    emu.load(state)
    assert emu.backend.list_notes("organizations", org["id"])["total"] == 1
    assert emu.backend.list_relationships(org["id"])["entities"][0]["externalOrganization"]["name"] == "Acme"


async def test_trustor_link_and_unlink(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "Partner"})
    other = emu.backend.create("organizations", {"name": "Other"})
    trustor = "7c0b7a4e-0000-4000-8000-000000000001"
    r = await api.put(f"{API}/organizations/{org['id']}/trustor/{trustor}")
    assert r.status_code == 200
    link = r.json()
    assert (link["externalOrganizationId"], link["trustorOrgId"]) == (org["id"], trustor)
    got = (await api.get(f"{API}/organizations/{org['id']}")).json()
    assert got["trustor"]["id"] == trustor
    kept = (await api.put(f"{API}/organizations/{org['id']}", json={"name": "Partner 2"})).json()
    assert kept["trustor"]["id"] == trustor  # server-managed: a PUT keeps it
    r = await api.put(f"{API}/organizations/{other['id']}/trustor/{trustor}")
    assert r.status_code == 409 and error_body(r)["entityId"] == org["id"]
    assert (await api.delete(f"{API}/organizations/{org['id']}/trustor")).status_code == 200
    assert "trustor" not in (await api.get(f"{API}/organizations/{org['id']}")).json()
    assert (await api.delete(f"{API}/organizations/{org['id']}/trustor")).status_code == 404
    assert (await api.put(f"{API}/organizations/{other['id']}/trustor/{trustor}")).status_code == 200
    assert (await api.put(f"{API}/organizations/missing/trustor/{trustor}")).status_code == 404
