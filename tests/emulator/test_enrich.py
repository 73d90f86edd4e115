"""Enrich: actions, field rules, array actions, dry runs, bulk enrich."""

from __future__ import annotations

import httpx
import pytest

from gcx.emulator import Emulator
from tests.emulator.conftest import API
from tests.emulator.openapi_check import detail_fields, error_body

EMAIL = {"type": "Email", "value": "ann@example.com"}


def enrich_body(action: str = "Upsert", contact: dict | None = None, **extra: object) -> dict:
    return {"matchingIdentifiers": [EMAIL], "action": action, "contact": contact or {}, **extra}


async def test_upsert_creates_then_updates(api: httpx.AsyncClient, emu: Emulator) -> None:
    r = await api.post(
        f"{API}/contacts/enrich", json=enrich_body(contact={"firstName": "Ann", "title": "Dr"})
    )
    assert r.status_code == 201
    created = r.json()
    assert created["type"] == "Identified"
    assert "identifiers" not in created  # documented: only GET, listings and lookups expand them
    idents = (await api.get(f"{API}/contacts/{created['id']}/identifiers")).json()["entities"]
    assert [(i["type"], i["value"]) for i in idents] == [("Email", "ann@example.com")]
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body(contact={"lastName": "Lee", "title": None}))
    assert r.status_code == 200
    updated = r.json()
    assert updated["id"] == created["id"]
    assert (updated["firstName"], updated["lastName"], updated["title"]) == ("Ann", "Lee", "Dr")
    assert emu.backend.counts()["contacts"] == 1


async def test_insert_conflicts_and_update_needs_match(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body("Update", {"firstName": "x"}))
    assert r.status_code == 404 and error_body(r)
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body("Insert", {"firstName": "x"}))
    assert r.status_code == 201
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body("Insert", {"firstName": "y"}))
    assert r.status_code == 409
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body("Update", {"firstName": "z"}))
    assert r.status_code == 200 and r.json()["firstName"] == "z"


async def test_field_rules(api: httpx.AsyncClient) -> None:
    await api.post(
        f"{API}/contacts/enrich",
        json=enrich_body(contact={"firstName": "Ann", "title": "Dr", "lastName": "L"}),
    )
    rules = {
        "defaultAction": "PreferExisting",
        "rules": [
            {"field": "$.title", "action": "AlwaysUseProvided"},
            {"field": "$.lastName", "action": "PreferProvided"},
        ],
    }
    body = enrich_body(contact={"firstName": "Bob", "lastName": "M"}, fieldRules=rules)
    r = await api.post(f"{API}/contacts/enrich", json=body)
    c = r.json()
    assert c["firstName"] == "Ann"  # PreferExisting
    assert c["lastName"] == "M"  # PreferProvided
    assert "title" not in c  # AlwaysUseProvided with null erases


async def test_nested_rules_and_array_actions(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create(
        "organizations", {"name": "O", "tags": ["a", "b"], "address": {"city": "X", "state": "S"}}
    )
    ident = {"type": "ExternalId", "value": "o-1"}
    emu.backend.patch_identifiers("organizations", org["id"], {"operation": "Claim", "identifier": ident})

    async def enrich(data: dict, rules: dict | None = None) -> dict:
        body = {"matchingIdentifiers": [ident], "action": "Update", "externalOrganization": data}
        if rules:
            body["fieldRules"] = rules
        r = await api.post(f"{API}/organizations/enrich", json=body)
        assert r.status_code == 200, r.text
        return r.json()

    o = await enrich({"tags": ["b", "c"], "address": {"city": "Y"}})
    assert o["tags"] == ["a", "b", "c"]  # default Fill
    assert o["address"] == {"city": "Y", "state": "S"}  # nested PreferProvided keeps the sibling
    o = await enrich({"tags": ["z"]}, {"defaultArrayAction": "Replace"})
    assert o["tags"] == ["z"]
    o = await enrich(
        {"address": {"city": "Q"}}, {"rules": [{"field": "$.address.city", "action": "PreferExisting"}]}
    )
    assert o["address"]["city"] == "Y"
    assert o["name"] == "O"


async def test_extend_over_limit_is_400_fill_truncates(api: httpx.AsyncClient, emu: Emulator) -> None:
    existing = [{"value": f"e{i}"} for i in range(8)]
    emu.backend.create("contacts", {"appleOpaqueIds": existing, "workEmail": EMAIL["value"]})
    more = [{"value": f"n{i}"} for i in range(4)]
    extend = enrich_body(contact={"appleOpaqueIds": more}, fieldRules={"defaultArrayAction": "Extend"})
    r = await api.post(f"{API}/contacts/enrich", json=extend)
    assert r.status_code == 400 and detail_fields(r) == ["appleOpaqueIds"]
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body(contact={"appleOpaqueIds": more}))
    assert r.status_code == 200 and len(r.json()["appleOpaqueIds"]) == 10


async def test_dry_run_changes_nothing(api: httpx.AsyncClient, emu: Emulator) -> None:
    r = await api.post(
        f"{API}/contacts/enrich", params={"dryRun": "true"}, json=enrich_body(contact={"firstName": "A"})
    )
    assert r.status_code == 201 and r.json()["firstName"] == "A"
    assert emu.backend.counts()["contacts"] == 0
    assert (await api.post(f"{API}/identifierlookup/contacts", json=EMAIL)).status_code == 404


async def test_merge_folds_matches_into_the_first(api: httpx.AsyncClient, emu: Emulator) -> None:
    phone = {"type": "Phone", "value": "+13175550100"}
    a = emu.backend.create("contacts", {"firstName": "A", "workEmail": EMAIL["value"]})
    b = emu.backend.create("contacts", {"lastName": "B", "cellPhone": {"display": phone["value"]}})
    body = {"matchingIdentifiers": [EMAIL, phone], "action": "Merge", "contact": {"title": "T"}}
    r = await api.post(f"{API}/contacts/enrich", json=body)
    assert r.status_code == 200
    merged = r.json()
    assert merged["id"] == a["id"]
    assert (merged["firstName"], merged["lastName"], merged["title"]) == ("A", "B", "T")
    assert merged["mergedFrom"][0]["id"] == b["id"]
    idents = (await api.get(f"{API}/contacts/{a['id']}", params={"expand": "identifiers"})).json()
    assert {i["type"] for i in idents["identifiers"]} == {"Email", "Phone"}
    assert (await api.get(f"{API}/contacts/{b['id']}")).status_code == 404
    assert (await api.post(f"{API}/identifierlookup/contacts", json=phone)).json()["id"] == a["id"]
    kept = await api.put(f"{API}/contacts/{a['id']}", json={"firstName": "A2", "mergedFrom": []})
    assert kept.json()["mergedFrom"][0]["id"] == b["id"]  # read-only history survives a PUT


async def test_promote_option(api: httpx.AsyncClient) -> None:
    await api.post(f"{API}/contacts/enrich", json=enrich_body(contact={"firstName": "A"}))
    r = await api.post(f"{API}/contacts/enrich", json=enrich_body(contact={}, options={"promote": True}))
    assert r.json()["type"] == "Curated"


async def test_org_enrich_creates_with_name_and_refuses_merge(api: httpx.AsyncClient) -> None:
    ident = {"type": "ExternalId", "value": "o-9"}
    body = {"matchingIdentifiers": [ident], "action": "Upsert", "externalOrganization": {"industry": "x"}}
    r = await api.post(f"{API}/organizations/enrich", json=body)
    assert r.status_code == 400 and detail_fields(r) == ["externalOrganization.name"]
    body["externalOrganization"] = {"name": "Nine"}
    r = await api.post(f"{API}/organizations/enrich", json=body)
    assert r.status_code == 201
    body["action"] = "Merge"
    r = await api.post(f"{API}/organizations/enrich", json=body)
    assert r.status_code == 400 and detail_fields(r) == ["action"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"action": "Upsert", "contact": {}}, "matchingIdentifiers"),
        ({"matchingIdentifiers": [], "action": "Upsert"}, "matchingIdentifiers"),
        ({"matchingIdentifiers": [EMAIL] * 26, "action": "Upsert"}, "matchingIdentifiers"),
        ({"matchingIdentifiers": [EMAIL], "action": "Replace"}, "action"),
        ({"matchingIdentifiers": [{"type": "Email"}], "action": "Upsert"}, "matchingIdentifiers[0].value"),
        (
            {"matchingIdentifiers": [EMAIL], "action": "Upsert", "contact": {"workEmail": "x"}},
            "contact.workEmail",
        ),
        (
            {"matchingIdentifiers": [EMAIL], "action": "Upsert", "fieldRules": {"defaultAction": "Never"}},
            "fieldRules.defaultAction",
        ),
        (
            {
                "matchingIdentifiers": [EMAIL],
                "action": "Upsert",
                "fieldRules": {"rules": [{"field": "$.nope"}]},
            },
            "fieldRules.rules[0].field",
        ),
        (
            {"matchingIdentifiers": [EMAIL], "action": "Upsert", "options": {"promote": "yes"}},
            "options.promote",
        ),
    ],
)
async def test_enrich_validation(api: httpx.AsyncClient, body: dict, field: str) -> None:
    r = await api.post(f"{API}/contacts/enrich", json=body)
    assert r.status_code == 400 and field in detail_fields(r)


async def test_bulk_enrich(api: httpx.AsyncClient, emu: Emulator) -> None:
    ops = [
        {
            "id": f"op-{i}",
            "matchingIdentifiers": [{"type": "Email", "value": f"p{i}@x.com"}],
            "action": "Upsert",
            "contact": {"firstName": f"P{i}"},
        }
        for i in range(9)
    ]
    ops.append({"id": "op-bad", "matchingIdentifiers": [EMAIL], "action": "Update", "contact": {}})
    r = await api.post(f"{API}/bulk/contacts/enrich", json={"entities": ops})
    body = r.json()
    trackers = {x["id"]: x for x in body["results"]}
    assert set(trackers) == {o["id"] for o in ops}
    assert trackers["op-0"]["status"] == 201 and trackers["op-0"]["entity"]["firstName"] == "P0"
    assert trackers["op-bad"]["status"] == 404 and trackers["op-bad"]["error"]["entity"]["id"] == "op-bad"
    assert body["errorCount"] == 1
    r = await api.post(f"{API}/bulk/contacts/enrich", json={"entities": [*ops, ops[0]]})
    assert r.status_code == 400 and error_body(r)
    r = await api.post(f"{API}/bulk/contacts/enrich", params={"dryRun": "true"}, json={"entities": ops[:1]})
    assert r.json()["results"][0]["status"] == 200
    assert emu.backend.counts()["contacts"] == 9
    org_ops = [
        {
            "id": "o",
            "matchingIdentifiers": [{"type": "ExternalId", "value": "x"}],
            "action": "Upsert",
            "externalOrganization": {"name": "X"},
        }
    ]
    r = await api.post(f"{API}/bulk/organizations/enrich", json={"entities": org_ops})
    assert r.json()["results"][0]["status"] == 201


async def test_contacts_merge_makes_a_new_contact(api: httpx.AsyncClient, emu: Emulator) -> None:
    phone = {"type": "Phone", "value": "+13175550111"}
    a = emu.backend.create("contacts", {"firstName": "A", "title": "T", "workEmail": EMAIL["value"]})
    b = emu.backend.create(
        "contacts", {"firstName": "B", "lastName": "L", "cellPhone": {"display": phone["value"]}}
    )
    emu.backend.create_note("contacts", b["id"], {"noteText": "about B"})
    body = {"contactIds": [a["id"], b["id"]], "valueOverride": {"title": "Boss", "lastName": None}}
    r = await api.post(f"{API}/contacts/merge", json=body)
    assert r.status_code == 200
    merged = r.json()
    assert merged["id"] not in (a["id"], b["id"])
    assert (merged["firstName"], merged["lastName"], merged["title"]) == ("A", "L", "Boss")
    assert {x["id"] for x in merged["mergedFrom"]} == {a["id"], b["id"]}
    assert merged["canonicalContact"]["id"] == merged["id"]
    assert {x["id"] for x in merged["mergeSet"]} == {a["id"], b["id"], merged["id"]}
    shown = (await api.get(f"{API}/contacts/{merged['id']}", params={"expand": "identifiers"})).json()
    assert {i["type"] for i in shown["identifiers"]} == {"Email", "Phone"}
    for old in (a, b):  # documented: an ancestor's id acts on the canonical contact
        assert (await api.get(f"{API}/contacts/{old['id']}")).json()["id"] == merged["id"]
    assert (await api.post(f"{API}/identifierlookup/contacts", json=phone)).json()["id"] == merged["id"]
    notes = (await api.get(f"{API}/contacts/{merged['id']}/notes")).json()
    assert [n["noteText"] for n in notes["entities"]] == ["about B"]


async def test_merge_source_into_target(api: httpx.AsyncClient, emu: Emulator) -> None:
    """``POST /merge/contacts`` (deprecated): two contacts into a new contact; not two curated ones."""
    target = emu.backend.create("contacts", {"firstName": "T", "workEmail": EMAIL["value"]})
    curated = emu.backend.create("contacts", {"firstName": "C"})
    both = {"sourceContactId": curated["id"], "targetContactId": target["id"]}
    r = await api.post(f"{API}/merge/contacts", json=both)
    assert r.status_code == 400
    enriched = await api.post(
        f"{API}/contacts/enrich",
        json=enrich_body(
            matchingIdentifiers=[{"type": "Email", "value": "s@example.com"}],
            contact={"firstName": "S", "title": "Dr"},
        ),
    )
    source = enriched.json()
    assert source["type"] == "Identified"
    r = await api.post(
        f"{API}/merge/contacts", json={"sourceContactId": source["id"], "targetContactId": target["id"]}
    )
    assert r.status_code == 200
    merged = r.json()
    assert merged["id"] not in (target["id"], source["id"])
    assert merged["firstName"] == "T" and merged["title"] == "Dr"
    assert {x["id"] for x in merged["mergedFrom"]} == {source["id"], target["id"]}
    for ancestor in (source, target):
        put = await api.put(f"{API}/contacts/{ancestor['id']}", json={"firstName": "Again"})
        assert put.json()["id"] == merged["id"]
    fetched = await api.post(f"{API}/bulk/contacts", json={"entities": [{"id": source["id"]}]})
    assert fetched.json()["results"][0]["entity"]["id"] == merged["id"]
    assert (await api.delete(f"{API}/contacts/{target['id']}")).status_code == 200
    assert (await api.get(f"{API}/contacts/{merged['id']}")).status_code == 404


@pytest.mark.parametrize(
    ("path", "body", "field"),
    [
        ("/contacts/merge", {"contactIds": ["only-one"]}, "contactIds"),
        ("/contacts/merge", {"contactIds": "x"}, "contactIds"),
        ("/contacts/merge", {"contactIds": ["a", "a"]}, "contactIds"),
        (
            "/contacts/merge",
            {"contactIds": ["a", "b"], "valueOverride": {"workEmail": "bad"}},
            "valueOverride.workEmail",
        ),
        ("/merge/contacts", {"targetContactId": "x"}, "sourceContactId"),
        ("/merge/contacts", {"sourceContactId": "x", "targetContactId": "x"}, "sourceContactId"),
    ],
)
async def test_merge_validation(api: httpx.AsyncClient, path: str, body: dict, field: str) -> None:
    r = await api.post(f"{API}{path}", json=body)
    assert r.status_code == 400 and field in detail_fields(r)


async def test_merge_unknown_contact_is_404(api: httpx.AsyncClient, emu: Emulator) -> None:
    a = emu.backend.create("contacts", {"firstName": "A"})
    r = await api.post(f"{API}/contacts/merge", json={"contactIds": [a["id"], "missing"]})
    assert r.status_code == 404 and error_body(r)["entityId"] == "missing"
    assert (await api.get(f"{API}/contacts/{a['id']}")).status_code == 200
