"""Which identifiers a record's fields make, and the normal form of an identifier's value.

Genesys' developer blog (single customer view, 2022-07-15): a contact written by POST or PUT
claims the identifiers corresponding to its named identifier fields (``cellPhone``,
``workEmail``, ...). Emails compare case-folded, phones by E.164 (the lookups need ``+`` and the
country code), social ids as given. Whether ``externalIds`` make ExternalId identifiers is not
documented: that is the ``claim_external_ids`` setting.
"""

from __future__ import annotations

from typing import Any

from gcx.emulator.kinds import CONTACTS
from gcx.emulator.schema import phone_e164
from gcx.emulator.settings import EmulatorSettings
from gcx.emulator.store import IdentifierKey, Record

EMAIL_FIELDS = ("workEmail", "personalEmail", "otherEmail")
PHONE_FIELDS = ("workPhone", "cellPhone", "homePhone", "otherPhone")


def normalize_value(type_: str, value: str) -> str:
    """The value two identifiers of ``type_`` are compared by (emails case-folded, phones E.164)."""
    text = value.strip()
    if type_ == "Email":
        return text.casefold()
    if type_ in ("Phone", "SocialWhatsapp") and text.startswith("+"):
        e164 = phone_e164(text, "US")
        if e164 is not None:
            return e164
    return text


#: The fields besides emails and phones that make identifiers (social ids, Apple ids).
_SOCIAL_FIELDS = frozenset(
    {"twitterId", "facebookId", "lineId", "instagramId", "whatsAppId", "appleOpaqueIds"}
)


#: ``IdentifierKey(type, value, source)`` without the named tuple's Python-level ``__new__``.
_new_key: Any = tuple.__new__

#: A found identifier's external source when it has none (an ExternalId's may be None).
_NO_SOURCE: Any = object()


def _ids(container: Any, key: str) -> list[Any]:
    items = container.get("ids") if isinstance(container, dict) else None
    return [i.get(key) for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def _social(record: Record) -> list[tuple[str, Any]]:
    """The (type, value as written) of the identifiers a contact's social fields make, in order."""
    found: list[tuple[str, Any]] = []
    twitter = record.get("twitterId")
    if isinstance(twitter, dict):
        found.append(("SocialTwitter", twitter.get("id") or twitter.get("screenName")))
    found.extend(("SocialFacebook", v) for v in _ids(record.get("facebookId"), "scopedId"))
    found.extend(("SocialLine", v) for v in _ids(record.get("lineId"), "userId"))
    found.extend(("SocialInstagram", v) for v in _ids(record.get("instagramId"), "scopedId"))
    instagram = record.get("instagramId")
    if isinstance(instagram, dict):
        found.append(("SocialInstagramHandle", instagram.get("handle")))
    whatsapp = record.get("whatsAppId")
    number = whatsapp.get("phoneNumber") if isinstance(whatsapp, dict) else None
    if isinstance(number, dict):
        found.append(("SocialWhatsapp", number.get("e164") or number.get("display")))
    for apple in record.get("appleOpaqueIds") or []:
        if isinstance(apple, dict):
            found.append(("AppleOpaqueId", apple.get("value")))
    return found


def field_identifiers(kind: str, record: Record | None, settings: EmulatorSettings) -> list[dict[str, Any]]:
    """The identifiers ``record``'s fields make under ``settings`` (no duplicates, in field order)."""
    return [ident for ident, _ in keyed_field_identifiers(kind, record, settings)]


def keyed_field_identifiers(
    kind: str, record: Record | None, settings: EmulatorSettings
) -> list[tuple[dict[str, Any], IdentifierKey]]:
    """:func:`field_identifiers`, each with its key (what ``identifier_key`` makes of it)."""
    if record is None:
        return []
    found: list[tuple[str, Any, Any]] = []  # (type, value as written, external source or _NO_SOURCE)
    if kind == CONTACTS and settings.derive_identifiers:
        get = record.get
        for name in EMAIL_FIELDS:
            email = get(name)
            if email is not None:
                found.append(("Email", email, _NO_SOURCE))
        for name in PHONE_FIELDS:
            phone = get(name)
            if isinstance(phone, dict):
                found.append(("Phone", phone.get("e164") or phone.get("display"), _NO_SOURCE))
        if not _SOCIAL_FIELDS.isdisjoint(record):
            found.extend((type_, value, _NO_SOURCE) for type_, value in _social(record))
    if settings.claim_external_ids:
        for ext in record.get("externalIds") or []:
            value = ext.get("value")
            if isinstance(value, str) and value.strip():
                found.append(("ExternalId", value, ext["externalSource"]))
    out: list[tuple[dict[str, Any], IdentifierKey]] = []
    seen: set[IdentifierKey] = set()
    for type_, value, source in found:
        if value.__class__ is not str and not isinstance(value, str):
            continue
        text = value.strip()
        if not text:
            continue
        # normalize_value's answer; an email's written out (the usual identifier)
        normal = text.casefold() if type_ == "Email" else normalize_value(type_, value)
        ident = {"type": type_, "value": normal}
        source_id = None
        if source is not _NO_SOURCE:
            ident["externalSource"] = source
            source_id = (source or {}).get("id")
        key = _new_key(IdentifierKey, (type_, normal, source_id))
        if key not in seen:
            seen.add(key)
            out.append((ident, key))
    return out
