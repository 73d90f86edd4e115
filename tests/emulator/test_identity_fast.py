"""The write path's fast rules against the plain ones they replace: the identifiers a record's
fields make (:func:`field_identifiers`, which skips absent fields) as the field-by-field walk
below, with the keys :func:`keyed_field_identifiers` gives them, and a new record's id (:func:`uuid4_text`) as ``uuid.UUID(..., version=4)``."""

from __future__ import annotations

import uuid
from typing import Any

from hypothesis import given, settings
from hypothesis import strategies as st

from gcx.emulator.kinds import CONTACTS, ORGS
from gcx.emulator.rules.cleaning import identifier_key
from gcx.emulator.rules.identity import (
    EMAIL_FIELDS,
    PHONE_FIELDS,
    field_identifiers,
    keyed_field_identifiers,
    normalize_value,
)
from gcx.emulator.rules.writes import uuid4_text
from gcx.emulator.settings import EmulatorSettings


def _ident(type_: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return {"type": type_, "value": normalize_value(type_, value)}


def _ids(container: Any, key: str) -> list[Any]:
    items = container.get("ids") if isinstance(container, dict) else None
    return [i.get(key) for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def reference(kind: str, record: dict[str, Any], settings: EmulatorSettings) -> list[dict[str, Any]]:
    """The identifiers a record's fields make, every field asked in turn (the rule as written)."""
    found: list[dict[str, Any] | None] = []
    if kind == CONTACTS and settings.derive_identifiers:
        found.extend(_ident("Email", record.get(name)) for name in EMAIL_FIELDS)
        for name in PHONE_FIELDS:
            phone = record.get(name)
            if isinstance(phone, dict):
                found.append(_ident("Phone", phone.get("e164") or phone.get("display")))
        twitter = record.get("twitterId")
        if isinstance(twitter, dict):
            found.append(_ident("SocialTwitter", twitter.get("id") or twitter.get("screenName")))
        found.extend(_ident("SocialFacebook", v) for v in _ids(record.get("facebookId"), "scopedId"))
        found.extend(_ident("SocialLine", v) for v in _ids(record.get("lineId"), "userId"))
        found.extend(_ident("SocialInstagram", v) for v in _ids(record.get("instagramId"), "scopedId"))
        instagram = record.get("instagramId")
        if isinstance(instagram, dict):
            found.append(_ident("SocialInstagramHandle", instagram.get("handle")))
        whatsapp = record.get("whatsAppId")
        number = whatsapp.get("phoneNumber") if isinstance(whatsapp, dict) else None
        if isinstance(number, dict):
            found.append(_ident("SocialWhatsapp", number.get("e164") or number.get("display")))
        for apple in record.get("appleOpaqueIds") or []:
            if isinstance(apple, dict):
                found.append(_ident("AppleOpaqueId", apple.get("value")))
    if settings.claim_external_ids:
        for ext in record.get("externalIds") or []:
            ident = _ident("ExternalId", ext.get("value"))
            if ident is not None:
                ident["externalSource"] = ext["externalSource"]
                found.append(ident)
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str, str | None]] = set()
    for ident in found:
        if ident is None:
            continue
        key = (ident["type"], ident["value"], (ident.get("externalSource") or {}).get("id"))
        if key not in seen:
            seen.add(key)
            out.append(ident)
    return out


TEXT = st.sampled_from(["", " ", "a@Example.com", "A@example.COM ", "+1 617 555 0100", "+16175550100", "x1"])
VALUE = TEXT | st.none() | st.integers(0, 3)
PHONE = st.fixed_dictionaries({}, optional={"display": VALUE, "e164": VALUE})
IDS = st.fixed_dictionaries(
    {}, optional={"ids": st.lists(st.dictionaries(st.sampled_from(["scopedId", "userId"]), VALUE))}
)
SOURCE = st.none() | st.fixed_dictionaries({"id": st.sampled_from(["s1", "s2"])})
FIELDS: dict[str, Any] = {
    **{name: VALUE for name in EMAIL_FIELDS},
    **{name: PHONE | VALUE for name in PHONE_FIELDS},
    "twitterId": st.fixed_dictionaries({}, optional={"id": VALUE, "screenName": VALUE}) | VALUE,
    "facebookId": IDS,
    "lineId": IDS,
    "instagramId": st.fixed_dictionaries(
        {}, optional={"ids": IDS.map(lambda d: d.get("ids", [])), "handle": VALUE}
    ),
    "whatsAppId": st.fixed_dictionaries({}, optional={"phoneNumber": PHONE | VALUE}),
    "appleOpaqueIds": st.lists(st.fixed_dictionaries({}, optional={"value": VALUE}) | VALUE),
    "externalIds": st.lists(st.fixed_dictionaries({"externalSource": SOURCE}, optional={"value": VALUE})),
    "firstName": VALUE,
}
RECORDS = st.fixed_dictionaries({}, optional=FIELDS)


@settings(max_examples=800, deadline=None)
@given(RECORDS, st.sampled_from([CONTACTS, ORGS]), st.booleans(), st.booleans())
def test_field_identifiers_answer_as_the_field_by_field_rule(
    record: dict[str, Any], kind: str, derive: bool, external: bool
) -> None:
    rules = EmulatorSettings(derive_identifiers=derive, claim_external_ids=external)
    assert field_identifiers(kind, record, rules) == reference(kind, record, rules)


@settings(max_examples=500, deadline=None)
@given(RECORDS, st.sampled_from([CONTACTS, ORGS]), st.booleans(), st.booleans())
def test_keyed_field_identifiers_key_each_as_identifier_key(
    record: dict[str, Any], kind: str, derive: bool, external: bool
) -> None:
    """The keys the write plan claims by are those ``identifier_key`` makes of the identifiers."""
    rules = EmulatorSettings(derive_identifiers=derive, claim_external_ids=external)
    keyed = keyed_field_identifiers(kind, record, rules)
    assert [ident for ident, _ in keyed] == field_identifiers(kind, record, rules)
    for ident, key in keyed:
        assert key == identifier_key(ident)
        assert type(key) is type(identifier_key(ident))


@settings(max_examples=300, deadline=None)
@given(st.binary(min_size=16, max_size=16))
def test_record_ids_are_uuid4_texts(raw: bytes) -> None:
    assert uuid4_text(raw) == str(uuid.UUID(bytes=raw, version=4))


@settings(max_examples=300, deadline=None)
@given(
    st.booleans(),
    st.booleans(),
    st.booleans(),
    st.sampled_from(["Email", "ExternalId"]),
    st.lists(st.sampled_from(["r1", "r2", "new"]), max_size=3),
    st.lists(st.sampled_from(["r1", "r2"]), max_size=1),
)
def test_plan_claims_as_held_elsewhere_decides(
    unique: bool, keep: bool, required: bool, type_: str, held_by: list[str], ignore: list[str]
) -> None:
    """The write plan's inline test of another holder answers as :meth:`Writes.held_elsewhere`:
    an identifier held elsewhere is left (kept, soft) or a 409; a free one is claimed."""
    from gcx.emulator.errors import EmulatorError
    from gcx.emulator.rules.state import State
    from gcx.emulator.rules.writes import Writes
    from gcx.emulator.store import IdentifierKey

    state = State(
        EmulatorSettings(
            unique_external_ids=unique,
            write_claim_conflict="keep" if keep else "reject",
            claim_body_identifiers=True,
        )
    )
    writes = Writes(state)
    source = "s1" if type_ == "ExternalId" else None
    key = IdentifierKey(type_, "v", source)
    for holder in held_by:
        state.store.add_identifier(CONTACTS, key, holder)
    ident: dict[str, Any] = {"type": type_, "value": "v"}
    if source is not None:
        ident["externalSource"] = {"id": source}
    elsewhere = writes.held_elsewhere(CONTACTS, key, {"new", *ignore})
    body, claims = ([], [ident]) if required else ([ident], [])
    try:
        plan = writes.plan(CONTACTS, {}, None, body, claims=claims, record_id="new", ignore_holders=ignore)
    except EmulatorError as err:
        assert elsewhere and (required or not keep) and err.status == 409
        return
    assert plan.claim == ([] if elsewhere else [key])
    assert not elsewhere or (keep and not required)
