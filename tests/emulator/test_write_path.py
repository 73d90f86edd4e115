"""The write path's shortcuts against what they stand for: the division reference made once per
settings (:meth:`State.division`), identifier keys as named tuples, and records packed with fixed
Huffman codes reading back as written."""

from __future__ import annotations

from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.emulator.backend import Backend
from gcx.emulator.rules import state as state_module
from gcx.emulator.rules.cleaning import identifier_key
from gcx.emulator.store import IdentifierKey, MemoryStore


def _reference_division(backend: Backend) -> dict[str, Any]:
    s = backend.settings
    return {
        "id": s.division_id,
        "name": s.division_name,
        "selfUri": f"/api/v2/authorization/divisions/{s.division_id}",
    }


def test_division_is_a_fresh_dict_that_follows_the_settings() -> None:
    backend = Backend()
    first = backend.state.division()
    assert first == _reference_division(backend)
    first["name"] = "changed by a caller"
    assert backend.state.division() == _reference_division(backend)
    assert backend.state.division() is not backend.state.division()
    backend.update_settings(division_id="d-2", division_name="Other")
    assert (
        backend.state.division()
        == _reference_division(backend)
        == {
            "id": "d-2",
            "name": "Other",
            "selfUri": "/api/v2/authorization/divisions/d-2",
        }
    )


def test_a_created_contacts_identifiers_each_hold_their_own_division() -> None:
    backend = Backend()
    body = {"firstName": "A", "workEmail": "a@example.com", "cellPhone": {"display": "+1 212 555 0100"}}
    created = backend.records.create("contacts", body)
    stored = backend.store.get("contacts", created["id"])
    assert stored is not None
    idents = stored["identifiers"]
    assert [i["type"] for i in idents] == ["Email", "Phone"]
    assert all(i["division"] == _reference_division(backend) for i in idents)
    other = {"firstName": "B", "workEmail": "b@example.com", "cellPhone": {"display": "+1 212 555 0101"}}
    plan = backend.records.plan_create("contacts", other)
    divisions = [i["division"] for i in plan.record["identifiers"]] + [plan.record["division"]]
    assert len({id(d) for d in divisions}) == len(divisions)


_text = st.text(max_size=12)


@given(_text, _text, st.one_of(st.none(), _text))
def test_identifier_keys_compare_and_hash_by_their_three_parts(
    type_: str, value: str, source: str | None
) -> None:
    key = IdentifierKey(type_, value, source)
    assert (key.type, key.value, key.source) == (type_, value, source)
    assert key == IdentifierKey(type=type_, value=value, source=source)
    assert hash(key) == hash(IdentifierKey(type_, value, source))
    assert key != IdentifierKey(type_, value + "x", source)
    assert IdentifierKey(type_, value) == IdentifierKey(type_, value, None)
    ident: dict[str, Any] = {"type": type_, "value": value}
    if source is not None:
        ident["externalSource"] = {"id": source}
    assert identifier_key(ident) == key


_json = st.recursive(
    st.none() | st.booleans() | st.integers(-(2**63), 2**63 - 1) | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=8), inner, max_size=4),
    max_leaves=20,
)


@settings(max_examples=200)
@given(st.lists(st.dictionaries(st.text(max_size=10), _json, max_size=6), min_size=1, max_size=5))
def test_packed_records_read_back_as_written(records: list[dict[str, Any]]) -> None:
    store = MemoryStore()
    written = []
    for i, extra in enumerate(records):
        record = {"id": f"r{i}", **{k: v for k, v in extra.items() if k != "id"}}
        store.put("contacts", record)
        written.append(record)
    assert [store.get("contacts", r["id"]) for r in written] == written


_source = st.sampled_from(["src-1", "missing", "", 7, None])
_identifier = st.one_of(
    st.fixed_dictionaries(
        {},
        optional={
            "type": st.sampled_from(["Email", "Phone", "ExternalId", "Nope", "", 3]),
            "value": st.sampled_from([" a@example.com ", "+1 212 555 0100", "k", "", None, 4, "x" * 300]),
            "externalSource": st.one_of(st.fixed_dictionaries({"id": _source}), st.just("src-1")),
            "extra": st.just(1),
        },
    ),
    st.just(None),
    st.just("not an object"),
)


@settings(max_examples=300)
@given(
    st.one_of(st.none(), st.just({}), st.lists(_identifier, max_size=4)),
    st.sampled_from(["contacts", "organizations"]),
)
def test_checking_identifiers_only_finds_the_same_problems(items: Any, kind: str) -> None:
    backend = Backend()
    source = backend.create_source({"name": "s"})["id"]

    def named(value: Any) -> Any:  # "src-1" names the source that exists
        if isinstance(value, list):
            return [named(v) for v in value]
        if isinstance(value, dict):
            return {k: (source if v == "src-1" else named(v)) for k, v in value.items()}
        return value

    items = named(items)
    kept: list[Any] = []
    checked: list[Any] = []
    cleaning = backend.records.cleaning
    out = cleaning.clean_identifiers(kind, items, "identifiers", kept)
    assert cleaning.clean_identifiers(kind, items, "identifiers", checked, keep=False) == []
    assert checked == kept
    assert all(out)


def test_organization_texts_stay_cached_when_contacts_name_more_than_the_floor(monkeypatch: Any) -> None:
    """Contacts naming their organizations in turn, more organizations than the cache's floor:
    once each organization was shown, an answer reads none again; a rewritten organization is
    shown as rewritten."""
    monkeypatch.setattr(state_module, "_ORG_TEXTS", 2)
    backend = Backend()
    orgs = [backend.create("organizations", {"name": f"Org {i}"})["id"] for i in range(5)]
    for i in range(5):  # each organization shown once
        backend.create("contacts", {"firstName": f"C{i}", "externalOrganization": {"id": orgs[i]}})
    reads: list[str] = []
    store_get = backend.state.store.get

    def counted(kind: str, record_id: str) -> Any:
        if kind == "organizations":
            reads.append(record_id)
        return store_get(kind, record_id)

    monkeypatch.setattr(backend.state.store, "get", counted)
    for i in range(15):
        shown = backend.create(
            "contacts", {"firstName": f"D{i}", "externalOrganization": {"id": orgs[i % 5]}}
        )
        assert shown["externalOrganization"]["name"] == f"Org {i % 5}"
    assert reads == []
    backend.replace("organizations", orgs[1], {"name": "Renamed"})
    shown = backend.create("contacts", {"firstName": "E", "externalOrganization": {"id": orgs[1]}})
    assert shown["externalOrganization"]["name"] == "Renamed"
