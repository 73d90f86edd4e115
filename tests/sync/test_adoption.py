"""Adoption under the documented identity rules (the emulator's strict defaults): scans show no
identifiers, ``externalIds`` make none, a body's ``identifiers`` are ignored. Records a person made
and tagged with an ExternalId identifier (PATCH .../identifiers) are found by adoption checks,
never duplicated; checks are spent only where something can be found."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.adoption import choose, other_source
from gcx.sync.ledger import Ledger
from gcx.sync.records import Record
from tests.sync.helpers import BASE, assert_exact, contact, dataset, org, state, sync, writes


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorSettings(rate_limit=0, seed=31))


def identifier_reads(emu: Emulator) -> int:
    """GET .../{id}/identifiers and identifier lookups the emulator answered."""
    n = 0
    for r in emu.stats()["routes"]:
        route = r["route"]
        if (r["method"] == "GET" and route.endswith("/identifiers")) or "identifierlookup" in route:
            n += int(r["count"])
    return n


async def hand_made(
    emu: Emulator, n: int, *, claimed: dict[int, str], org_id: str | None = None
) -> list[str]:
    """``n`` contacts made by a person (no externalIds); contact i claims ExternalId ``claimed[i]``."""
    ids: list[str] = []
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        for i in range(n):
            body: dict[str, Any] = {"firstName": f"Hand{i}", "title": f"kept-{i}"}
            if org_id:
                body["externalOrganization"] = {"id": org_id}
            c = await gc.contacts.create(body)
            assert c.id
            ids.append(c.id)
            if i in claimed:
                await gc.contacts.identifiers.claim(c.id, "ExternalId", claimed[i])
    return ids


def test_choose_the_cheaper_side() -> None:
    assert choose(0, 500).strategy == "none"
    assert choose(500, 0).strategy == "none"
    assert choose(100, 500) == choose(100, 500, enabled=True)
    assert choose(100, 500).strategy == "candidates" and choose(100, 500).checks == 100
    assert choose(1000, 3).strategy == "keys" and choose(1000, 3).checks == 6
    assert choose(100, 500, enabled=False).strategy == "off"


def test_other_source_is_the_identity_gcx_writes_under_another_source() -> None:
    def ext(sid: object, value: object) -> dict[str, Any]:
        return {"externalIds": [{"externalSource": sid, "value": value}]}

    assert other_source(ext({"id": "s-b", "name": "crm-b"}, "b-1"), "s-a") == "s-b"
    assert other_source(ext({"id": "s-a"}, "a-1"), "s-a") is None  # ours
    assert other_source(ext({"id": "s-b"}, ""), "s-a") is None  # no value: not what gcx writes
    assert other_source(ext(None, "x"), "s-a") is None  # no source
    assert other_source(ext({"name": "crm-b"}, "x"), "s-a") is None
    assert other_source({"firstName": "Hand"}, "s-a") is None
    assert other_source(ext({"id": "s-b"}, "b-1"), "") == "s-b"  # a plan before our source exists


async def test_first_sync_into_an_empty_org_makes_no_check(emu: Emulator, ledger: Ledger) -> None:
    data = dataset(3, 60)
    report = await sync(emu, ledger, data)
    assert report.adoption["checks"] == 0 and identifier_reads(emu) == 0
    assert_exact(emu, data)


async def test_hand_made_contacts_holding_a_key_are_adopted_never_duplicated(
    emu: Emulator, ledger: Ledger
) -> None:
    ids = await hand_made(emu, 30, claimed={i: f"c-{i}" for i in range(0, 30, 3)})  # 10 claimed
    data: list[Record] = [contact(f"c-{i}", None, firstName=f"First{i}") for i in range(40)]
    plan = await sync(emu, ledger, data, dry_run=True)
    assert plan.adoption["checks"] == 30 and plan.adoption["strategy"]["contact"] == "candidates"
    assert identifier_reads(emu) == 0  # a plan only states the checks

    report = await sync(emu, ledger, data)
    assert report.adoption["checks"] == 30 and report.adoption["adopted"] == 10
    assert report.applied["contact"]["adopted"] == 10 and report.applied["contact"]["created"] == 30
    st = state(emu)
    assert len(st["contacts"]) == 60  # 30 by hand + 30 new: no duplicate
    assert_exact(emu, data)
    by_id = {c["id"]: c for c in st["contacts"]}
    for i in range(0, 30, 3):
        kept = by_id[ids[i]]
        assert kept["firstName"] == f"First{i}" and kept["title"] == f"kept-{i}"  # unmanaged field kept

    before_writes, before_reads = writes(emu), identifier_reads(emu)
    again = await sync(emu, ledger, data)
    assert again.adoption["checks"] == 0 and identifier_reads(emu) == before_reads
    assert writes(emu) == before_writes and again.applied["contact"]["created"] == 0


async def test_many_candidates_few_keys_are_looked_up_by_key(emu: Emulator, ledger: Ledger) -> None:
    await hand_made(emu, 40, claimed={7: "c-1"})
    data: list[Record] = [contact("c-0", None, firstName="A"), contact("c-1", None, firstName="B")]
    report = await sync(emu, ledger, data)
    assert report.adoption["strategy"]["contact"] == "keys"
    assert report.adoption["checks"] <= 5 and report.adoption["adopted"] == 1
    assert len(state(emu)["contacts"]) == 41
    assert_exact(emu, data)


async def test_unmatched_keys_of_many_chunks_are_checked_against_candidates(
    emu: Emulator, ledger: Ledger
) -> None:
    """A first sync into an org with records made by hand: every source key is unmatched (held in
    the run's scratch database, not in memory); keys of any chunk are adopted, in plan and apply."""
    await hand_made(emu, 3, claimed={0: "c-0", 2: "c-1234"})
    data: list[Record] = [contact(f"c-{i}", None, firstName=f"F{i}") for i in range(1300)]
    data.append(contact("c-1234", None, firstName="twice"))  # a duplicate row: skipped, one key
    plan = await sync(emu, ledger, data, dry_run=True)
    assert plan.adoption["keys"] == 1300 and plan.adoption["checks"] == 3
    report = await sync(emu, ledger, data)
    assert report.adoption["strategy"]["contact"] == "candidates" and report.adoption["checks"] == 3
    assert report.adoption["keys"] == 1300 and report.adoption["adopted"] == 2
    assert report.applied["contact"]["adopted"] == 2 and report.applied["contact"]["created"] == 1298
    assert len(state(emu)["contacts"]) == 1301  # 3 by hand + 1,298 new: no duplicate
    assert_exact(emu, data[:-1])


async def test_checked_candidates_are_remembered(emu: Emulator, ledger: Ledger) -> None:
    await hand_made(emu, 8, claimed={5: "c-9"})
    data: list[Record] = [contact(f"c-{i}", None, firstName=f"F{i}") for i in range(4)]
    first = await sync(emu, ledger, data)
    assert first.adoption["strategy"]["contact"] == "candidates"
    assert first.adoption["checks"] == 8 and first.adoption["adopted"] == 0
    # the key a remembered candidate holds shows up in the source later: adopted without a request
    data.append(contact("c-9", None, firstName="Nine"))
    reads = identifier_reads(emu)
    second = await sync(emu, ledger, data)
    assert second.adoption["checks"] == 0 and identifier_reads(emu) == reads
    assert second.applied["contact"]["adopted"] == 1 and second.applied["contact"]["created"] == 0
    assert len(state(emu)["contacts"]) == 12
    assert_exact(emu, data)
    third = await sync(emu, ledger, data)  # the adopted record is no candidate any more: forgotten
    assert third.adoption["checks"] == 0 and len(ledger.checked("contact")) == 7


async def test_hand_made_organization_is_adopted_and_its_contacts_follow(
    emu: Emulator, ledger: Ledger
) -> None:
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        o = await gc.organizations.create({"name": "Acme by hand", "industry": "manual"})
        assert o.id
        await gc.organizations.identifiers.claim(o.id, "ExternalId", "org-0")
    data = [org("org-0", "Acme"), contact("c-0", "org-0", firstName="Jane")]
    report = await sync(emu, ledger, data)
    assert report.applied["organization"]["adopted"] == 1 and report.applied["organization"]["created"] == 0
    st = state(emu)
    assert len(st["organizations"]) == 1 and st["organizations"][0]["industry"] == "manual"
    assert_exact(emu, data)


async def test_adoption_checks_can_be_turned_off(emu: Emulator, ledger: Ledger) -> None:
    await hand_made(emu, 5, claimed={0: "c-0"})
    data: list[Record] = [contact("c-0", None, firstName="A")]
    report = await sync(emu, ledger, data, adoption_checks=False)
    assert report.adoption["strategy"]["contact"] == "off" and identifier_reads(emu) == 0
    # the user said there was nothing to adopt: the hand-made record is left alone
    assert len(state(emu)["contacts"]) == 6


async def test_lost_create_answers_are_found_without_identifiers(emu: Emulator, ledger: Ledger) -> None:
    data = dataset(2, 120)
    emu.drop_next_writes(3)  # the External Source, the org add and the first contact add commit, answers lost
    report = await sync(emu, ledger, data, batch_size=50)
    assert report.failures == []
    assert_exact(emu, data)
    assert not ledger.open_ops()


async def test_a_key_tagged_on_two_records_adopts_one_and_warns(ledger: Ledger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=32, unique_external_ids=False))
    ids = await hand_made(emu, 4, claimed={0: "c-0", 1: "c-0"})  # two holders: a platform may allow it
    data: list[Record] = [contact("c-0", None, firstName="Zero"), contact("c-1", None, firstName="One")]
    report = await sync(emu, ledger, data)
    assert report.adoption["adopted"] == 1
    assert len(state(emu)["contacts"]) == 5  # 4 by hand + c-1: no duplicate of c-0
    adopted = [c["id"] for c in state(emu)["contacts"] if c.get("externalIds")]
    assert ids[0] in adopted and ids[1] not in adopted
    assert any("also held by" in w and ids[1] in w for w in report.warnings), report.warnings


async def test_jobs_with_other_external_sources_spend_no_check_on_each_other(
    emu: Emulator, tmp_path: Path
) -> None:
    """Two syncs of different External Sources on one org (two service jobs, two CLI syncs): a
    record carrying the other source's ``externalIds`` entry is that job's, not a candidate."""
    first: list[Record] = [org("a-org", "A Org")] + [
        contact(f"a-{i}", "a-org", firstName=f"A{i}") for i in range(40)
    ]
    second: list[Record] = [org("b-org", "B Org")] + [
        contact(f"b-{i}", "b-org", firstName=f"B{i}") for i in range(60)
    ]
    hand = await hand_made(emu, 2, claimed={0: "b-3"})  # a person's contact holding one of B's keys
    with (
        Ledger(f"sqlite:///{tmp_path / 'a.sqlite'}") as led_a,
        Ledger(f"sqlite:///{tmp_path / 'b.sqlite'}") as led_b,
    ):
        a = await sync(emu, led_a, first, external_source="crm-a")
        assert a.applied["contact"]["created"] == 40
        plan = await sync(emu, led_b, second, dry_run=True, external_source="crm-b")
        assert plan.adoption["checks"] == 2, plan.adoption  # the two hand-made contacts, not A's 41 records
        reads = identifier_reads(emu)
        b = await sync(emu, led_b, second, external_source="crm-b")
        assert b.adoption["candidates"] == 2 and b.adoption["checks"] == 2, b.adoption
        assert identifier_reads(emu) - reads == 2
        assert b.adoption["adopted"] == 1 and b.applied["contact"]["adopted"] == 1
        assert b.applied["contact"]["created"] == 59 and b.applied["organization"]["created"] == 1
        # and the other way round: A's rerun spends nothing on B's records either
        again = await sync(emu, led_a, first, external_source="crm-a")
        assert again.adoption["checks"] == 0, again.adoption
    st = state(emu)
    assert len(st["contacts"]) == 2 + 40 + 59  # no duplicate; A's records untouched by B
    by_id = {c["id"]: c for c in st["contacts"]}
    assert by_id[hand[0]]["firstName"] == "B3"
    assert by_id[hand[1]].get("externalIds") in (None, [])  # a stranger without a key stays as it is
