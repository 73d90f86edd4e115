"""The engine against the emulator in-process: first sync, idempotence, changes, moves, adoption,
unmanaged fields, conflicts, prune guard, org binding, outcome unknown, request budgets."""

from __future__ import annotations

from collections.abc import Collection, Iterator, Sequence
from pathlib import Path
from typing import Any

import pytest

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from gcx.sync.engine import SyncEngine
from gcx.sync.errors import BindingError
from gcx.sync.fields import Kind
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.records import Record
from gcx.sync.remote import ItemResult, Remote
from gcx.sync.source import Item, RecordsSource

from .helpers import BASE, api_calls, assert_exact, contact, dataset, org, state, sync, writes


@pytest.fixture(params=["strict", "kind"])
def emu(request: pytest.FixtureRequest) -> Emulator:
    """The emulator's documented, strict identity rules, and its earlier, kind ones."""
    kind = KIND_IDENTITY if request.param == "kind" else {}
    return Emulator(EmulatorSettings(rate_limit=0, seed=11, **kind))


async def test_first_sync_then_noop_then_trust_ledger(emu: Emulator, ledger: Ledger) -> None:
    data = dataset(6, 600)
    first = await sync(emu, ledger, data)
    assert first.status == "ok" and first.exit_code == 0
    assert first.applied["organization"]["created"] == 6
    assert first.applied["contact"]["created"] == 600
    assert_exact(emu, data)
    # me + source (list, create) + 2 scans (empty) + 1 org add + 3 contact adds
    assert first.requests == api_calls(emu) <= 9, first.request_stats

    w0, c0 = writes(emu), api_calls(emu)
    second = await sync(emu, ledger, dataset(6, 600))
    assert writes(emu) == w0, "a no-op run must write nothing"
    assert second.planned.total("unchanged") == 606
    assert api_calls(emu) - c0 == second.requests <= 7  # me + source + orgs 1 page + contacts 3-4 pages

    c1 = api_calls(emu)
    trusted = await sync(emu, ledger, dataset(6, 600), trust_ledger=True)
    assert api_calls(emu) == c1 and trusted.requests == 0
    assert trusted.planned.total("unchanged") == 606

    c2 = api_calls(emu)
    changed = await sync(emu, ledger, dataset(6, 600, changed=100))
    assert changed.applied["contact"]["updated"] == 100
    assert api_calls(emu) - c2 <= second.requests + 2  # the no-op's reads + a bulk re-read and update


async def test_changes_and_moves_keep_ids_and_unmanaged_fields(emu: Emulator, ledger: Ledger) -> None:
    await sync(emu, ledger, dataset(3, 30))
    before = {c["externalIds"][0]["value"]: c for c in state(emu)["contacts"]}
    # an agent edits unmanaged fields in Genesys
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        c0 = await gc.contacts.get(before["c-0"]["id"])
        body = c0.to_api()
        body["title"] = "Agent-set title"
        body["twitterId"] = {"screenName": "jane_doe"}
        body["address"] = {"address1": "1 Agent Street"}
        await gc.contacts.update(body, id=c0.id)
    c = await api_calls_delta(emu, sync(emu, ledger, dataset(3, 30, changed=5, moved=2)))
    report, used = c
    assert report.applied["contact"]["updated"] == 3 and report.applied["contact"]["moved"] == 2
    after = {c["externalIds"][0]["value"]: c for c in state(emu)["contacts"]}
    assert {k: v["id"] for k, v in after.items()} == {k: v["id"] for k, v in before.items()}
    assert after["c-0"]["firstName"] == "First0-v2"
    assert after["c-0"]["title"] == "Agent-set title"
    assert after["c-0"]["twitterId"]["screenName"] == "jane_doe"
    assert after["c-0"]["address"]["address1"] == "1 Agent Street"
    org_ids = {o["externalIds"][0]["value"]: o["id"] for o in state(emu)["organizations"]}
    assert after["c-0"]["externalOrganization"]["id"] == org_ids["org-1"]  # moved from org-0
    assert used <= 2 + 2 + 1 + 1 + 1  # me, source, 2 scans (1 page each), 1 bulk re-read, 1 bulk update
    assert_exact(emu, dataset(3, 30, changed=5, moved=2))


async def api_calls_delta(emu: Emulator, coro):  # type: ignore[no-untyped-def]
    before = api_calls(emu)
    result = await coro
    return result, api_calls(emu) - before


async def test_adopts_records_created_outside_gcx(emu: Emulator, ledger: Ledger) -> None:
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        # a person tags the records with the ExternalId identifier (no externalIds field)
        o = await gc.organizations.create({"name": "Acme", "industry": "manual"})
        assert o.id
        await gc.organizations.identifiers.claim(o.id, "ExternalId", "org-0")
        c = await gc.contacts.create(
            {"firstName": "Someone", "title": "kept", "externalOrganization": {"id": o.id}}
        )
        assert c.id
        await gc.contacts.identifiers.claim(c.id, "ExternalId", "c-0")
    data = [
        org("org-0", "Acme Corp"),
        contact("c-0", "org-0", firstName="Jane"),
        contact("c-1", "org-0", firstName="Al"),
    ]
    report = await sync(emu, ledger, data)
    assert report.applied["organization"]["created"] == 0 and report.applied["organization"]["adopted"] == 1
    assert report.applied["contact"]["created"] == 1 and report.applied["contact"]["adopted"] == 1
    st = state(emu)
    assert len(st["organizations"]) == 1 and len(st["contacts"]) == 2
    jane = next(c for c in st["contacts"] if c["firstName"] == "Jane")
    assert jane["title"] == "kept"
    assert st["organizations"][0]["industry"] == "manual"  # not mapped: left alone
    assert_exact(emu, data)
    entries = ledger.entries()
    assert not entries[("contact", "c-0")].created_by_gcx and entries[("contact", "c-1")].created_by_gcx


async def test_conflicts_source_wins_or_report(emu: Emulator, ledger: Ledger) -> None:
    data = [org("org-0", "Acme"), contact("c-0", "org-0", firstName="Jane", title="CTO")]
    await sync(emu, ledger, data)
    cid = state(emu)["contacts"][0]["id"]
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        await gc.contacts.safe_update(cid, {"firstName": "Janet"})
    reported = await sync(emu, ledger, data, on_conflict="report")
    assert reported.conflicts[0]["fields"][0]["field"] == "firstName"
    assert reported.conflicts[0]["fields"][0]["from"] == "Janet"
    assert reported.applied["contact"]["updated"] == 0
    assert state(emu)["contacts"][0]["firstName"] == "Janet"
    again = await sync(emu, ledger, data, on_conflict="report")
    assert len(again.conflicts) == 1, "a conflict left in place is reported again"
    won = await sync(emu, ledger, data)
    assert won.conflicts and won.applied["contact"]["updated"] == 1
    assert state(emu)["contacts"][0]["firstName"] == "Jane"
    quiet = await sync(emu, ledger, data, on_conflict="report")
    assert not quiet.conflicts and quiet.planned.total("unchanged") == 2


async def test_empty_source_value_removes_only_what_gcx_wrote(emu: Emulator, ledger: Ledger) -> None:
    await sync(emu, ledger, [org("o", "Acme"), contact("c", "o", firstName="Jane", title="CTO")])
    cid = state(emu)["contacts"][0]["id"]
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        await gc.contacts.safe_update(cid, {"salutation": "Dr"})
    await sync(
        emu, ledger, [org("o", "Acme"), contact("c", "o", firstName="Jane", title=None, salutation=None)]
    )
    c = state(emu)["contacts"][0]
    assert "title" not in c and c["salutation"] == "Dr"


async def test_prune_guard(emu: Emulator, ledger: Ledger) -> None:
    data = dataset(2, 40)
    await sync(emu, ledger, data)
    # a person-made record adopted by gcx is never pruned
    truncated = data[:-5]
    report = await sync(emu, ledger, truncated, prune=True, prune_threshold=0.2)
    assert report.applied["contact"]["deleted"] == 5
    assert len(state(emu)["contacts"]) == 35
    empty = await sync(emu, ledger, [], prune=True)
    assert empty.status == "error" and "prune refused" in (empty.error or "")
    assert empty.exit_code == 1
    assert len(state(emu)["contacts"]) == 35
    forced = await sync(emu, ledger, data[:2], prune=True, force=True)
    assert forced.applied["contact"]["deleted"] == 35
    assert len(state(emu)["contacts"]) == 0 and len(state(emu)["organizations"]) == 2


async def test_ledger_refuses_another_org(ledger: Ledger) -> None:
    a = Emulator(EmulatorSettings(rate_limit=0, org_id="11111111-1111-4111-8111-111111111111"))
    b = Emulator(EmulatorSettings(rate_limit=0, org_id="22222222-2222-4222-8222-222222222222"))
    await sync(a, ledger, dataset(1, 2))
    with pytest.raises(BindingError, match="belongs to Genesys org"):
        await sync(b, ledger, dataset(1, 2))
    assert state(b)["contacts"] == []
    with pytest.raises(BindingError, match="region"):
        await sync(a, ledger, dataset(1, 2), region="http://other.test")


async def test_outcome_unknown_is_reconciled_without_duplicates(emu: Emulator, ledger: Ledger) -> None:
    data = dataset(2, 300)
    # the External Source create, the org add and the first contact add commit, then the answer is lost
    emu.drop_next_writes(3)
    report = await sync(emu, ledger, data, batch_size=100)
    assert report.reconciled == {"found": 102, "absent": 0}
    assert report.applied["contact"]["created"] == 300 and report.failures == []
    assert_exact(emu, data)
    assert not ledger.open_ops()


async def test_outcome_unknown_without_server_uniqueness(ledger: Ledger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5, unique_external_ids=False))
    data = dataset(2, 50)
    emu.drop_next_writes(3, mode="504")
    await sync(emu, ledger, data, batch_size=20)
    await sync(emu, ledger, data, batch_size=20)
    assert_exact(emu, data)


async def test_invalid_rows_do_not_stop_valid_ones(emu: Emulator, ledger: Ledger, tmp_path: Path) -> None:
    from gcx.sync.source import JsonlSource

    path = tmp_path / "r.jsonl"
    path.write_text(
        "\n".join(
            [
                '{"kind": "organization", "externalId": "o-1", "name": "Acme"}',
                '{"kind": "contact", "externalId": "c-1", "organization": "o-1", "firstName": "Jane"}',
                '{"kind": "contact", "externalId": "c-2", "organization": "o-1", "workEmail": "nope"}',
                '{"kind": "contact", "externalId": "c-1", "organization": "o-1", "firstName": "Dup"}',
                '{"kind": "contact", "externalId": "c-3", "organization": "o-404", "firstName": "Lost"}',
                '{"kind": "contact", "externalId": "c-4", "firstName": "No org"}',
            ]
        )
        + "\n",
        encoding="utf-8",
    )
    report = await sync(emu, ledger, JsonlSource(path))
    assert report.exit_code == 3
    assert sorted((i["line"], i["field"]) for i in report.invalid) == [
        (3, "workEmail"),
        (4, "externalId"),
        (5, "organization"),
    ]
    names = sorted(c.get("firstName") for c in state(emu)["contacts"])
    assert names == ["Jane", "No org"]


async def test_plan_is_read_only(emu: Emulator, ledger: Ledger) -> None:
    report = await sync(emu, ledger, dataset(2, 10), dry_run=True)
    assert report.planned.total("create") == 12
    assert writes(emu) == 0 and ledger.binding() is None and ledger.entries() == {}
    assert any("does not exist yet" in w for w in report.warnings)


async def test_trust_ledger_looks_up_only_unknown_keys(emu: Emulator, ledger: Ledger) -> None:
    base = dataset(2, 20)
    await sync(emu, ledger, base)
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        c = await gc.contacts.create({"firstName": "Hand"})
        assert c.id
        await gc.contacts.identifiers.claim(c.id, "ExternalId", "new-1")
    more = [*base, contact("new-1", "org-0", firstName="Hand"), contact("new-2", "org-1", firstName="Fresh")]
    report, used = await api_calls_delta(emu, sync(emu, ledger, more, trust_ledger=True))
    # per unknown key: a lookup with gcx's External Source, then one without (records made by hand);
    # a hit whose answer shows no identifiers has them read (whose ExternalId is it?);
    # then one bulk update (the adoption) and one bulk add
    shows_identifiers = emu.backend.settings.identifiers_in_all_reads
    assert used == 4 + (0 if shows_identifiers else 1) + 1 + 1
    assert report.applied["contact"]["created"] == 1 and report.applied["contact"]["adopted"] == 1
    assert_exact(emu, more)
    _, used = await api_calls_delta(emu, sync(emu, ledger, more, trust_ledger=True))
    assert used == 0


async def test_trust_ledger_finds_an_organization_only_genesys_has(emu: Emulator, ledger: Ledger) -> None:
    await sync(emu, ledger, dataset(1, 2))
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        o = await gc.organizations.create({"name": "Made by hand"})
        assert o.id
        await gc.organizations.identifiers.claim(o.id, "ExternalId", "org-x")
    data = [*dataset(1, 2), contact("c-new", "org-x", firstName="Joins org-x"), contact("c-bad", "org-404")]
    report = await sync(emu, ledger, data, trust_ledger=True)
    assert [(i["externalId"], i["field"]) for i in report.invalid] == [("c-bad", "organization")]
    joined = next(c for c in state(emu)["contacts"] if c.get("firstName") == "Joins org-x")
    made = next(o for o in state(emu)["organizations"] if o["name"] == "Made by hand")
    assert joined["externalOrganization"]["id"] == made["id"]


async def test_a_second_concurrent_apply_is_refused(emu: Emulator, ledger: Ledger) -> None:
    from gcx.sync.errors import LedgerLockedError

    holder = Ledger(ledger.url, prefix=ledger.prefix)
    try:
        holder.acquire()
        with pytest.raises(LedgerLockedError, match="another gcx sync"):
            await sync(emu, ledger, dataset(1, 3))
        assert state(emu)["contacts"] == []
        plan = await sync(emu, ledger, dataset(1, 3), dry_run=True)  # reading is fine
        assert plan.planned.total("create") == 4
        holder.release()
        await sync(emu, ledger, dataset(1, 3))
        assert len(state(emu)["contacts"]) == 3
    finally:
        holder.close()


class EditingSource:
    """A source that, while gcx reads its contacts (after the scan), has a person edit a record."""

    def __init__(self, emu: Emulator, records: list[Record], key: str, changes: dict[str, Any]) -> None:
        self.emu, self.records, self.key, self.changes = emu, records, key, changes
        self.description = "editing source"

    def items(self, kinds: Any = ("organization", "contact")) -> Any:
        for rec in self.records:
            if rec.kind not in kinds:
                continue
            if rec.kind == "contact" and rec.key == self.key:
                target = next(
                    c for c in self.emu.dump()["contacts"] if c["externalIds"][0]["value"] == self.key
                )
                body = {
                    k: v for k, v in target.items() if k not in ("id", "selfUri", "createDate", "modifyDate")
                }
                self.emu.backend.replace("contacts", target["id"], {**body, **self.changes})
            yield rec


async def test_edit_after_the_scan_is_not_put_back(emu: Emulator, ledger: Ledger) -> None:
    await sync(emu, ledger, [org("o", "Acme"), contact("c-1", "o", firstName="Jane", title="CTO")])
    changed = [org("o", "Acme"), contact("c-1", "o", firstName="Janet", title="CTO")]
    edit = {"salutation": "Dr", "title": "Set by an agent"}
    report = await sync(emu, ledger, EditingSource(emu, changed, "c-1", edit), on_conflict="report")
    c = state(emu)["contacts"][0]
    assert c["firstName"] == "Janet"  # the source's change is written
    assert c["salutation"] == "Dr"  # the person's unmanaged edit survives
    assert c["title"] == "Set by an agent"  # and the managed one is a reported conflict, left alone
    assert [f["field"] for conflict in report.conflicts for f in conflict["fields"]] == ["title"]


class _CountingSource(RecordsSource):
    """Counts the contact rows handed out, so a test can tell when a batch was sent."""

    def __init__(self, records: list[Record]) -> None:
        super().__init__(records)
        self.contacts_read = 0

    def items(self, kinds: Collection[Kind] = ("organization", "contact")) -> Iterator[Item]:
        for item in super().items(kinds):
            if isinstance(item, Record) and item.kind == "contact":
                self.contacts_read += 1
            yield item


class _WatchedRemote(Remote):
    def __init__(self, gc: AsyncClient, writers: list[AsyncClient], source: _CountingSource) -> None:
        super().__init__(gc, writers=writers)
        self.source = source
        self.read_at_add: list[int] = []

    async def bulk_add(self, kind: Kind, bodies: Sequence[dict[str, Any]]) -> list[ItemResult]:
        if kind == "contact":
            self.read_at_add.append(self.source.contacts_read)
        return await super().bulk_add(kind, bodies)


async def test_tokens_share_the_writes_and_batches_overlap_the_source(ledger: Ledger) -> None:
    # the emulator limits each token: the two clients write on two budgets, no 429
    emu = Emulator(EmulatorSettings(rate_limit=120, seed=3))
    data = dataset(3, 600)
    source = _CountingSource(data)

    def client() -> AsyncClient:
        return AsyncClient(
            BASE, client_id="id", client_secret="secret", transport=emu.transport(), rate_limit=20
        )

    async with client() as gc, client() as second:
        remote = _WatchedRemote(gc, [second], source)
        engine = SyncEngine(ledger=ledger, source=source, remote=remote, region=BASE, options=SyncOptions())
        report = await engine.run()
        used = [gc.stats.requests, second.stats.requests]
    assert engine.exception is None and report.status == "ok"
    assert_exact(emu, data)
    assert emu.stats()["rateLimited"] == 0 and emu.stats()["tokensIssued"] == 2
    assert all(n > 0 for n in used) and report.requests == sum(used)
    assert report.request_stats["tokens"] == 2
    # the first contact batch left while the source was still being read (the pipeline)
    assert remote.read_at_add[0] < len(data) - 3
    # every op was recorded before it was sent, and none is left open
    assert ledger.open_ops() == []
