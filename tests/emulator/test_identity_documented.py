"""Identity as Genesys documents it (the emulator's defaults), and the settings for what it leaves open.

Sources (docs/emulator.md "Identity"): the developer blog "single customer view" (2022-07-15),
the help centre (the first contact created with an identifier keeps it; merges), the SDK docs
(``identifiers`` is an ``expand`` value of GET, the search listings and the lookups).
"""

from __future__ import annotations

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.emulator.conftest import API, client_for


def email(value: str) -> dict:
    return {"type": "Email", "value": value}


async def lookup(api: httpx.AsyncClient, ident: dict, **params: str) -> httpx.Response:
    return await api.post(f"{API}/identifierlookup/contacts", json=ident, params=params)


async def test_named_fields_claim_identifiers_in_normal_form(api: httpx.AsyncClient) -> None:
    body = {
        "firstName": "Ann",
        "workEmail": "Ann@Example.COM",
        "cellPhone": {"display": "+1 317 555 0100"},
        "twitterId": {"screenName": "ann_t"},
    }
    c = (await api.post(f"{API}/contacts", json=body)).json()
    assert "identifiers" not in c  # a write's answer shows none
    idents = (await api.get(f"{API}/contacts/{c['id']}/identifiers")).json()["entities"]
    assert {(i["type"], i["value"]) for i in idents} == {
        ("Email", "ann@example.com"),
        ("Phone", "+13175550100"),
        ("SocialTwitter", "ann_t"),
    }
    assert (await lookup(api, email("ANN@example.com"))).json()["id"] == c["id"]
    assert (await lookup(api, {"type": "Phone", "value": "+1 (317) 555-0100"})).json()["id"] == c["id"]


async def test_a_held_identifier_stays_with_the_first_contact_silently(api: httpx.AsyncClient) -> None:
    first = (await api.post(f"{API}/contacts", json={"workEmail": "same@example.com"})).json()
    second = await api.post(f"{API}/contacts", json={"personalEmail": "SAME@example.com"})
    assert second.status_code == 200  # no 409
    assert (await api.get(f"{API}/contacts/{second.json()['id']}/identifiers")).json()["entities"] == []
    assert (await lookup(api, email("same@example.com"))).json()["id"] == first["id"]
    # Deleting the holder releases it; the other contact did not claim it, so nobody holds it now.
    assert (await api.delete(f"{API}/contacts/{first['id']}")).status_code == 200
    assert (await lookup(api, email("same@example.com"))).status_code == 404


async def test_put_and_patch_claim_and_release_as_fields_change(api: httpx.AsyncClient) -> None:
    c = (await api.post(f"{API}/contacts", json={"workEmail": "old@example.com"})).json()
    await api.put(f"{API}/contacts/{c['id']}", json={"workEmail": "new@example.com"})
    assert (await lookup(api, email("old@example.com"))).status_code == 404
    assert (await lookup(api, email("new@example.com"))).json()["id"] == c["id"]
    change = {"field": "$.workEmail", "action": "Remove"}
    await api.patch(f"{API}/contacts/{c['id']}", json={"changes": [change]})
    assert (await lookup(api, email("new@example.com"))).status_code == 404
    # A released identifier is free for the next contact that names it.
    d = (await api.post(f"{API}/contacts", json={"otherEmail": "old@example.com"})).json()
    assert (await lookup(api, email("old@example.com"))).json()["id"] == d["id"]


async def test_identifiers_only_with_expand_never_in_scans(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "O"})
    body = {"workEmail": "e@example.com", "externalOrganization": {"id": org["id"]}}
    c = (await api.post(f"{API}/contacts", json=body)).json()
    assert "identifiers" not in (await api.get(f"{API}/contacts/{c['id']}")).json()
    shown = (await api.get(f"{API}/contacts/{c['id']}", params={"expand": "identifiers"})).json()
    assert [i["value"] for i in shown["identifiers"]] == ["e@example.com"]
    for path in (f"{API}/contacts", f"{API}/organizations/{org['id']}/contacts"):
        plain = (await api.get(path)).json()["entities"][0]
        expanded = (await api.get(path, params={"expand": ["identifiers"]})).json()["entities"][0]
        assert "identifiers" not in plain and "identifiers" in expanded
    search = {"operation": {"simpleSearch": {"query": "e@example"}}, "expand": ["identifiers"]}
    assert "identifiers" in (await api.post(f"{API}/contacts/search", json=search)).json()["entities"][0]
    assert "identifiers" not in (await lookup(api, email("e@example.com"))).json()
    assert "identifiers" in (await lookup(api, email("e@example.com"), expand="identifiers")).json()
    scanned = (await api.get(f"{API}/scan/contacts", params={"expand": "identifiers"})).json()
    assert "identifiers" not in scanned["entities"][0]


async def test_body_identifiers_and_external_ids_claim_nothing(api: httpx.AsyncClient, emu: Emulator) -> None:
    src = emu.backend.create_source({"name": "crm"})
    ext = {"externalSource": {"id": src["id"]}, "value": "k-1"}
    body = {"firstName": "A", "externalIds": [ext], "identifiers": [{"type": "Cookie", "value": "ck"}]}
    c = (await api.post(f"{API}/contacts", json=body)).json()
    assert c["externalIds"][0]["value"] == "k-1"  # the field itself is kept
    assert (await api.get(f"{API}/contacts/{c['id']}/identifiers")).json()["entities"] == []
    assert (await lookup(api, {"type": "ExternalId", "value": "k-1"})).status_code == 404
    assert (await lookup(api, {"type": "Cookie", "value": "ck"})).status_code == 404


@pytest.mark.parametrize(("external_ids", "body_identifiers"), [(True, False), (False, True), (True, True)])
async def test_open_points_are_settings(external_ids: bool, body_identifiers: bool) -> None:
    emu = Emulator(
        EmulatorSettings(
            rate_limit=0, claim_external_ids=external_ids, claim_body_identifiers=body_identifiers
        )
    )
    src = emu.backend.create_source({"name": "crm"})
    body = {
        "externalIds": [{"externalSource": {"id": src["id"]}, "value": "k-1"}],
        "identifiers": [{"type": "Cookie", "value": "ck"}],
    }
    async with client_for(emu, emu.issue_token()) as api:
        c = (await api.post(f"{API}/contacts", json=body)).json()
        by_ext = await lookup(api, {"type": "ExternalId", "value": "k-1"})
        by_cookie = await lookup(api, {"type": "Cookie", "value": "ck"})
        assert (by_ext.status_code == 200) is external_ids
        assert (by_cookie.status_code == 200) is body_identifiers
        # A second contact naming the same ExternalId: silently left with the first by default.
        d = await api.post(f"{API}/contacts", json=body)
        assert d.status_code == 200
        if external_ids:
            assert (await lookup(api, {"type": "ExternalId", "value": "k-1"})).json()["id"] == c["id"]


@pytest.mark.parametrize("mode", ["reject", "move"])
async def test_patch_claim_of_a_held_identifier(mode: str) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, identifier_claim_conflict=mode))
    async with client_for(emu, emu.issue_token()) as api:
        holder = (await api.post(f"{API}/contacts", json={"workEmail": "h@example.com"})).json()
        other = (await api.post(f"{API}/contacts", json={"firstName": "O"})).json()
        claim = {"operation": "Claim", "identifier": email("H@example.com")}
        r = await api.patch(f"{API}/contacts/{other['id']}/identifiers", json=claim)
        found = (await lookup(api, email("h@example.com"))).json()["id"]
        if mode == "reject":
            assert r.status_code == 409 and found == holder["id"]
        else:
            assert r.status_code == 200 and found == other["id"]
            left = (await api.get(f"{API}/contacts/{holder['id']}/identifiers")).json()["entities"]
            assert left == []


async def test_merged_ids_act_on_the_canonical_contact(api: httpx.AsyncClient) -> None:
    a = (await api.post(f"{API}/contacts", json={"firstName": "A", "workEmail": "a@example.com"})).json()
    b = (await api.post(f"{API}/contacts", json={"lastName": "B"})).json()
    merged = (await api.post(f"{API}/contacts/merge", json={"contactIds": [a["id"], b["id"]]})).json()
    assert (await lookup(api, email("a@example.com"))).json()["id"] == merged["id"]
    patched = await api.patch(
        f"{API}/contacts/{a['id']}",
        json={"changes": [{"field": "$.title", "value": "T", "action": "Update"}]},
    )
    assert patched.json()["id"] == merged["id"] and patched.json()["title"] == "T"
    updated = await api.post(
        f"{API}/bulk/contacts/update", json={"entities": [{"id": b["id"], "firstName": "Z"}]}
    )
    assert updated.json()["results"][0]["entity"]["id"] == merged["id"]
    removed = await api.post(f"{API}/bulk/contacts/remove", json={"entities": [{"id": a["id"]}]})
    assert removed.json()["results"][0]["success"] is True
    assert (await api.get(f"{API}/contacts/{merged['id']}")).status_code == 404
    listed = (await api.get(f"{API}/scan/contacts")).json()["entities"]
    assert listed == []  # ancestors are no records of their own
