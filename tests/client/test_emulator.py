"""The client against the emulator: in process (ASGI transport) and over real loopback HTTP."""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator, Callable
from typing import Any

import httpx
import pytest

from gcx import AsyncClient, Client, RetryPolicy
from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import (
    AuthError,
    BadRequestError,
    ConflictError,
    NotFoundError,
    OutcomeUnknownError,
    ValidationError,
)
from gcx.merge import same_value
from gcx.models import ExternalContact, ExternalOrganization, PatchChange
from tests.client.conftest import FakeClock
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

BASE = "http://emulator.test"
CREDS = {"client_id": CANARY_CLIENT_ID, "client_secret": CANARY_SECRET}


class Recording(httpx.AsyncBaseTransport):
    """Passes requests on and keeps them, to check what the client sent."""

    def __init__(self, inner: httpx.AsyncBaseTransport) -> None:
        self.inner = inner
        self.requests: list[httpx.Request] = []

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        self.requests.append(request)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()

    def bodies(self, method: str, path_part: str) -> list[Any]:
        return [
            json.loads(r.content) for r in self.requests if r.method == method and path_part in r.url.path
        ]


class Sleeps:
    def __init__(self) -> None:
        self.calls: list[float] = []

    async def __call__(self, seconds: float) -> None:
        self.calls.append(seconds)
        await asyncio.sleep(0)


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Emulator:
    return Emulator(
        EmulatorSettings(
            seed=7,
            rate_limit=0,
            token_ttl=3600,
            credentials=((CANARY_CLIENT_ID, CANARY_SECRET),),
        ),
        clock=clock,
    )


ClientFactory = Callable[..., AsyncClient]


@pytest.fixture
async def make(emu: Emulator, clock: FakeClock) -> AsyncIterator[ClientFactory]:
    made: list[AsyncClient] = []

    def factory(**kw: Any) -> AsyncClient:
        kw.setdefault("transport", emu.transport())
        kw.setdefault("rate_limit", 0)
        kw.setdefault("clock", clock)
        kw.setdefault("sleep", Sleeps())
        kw.setdefault("retry", RetryPolicy(max_attempts=4, base=0.01, cap=0.05))
        gc = AsyncClient(kw.pop("region", BASE), **{**CREDS, **kw})
        made.append(gc)
        return gc

    yield factory
    for gc in made:
        await gc.aclose()


def tokens(emu: Emulator) -> int:
    return int(emu.stats()["tokensIssued"])


# -- CRUD, search, identity ---------------------------------------------------------------


async def test_crud_round_trip(make: ClientFactory) -> None:
    gc = make()
    me = await gc.me()
    assert me.id
    org = await gc.organizations.create(ExternalOrganization(name="Acme", industry="Tools"))
    assert org.id and org.name == "Acme"
    got = await gc.organizations.get(org.id)
    got.industry = "Hardware"
    updated = await gc.organizations.update(got)
    assert updated.industry == "Hardware" and updated.name == "Acme"
    patched = await gc.organizations.patch(
        org.id, [PatchChange(field="$.companyType", value="Vendor", action="Update")]
    )
    assert patched.companyType == "Vendor" and patched.industry == "Hardware"
    contact = await gc.contacts.create({"firstName": "Ada", "externalOrganization": {"id": org.id}})
    assert contact.externalOrganization is not None and contact.externalOrganization.id == org.id
    assert [c.id async for c in gc.organizations.contacts(org.id)] == [contact.id]
    assert [c.id async for c in gc.organizations.contacts(org.id, all=True)] == [contact.id]
    assert [o.id async for o in gc.organizations.search(q="Acme")] == [org.id]
    await gc.contacts.delete(contact.id)
    await gc.organizations.delete(org.id)
    with pytest.raises(NotFoundError) as info:
        await gc.organizations.get(org.id)
    assert info.value.correlation_id


async def test_local_validation_names_record_and_field(make: ClientFactory) -> None:
    gc = make()
    with pytest.raises(ValidationError) as info:
        await gc.organizations.create({"industry": "no name"})
    assert info.value.field == "name" and info.value.record == "new organization"
    with pytest.raises(ValidationError) as info2:
        await gc.contacts.create({"firstName": "A", "cellPhone": "not an object"})
    assert info2.value.field == "cellPhone"
    with pytest.raises(ValidationError, match="id"):
        await gc.contacts.update({"firstName": "no id"})


async def test_server_validation_error_names_the_field(make: ClientFactory) -> None:
    gc = make()
    with pytest.raises(BadRequestError) as info:
        await gc.contacts.create({"firstName": "A", "workEmail": "not-an-email"})
    assert info.value.status == 400 and info.value.correlation_id
    assert "workEmail" in str(info.value)
    assert any(d.get("fieldName") == "workEmail" for d in info.value.details)


async def test_identifiers_and_lookup(make: ClientFactory) -> None:
    gc = make()
    source = await gc.external_sources.create({"name": "crm", "active": True})
    assert source.id
    assert [s.id async for s in gc.external_sources.list()] == [source.id]
    contact = await gc.contacts.create({"firstName": "Ada"})
    await gc.contacts.identifiers.claim(contact.id, "Email", "ada@example.com")
    await gc.contacts.identifiers.claim(contact.id, "ExternalId", "crm-1", external_source_id=source.id)
    idents = await gc.contacts.identifiers.list(contact.id)
    assert {(i.type, i.value) for i in idents} >= {("Email", "ada@example.com"), ("ExternalId", "crm-1")}
    found = await gc.contacts.lookup("Email", "ada@example.com")
    assert found is not None and found.id == contact.id
    by_ext = await gc.contacts.lookup_external_id("crm-1", source.id)
    assert by_ext is not None and by_ext.id == contact.id
    assert await gc.contacts.lookup_external_id("nobody") is None
    other = await gc.contacts.create({"firstName": "Bob"})
    with pytest.raises(ConflictError):
        await gc.contacts.identifiers.claim(other.id, "ExternalId", "crm-1", external_source_id=source.id)
    await gc.contacts.identifiers.release(contact.id, "Email", "ada@example.com")
    assert await gc.contacts.lookup("Email", "ada@example.com") is None
    with pytest.raises(ValidationError, match="ExternalId"):
        await gc.organizations.identifiers.claim("x", "Email", "a@b.c")
    org = await gc.organizations.create({"name": "Acme"})
    await gc.organizations.identifiers.claim(org.id, "ExternalId", "org-1")
    found_org = await gc.organizations.lookup_external_id("org-1")
    assert found_org is not None and found_org.id == org.id
    src = await gc.external_sources.get(source.id)
    src.name = "crm2"
    assert (await gc.external_sources.update(src)).name == "crm2"


async def test_enrich(make: ClientFactory) -> None:
    gc = make()
    req = {
        "action": "Upsert",
        "matchingIdentifiers": [{"type": "ExternalId", "value": "org-9"}],
        "externalOrganization": {"name": "Acme"},
    }
    first = await gc.organizations.enrich(req)
    second = await gc.organizations.enrich({**req, "externalOrganization": {"name": "Acme", "industry": "x"}})
    assert first.created and not second.created
    assert first.entity.id == second.entity.id and second.entity.industry == "x"
    ops = [
        {
            "action": "Upsert",
            "matchingIdentifiers": [{"type": "ExternalId", "value": f"c-{i}"}],
            "contact": {"firstName": f"P{i}"},
        }
        for i in range(12)
    ]
    result = await gc.contacts.bulk_enrich(ops)
    assert result.ok and result.requests == 2
    assert [i.entity.firstName for i in result if i.entity] == [f"P{i}" for i in range(12)]


# -- auth ----------------------------------------------------------------------------------


async def test_token_renewal_before_expiry(make: ClientFactory, emu: Emulator, clock: FakeClock) -> None:
    emu.configure(token_ttl=300)
    gc = make()
    await gc.me()
    clock.advance(200)
    await gc.me()
    assert tokens(emu) == 1
    clock.advance(50)  # inside the 60 s margin
    await gc.me()
    assert tokens(emu) == 2 and gc.stats.token_requests == 2


async def test_storm_of_500_at_token_expiry(make: ClientFactory, emu: Emulator, clock: FakeClock) -> None:
    emu.configure(token_ttl=300)
    gc = make()
    await gc.me()
    clock.advance(299)
    await asyncio.gather(*(gc.me() for _ in range(500)))
    assert tokens(emu) == 2
    assert gc.stats.token_requests == 2
    assert gc.stats.by_status == {200: 501}


async def test_revoked_token_renews_and_replays(make: ClientFactory, emu: Emulator) -> None:
    gc = make()
    org = await gc.organizations.create({"name": "Acme"})
    emu.revoke_tokens()
    got = await gc.organizations.get(org.id)
    assert got.name == "Acme"
    assert tokens(emu) == 2
    emu.revoke_tokens()
    created = await gc.organizations.create({"name": "Beta"})  # a POST is replayed too (never applied)
    assert created.name == "Beta"
    assert [o.name async for o in gc.organizations.scan()] == ["Acme", "Beta"]


async def test_wrong_secret(make: ClientFactory) -> None:
    gc = make(client_secret="wrong-secret-123")
    with pytest.raises(AuthError) as info:
        await gc.me()
    assert info.value.status == 401 and "wrong-secret-123" not in str(info.value)


# -- retries ----------------------------------------------------------------------------------


async def test_429_with_retry_after(make: ClientFactory, emu: Emulator) -> None:
    sleeps = Sleeps()
    gc = make(sleep=sleeps)
    await gc.me()
    emu.inject_429_burst(2, retry_after=3)
    org = await gc.organizations.create({"name": "Acme"})
    assert org.name == "Acme"
    assert sleeps.calls[:2] == [3.0, 3.0]
    assert gc.stats.rate_limited == 2 and gc.stats.retries == 2


async def test_5xx_backoff(make: ClientFactory, emu: Emulator) -> None:
    sleeps = Sleeps()
    gc = make(sleep=sleeps, rand=lambda: 1.0, retry=RetryPolicy(max_attempts=5, base=0.5, cap=10))
    await gc.me()
    emu.inject_faults(503, 3)
    await gc.me()
    assert sleeps.calls == [0.5, 1.0, 2.0]
    assert gc.stats.by_status[503] == 3


@pytest.mark.parametrize("mode", ["disconnect", "504"])
async def test_create_outcome_unknown_then_reconcile(make: ClientFactory, emu: Emulator, mode: str) -> None:
    gc = make()
    source = await gc.external_sources.create({"name": "crm"})
    emu.drop_next_writes(1, mode=mode)
    body = {"firstName": "Ada", "externalIds": [{"externalSource": {"id": source.id}, "value": "k-1"}]}
    with pytest.raises(OutcomeUnknownError):
        await gc.contacts.create(body)
    # The create was applied exactly once; the caller reconciles by its key, which the record
    # carries in externalIds (a plain field, in every scan: externalIds make no identifier).
    everyone = [c async for c in gc.contacts.scan()]
    assert len(everyone) == 1 and everyone[0].firstName == "Ada"
    assert [e.value for e in everyone[0].externalIds or []] == ["k-1"]
    assert await gc.contacts.lookup_external_id("k-1", source.id) is None


# -- bulk, scan ---------------------------------------------------------------------------------


async def test_chunked_bulk_with_partial_failures(make: ClientFactory, emu: Emulator) -> None:
    emu.configure(max_bulk_size=50)
    gc = make(bulk_batch_size=200)
    people = [
        {"firstName": f"P{i}", "workEmail": "not-an-email" if i % 9 == 0 else f"p{i}@example.com"}
        for i in range(230)
    ]
    result = await gc.contacts.bulk_add(people)
    assert len(result) == 230 and result.unmatched == []
    for item in result:
        if item.index % 9 == 0:
            assert not item.ok and item.error is not None and item.error.status == 400
            assert (
                any(d.get("fieldName") == "workEmail" for d in item.error.details)
                or "workEmail" in item.error.message
            )
        else:
            assert item.ok and item.entity is not None
            assert (
                item.entity.firstName == f"P{item.index}"
                and item.entity.workEmail == f"p{item.index}@example.com"
            )
    stats = emu.stats()
    too_large = sum(r["count"] for r in stats["routes"] if r["status"] == 413)
    assert too_large == 2  # 200 -> 100 -> 50, then 50s
    ids = [i.id for i in result.succeeded]
    fetched = await gc.contacts.bulk_get([*ids[:30], "no-such-id"])
    assert [i.ok for i in fetched] == [True] * 30 + [False]
    assert [i.entity.id for i in fetched.succeeded if i.entity] == ids[:30]
    updates = [{**i.entity.to_api(), "title": "Dr"} for i in fetched.succeeded if i.entity]
    assert (await gc.contacts.bulk_update(updates)).ok
    removed = await gc.contacts.bulk_remove(ids[:10])
    assert removed.ok
    assert (await gc.contacts.get(ids[10])).title == "Dr"


async def test_scan_over_1000_and_search_cap(make: ClientFactory) -> None:
    gc = make()
    result = await gc.contacts.bulk_add([{"firstName": f"Person {i:04d}"} for i in range(1234)])
    assert result.ok and result.requests == 7
    scan = gc.contacts.scan(limit=200)
    ids = [c.id async for c in scan]
    assert len(ids) == 1234 and len(set(ids)) == 1234
    assert scan.pages >= 7
    search = gc.contacts.search(page_size=200)
    found = [c async for c in search]
    assert len(found) == 1000 and search.truncated


# -- unknown fields, safe update, move ------------------------------------------------------------


async def test_unknown_fields_round_trip(emu: Emulator, make: ClientFactory) -> None:
    recorder = Recording(emu.transport())
    gc = make(transport=recorder)
    contact = await gc.contacts.create(
        {"firstName": "Ada", "address": {"city": "London", "postalCode": "N1"}}
    )
    state = emu.dump()
    state["contacts"][0]["futureField"] = {"x": [1, 2]}  # a field a newer API has and gcx does not model
    state["contacts"][0]["address"]["geo"] = "51.5,-0.1"
    emu.load(state)
    model = await gc.contacts.get(contact.id)
    assert model.unknown_fields == {"futureField": {"x": [1, 2]}}
    model.title = "Dr"
    await gc.contacts.update(model)
    (put,) = recorder.bodies("PUT", contact.id)
    assert put["futureField"] == {"x": [1, 2]}
    assert put["address"] == {"city": "London", "postalCode": "N1", "geo": "51.5,-0.1"}
    assert put["title"] == "Dr" and put["firstName"] == "Ada"


async def test_safe_update_patch_then_put(emu: Emulator, make: ClientFactory) -> None:
    recorder = Recording(emu.transport())
    gc = make(transport=recorder)
    org = await gc.organizations.create({"name": "Acme"})
    contact = await gc.contacts.create(
        {
            "firstName": "Ada",
            "lastName": "Lovelace",
            "cellPhone": {"display": "+442079460958"},
            "address": {"city": "London", "postalCode": "N1"},
            "externalOrganization": {"id": org.id},
        }
    )
    before = await gc.contacts.get_raw(contact.id)
    after = await gc.contacts.safe_update(
        contact.id, {"address.city": "Paris", "title": "Dr", "lastName": None}
    )
    (patch,) = recorder.bodies("PATCH", contact.id)
    assert {c["field"] for c in patch["changes"]} == {"$.address.city", "$.title", "$.lastName"}
    raw = after.to_api()
    assert raw["address"] == {"city": "Paris", "postalCode": "N1"}
    assert raw["title"] == "Dr" and "lastName" not in raw
    for key in ("firstName", "externalOrganization", "createDate", "division"):
        assert raw[key] == before[key], key
    # The emulator re-normalises phones on every write (userInput becomes the display form):
    # the number itself is unchanged.
    assert same_value(raw["cellPhone"], before["cellPhone"])
    # the PUT path sends every other field back
    state = emu.dump()
    state["contacts"][0]["futureField"] = 42
    emu.load(state)
    await gc.contacts.safe_update(contact.id, {"address.state": "IdF"}, method="put")
    put = recorder.bodies("PUT", contact.id)[-1]
    assert put["futureField"] == 42 and put["address"] == {
        "city": "Paris",
        "postalCode": "N1",
        "state": "IdF",
    }
    assert put["cellPhone"]["e164"] == "+442079460958" and put["firstName"] == "Ada"


async def test_move_keeps_id_and_fields(make: ClientFactory) -> None:
    gc = make()
    a = await gc.organizations.create({"name": "A"})
    b = await gc.organizations.create({"name": "B"})
    c = await gc.contacts.create(
        {
            "firstName": "Ada",
            "title": "Dr",
            "workPhone": {"display": "+14155550100"},
            "externalOrganization": {"id": a.id},
        }
    )
    before = await gc.contacts.get_raw(c.id)
    moved = await gc.contacts.move(c.id, b.id)
    after = await gc.contacts.get_raw(c.id)
    assert moved.id == c.id and after["externalOrganization"]["id"] == b.id
    for key in set(before) - {"externalOrganization", "modifyDate"}:
        # phones by E.164: the server re-derives userInput from display on every write
        assert same_value(after[key], before[key]), key
    assert set(after) == set(before)
    assert [x.id async for x in gc.organizations.contacts(b.id)] == [c.id]
    assert [x.id async for x in gc.organizations.contacts(a.id)] == []
    with pytest.raises(BadRequestError) as info:
        await gc.contacts.move(c.id, "no-such-org")
    assert "externalOrganization" in str(info.value)
    assert (await gc.contacts.get_raw(c.id))["externalOrganization"]["id"] == b.id


# -- pacing against the emulator's rate limit (simulated time) --------------------------------


async def test_pacing_keeps_429s_rare(emu: Emulator, clock: FakeClock) -> None:
    """Client ceiling above the server's limit: AIMD finds the limit with few rejections."""
    emu.configure(rate_limit=300)

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    async with AsyncClient(
        BASE, **CREDS, transport=emu.transport(), rate_limit=400, clock=clock, sleep=advance,
        retry=RetryPolicy(max_attempts=10, deadline=None),
    ) as gc:  # fmt: skip
        start = clock.now
        for _ in range(900):
            await gc.me()
        elapsed = clock.now - start
    achieved = 900 / elapsed * 60
    assert gc.stats.by_status[200] == 900
    assert gc.stats.rate_limited < 900 * 0.02
    assert achieved > 300 * 0.75


async def test_pacing_at_the_limit_gets_no_429(emu: Emulator, clock: FakeClock) -> None:
    emu.configure(rate_limit=300)

    async def advance(seconds: float) -> None:
        clock.advance(seconds)

    async with AsyncClient(
        BASE, **CREDS, transport=emu.transport(), rate_limit=300, clock=clock, sleep=advance
    ) as gc:
        for _ in range(400):
            await gc.me()
    assert gc.stats.rate_limited == 0


# -- real loopback HTTP -----------------------------------------------------------------------------


async def test_loopback_http(emu: Emulator) -> None:
    emu.configure(token_ttl=300)
    with emu.serve() as url:
        async with AsyncClient(url, **CREDS, rate_limit=0) as gc:
            org = await gc.organizations.create({"name": "Acme"})
            result = await gc.contacts.bulk_add(
                [{"firstName": f"P{i}", "externalOrganization": {"id": org.id}} for i in range(120)]
            )
            assert result.ok
            assert len([c async for c in gc.organizations.contacts(org.id, all=True)]) == 120
            emu.revoke_tokens()
            await asyncio.gather(*(gc.organizations.get(org.id) for _ in range(50)))
            assert tokens(emu) == 2
            emu.drop_next_writes(1)
            with pytest.raises(OutcomeUnknownError):
                await gc.organizations.create({"name": "Lost"})
            names = {o.name async for o in gc.organizations.scan()}
            assert names == {"Acme", "Lost"}


def test_loopback_sync_facade_threads(emu: Emulator) -> None:
    errors: list[BaseException] = []
    with emu.serve() as url, Client(url, **CREDS, rate_limit=0) as gc:
        org = gc.organizations.create({"name": "Acme"})
        emu.revoke_tokens()
        barrier = threading.Barrier(16)

        def worker() -> None:
            try:
                barrier.wait()
                for _ in range(5):
                    assert gc.organizations.get(org.id).name == "Acme"
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(16)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert tokens(emu) == 2
        assert sum(1 for _ in gc.organizations.scan()) == 1


def test_sync_facade_in_process(emu: Emulator) -> None:
    with Client(BASE, **CREDS, transport=emu.transport(), rate_limit=0) as gc:
        org = gc.organizations.create({"name": "Acme"})
        moved = gc.contacts.create({"firstName": "Ada"})
        gc.contacts.move(moved.id, org.id)
        assert [c.id for c in gc.organizations.contacts(org.id)] == [moved.id]
        updated = gc.organizations.safe_update(org.id, {"address.city": "Paris"})
        assert updated.address is not None and updated.address.city == "Paris"
        assert isinstance(gc.contacts.get(moved.id), ExternalContact)
