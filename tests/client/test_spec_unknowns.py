"""The client under each choice the emulator offers for what the API spec leaves unknown.

`max_bulk_size` (50 or 200), `org_delete_with_contacts` (reject, unlink, cascade),
`unique_external_ids` (true or false) and `shuffle_bulk_results` (true or false): the client
must give the same truthful answer whatever the server chose.
"""

from __future__ import annotations

from collections.abc import AsyncIterator
from typing import Any

import pytest

from gcx import AsyncClient, RetryPolicy
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from gcx.errors import ConflictError, NotFoundError
from gcx.models import ExternalContact
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET


async def _no_sleep(seconds: float) -> None:
    return None


def _emulator(**settings: Any) -> Emulator:
    return Emulator(
        EmulatorSettings(
            seed=11,
            rate_limit=0,
            credentials=((CANARY_CLIENT_ID, CANARY_SECRET),),
            **settings,
        )
    )


async def _client(emu: Emulator) -> AsyncClient:
    return AsyncClient(
        "http://emulator.test",
        CANARY_CLIENT_ID,
        CANARY_SECRET,
        transport=emu.transport(),
        rate_limit=0,
        sleep=_no_sleep,
        retry=RetryPolicy(max_attempts=3, base=0.01, cap=0.02),
    )


@pytest.fixture
async def closing() -> AsyncIterator[list[AsyncClient]]:
    clients: list[AsyncClient] = []
    yield clients
    for gc in clients:
        await gc.aclose()


def _statuses(emu: Emulator, route_part: str) -> dict[int, int]:
    counts: dict[int, int] = {}
    for row in emu.stats()["routes"]:
        if route_part in row["route"]:
            counts[row["status"]] = counts.get(row["status"], 0) + row["count"]
    return counts


def _keys(contact: ExternalContact | None) -> list[str]:
    assert contact is not None
    return [str(e.value) for e in contact.externalIds or []]


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "ordered"])
@pytest.mark.parametrize("max_bulk", [50, 200])
async def test_bulk_add_maps_every_item_whatever_the_size_limit_and_order(
    closing: list[AsyncClient], max_bulk: int, shuffle: bool
) -> None:
    emu = _emulator(max_bulk_size=max_bulk, shuffle_bulk_results=shuffle)
    gc = await _client(emu)
    closing.append(gc)
    source = await gc.external_sources.create({"name": "crm"})
    people = [
        {
            "firstName": "Same",  # identical names: only the key and the email tell them apart
            "workEmail": "broken" if i % 23 == 0 else f"p{i}@example.com",
            "externalIds": [{"externalSource": {"id": source.id}, "value": f"k{i}"}],
        }
        for i in range(260)
    ]
    result = await gc.contacts.bulk_add(people)
    assert len(result) == 260 and result.unmatched == []
    for item in result:
        if item.index % 23 == 0:
            assert not item.ok and item.error is not None and item.error.status == 400
            assert "workEmail" in str(item.error) or any(
                d.get("fieldName") == "workEmail" for d in item.error.details
            )
        else:
            assert item.ok, item.error
            assert _keys(item.entity) == [f"k{item.index}"]
            assert item.entity is not None and item.entity.workEmail == f"p{item.index}@example.com"
    add_statuses = _statuses(emu, "/bulk/contacts/add")
    # 200 -> 100 -> 50 when the server takes 50; never a 413 when it takes 200.
    assert add_statuses.get(413, 0) == (2 if max_bulk == 50 else 0)
    assert add_statuses[200] == -(-260 // max_bulk)

    ids = [i.entity.id for i in result.succeeded if i.entity]
    fetched = await gc.contacts.bulk_get([*reversed(ids), "missing-id"])
    assert [i.entity.id for i in fetched if i.entity] == list(reversed(ids))
    assert not fetched[len(ids)].ok and fetched[len(ids)].error is not None
    assert fetched[len(ids)].error.status == 404
    updated = await gc.contacts.bulk_update(
        [{**i.entity.to_api(), "title": f"T{n}"} for n, i in enumerate(fetched.succeeded) if i.entity]
    )
    assert updated.ok
    assert [i.entity.title for i in updated if i.entity] == [f"T{n}" for n in range(len(ids))]


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "ordered"])
@pytest.mark.parametrize("unique", [True, False], ids=["unique", "duplicates"])
async def test_duplicate_external_ids_under_either_rule(
    closing: list[AsyncClient], unique: bool, shuffle: bool
) -> None:
    # about externalIds that claim an ExternalId identifier: the emulator's kind rules
    emu = _emulator(unique_external_ids=unique, shuffle_bulk_results=shuffle, **KIND_IDENTITY)
    gc = await _client(emu)
    closing.append(gc)
    source = await gc.external_sources.create({"name": "crm"})

    def person(name: str, key: str) -> dict[str, Any]:
        return {"firstName": name, "externalIds": [{"externalSource": {"id": source.id}, "value": key}]}

    people = [person(f"P{i}", f"k{i}") for i in range(30)]
    people.insert(7, person("Twin", "k3"))  # the same key as P3, in the same request
    result = await gc.contacts.bulk_add(people)
    assert len(result) == 31 and result.unmatched == []
    for item in result.succeeded:
        assert item.entity is not None and item.entity.firstName == people[item.index]["firstName"]
        assert _keys(item.entity) == [people[item.index]["externalIds"][0]["value"]]
    twins = [result[3], result[7]]
    if unique:
        assert sorted(t.ok for t in twins) == [False, True]
        loser = next(t for t in twins if not t.ok)
        assert loser.error is not None and loser.error.status == 409
        assert len(result.failed) == 1
    else:
        assert all(t.ok for t in twins) and result.ok

    # Lookup gives one holder (the oldest when there are several), never an error.
    found = await gc.contacts.lookup_external_id("k3", source.id)
    assert found is not None and found.firstName in {"P3", "Twin"}
    assert found.id == next(t.entity.id for t in twins if t.ok and t.entity)

    # A claim of a key another contact holds: ConflictError, or both hold it.
    p0 = result[0].entity
    assert p0 is not None
    if unique:
        with pytest.raises(ConflictError) as caught:
            await gc.contacts.identifiers.claim(p0.id, "ExternalId", "k1", external_source_id=source.id)
        assert caught.value.status == 409
    else:
        await gc.contacts.identifiers.claim(p0.id, "ExternalId", "k1", external_source_id=source.id)
        held = await gc.contacts.identifiers.list(p0.id)
        assert {i.value for i in held if i.type == "ExternalId"} == {"k0", "k1"}
        # Two holders now: the lookup answers one of them, the oldest record (the emulator's rule).
        holder = await gc.contacts.lookup_external_id("k1", source.id)
        assert holder is not None and holder.id == p0.id


@pytest.mark.parametrize("mode", ["reject", "unlink", "cascade"])
async def test_deleting_an_organization_with_contacts(closing: list[AsyncClient], mode: str) -> None:
    emu = _emulator(org_delete_with_contacts=mode, max_bulk_size=50)
    gc = await _client(emu)
    closing.append(gc)
    orgs = await gc.organizations.bulk_add([{"name": f"Org {i}"} for i in range(3)])
    assert orgs.ok
    org_ids = [i.entity.id for i in orgs if i.entity]
    members = await gc.contacts.bulk_add(
        [
            {"firstName": f"M{i}", "title": "Buyer", "externalOrganization": {"id": org_ids[i % 3]}}
            for i in range(60)
        ]
    )
    assert members.ok
    loner = await gc.contacts.create({"firstName": "Loner", "externalOrganization": {"id": org_ids[0]}})
    of_org0 = [c.id async for c in gc.organizations.contacts(org_ids[0], all=True)]
    assert len(of_org0) == 21

    # One delete, then a bulk remove of the two others: the same rule per item.
    if mode == "reject":
        with pytest.raises(ConflictError) as caught:
            await gc.organizations.delete(org_ids[0])
        assert caught.value.status == 409
    else:
        await gc.organizations.delete(org_ids[0])
    removed = await gc.organizations.bulk_remove(org_ids[1:])
    assert len(removed) == 2
    if mode == "reject":
        assert [i.ok for i in removed] == [False, False]
        assert all(i.error is not None and i.error.status == 409 for i in removed)
        assert len([o async for o in gc.organizations.scan()]) == 3
        kept = await gc.contacts.get(loner.id)
        assert kept.externalOrganization is not None and kept.externalOrganization.id == org_ids[0]
        return
    assert removed.ok
    assert [o async for o in gc.organizations.scan()] == []
    for oid in org_ids:
        with pytest.raises(NotFoundError):
            await gc.organizations.get(oid)
    left = [c async for c in gc.contacts.scan()]
    if mode == "cascade":
        assert left == []
        with pytest.raises(NotFoundError):
            await gc.contacts.get(loner.id)
    else:
        assert len(left) == 61
        assert all(c.externalOrganization is None for c in left)
        assert all(c.title == "Buyer" for c in left if c.firstName != "Loner")
        # An unlinked contact can be moved to a new organization, keeping its id.
        fresh = await gc.organizations.create({"name": "Fresh"})
        moved = await gc.contacts.move(loner.id, fresh.id)
        assert moved.id == loner.id and moved.externalOrganization is not None
        assert moved.externalOrganization.id == fresh.id


async def test_a_learned_bulk_limit_is_kept_for_later_calls(closing: list[AsyncClient]) -> None:
    # A sync sends many bulk calls of 200: each used to start at 200 again and pay two 413s.
    emu = _emulator(max_bulk_size=50)
    gc = await _client(emu)
    closing.append(gc)
    first = await gc.contacts.bulk_add([{"firstName": f"A{i}"} for i in range(120)])
    # 120 -> 413, 60 -> 413, then four chunks of 30.
    assert first.ok and _statuses(emu, "/bulk/contacts/add") == {413: 2, 200: 4}
    for _ in range(3):
        again = await gc.contacts.bulk_add([{"firstName": f"B{i}"} for i in range(120)], batch_size=200)
        assert again.ok and [i.entity.firstName for i in again if i.entity] == [f"B{i}" for i in range(120)]
    assert _statuses(emu, "/bulk/contacts/add") == {413: 2, 200: 16}
    # Each bulk endpoint learns its own limit; organizations were never refused.
    orgs = await gc.organizations.bulk_add([{"name": f"O{i}"} for i in range(40)])
    assert orgs.ok and _statuses(emu, "/bulk/organizations/add") == {200: 1}
    ids = [i.entity.id for i in first if i.entity]
    assert (await gc.contacts.bulk_get(ids)).ok
    assert (await gc.contacts.bulk_get(ids)).ok
    fetch = {r["status"]: r["count"] for r in emu.stats()["routes"] if r["route"].endswith("/bulk/contacts")}
    assert fetch == {413: 2, 200: 8}  # the fetch endpoint learns once too


@pytest.mark.parametrize("shuffle", [True, False], ids=["shuffled", "ordered"])
async def test_bulk_enrich_maps_results_by_the_request_tracker(
    closing: list[AsyncClient], shuffle: bool
) -> None:
    # Same provided data, different matching identifiers: content cannot tell the results
    # apart (every item used to come back "unmapped"); the spec's tracker id can.
    emu = _emulator(shuffle_bulk_results=shuffle)
    gc = await _client(emu)
    closing.append(gc)
    ops = [
        {
            "action": "Upsert",
            "matchingIdentifiers": [{"type": "Email", "value": f"p{i}@example.com"}],
            "contact": {"firstName": "Same"},
        }
        for i in range(25)
    ]
    created = await gc.contacts.bulk_enrich(ops)
    assert created.ok and created.unmatched == []
    for item in created:
        assert item.entity is not None and item.request == ops[item.index]  # the caller's request, as given
        assert item.id == item.entity.id  # the record's id, not the tracker
        # bulk answers never show identifiers (documented): the Email one is looked up
        held = await gc.contacts.lookup("Email", f"p{item.index}@example.com")
        assert held is not None and held.id == item.entity.id
    assert len({i.entity.id for i in created if i.entity}) == 25
    # Trackers the caller chose are kept and used; a failure maps back too.
    mine = [
        {**op, "id": f"mine-{n}", "action": "Insert" if n == 3 else "Upsert"} for n, op in enumerate(ops[:6])
    ]
    again = await gc.contacts.bulk_enrich(mine)
    assert [i.ok for i in again] == [n != 3 for n in range(6)]
    assert again[3].error is not None and again[3].error.status == 409 and again[3].id is None
    assert [i.entity.id for i in again if i.entity] == [
        created[n].entity.id for n in range(6) if n != 3 and created[n].entity
    ]
