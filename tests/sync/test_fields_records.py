"""Field validation, normalisation and canonical records."""

from __future__ import annotations

import pytest

from gcx.sync.fields import FieldError, field_spec, normalize_phone, remote_value, same, set_path, to_value
from gcx.sync.records import build_record, record_from_json


@pytest.mark.parametrize(
    ("raw", "country", "expected"),
    [
        ("+1 555 010 0100", None, "+15550100100"),
        ("(415) 555-0132", "US", "+14155550132"),
        ("020 7946 0958", "GB", "+442079460958"),
        ("+49 30 901820", "US", "+4930901820"),
    ],
)
def test_phones_normalise_to_e164(raw: str, country: str | None, expected: str) -> None:
    assert normalize_phone(raw, country) == expected


def test_unreadable_phone_names_the_field() -> None:
    with pytest.raises(FieldError) as err:
        to_value(field_spec("contact", "cellPhone"), "call me maybe", phone_country="US")
    assert err.value.field == "cellPhone"
    assert "cannot read phone number" in err.value.reason


@pytest.mark.parametrize(
    ("path", "raw", "reason"),
    [
        ("workEmail", "jane@@example", "invalid email"),
        ("address.state", "x" * 51, "at most 50"),
        ("firstName", "y" * 1001, "at most 1000"),
        ("externalSystemUrl", "ftp://crm/1", "http(s) URL"),
        ("surveyOptOut", "perhaps", "true/false"),
    ],
)
def test_bad_values_are_refused(path: str, raw: str, reason: str) -> None:
    with pytest.raises(FieldError) as err:
        to_value(field_spec("contact", path), raw)
    assert err.value.field == path
    assert reason in err.value.reason


def test_values_trim_and_empty_is_none() -> None:
    assert to_value(field_spec("contact", "firstName"), "  Jane ") == "Jane"
    assert to_value(field_spec("contact", "firstName"), "   ") is None
    assert to_value(field_spec("organization", "employeeCount"), "1,200") == 1200
    assert to_value(field_spec("organization", "tags"), "a; b ;;c") == ["a", "b", "c"]


def test_unknown_field_is_refused() -> None:
    with pytest.raises(FieldError, match="not a field sync can manage"):
        field_spec("contact", "twitterId")
    assert field_spec("contact", "customFields.tier").type == "custom"


def test_remote_phone_compares_by_e164_and_email_by_case() -> None:
    body = {"cellPhone": {"display": "+1 555-010-0100", "e164": "+15550100100"}, "workEmail": "Jane@X.com"}
    assert remote_value("contact", "cellPhone", body) == "+15550100100"
    assert same("contact", "workEmail", remote_value("contact", "workEmail", body), "jane@x.com")
    assert not same("contact", "firstName", "Jane", "jane")


def test_set_path_keeps_siblings() -> None:
    body = {
        "address": {"address1": "1 Main St", "city": "Paris"},
        "workPhone": {"display": "x", "extension": 12},
    }
    set_path(body, "contact", "address.city", "Lyon")
    set_path(body, "contact", "workPhone", "+33142685300")
    set_path(body, "contact", "address.state", None)
    assert body == {
        "address": {"address1": "1 Main St", "city": "Lyon"},
        "workPhone": {"display": "+33142685300", "extension": 12},
    }
    set_path(body, "contact", "address.city", None)
    assert body["address"] == {"address1": "1 Main St"}


def test_build_record_collects_every_issue() -> None:
    built = build_record(
        "contact",
        "c-1",
        {"workEmail": "nope", "cellPhone": "12", "firstName": "Jane"},
        line=7,
    )
    assert built.record is None
    assert sorted((i.line, i.field, i.key) for i in built.issues) == [
        (7, "cellPhone", "c-1"),
        (7, "workEmail", "c-1"),
    ]


@pytest.mark.parametrize("raw", [float("nan"), float("inf"), float("-inf")])
def test_a_custom_value_that_json_cannot_carry_is_refused_naming_record_and_field(raw: float) -> None:
    # a JSONL source may say NaN or Infinity (json reads them); sent, they would become null
    built = record_from_json({"kind": "contact", "externalId": "c-9", "customFields": {"score": raw}}, line=4)
    assert built.record is None
    [issue] = built.issues
    assert (issue.line, issue.key, issue.field) == (4, "c-9", "customFields.score")
    assert "not a JSON number" in issue.reason
    assert to_value(field_spec("contact", "customFields.score"), 2.5) == 2.5


def test_organization_needs_a_name_and_key() -> None:
    built = build_record("organization", "", {"name": ""}, line=3)
    assert built.record is None
    assert {i.field for i in built.issues} == {"externalId", "name"}


def test_json_record_round_trip() -> None:
    obj = {
        "kind": "contact",
        "externalId": "c-1",
        "organization": "org-1",
        "firstName": "Jane",
        "cellPhone": {"display": "+1 555 010 0100"},
        "address": {"city": "Boston"},
        "customFields": {"tier": "gold"},
    }
    built = record_from_json(obj, line=1)
    assert built.record is not None
    rec = built.record
    assert rec.values == {
        "firstName": "Jane",
        "cellPhone": "+15550100100",
        "address.city": "Boston",
        "customFields.tier": "gold",
    }
    assert rec.org_key == "org-1" and rec.manages_org
    again = record_from_json(rec.to_json(), line=1).record
    assert again is not None and again.hash == rec.hash


def test_json_record_refuses_unknown_kind_and_field() -> None:
    assert record_from_json({"kind": "lead", "externalId": "x"}, line=2).issues[0].field == "kind"
    issues = record_from_json({"kind": "contact", "externalId": "x", "twitterId": {}}, line=3).issues
    assert issues[0].field == "twitterId"
