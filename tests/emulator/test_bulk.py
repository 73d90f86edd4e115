"""Bulk fetch/add/update/remove: per-item results, partial failure, shuffled order, size limit."""

from __future__ import annotations

import gc

import httpx
import pytest
from starlette.responses import Response

from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.routes.records import gc_paused
from gcx.emulator.settings import KIND_IDENTITY
from tests.emulator.conftest import API, client_for
from tests.emulator.openapi_check import error_body


def by_id(results: list[dict]) -> dict[str, dict]:
    return {r["id"]: r for r in results if "id" in r}


async def test_bulk_add_partial_failure(api: httpx.AsyncClient) -> None:
    items = [{"firstName": f"N{i}"} for i in range(10)]
    items[3] = {"workEmail": "broken"}
    items[7] = {"externalOrganization": {"id": "missing"}}
    r = await api.post(f"{API}/bulk/contacts/add", json={"entities": items})
    assert r.status_code == 200
    body = r.json()
    results = body["results"]
    assert len(results) == 10 and body["errorCount"] == 2
    assert sorted(body["errorIndexes"]) == sorted(i for i, x in enumerate(results) if not x["success"])
    failed = [results[i] for i in body["errorIndexes"]]
    echoed = sorted(str(f["error"]["entity"]) for f in failed)
    assert echoed == sorted([str(items[3]), str(items[7])])
    for f in failed:
        assert f["status"] == 400 and f["error"]["status"] == 400 and f["error"]["retryable"] is False
        assert f["error"]["details"][0]["fieldName"] in ("workEmail", "externalOrganization.id")
    ok = [x for x in results if x["success"]]
    assert all(x["entity"]["id"] == x["id"] for x in ok)
    names = [x["entity"]["firstName"] for x in results if x["success"]]
    assert sorted(names) == sorted(f"N{i}" for i in range(10) if i not in (3, 7))
    assert names != [f"N{i}" for i in range(10) if i not in (3, 7)]  # results are shuffled


async def test_bulk_results_in_order_when_shuffle_off() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, shuffle_bulk_results=False))
    async with client_for(emu, emu.issue_token()) as api:
        items = [{"firstName": f"N{i}"} for i in range(5)]
        r = await api.post(f"{API}/bulk/contacts/add", json={"entities": items})
        assert [x["entity"]["firstName"] for x in r.json()["results"]] == [f"N{i}" for i in range(5)]


async def test_bulk_fetch_update_remove(api: httpx.AsyncClient, emu: Emulator) -> None:
    ids = [emu.backend.create("contacts", {"firstName": f"N{i}", "title": "T"})["id"] for i in range(4)]
    r = await api.post(f"{API}/bulk/contacts", json={"entities": [{"id": i} for i in [*ids, "missing"]]})
    body = r.json()
    assert body["errorCount"] == 1
    missing = body["results"][body["errorIndexes"][0]]
    assert (
        missing["status"] == 404
        and missing["id"] == "missing"
        and missing["error"]["entity"] == {"id": "missing"}
    )
    assert set(by_id(body["results"])) == {*ids, "missing"}

    update = [{"id": ids[0], "firstName": "U0"}, {"id": ids[1], "workEmail": "bad"}, {"firstName": "no id"}]
    r = await api.post(f"{API}/bulk/contacts/update", json={"entities": update})
    body = r.json()
    assert body["errorCount"] == 2
    results = by_id(body["results"])
    assert results[ids[0]]["entity"]["firstName"] == "U0"
    assert "title" not in results[ids[0]]["entity"]  # PUT semantics
    assert results[ids[1]]["status"] == 400
    no_id = [x for x in body["results"] if "id" not in x]
    assert no_id[0]["status"] == 400 and no_id[0]["error"]["details"][0]["fieldName"] == "id"

    r = await api.post(f"{API}/bulk/contacts/remove", json={"entities": [{"id": ids[2]}, {"id": "gone"}]})
    body = r.json()
    results = by_id(body["results"])
    assert results[ids[2]]["success"] is True and "entity" not in results[ids[2]]
    assert results["gone"]["status"] == 404
    assert (await api.get(f"{API}/contacts/{ids[2]}")).status_code == 404


async def test_bulk_organizations(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/bulk/organizations/add", json={"entities": [{"name": "A"}, {"industry": "x"}]})
    body = r.json()
    assert body["errorCount"] == 1
    ok = next(x for x in body["results"] if x["success"])
    r = await api.post(f"{API}/bulk/organizations", json={"entities": [{"id": ok["id"]}]})
    assert r.json()["results"][0]["entity"]["name"] == "A"
    r = await api.post(f"{API}/bulk/organizations/update", json={"entities": [{"id": ok["id"], "name": "B"}]})
    assert r.json()["results"][0]["entity"]["name"] == "B"
    r = await api.post(f"{API}/bulk/organizations/remove", json={"entities": [{"id": ok["id"]}]})
    assert r.json()["errorCount"] == 0


async def test_bulk_remove_org_with_contacts_rejected_per_item(api: httpx.AsyncClient, emu: Emulator) -> None:
    org = emu.backend.create("organizations", {"name": "O"})
    emu.backend.create("contacts", {"externalOrganization": {"id": org["id"]}})
    r = await api.post(f"{API}/bulk/organizations/remove", json={"entities": [{"id": org["id"]}]})
    assert r.json()["results"][0]["status"] == 409


async def test_bulk_duplicate_external_id_in_one_request() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, **KIND_IDENTITY))  # externalIds claim, conflicts 409
    src = emu.backend.create_source({"name": "crm"})
    ext = {"externalIds": [{"externalSource": {"id": src["id"]}, "value": "k-1"}]}
    async with client_for(emu, emu.issue_token()) as api:
        r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [dict(ext), dict(ext)]})
    statuses = sorted(x["status"] for x in r.json()["results"])
    assert statuses == [200, 409]


async def test_bulk_answers_never_show_identifiers(api: httpx.AsyncClient) -> None:
    """Documented: the bulk endpoints take no ``expand``, so their answers carry no identifiers."""
    r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [{"workEmail": "b@example.com"}]})
    entity = r.json()["results"][0]["entity"]
    assert "identifiers" not in entity
    fetched = await api.post(f"{API}/bulk/contacts", json={"entities": [{"id": entity["id"]}]})
    assert "identifiers" not in fetched.json()["results"][0]["entity"]


async def test_bulk_size_limit_is_413() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, max_bulk_size=5))
    async with client_for(emu, emu.issue_token()) as api:
        r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "x"}] * 6})
        assert r.status_code == 413 and error_body(r)["code"] == "request.too.large"
        r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "x"}] * 5})
        assert r.status_code == 200
    assert emu.backend.counts()["contacts"] == 5


async def test_default_bulk_limit_is_200(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "x"}] * 200})
    assert r.status_code == 200 and r.json()["errorCount"] == 0
    r = await api.post(f"{API}/bulk/contacts", json={"entities": [{"id": "x"}] * 201})
    assert r.status_code == 413


@pytest.mark.parametrize("body", [{}, {"entities": []}, {"entities": "x"}, [1, 2]])
async def test_bulk_bad_body_is_400(api: httpx.AsyncClient, body: object) -> None:
    r = await api.post(f"{API}/bulk/contacts/add", json=body)
    assert r.status_code == 400 and error_body(r)["details"][0]["fieldName"] == "entities"


async def test_bulk_item_not_an_object(api: httpx.AsyncClient) -> None:
    r = await api.post(f"{API}/bulk/contacts/add", json={"entities": ["x", {"firstName": "ok"}]})
    body = r.json()
    assert body["errorCount"] == 1
    bad = body["results"][body["errorIndexes"][0]]
    assert bad["status"] == 400 and "entity" not in bad["error"]


async def test_bulk_routes_pause_the_cyclic_collector_only_while_they_run(api: httpx.AsyncClient) -> None:
    """The collector is off while a bulk request is handled (its few thousand short-lived
    containers trigger no collections), back on afterwards, also after an error, and a caller's
    own ``gc.disable()`` stays in force."""
    seen: list[bool] = []

    async def probe(request: object) -> Response:
        seen.append(gc.isenabled())
        if request == "fail":
            raise ValueError("boom")
        return Response(b"")

    paused = gc_paused(probe)
    assert paused.__name__ == "probe"
    assert gc.isenabled()
    await paused("ok")  # type: ignore[arg-type]
    with pytest.raises(ValueError):
        await paused("fail")  # type: ignore[arg-type]
    assert seen == [False, False] and gc.isenabled()
    gc.disable()
    try:
        await paused("ok")  # type: ignore[arg-type]
        assert not gc.isenabled()
    finally:
        gc.enable()
    r = await api.post(f"{API}/bulk/contacts/add", json={"entities": [{"firstName": "G"}]})
    assert r.status_code == 200 and r.json()["errorCount"] == 0 and gc.isenabled()
