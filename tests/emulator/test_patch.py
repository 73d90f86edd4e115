"""PATCH with the six actions, dot paths, and the parent/child conflict."""

from __future__ import annotations

import httpx
import pytest

from tests.emulator.conftest import API
from tests.emulator.openapi_check import detail_fields, error_body


async def contact(api: httpx.AsyncClient, **fields: object) -> dict:
    r = await api.post(f"{API}/contacts", json=fields)
    assert r.status_code == 200, r.text
    return r.json()


async def patch(api: httpx.AsyncClient, cid: str, *changes: dict) -> httpx.Response:
    return await api.patch(f"{API}/contacts/{cid}", json={"changes": list(changes)})


async def test_update_sets_nested_field_and_keeps_siblings(api: httpx.AsyncClient) -> None:
    c = await contact(api, firstName="A", address={"city": "Paris", "state": "IDF"})
    r = await patch(api, c["id"], {"field": "$.address.city", "value": " Lyon ", "action": "Update"})
    assert r.status_code == 200
    assert r.json()["address"] == {"city": "Lyon", "state": "IDF"}
    assert r.json()["firstName"] == "A"


async def test_update_creates_missing_parent(api: httpx.AsyncClient) -> None:
    c = await contact(api, firstName="A")
    r = await patch(api, c["id"], {"field": "$.address.city", "value": "Oslo", "action": "Update"})
    assert r.json()["address"] == {"city": "Oslo"}


async def test_update_if_empty_and_if_exists(api: httpx.AsyncClient) -> None:
    c = await contact(api, firstName="A")
    r = await patch(
        api,
        c["id"],
        {"field": "$.firstName", "value": "B", "action": "UpdateIfEmpty"},
        {"field": "$.lastName", "value": "L", "action": "UpdateIfEmpty"},
        {"field": "$.title", "value": "T", "action": "UpdateIfExists"},
    )
    body = r.json()
    assert body["firstName"] == "A" and body["lastName"] == "L" and "title" not in body
    r = await patch(api, c["id"], {"field": "$.lastName", "value": "M", "action": "UpdateIfExists"})
    assert r.json()["lastName"] == "M"


async def test_remove_and_update_with_null(api: httpx.AsyncClient) -> None:
    c = await contact(api, firstName="A", lastName="B", title="T")
    r = await patch(
        api,
        c["id"],
        {"field": "$.lastName", "action": "Remove"},
        {"field": "$.title", "value": None, "action": "Update"},
    )
    assert "lastName" not in r.json() and "title" not in r.json() and r.json()["firstName"] == "A"


async def test_collections(api: httpx.AsyncClient) -> None:
    org = (await api.post(f"{API}/organizations", json={"name": "O", "tags": ["a"]})).json()
    url = f"{API}/organizations/{org['id']}"
    r = await api.patch(
        url, json={"changes": [{"field": "$.tags", "value": ["b", "a", "c"], "action": "AppendToCollection"}]}
    )
    assert r.json()["tags"] == ["a", "b", "c"]
    r = await api.patch(
        url, json={"changes": [{"field": "$.tags", "value": "b", "action": "RemoveFromCollection"}]}
    )
    assert r.json()["tags"] == ["a", "c"]
    r = await api.patch(
        url, json={"changes": [{"field": "$.name", "value": "x", "action": "AppendToCollection"}]}
    )
    assert r.status_code == 400 and error_body(r)


async def test_patch_phone_is_normalised_and_invalid_result_rejected(api: httpx.AsyncClient) -> None:
    c = await contact(api)
    r = await patch(
        api, c["id"], {"field": "$.cellPhone.display", "value": "317-555-0100", "action": "Update"}
    )
    assert r.json()["cellPhone"]["e164"] == "+13175550100"
    r = await patch(api, c["id"], {"field": "$.workEmail", "value": "nope", "action": "Update"})
    assert r.status_code == 400 and detail_fields(r) == ["workEmail"]
    assert "workEmail" not in (await api.get(f"{API}/contacts/{c['id']}")).json()


async def test_patch_moves_contact_to_org(api: httpx.AsyncClient) -> None:
    org = (await api.post(f"{API}/organizations", json={"name": "O"})).json()
    c = await contact(api, firstName="A")
    r = await patch(
        api, c["id"], {"field": "$.externalOrganization", "value": {"id": org["id"]}, "action": "Update"}
    )
    assert r.json()["externalOrganization"]["id"] == org["id"]
    listing = (await api.get(f"{API}/organizations/{org['id']}/contacts")).json()
    assert listing["total"] == 1


async def test_parent_and_child_in_one_patch_is_409(api: httpx.AsyncClient) -> None:
    c = await contact(api, address={"city": "X"})
    r = await patch(
        api,
        c["id"],
        {"field": "$.address", "value": {"city": "Y"}, "action": "Update"},
        {"field": "$.address.city", "value": "Z", "action": "Update"},
    )
    assert r.status_code == 409 and error_body(r)["code"] == "conflict"


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"field": "firstName", "value": "x", "action": "Update"}, "changes[0].field"),
        ({"field": "$.address[0]", "value": "x", "action": "Update"}, "changes[0].field"),
        ({"field": "$.nope", "value": "x", "action": "Update"}, "changes[0].field"),
        ({"field": "$.id", "value": "x", "action": "Update"}, "changes[0].field"),
        ({"field": "$.createDate", "value": "x", "action": "Update"}, "changes[0].field"),
        ({"field": "$.firstName", "value": "x", "action": "Upsert"}, "changes[0].action"),
        ({"field": "$.firstName", "value": "x"}, "changes[0].action"),
        ({"field": 5, "action": "Remove"}, "changes[0].field"),
        ("not an object", "changes[0]"),
    ],
)
async def test_bad_changes_are_400(api: httpx.AsyncClient, change: object, field: str) -> None:
    c = await contact(api, firstName="A")
    r = await api.patch(f"{API}/contacts/{c['id']}", json={"changes": [change]})
    assert r.status_code == 400
    assert field in detail_fields(r)


@pytest.mark.parametrize("body", [{}, {"changes": []}, {"changes": "x"}, []])
async def test_patch_without_changes_is_400(api: httpx.AsyncClient, body: object) -> None:
    c = await contact(api, firstName="A")
    r = await api.patch(f"{API}/contacts/{c['id']}", json=body)
    assert r.status_code == 400 and detail_fields(r) == ["changes"]


async def test_patch_unknown_record_is_404(api: httpx.AsyncClient) -> None:
    r = await patch(api, "missing", {"field": "$.firstName", "value": "x", "action": "Update"})
    assert r.status_code == 404


async def test_patch_inside_custom_fields_and_org_id(api: httpx.AsyncClient) -> None:
    org = (await api.post(f"{API}/organizations", json={"name": "O"})).json()
    c = await contact(api, customFields={"tier_text": "gold"})
    r = await patch(
        api,
        c["id"],
        {"field": "$.customFields.score_number", "value": 7, "action": "Update"},
        {"field": "$.customFields.labels", "value": ["a"], "action": "AppendToCollection"},
        {"field": "$.externalOrganization.id", "value": org["id"], "action": "Update"},
    )
    assert r.status_code == 200, r.text
    assert r.json()["customFields"] == {"tier_text": "gold", "score_number": 7, "labels": ["a"]}
    assert r.json()["externalOrganization"]["id"] == org["id"]
    r = await patch(api, c["id"], {"field": "$.externalOrganization.name", "value": "x", "action": "Update"})
    assert r.status_code == 400 and detail_fields(r) == ["changes[0].field"]
    r = await patch(
        api, c["id"], {"field": "$.customFields.tier_text", "value": "x", "action": "AppendToCollection"}
    )
    assert r.status_code == 400
