"""merge.py: change sets to PATCH or merged PUT bodies, diff, phone comparison (with properties)."""

from __future__ import annotations

import copy
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.errors import ValidationError
from gcx.merge import (
    apply_changes,
    contains,
    deep_merge,
    diff,
    normalize_changes,
    phone_key,
    same_value,
    split_path,
    to_patch_changes,
)

RECORD = {
    "id": "c1",
    "firstName": "Ada",
    "address": {"city": "London", "postalCode": "N1", "x-unknown": 1},
    "cellPhone": {"display": "+44 20 7946 0958", "e164": "+442079460958"},
    "futureField": {"nested": [1, 2, {"deep": True}]},
}


def test_split_path() -> None:
    assert split_path("address.city") == ("address", "city")
    assert split_path("$.address.city") == ("address", "city")
    for bad in ["", "a..b", ".a", "a.", "a b", "$."]:
        with pytest.raises(ValidationError) as info:
            split_path(bad, record="contact c1")
        assert info.value.record == "contact c1" and info.value.field == bad


def test_apply_changes_keeps_everything_else() -> None:
    out = apply_changes(RECORD, {"address.city": "Paris", "title": "Dr"})
    assert out["address"] == {"city": "Paris", "postalCode": "N1", "x-unknown": 1}
    assert out["title"] == "Dr"
    assert out["futureField"] == RECORD["futureField"]
    assert RECORD["address"]["city"] == "London"  # input untouched


def test_apply_changes_removes_and_creates() -> None:
    out = apply_changes(
        RECORD, {"address.postalCode": None, "workPhone.display": "+1 555", "nothere.x": None}
    )
    assert "postalCode" not in out["address"]
    assert out["workPhone"] == {"display": "+1 555"}
    assert "nothere" not in out


def test_apply_changes_into_a_scalar_fails() -> None:
    with pytest.raises(ValidationError, match="firstName"):
        apply_changes(RECORD, {"firstName.x": 1}, record="contact c1")


def test_parent_and_child_together_are_refused() -> None:
    with pytest.raises(ValidationError, match=r"both 'address' and its child 'address\.city'") as info:
        normalize_changes({"address": {"city": "x"}, "address.city": "y"}, record="org o1")
    assert info.value.record == "org o1"


def test_read_only_fields_are_refused() -> None:
    with pytest.raises(ValidationError, match="read-only"):
        normalize_changes({"id": "other"})


def test_to_patch_changes() -> None:
    assert to_patch_changes({"address.city": "Paris", "title": None}) == [
        {"field": "$.address.city", "action": "Update", "value": "Paris"},
        {"field": "$.title", "action": "Remove"},
    ]


def test_deep_merge() -> None:
    out = deep_merge(RECORD, {"address": {"city": "Rome"}, "futureField": {"other": 1}})
    assert out["address"]["postalCode"] == "N1" and out["address"]["city"] == "Rome"
    assert out["futureField"] == {"nested": [1, 2, {"deep": True}], "other": 1}


def test_phone_comparison_by_e164() -> None:
    sent = {"display": "+442079460958"}
    stored = {
        "display": "+44 20 7946 0958",
        "e164": "+442079460958",
        "countryCode": "GB",
        "userInput": "+442079460958",
    }
    assert phone_key(sent) == phone_key(stored) == "+442079460958"
    assert same_value(sent, stored)
    assert contains({"cellPhone": stored, "id": "c1"}, {"cellPhone": sent})
    assert not same_value(sent, {"e164": "+442079460959"})
    assert phone_key({"display": "020 7946 0958", "normalizationCountryCode": "GB"}) == "+442079460958"


def test_diff_ignores_server_rewrites_of_phones() -> None:
    old = {
        "id": "c1",
        "cellPhone": {"display": "+44 20 7946 0958", "e164": "+442079460958"},
        "firstName": "Ada ",
    }
    new = {"cellPhone": {"display": "+442079460958"}, "firstName": "Ada"}
    assert diff(old, new) == {}


def test_diff_paths() -> None:
    old = {"address": {"city": "A", "state": "S"}, "tags": [1]}
    new = {"address": {"city": "B", "state": "S"}, "tags": [1, 2], "title": "x"}
    assert diff(old, new) == {"address.city": "B", "tags": [1, 2], "title": "x"}
    assert diff(new, {"address": {"city": "B"}, "tags": [1, 2], "title": "x"}) == {"address.state": None}


# -- properties ------------------------------------------------------------------------

names = st.sampled_from(["a", "b", "city", "name", "tags", "x_1", "customFields", "unknownField"])
scalars = st.one_of(st.integers(-5, 5), st.sampled_from(["", "x", "Ada", "a b"]), st.booleans())
values: st.SearchStrategy[Any] = st.recursive(
    scalars,
    lambda inner: st.one_of(st.lists(inner, max_size=3), st.dictionaries(names, inner, max_size=3)),
    max_leaves=8,
)
records = st.dictionaries(names, values, max_size=6)


@st.composite
def record_and_changes(draw: st.DrawFn) -> tuple[dict[str, Any], dict[str, Any]]:
    record = draw(records)
    changes: dict[str, Any] = {}
    used: list[tuple[str, ...]] = []
    for _ in range(draw(st.integers(0, 4))):
        # a path into existing objects, or a new one
        path: list[str] = []
        node: Any = record
        while True:
            if isinstance(node, dict) and node and draw(st.booleans()):
                key = draw(st.sampled_from(sorted(node)))
                path.append(key)
                node = node[key]
                if not isinstance(node, dict):
                    break
            else:
                path.append(draw(names))
                break
        tpath = tuple(path)
        if any(tpath[: len(u)] == u or u[: len(tpath)] == tpath for u in used):
            continue
        used.append(tpath)
        changes[".".join(path)] = draw(st.one_of(st.none(), values))
    return record, changes


def _leaves(d: dict[str, Any], prefix: tuple[str, ...] = ()) -> dict[tuple[str, ...], Any]:
    out: dict[tuple[str, ...], Any] = {}
    for k, v in d.items():
        if isinstance(v, dict) and v:
            out.update(_leaves(v, (*prefix, k)))
        else:
            out[(*prefix, k)] = v
    return out


@settings(max_examples=100, deadline=None)
@given(record_and_changes())
def test_merge_never_drops_a_key_not_named(rc: tuple[dict[str, Any], dict[str, Any]]) -> None:
    record, changes = rc
    original = copy.deepcopy(record)
    named = [tuple(k.split(".")) for k in changes]
    merged = apply_changes(record, changes)
    assert record == original  # input untouched
    for path, value in _leaves(record).items():
        if any(path[: len(n)] == n or n[: len(path)] == path for n in named):
            continue  # this leaf, a parent or (for an empty object) a child was changed
        node: Any = merged
        for part in path:
            assert isinstance(node, dict) and part in node, f"{'.'.join(path)} was dropped"
            node = node[part]
        assert node == value


@settings(max_examples=100, deadline=None)
@given(record_and_changes())
def test_changes_take_effect(rc: tuple[dict[str, Any], dict[str, Any]]) -> None:
    record, changes = rc
    merged = apply_changes(record, changes)
    for key, value in changes.items():
        node: Any = merged
        parts = key.split(".")
        for part in parts[:-1]:
            node = node.get(part) if isinstance(node, dict) else None
        if value is None:
            assert node is None or parts[-1] not in node
        else:
            assert node[parts[-1]] == value


@settings(max_examples=100, deadline=None)
@given(record_and_changes())
def test_applying_twice_is_a_no_op(rc: tuple[dict[str, Any], dict[str, Any]]) -> None:
    record, changes = rc
    once = apply_changes(record, changes)
    assert apply_changes(once, changes) == once


@settings(max_examples=100, deadline=None)
@given(records, records)
def test_diff_then_apply_reaches_the_target(old: dict[str, Any], new: dict[str, Any]) -> None:
    changes = diff(old, new)
    assert same_value(apply_changes(old, changes), new)
    assert diff(new, new) == {}


@given(record_and_changes())
def test_patch_changes_never_name_parent_and_child(rc: tuple[dict[str, Any], dict[str, Any]]) -> None:
    _, changes = rc
    fields = [c["field"][2:].split(".") for c in to_patch_changes(changes)]
    for a in fields:
        for b in fields:
            if a != b:
                assert b[: len(a)] != a
