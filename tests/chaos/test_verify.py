"""gcx_testkit.verify: the checks the chaos suite relies on, on hand-made states."""

from __future__ import annotations

from typing import Any

from gcx_testkit.verify import Expectation, find_secrets, keys_of, matches, verify

ORG_ID = "00000000-0000-4000-8000-000000000001"


def _org(rid: str = ORG_ID, key: str = "ORG-1", **fields: Any) -> dict[str, Any]:
    return {"id": rid, "name": "Acme", "identifiers": [{"type": "ExternalId", "value": key}], **fields}


def _contact(rid: str, key: str, **fields: Any) -> dict[str, Any]:
    body: dict[str, Any] = {
        "id": rid,
        "firstName": "Ada",
        "cellPhone": {"display": "+1 415-555-0100", "e164": "+14155550100"},
        "externalOrganization": {"id": ORG_ID},
        "externalIds": [{"externalSource": {"id": "src"}, "value": key}],
    }
    body.update(fields)
    return body


SOURCE = [
    {"kind": "organization", "externalId": "ORG-1", "name": "Acme"},
    {
        "kind": "contact",
        "externalId": "C-1",
        "organization": "ORG-1",
        "firstName": " Ada ",
        "cellPhone": "(415) 555-0100",
    },
]


def _state(*contacts: dict[str, Any], orgs: list[dict[str, Any]] | None = None) -> dict[str, Any]:
    return {"version": 1, "organizations": orgs if orgs is not None else [_org()], "contacts": list(contacts)}


def test_exact_state_passes_with_phone_by_e164_and_trimmed_strings() -> None:
    rep = verify(_state(_contact("c1", "C-1")), SOURCE)
    assert rep.ok, rep.describe()
    assert rep.present == {"organization": 1, "contact": 1}
    assert rep.fields_checked == 4  # org name; contact org link, firstName, cellPhone


def test_duplicates_are_counted_per_extra_record_and_every_copy_is_checked() -> None:
    rep = verify(_state(_contact("c1", "C-1"), _contact("c2", "C-1", firstName="Bob")), SOURCE)
    assert rep.duplicate_records == 1
    assert rep.duplicates == [{"kind": "contact", "externalId": "C-1", "ids": ["c1", "c2"]}]
    assert [(m.key, m.field, m.actual) for m in rep.mismatches] == [("C-1", "firstName", "Bob")]
    assert not rep.ok


def test_missing_record_and_wrong_organization_link() -> None:
    other = _org("00000000-0000-4000-8000-000000000002", "ORG-2")
    rep = verify(
        _state(_contact("c1", "C-1", externalOrganization={"id": other["id"]}), orgs=[_org(), other]), SOURCE
    )
    assert [(m.field, m.expected, m.actual) for m in rep.mismatches] == [("organization", "ORG-1", "ORG-2")]
    rep = verify(_state(), SOURCE)
    assert rep.missing == [("contact", "C-1")]


def test_lost_unmanaged_fields_and_kept_conflicts() -> None:
    contact = _contact("c1", "C-1", customFields={"note": "x"}, twitterId={"screenName": "ada", "id": "9"})
    expect = Expectation(
        unmanaged={("contact", "C-1"): {"customFields.note": "x", "twitterId": {"screenName": "ada"}}}
    )
    assert verify(_state(contact), SOURCE, expect).ok
    contact.pop("twitterId")
    rep = verify(_state(contact), SOURCE, expect)
    assert [(m.field, m.actual) for m in rep.lost] == [("twitterId", None)]
    # a conflict left in place: the person's value must win over the source's
    kept = Expectation(kept={("contact", "C-1"): {"firstName": "Set by a person"}})
    rep = verify(_state(_contact("c1", "C-1")), SOURCE, kept)
    assert [(m.field, m.expected, m.actual) for m in rep.mismatches] == [
        ("firstName", "Set by a person", "Ada")
    ]


def test_unexpected_records_and_invalid_rows_written() -> None:
    stray = _contact("c9", "C-9")
    rep = verify(_state(_contact("c1", "C-1"), stray), SOURCE, strict_extra=True)
    assert rep.unexpected == [{"kind": "contact", "externalId": "C-9", "reason": "not in the source"}]
    rep = verify(_state(_contact("c1", "C-1"), stray), SOURCE, Expectation(absent={("contact", "C-9")}))
    assert rep.unexpected[0]["reason"] == "an invalid source row was written"


def test_ledger_must_match_remote_state() -> None:
    state = _state(_contact("c1", "C-1"))
    good = [("organization", "ORG-1", ORG_ID), ("contact", "C-1", "c1")]
    assert verify(state, SOURCE, ledger=good).ok
    rep = verify(
        state, SOURCE, ledger=[("organization", "ORG-1", ORG_ID), ("contact", "C-1", "gone")], open_ops=2
    )
    assert rep.ledger == [
        "2 operation(s) still open (started or unknown)",
        "contact 'C-1' -> gone: no such record in Genesys",
    ]
    rep = verify(state, SOURCE, ledger=[("organization", "ORG-1", ORG_ID)])
    assert rep.ledger == ["contact 'C-1': synced but not in the ledger"]
    two = _state(_contact("c1", "C-1"), _contact("c2", "C-2"))
    rep = verify(two, SOURCE, ledger=[("organization", "ORG-1", ORG_ID), ("contact", "C-1", "c2")])
    assert rep.ledger == ["contact 'C-1' -> c2: that record does not hold the ExternalId"]


def test_keys_and_matching_rules() -> None:
    body = {
        "identifiers": [{"type": "ExternalId", "value": "K1"}, {"type": "Email", "value": "a@b.c"}],
        "externalIds": [{"externalSource": {"id": "other"}, "value": "K2"}],
    }
    assert keys_of(body) == {"K1", "K2"}
    assert keys_of(body, "mine") == {"K1"}
    assert matches("workEmail", "Ada@Example.com", "ada@example.com")
    assert matches("homePhone", "+442079460123", {"display": "+44 20 7946 0123"})
    assert not matches("homePhone", "+442079460123", {"display": "+44 20 7946 0124"})
    assert matches("customFields.n", 5, "5")
    assert matches("tags", [" a", "b "], ["a", "b"])
    assert not matches("twitterId", {"screenName": "x"}, "x")
    assert matches("title", "  ", None)


def test_find_secrets_reports_where_never_what() -> None:
    secret, token = "canary-SECRET-123456", "tok_abcdefghijklmnop"
    texts = {
        "clean.log": "GET /x Authorization: Bearer ***",
        "run.err": f"oops {secret} and {token}",
        "raw.txt": b"Authorization: Bearer zzzzzzzzzzzz",
    }
    leaks = find_secrets(texts, [secret], tokens=[token])
    assert sorted((leak.where, leak.what) for leak in leaks) == [
        ("raw.txt", "an unmasked 'Bearer' credential"),
        ("run.err", "bearer token #1"),
        ("run.err", "secret #1"),
    ]
    assert all(secret not in str(leak) and token not in str(leak) for leak in leaks)
