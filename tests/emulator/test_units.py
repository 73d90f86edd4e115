"""Pure pieces without HTTP: store, schema cleaning, settings, rate limiter, fault injector, backend."""

from __future__ import annotations

import random
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from starlette.routing import Route

from gcx.emulator import Emulator, EmulatorError, EmulatorSettings
from gcx.emulator.backend import Backend, clone, iso_ms
from gcx.emulator.faults import FaultInjector, RateLimiter
from gcx.emulator.schema import Cleaner, FieldProblem, load_spec, max_chars, max_items, normalize_phone
from gcx.emulator.store import IdentifierKey, MemoryStore, Record
from tests.emulator.conftest import FakeClock

# ------------------------------------------------------------------ store


def test_store_scan_order_survives_deletes_and_compaction() -> None:
    store = MemoryStore()
    for i in range(3000):
        store.put("contacts", {"id": f"c{i}"})
    for i in range(0, 2500):
        store.delete("contacts", f"c{i}")
    assert store.count("contacts") == 500
    seqs = [seq for seq, _ in store.scan_after("contacts", 0)]
    assert seqs == sorted(seqs) and len(seqs) == 500
    assert [r["id"] for _, r in store.scan_after("contacts", seqs[9])][:2] == ["c2510", "c2511"]
    store.put("contacts", {"id": "c2999", "changed": True})  # replacing keeps the position
    assert store.seq_of("contacts", "c2999") == seqs[-1]


def test_store_identifier_indexes() -> None:
    store = MemoryStore()
    with_source = IdentifierKey("ExternalId", "k", "src-1")
    other_source = IdentifierKey("ExternalId", "k", "src-2")
    store.add_identifier("contacts", with_source, "a")
    store.add_identifier("contacts", other_source, "a")
    store.add_identifier("contacts", other_source, "b")
    assert store.holders("contacts", with_source) == ["a"]
    assert sorted(store.holders_any_source("contacts", "ExternalId", "k")) == ["a", "b"]
    store.remove_identifier("contacts", with_source, "a")
    assert sorted(store.holders_any_source("contacts", "ExternalId", "k")) == ["a", "b"]
    store.remove_identifier("contacts", other_source, "a")
    assert store.holders_any_source("contacts", "ExternalId", "k") == ["b"]
    store.remove_identifier("contacts", other_source, "missing")
    assert store.holders("organizations", with_source) == []


def test_store_members_and_unknown_kind() -> None:
    store = MemoryStore()
    store.link_member("o", "c1")
    store.link_member("o", "c2")
    store.unlink_member("o", "c1")
    assert store.members("o") == ["c2"]
    store.unlink_member("o", "c2")
    assert store.members("o") == []
    with pytest.raises(KeyError, match="unknown record kind"):
        store.get("users", "x")


class CountingStore(MemoryStore):
    """A store that counts full enumerations, to prove which operations avoid them."""

    def __init__(self) -> None:
        self.full_scans = 0
        self.yielded = 0
        super().__init__()

    def all(self, kind: str) -> Iterator[Record]:
        self.full_scans += 1
        return super().all(kind)

    def scan_after(self, kind: str, after_seq: int) -> Iterator[tuple[int, Record]]:
        for row in super().scan_after(kind, after_seq):
            self.yielded += 1
            yield row


def test_per_request_cost_does_not_grow_with_the_store() -> None:
    store = CountingStore()
    backend = Backend(EmulatorSettings(rate_limit=0), store=store)
    for start in range(0, 2000, 200):
        backend.bulk_add(
            "contacts", {"entities": [{"firstName": f"n{i}"} for i in range(start, start + 200)]}
        )
    store.full_scans = store.yielded = 0
    page = backend.scan("contacts", limit=50)
    assert store.yielded == 51  # one page plus one look-ahead
    store.yielded = 0
    backend.scan("contacts", limit=50, cursor=page["cursors"]["after"])
    assert store.yielded == 51
    store.yielded = 0
    contact_id = page["entities"][0]["id"]
    backend.get("contacts", contact_id)
    backend.replace("contacts", contact_id, {"firstName": "x"})
    backend.patch(
        "contacts", contact_id, {"changes": [{"field": "$.title", "value": "t", "action": "Update"}]}
    )
    backend.patch_identifiers(
        "contacts", contact_id, {"operation": "Claim", "identifier": {"type": "Email", "value": "e"}}
    )
    assert backend.lookup("contacts", {"type": "Email", "value": "e"})["id"] == contact_id
    backend.bulk_fetch("contacts", {"entities": [{"id": contact_id}]})
    backend.delete("contacts", contact_id)
    assert store.yielded == 0
    backend.search("contacts", page_size=25, page_number=3)  # no q, no sort: reads to the page only
    assert store.yielded == 75


# ------------------------------------------------------------------ schema


def test_cleaner_drops_unknown_and_read_only_keeps_free_form() -> None:
    problems: list[FieldProblem] = []
    out = Cleaner().clean(
        "ExternalContact",
        {
            "firstName": " a ",
            "zzz": 1,
            "createDate": "x",
            "customFields": {"k": {"deep": [1]}},
            "lastName": "",
        },
        "",
        problems,
    )
    assert problems == []
    assert out == {"firstName": "a", "customFields": {"k": {"deep": [1]}}}


def test_cleaner_reports_every_bad_field_with_paths() -> None:
    problems: list[FieldProblem] = []
    Cleaner().clean(
        "ExternalOrganization",
        {
            "name": 5,
            "employeeCount": 2**40,
            "tickers": [{"symbol": 1}],
            "websites": "x",
            "address": {"city": True},
        },
        "",
        problems,
    )
    assert sorted(p.field for p in problems) == [
        "address.city",
        "employeeCount",
        "name",
        "tickers[0].symbol",
        "websites",
    ]


def test_limits_parsed_from_descriptions() -> None:
    assert max_chars("The name. Max: 1000 characters. Leading stripped.") == 1000
    assert max_chars("Max 1,000 characters.") == 1000
    assert max_chars("no limit here") is None
    assert max_items("User information. Max: 10 ids") == 10
    assert max_items("Max 1 Id.") == 1


def test_normalize_phone() -> None:
    assert normalize_phone({"display": "+44 20 7946 0958"})["e164"] == "+442079460958"
    assert (
        normalize_phone({"display": "0612345678", "normalizationCountryCode": "fr"})["e164"] == "+33612345678"
    )
    kept = normalize_phone({"display": "ext. 12", "e164": "+1", "countryCode": "US"})
    assert kept == {"display": "ext. 12", "userInput": "ext. 12"}
    assert normalize_phone({"extension": 12}) == {"extension": 12}


def test_field_schema_lookup() -> None:
    cleaner = Cleaner()
    assert cleaner.field_schema("ExternalContact", ["address", "city"]) is not None
    assert cleaner.field_schema("ExternalContact", ["address", "nope"]) is None
    assert cleaner.field_schema("ExternalContact", ["firstName", "x"]) is None


# ------------------------------------------------------------------ settings


@pytest.mark.parametrize(
    ("changes", "needle"),
    [
        ({"rate_limit": -1}, "rate_limit"),
        ({"fault_rate": 1.5}, "fault_rate"),
        ({"drop_mode": "explode"}, "drop_mode"),
        ({"org_delete_with_contacts": "maybe"}, "org_delete_with_contacts"),
        ({"fault_statuses": (404,)}, "fault_statuses"),
        ({"max_bulk_size": 0}, "max_bulk_size"),
        ({"latency": 100}, "latency"),
        ({"credentials": (("id", ""),)}, "credentials"),
        ({"seed": "x"}, "seed"),
        ({"unique_external_ids": "yes"}, "unique_external_ids"),
    ],
)
def test_settings_validation_names_the_setting(changes: dict[str, Any], needle: str) -> None:
    with pytest.raises(ValueError, match=needle):
        EmulatorSettings(**changes)


def test_settings_replace_and_public_view() -> None:
    s = EmulatorSettings(credentials=(("id", "very-secret"),))
    assert "very-secret" not in repr(s) and s.public()["credentials"] == ["id"]
    t = s.replace(credentials=[["a", "b"]], fault_statuses=[503])
    assert t.credentials == (("a", "b"),) and t.fault_statuses == (503,)
    with pytest.raises(ValueError, match="unknown emulator setting"):
        s.replace(colour="blue")


def test_configure_changes_limits_live() -> None:
    emu = Emulator(EmulatorSettings(rate_limit=1))
    emu.configure(rate_limit=0, seed=3)
    assert emu.backend.rate_limiter.per_minute == 0
    assert emu.backend.faults.settings.seed == 3


# ------------------------------------------------------------------ faults and limits


def test_rate_limiter_sliding_window() -> None:
    clock = FakeClock()
    limiter = RateLimiter(2, clock)
    assert limiter.hit("t") is None and limiter.hit("t") is None
    assert limiter.hit("t") == 60
    clock.advance(59.5)
    assert limiter.hit("t") == 1  # never less than one second
    clock.advance(0.5)
    assert limiter.hit("t") is None
    assert RateLimiter(0, clock).hit("t") is None


def test_fault_injector_is_deterministic_per_seed() -> None:
    settings = EmulatorSettings(fault_rate=0.5, drop_after_commit=0.5, drop_mode="mixed")

    def draw(seed: int) -> list[object]:
        injector = FaultInjector(settings, random.Random(seed))
        return [
            (f.status if (f := injector.before_call()) else None, injector.drop_after_commit())
            for _ in range(50)
        ]

    assert draw(1) == draw(1) and draw(1) != draw(2)


def test_forced_drops_validate_mode() -> None:
    injector = FaultInjector(EmulatorSettings())
    with pytest.raises(ValueError, match="mode"):
        injector.drop_next_writes(1, "later")
    injector.drop_next_writes(2, "504")
    assert [injector.drop_after_commit() for _ in range(3)] == ["504", "504", None]


# ------------------------------------------------------------------ backend without HTTP


def test_backend_errors_carry_status_code_and_details() -> None:
    backend = Backend(EmulatorSettings(rate_limit=0))
    with pytest.raises(EmulatorError) as info:
        backend.create("organizations", {"name": "", "websites": [3]})
    err = info.value
    assert err.status == 400 and err.code == "bad.request"
    assert [d["fieldName"] for d in err.details] == ["websites[0]", "name"]
    body = err.body("ctx")
    assert body["contextId"] == "ctx" and set(body["details"][0]) == {"errorCode", "fieldName"}


def test_backend_records_are_private_copies() -> None:
    backend = Backend(EmulatorSettings(rate_limit=0))
    created = backend.create("contacts", {"firstName": "a", "address": {"city": "x"}})
    created["address"]["city"] = "mutated"
    assert backend.get("contacts", created["id"])["address"]["city"] == "x"
    assert clone({"a": [{"b": 1}]}) == {"a": [{"b": 1}]}


def test_each_answer_holds_its_own_copy_of_the_organization() -> None:
    backend = Backend(EmulatorSettings(rate_limit=0))
    org = backend.create("organizations", {"name": "Acme", "address": {"city": "Paris"}})
    contact = backend.create("contacts", {"firstName": "a", "externalOrganization": {"id": org["id"]}})
    assert contact["externalOrganization"] == backend.get("organizations", org["id"])
    contact["externalOrganization"]["address"]["city"] = "mutated"
    again = backend.get("contacts", contact["id"])
    assert again["externalOrganization"]["address"]["city"] == "Paris"
    backend.replace("organizations", org["id"], {"name": "Acme 2"})
    assert backend.get("contacts", contact["id"])["externalOrganization"]["name"] == "Acme 2"


def _shares_a_container(a: Any, b: Any) -> bool:
    if isinstance(a, dict | list) and a is b:
        return True
    if isinstance(a, dict):
        return any(_shares_a_container(a[k], b[k]) for k in a)
    if isinstance(a, list):
        return any(_shares_a_container(x, y) for x, y in zip(a, b, strict=True))
    return False


JSON_VALUES = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats(allow_nan=False) | st.text(max_size=3),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=3), inner, max_size=4),
    max_leaves=30,
)


@settings(max_examples=300, deadline=None)
@given(JSON_VALUES)
def test_clone_is_an_equal_copy_sharing_no_container(value: Any) -> None:
    copied = clone(value)
    assert copied == value and type(copied) is type(value)
    assert not _shares_a_container(copied, value)


def test_iso_ms() -> None:
    assert iso_ms(0) == "1970-01-01T00:00:00.000Z"
    assert iso_ms(1.2345) == "1970-01-01T00:00:01.234Z"
    assert iso_ms(1.9999996) == "1970-01-01T00:00:02.000Z"  # microseconds round up into the next second


def _iso_ms_reference(epoch: float) -> str:
    """A datetime and strftime per call (what iso_ms did before it kept the text of the second)."""
    moment = datetime.fromtimestamp(epoch, tz=UTC)
    return moment.strftime("%Y-%m-%dT%H:%M:%S.") + f"{moment.microsecond // 1000:03d}Z"


@settings(max_examples=500, deadline=None)
@given(
    st.floats(min_value=-3e9, max_value=4e9, allow_nan=False)
    | st.builds(
        lambda whole, micros, nudge: whole + micros / 1e6 + nudge,
        st.integers(-(10**9), 4 * 10**9),
        st.integers(0, 10**6),
        st.sampled_from([0.0, 5e-7, -5e-7, 4.9e-7, 1e-9]),
    )
)
def test_iso_ms_answers_as_datetime_does(epoch: float) -> None:
    assert iso_ms(epoch) == _iso_ms_reference(epoch)


def test_load_rejects_bad_states_without_changing_anything() -> None:
    backend = Backend(EmulatorSettings(rate_limit=0))
    backend.create("contacts", {"firstName": "keep"})
    for state in (
        [],
        {"version": 2},
        {"version": 1, "contacts": "x"},
        {"version": 1, "contacts": [{"id": "a"}, {"id": "a"}]},
        {"version": 1, "contacts": [{"id": "a", "identifiers": [{"type": "Email"}]}]},
        {"version": 1, "contacts": [{"id": "a", "identifiers": "x"}]},
        {"version": 1, "contacts": [{"id": "a", "identifiers": [{"type": "Email", "value": ["x"]}]}]},
        {
            "version": 1,
            "contacts": [{"id": "a", "identifiers": [{"type": "Email", "value": "x", "externalSource": 3}]}],
        },
        {"version": 1, "contacts": [{"id": "a", "externalOrganization": "o"}]},
        {"version": 1, "organizations": [{"id": "a", "division": "home"}]},
    ):
        with pytest.raises(EmulatorError):
            backend.load(state)
    assert backend.counts()["contacts"] == 1
    minimal = {"version": 1, "contacts": [{"id": "m1", "firstName": "Min"}]}
    backend.load(minimal)
    updated = backend.replace("contacts", "m1", {"firstName": "Max"})
    assert updated["firstName"] == "Max" and updated["createDate"].endswith("Z")
    assert backend.scan("contacts", limit=10, division_id="other")["entities"] == []


def test_token_lifecycle_with_fake_clock() -> None:
    clock = FakeClock()
    backend = Backend(EmulatorSettings(token_ttl=10), clock=clock)
    token = backend.issue_token("id", "secret")["access_token"]
    assert backend.check_token(token).client_id == "id"
    clock.advance(10)
    with pytest.raises(EmulatorError, match="expired"):
        backend.check_token(token)
    assert backend.revoke_tokens("unknown") == 0


def test_every_operation_of_the_contract_has_a_route() -> None:
    app = Emulator().app
    routes = {
        (method, r.path)
        for r in app.inner.router.routes
        if isinstance(r, Route)
        for method in r.methods or ()
    }
    operations = [
        (method.upper(), path)
        for path, ops in load_spec()["paths"].items()
        for method in ops
        if method in ("get", "post", "put", "patch", "delete")
    ]
    assert len(operations) == 63
    assert [op for op in operations if op not in routes] == []


@settings(max_examples=40, deadline=None)
@given(
    ops=st.lists(st.one_of(st.none(), st.integers(min_value=0, max_value=200)), max_size=120),
    limit=st.integers(min_value=10, max_value=200),
)
def test_scan_returns_every_live_record_once_in_creation_order(ops: list[int | None], limit: int) -> None:
    """``None`` creates a record, a number deletes one of the live records."""
    backend = Backend(EmulatorSettings(rate_limit=0))
    live: list[str] = []
    for op in ops:
        if op is None:
            live.append(backend.create("organizations", {"name": f"o{len(live)}"})["id"])
        elif live:
            victim = live.pop(op % len(live))
            backend.delete("organizations", victim)
    seen: list[str] = []
    cursor = None
    while True:
        page = backend.scan("organizations", limit=limit, cursor=cursor)
        seen.extend(e["id"] for e in page["entities"])
        cursor = (page.get("cursors") or {}).get("after")
        if not cursor:
            break
    assert seen == live


def test_memory_store_keeps_records_packed_and_gives_fresh_copies() -> None:
    from gcx.emulator.store import MemoryStore

    store = MemoryStore()
    division = {"id": "d", "name": "Home", "selfUri": "/api/v2/authorization/divisions/d"}
    records = [{"id": f"c{i}", "firstName": f"P{i}", "division": division} for i in range(100)]
    for record in records:
        store.put("contacts", record)
    got = store.get("contacts", "c5")
    assert got == records[5] and got is not store.get("contacts", "c5")
    assert got is not None
    got["firstName"] = "changed without a put"
    assert store.get("contacts", "c5") == records[5]  # a change is a put
    version = store.version("contacts", "c5")
    assert store.version("contacts", "c5") is version
    store.put("contacts", {**records[5], "firstName": "new"})
    assert store.version("contacts", "c5") is not version
    assert [r["id"] for r in store.all("contacts")][:3] == ["c0", "c1", "c2"]
    assert store.delete("contacts", "c0") == records[0] and store.get("contacts", "c0") is None
