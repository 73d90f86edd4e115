"""A bulk add's answer read only as far as matching it needs (pure): for callers that keep the
items' ids and errors but not the created records (the sync).

A bulk add answers each item with the whole created record (~1.3 KB of JSON a contact); matching
it to its request (:func:`~gcx.resources.bulk_mapping.map_by_content`) needs only its id and its
``externalIds``. :func:`read_add_answer` decodes the answer with msgspec into small structs (no
dict built, no key hashed) and matches it, **or gives up** (``None``) whenever the answer is not
the plain case in which the result is certainly the one the full path gives:

* the body must be one the full path (:func:`gcx.resources.core.decoded`) reads, and reads alike:
  ASCII or valid UTF-8; JSON as msgspec reads it (as strict as the standard library or stricter;
  a repeated key: the last one, as there); no object or array deeper than ``depth`` levels: every
  field of every object is one the structs below name (a record's usual fields, each of a type
  that nests no further), so nothing is skipped unread and nothing lies deeper than ``_DEPTH``;
* every result is a success without an error, whose record shows no ``identifiers`` (Genesys
  never shows them in a bulk answer) and whose ``externalIds`` name exactly one request, each
  request claimed by one result at most: then ``map_by_content`` assigns each result to that one
  request (its keyed match, without comparing fields), as here;
* every value read has the plain type (text ids and values, a boolean ``success``).

Anything else (a failure, an answer matched by its fields, a duplicate, an odd type, a field not
named here) is read again by the full path, which decides as it always has. An item's result is
then reduced to what the caller keeps: ``{"success": True, "id": ...}``, with the id the full
path would name.
"""

from __future__ import annotations

from collections.abc import Sequence
from types import GenericAlias
from typing import Any

import msgspec

from gcx.resources.bulk_mapping import external_keys


class _Lean(msgspec.Struct, forbid_unknown_fields=True, gc=False):
    """A part of an answer: every field it may hold is named (no field is skipped unread, so
    none can hide a deeper nesting), with a type that holds no deeper one."""


def _struct(name: str, fields: dict[str, Any]) -> Any:
    """A :class:`_Lean` struct of ``fields``, each of the type given or null (absent: ``None``),
    in the order answers usually give them (msgspec looks for each key from where it found the
    last one)."""
    spec = [(f, t, None) if t is None else (f, t | None, None) for f, t in fields.items()]
    return msgspec.defstruct(name, spec, bases=(_Lean,))


def _texts(names: str) -> dict[str, Any]:
    return dict.fromkeys(names.split(), str)


_Phone = _struct(
    "_Phone",
    _texts("display userInput e164 countryCode")
    | {"extension": int, "acceptsSMS": bool}
    | _texts("normalizationCountryCode"),
)
_Address = _struct("_Address", _texts("address1 address2 city state postalCode countryCode"))
_Ref = _struct("_Ref", _texts("id name selfUri") | {"active": bool})  # a division, an external source
_ExternalId = _struct("_ExternalId", {"externalSource": _Ref, "value": str})
#: An organization's own fields.
_ORGANIZATION = _texts("companyType industry") | {
    "phoneNumber": _Phone,
    "faxNumber": _Phone,
    "employeeCount": int,
    "revenue": int,
    "tags": list[str],
    "websites": list[str],
}
#: What contacts and organizations both show after their own fields. ``identifiers`` shown (even
#: empty): the full path decides how to compare.
_SHARED = {
    "externalSystemUrl": str,
    "externalIds": GenericAlias(list, (_ExternalId,)),  # list[_ExternalId]
    "identifiers": None,
    "division": _Ref,
    **_texts("createDate modifyDate"),
}
_Organization = _struct(
    "_Organization", _texts("id name") | _ORGANIZATION | {"address": _Address} | _SHARED | _texts("selfUri")
)
#: A created contact (its fields first) or organization.
_Record = _struct(
    "_Record",
    _texts("id firstName middleName lastName salutation title")
    | dict.fromkeys(("workPhone", "cellPhone", "homePhone", "otherPhone"), _Phone)
    | _texts("workEmail personalEmail otherEmail")
    | {"address": _Address, "surveyOptOut": bool}
    | _SHARED
    | _texts("type selfUri name")
    | {"externalOrganization": _Organization}
    | _ORGANIZATION,
)
# any error (even ``{}``, falsy): the full path
_Result = _struct("_Result", {"success": bool, "status": int, "id": str, "entity": _Record, "error": None})
_Body = _struct(
    "_Body", {"results": GenericAlias(list, (_Result,)), "errorCount": int, "errorIndexes": list[int]}
)


_BODY = msgspec.json.Decoder(_Body)
#: The deepest level these types reach: body, results, result, record, its organization, its
#: externalIds, one of them, its source.
_DEPTH = 8

#: What msgspec raises for a body it does not read as asked (the full path then says what it is).
_FAILED = (msgspec.DecodeError, RecursionError)


def read_add_answer(
    content: bytes, requests: Sequence[dict[str, Any]], depth: int
) -> list[dict[str, Any] | None] | None:
    """Each request's result (``None``: no result named it), or ``None`` when the answer needs
    the full path (see the module's docstring). ``depth``: the deepest level an answer may use."""
    if depth < _DEPTH or not content or (not content.isascii() and not _utf8(content)):
        return None
    try:
        body = _BODY.decode(content)
    except _FAILED:
        return None
    n = len(requests)
    keys = [external_keys(r, identifiers=False) for r in requests]  # what an answer can show of them
    by_key: dict[tuple[str, str], list[int]] = {}
    for i, request_keys in enumerate(keys):
        for key in request_keys:
            by_key.setdefault(key, []).append(i)
    assigned: list[dict[str, Any] | None] = [None] * n
    for result in body.results or ():
        entity = result.entity
        if not result.success or entity is None:  # a success without a record: left unmatched
            return None
        shown_ids = entity.externalIds
        if shown_ids is not None and len(shown_ids) == 1 and (value := shown_ids[0].value):
            # the usual record: one key; the one request holding it, and no other key
            src = shown_ids[0].externalSource
            holders = by_key.get(((src.id or "") if src is not None else "", value.strip()))
            if (
                holders is None
                or len(holders) != 1
                or len(keys[i := holders[0]]) != 1
                or assigned[i] is not None
            ):
                return None
            assigned[i] = {"success": True, "id": result.id or entity.id or None}
            continue
        shown: set[tuple[str, str]] = set()
        for ext in entity.externalIds or ():
            if value := ext.value:
                src = ext.externalSource
                shown.add(((src.id or "") if src is not None else "", value.strip()))
        found: set[int] = set()
        for key in shown:
            found.update(by_key.get(key, ()))
        cands = [i for i in found if keys[i] <= shown]
        if len(cands) != 1:
            return None
        i = cands[0]
        if assigned[i] is not None:
            return None
        assigned[i] = {"success": True, "id": result.id or entity.id or None}
    return assigned


def _utf8(content: bytes) -> bool:
    try:
        content.decode("utf-8")
    except UnicodeDecodeError:
        return False
    return True
