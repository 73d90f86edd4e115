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
from gcx.emulator.store import Record

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


def _ident(type_: str, value: Any) -> dict[str, Any] | None:
    if not isinstance(value, str) or not value.strip():
        return None
    return {"type": type_, "value": normalize_value(type_, value)}


def _ids(container: Any, key: str) -> list[Any]:
    items = container.get("ids") if isinstance(container, dict) else None
    return [i.get(key) for i in items if isinstance(i, dict)] if isinstance(items, list) else []


def field_identifiers(kind: str, record: Record | None, settings: EmulatorSettings) -> list[dict[str, Any]]:
    """The identifiers ``record``'s fields make under ``settings`` (no duplicates, in field order)."""
    if record is None:
        return []
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
