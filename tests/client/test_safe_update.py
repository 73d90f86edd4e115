"""safe_update and move against a permissive fake server that keeps every field it is given
(as the real service keeps fields newer than gcx): unknown fields survive end to end."""

from __future__ import annotations

import copy
from typing import Any

import httpx
import pytest

from gcx import AsyncClient
from gcx.errors import BadRequestError, ConflictError, NotFoundError, ValidationError
from gcx.merge import apply_changes
from tests.client.conftest import BASE, CREDS, FakeApi, json_of

PATH = "/api/v2/externalcontacts/contacts/c1"
RECORD: dict[str, Any] = {
    "id": "c1",
    "firstName": "Ada",
    "lastName": "Lovelace",
    "address": {"city": "London", "postalCode": "N1", "geo": {"lat": 51.5}},
    "workPhone": {"display": "+44 20 7946 0958", "e164": "+442079460958"},
    "externalOrganization": {"id": "org-a", "name": "A"},
    "futureField": {"nested": ["kept", {"deep": True}]},
    "customFields": {"tier_text": "gold"},
}


class Store:
    def __init__(self, api: FakeApi, patch_status: int | None = None) -> None:
        self.record = copy.deepcopy(RECORD)
        self.patches: list[list[dict[str, Any]]] = []
        self.puts: list[dict[str, Any]] = []
        api.routes[("GET", PATH)] = self.get
        api.routes[("PUT", PATH)] = self.put
        api.routes[("PATCH", PATH)] = self.patch
        self.patch_status = patch_status

    def get(self, request: httpx.Request) -> httpx.Response:
        return httpx.Response(200, json=self.record)

    def put(self, request: httpx.Request) -> httpx.Response:
        body = json_of(request)
        self.puts.append(body)
        self.record = {**body, "id": "c1"}
        return httpx.Response(200, json=self.record)

    def patch(self, request: httpx.Request) -> httpx.Response:
        changes = json_of(request)["changes"]
        self.patches.append(changes)
        if self.patch_status:
            return httpx.Response(
                self.patch_status, json={"message": "cannot patch that", "status": self.patch_status}
            )
        as_dict = {c["field"][2:]: (c.get("value") if c["action"] == "Update" else None) for c in changes}
        self.record = apply_changes(self.record, as_dict)
        return httpx.Response(200, json=self.record)


def client(api: FakeApi) -> AsyncClient:
    return AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0)


CHANGES = {"address.city": "Paris", "title": "Dr", "lastName": None}
EXPECTED = apply_changes(RECORD, CHANGES)


async def test_patch_path_touches_only_the_named_fields(api: FakeApi) -> None:
    store = Store(api)
    async with client(api) as gc:
        result = await gc.contacts.safe_update("c1", CHANGES)
    assert store.puts == []
    assert store.patches == [
        [
            {"field": "$.address.city", "action": "Update", "value": "Paris"},
            {"field": "$.title", "action": "Update", "value": "Dr"},
            {"field": "$.lastName", "action": "Remove"},
        ]
    ]
    assert store.record == EXPECTED
    assert result.to_api() == EXPECTED


@pytest.mark.parametrize("status", [400, 409, 422, 501])
async def test_fallback_to_read_merge_put_keeps_every_field(api: FakeApi, status: int) -> None:
    store = Store(api, patch_status=status)
    async with client(api) as gc:
        result = await gc.contacts.safe_update("c1", CHANGES)
    assert len(store.patches) == 1 and len(store.puts) == 1
    assert store.puts[0] == EXPECTED  # unknown fields (futureField, address.geo) sent back
    assert store.record == EXPECTED
    assert result.unknown_fields == {"futureField": RECORD["futureField"]}


async def test_put_method_skips_patch(api: FakeApi) -> None:
    store = Store(api)
    async with client(api) as gc:
        await gc.contacts.safe_update("c1", {"customFields.tier_text": "platinum"}, method="put")
    assert store.patches == []
    assert store.record["customFields"] == {"tier_text": "platinum"}
    assert store.record["futureField"] == RECORD["futureField"]


async def test_patch_method_does_not_fall_back(api: FakeApi) -> None:
    Store(api, patch_status=409)
    async with client(api) as gc:
        with pytest.raises(ConflictError):
            await gc.contacts.safe_update("c1", CHANGES, method="patch")


async def test_put_errors_surface_after_fallback(api: FakeApi) -> None:
    store = Store(api, patch_status=400)

    def refuse(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            400, json={"message": "title too long", "status": 400, "details": [{"fieldName": "title"}]}
        )

    api.routes[("PUT", PATH)] = refuse
    async with client(api) as gc:
        with pytest.raises(BadRequestError, match="title"):
            await gc.contacts.safe_update("c1", {"title": "x" * 2000})
    assert store.record == RECORD


async def test_missing_record(api: FakeApi) -> None:
    async with client(api) as gc:
        with pytest.raises(NotFoundError):
            await gc.contacts.safe_update("nope", {"title": "Dr"})


async def test_bad_change_sets_are_refused_before_sending(api: FakeApi) -> None:
    store = Store(api)
    async with client(api) as gc:
        with pytest.raises(ValidationError) as info:
            await gc.contacts.safe_update("c1", {"address": {"city": "x"}, "address.city": "y"})
        assert info.value.record == "contact c1"
        with pytest.raises(ValidationError, match="read-only"):
            await gc.contacts.safe_update("c1", {"id": "c2"})
        with pytest.raises(ValidationError, match="method"):
            await gc.contacts.safe_update("c1", {"title": "x"}, method="post")
        assert (await gc.contacts.safe_update("c1", {})).id == "c1"  # nothing to change: a read
    assert store.patches == [] and store.puts == []


async def test_get_model_put_round_trip_keeps_unknown_fields(api: FakeApi) -> None:
    store = Store(api)
    async with client(api) as gc:
        model = await gc.contacts.get("c1")
        model.firstName = "Augusta"
        await gc.contacts.update(model)
    assert store.puts[0] == {**RECORD, "firstName": "Augusta"}


async def test_move_keeps_every_field(api: FakeApi) -> None:
    store = Store(api)
    async with client(api) as gc:
        moved = await gc.contacts.move("c1", "org-b")
        assert moved.externalOrganization is not None and moved.externalOrganization.id == "org-b"
        detached = await gc.contacts.move("c1", None)
        assert detached.externalOrganization is None
    assert store.puts[0] == {**RECORD, "externalOrganization": {"id": "org-b"}}
    assert store.puts[1] == {k: v for k, v in RECORD.items() if k != "externalOrganization"}


async def test_a_field_neither_the_model_nor_the_record_has_is_not_silently_dropped(api: FakeApi) -> None:
    # The PATCH is refused (e.g. unknown field); a PUT would make the server drop the field and
    # answer 200, so safe_update used to report success for a change that never happened.
    store = Store(api, patch_status=400)
    async with client(api) as gc:
        with pytest.raises(ValidationError) as caught:
            await gc.contacts.safe_update("c1", {"title": "Dr", "employeeCount": 42})
        assert caught.value.field == "employeeCount" and caught.value.record == "contact c1"
        assert "method='put'" in str(caught.value)
        assert store.puts == []
        # A field the record already holds (newer than gcx) still falls back to the PUT...
        await gc.contacts.safe_update("c1", {"futureField.nested": ["changed"]})
        assert store.puts[-1]["futureField"] == {"nested": ["changed"]}
        # ... and method="put" sends whatever it is given.
        await gc.contacts.safe_update("c1", {"employeeCount": 42}, method="put")
        assert store.puts[-1]["employeeCount"] == 42
