"""The compiled cleaning rules (:meth:`Cleaner.clean`) against the rules as written
(`schema_reference.clean_reference`): same cleaned values, same problems in the same order, over
valid and hostile bodies of every component the emulator cleans."""

from __future__ import annotations

from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gcx.emulator.schema import Cleaner, FieldProblem

from .schema_reference import clean_reference

CLEANER = Cleaner()
SCHEMAS = (
    "ExternalContact",
    "ExternalOrganization",
    "ExternalSource",
    "Note",
    "Relationship",
    "ContactIdentifier",
    "ExternalOrganizationIdentifier",
    "PhoneNumber",
)


def _names() -> list[str]:
    names: set[str] = set()
    for props in CLEANER.schemas.values():
        names.update((props.get("properties") or {}).keys())
    return sorted(names)


NAMES = _names()

SCALARS = st.one_of(
    st.none(),
    st.booleans(),
    st.integers(min_value=-(2**40), max_value=2**40),
    st.floats(allow_nan=False, allow_infinity=False),
    st.text(max_size=12),
    st.sampled_from(
        [
            " Ada ",
            "",
            "   ",
            "ada@example.com",
            "not an email",
            "a@b",
            "+1 617 555 0100",
            "+12000000200",
            "06 12 34 56 78",
            "https://example.com/x",
            "ftp://example.com",
            "2026-01-02T03:04:05.678Z",
            "2026-01-02",
            "Curated",
            "Ephemeral",
            "x" * 300,
            "y" * 5000,
            "US",
            "FR",
            "Email",
            " Phone ",
            "ExternalId",
            "email",
            " ada@example.com ",
            "ADA@Example.COM",
            "a..b@example.com",
            "ada@-example.com",
        ]
    ),
)

VALUES = st.recursive(
    SCALARS,
    lambda inner: st.one_of(
        st.lists(inner, max_size=4),
        st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), inner, max_size=6),
    ),
    max_leaves=25,
)

BODIES = st.dictionaries(st.sampled_from(NAMES) | st.text(max_size=5), VALUES, max_size=12)


def _both(schema: str, body: Any, path: str, nested: bool) -> None:
    fast: list[FieldProblem] = []
    slow: list[FieldProblem] = []
    got = CLEANER.clean(schema, body, path, fast, nested=nested)
    want = clean_reference(CLEANER, schema, body, path, slow, nested=nested)
    assert got == want
    assert fast == slow


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SCHEMAS), BODIES | VALUES, st.sampled_from(["", "entities[3]"]), st.booleans())
def test_compiled_rules_answer_as_the_written_rules(schema: str, body: Any, path: str, nested: bool) -> None:
    _both(schema, body, path, nested)


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.sampled_from(SCHEMAS),
    BODIES,
    st.frozensets(st.sampled_from(["identifiers", "externalOrganization", "name", "cellPhone", "type"])),
)
def test_skipped_fields_are_cleaned_as_if_absent(
    schema: str, body: dict[str, Any], skip: frozenset[str]
) -> None:
    fast: list[FieldProblem] = []
    slow: list[FieldProblem] = []
    got = CLEANER.clean(schema, body, "", fast, skip=skip)
    want = clean_reference(CLEANER, schema, {k: v for k, v in body.items() if k not in skip}, "", slow)
    assert got == want
    assert fast == slow


def test_bodies_of_one_shape_in_any_order_answer_as_the_written_rules() -> None:
    """The fields a body holds are worked out once per shape (its keys in order): bodies of the
    same keys in another order, with other values, or with a key more, clean as the rules say."""
    bodies = [
        {"lastName": "Lovelace", "firstName": "Ada", "cellPhone": {"display": "+1 617 555 0100"}},
        {"firstName": "Ada", "lastName": "Lovelace", "cellPhone": {"display": "+1 617 555 0100"}},
        {"lastName": 7, "firstName": None, "cellPhone": {"display": "x" * 300}},
        {"lastName": "L", "firstName": "A", "cellPhone": "555", "mystery": 1},
        {"id": "x", "lastName": "L", "createDate": "2026-01-02T03:04:05.678Z", "firstName": ""},
    ]
    for body in bodies * 2:  # the second round from the remembered shapes
        for nested in (False, True):
            _both("ExternalContact", body, "", nested)
            _both("ExternalContact", body, "entities[1]", nested)


def test_compiled_rules_on_a_full_contact_and_its_bad_twin() -> None:
    good = {
        "firstName": " Ada ",
        "lastName": "Lovelace",
        "title": "Engineer",
        "workEmail": "ada@example.com",
        "cellPhone": {"display": "+1 617 555 0100", "e164": "ignored"},
        "address": {"city": "Paris", "countryCode": "FR"},
        "externalIds": [{"externalSource": {"id": "s1"}, "value": "c-1"}, None],
        "customFields": {"k": {"deep": [1]}},
        "surveyOptOut": True,
        "createDate": "2026-01-02T03:04:05.678Z",
    }
    bad = {
        "firstName": 7,
        "lastName": "x" * 300,
        "workEmail": "not an email",
        "cellPhone": "555",
        "address": [],
        "externalIds": {"a": 1},
        "customFields": [],
        "surveyOptOut": "yes",
        "externalSystemUrl": "ftp://example.com",
    }
    for body in (good, bad):
        _both("ExternalContact", body, "", False)
    problems: list[FieldProblem] = []
    CLEANER.clean("ExternalContact", bad, "", problems)
    named = [p.field for p in problems]
    assert set(named) <= set(bad)
    assert {"firstName", "workEmail", "cellPhone", "surveyOptOut", "externalSystemUrl"} <= set(named)


def _repeated(schema: str, body: Any, path: str, nested: bool) -> None:
    """A body's shape cleaned often enough to get its own function (``_shape_rule``): every
    round, before and after, answers as the written rules."""
    from gcx.emulator import schema as module

    slow: list[FieldProblem] = []
    want = clean_reference(CLEANER, schema, body, path, slow, nested=nested)
    for _ in range(module._HOT + 2):
        fast: list[FieldProblem] = []
        assert CLEANER.clean(schema, body, path, fast, nested=nested) == want
        assert fast == slow


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.sampled_from(SCHEMAS), BODIES, st.sampled_from(["", "entities[3]"]), st.booleans())
def test_shape_functions_answer_as_the_written_rules(
    schema: str, body: dict[str, Any], path: str, nested: bool
) -> None:
    _repeated(schema, body, path, nested)


def test_shape_functions_of_sync_bodies_and_their_bad_twins(monkeypatch: pytest.MonkeyPatch) -> None:
    """The shapes a sync sends (every field a plain string, a phone, an address, external ids),
    once they have their own functions, with good values and then bad ones in the same shape."""
    from gcx.emulator import schema as module

    written: list[tuple[str, ...]] = []
    shape_rule = module._shape_rule

    def counted(fields: Any, *args: Any) -> Any:
        written.append(tuple(name for name, _ in fields))
        return shape_rule(fields, *args)

    monkeypatch.setattr(module, "_shape_rule", counted)
    monkeypatch.setitem(globals(), "CLEANER", Cleaner())  # no shape seen before
    good = {
        "firstName": " Ada ",
        "lastName": "Lovelace",
        "workEmail": "ada@example.com",
        "cellPhone": {"display": "+12000001199"},
        "address": {"city": "Paris"},
        "title": "Analyst",
        "externalIds": [{"externalSource": {"id": "s1"}, "value": "c-1"}],
    }
    bad_values: list[Any] = [None, "", "   ", 7, True, [], {}, "x" * 300, "y" * 5000, " z "]
    for nested in (False, True):
        _repeated("ExternalContact", good, "", nested)
        _repeated("ExternalContact", good, "entities[0]", nested)
        for field in ("firstName", "lastName", "title", "workEmail"):
            for bad in bad_values:
                _both("ExternalContact", {**good, field: bad}, "", nested)
                _both("ExternalContact", {**good, field: bad}, "entities[2]", nested)
        for bad in bad_values:
            _both("ExternalContact", {**good, "cellPhone": {"display": bad}}, "", nested)
            _both("ExternalContact", {**good, "address": {"city": bad}}, "entities[1]", nested)
            ext = [{"externalSource": {"id": bad}, "value": bad}]
            _both("ExternalContact", {**good, "externalIds": ext}, "", nested)
    for ident in (
        {"type": "Email", "value": " a@b.c "},
        {"type": "Phone", "value": 7},
        {"type": "X", "value": ""},
    ):
        for source in ({"id": "s1"}, {"id": 5}, None):
            _repeated("ContactIdentifier", {**ident, "externalSource": source}, "identifiers[0]", False)
    assert ("display",) in written and ("externalSource", "value") in written  # the fast paths ran
