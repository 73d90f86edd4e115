"""The fields sync can manage, how they are validated, normalised, compared and written.

A *managed value* is addressed by a dot path in API names (``firstName``,
``address.city``, ``cellPhone``, ``customFields.tier``). Values are kept flat and
normalised so that a value read back from Genesys compares equal to the value gcx wrote:

* strings are trimmed (the server trims), and an empty string is "no value" (``None``);
* phones are E.164 strings (the server rewrites ``display``; ``e164`` is stable);
* emails compare case-insensitively (the server keeps case; a case-only difference is
  not worth a write, so the remote spelling is kept);
* ``tags``/``websites`` are lists of trimmed strings, compared in order.

Everything here is pure: no I/O.
"""

from __future__ import annotations

import copy
import functools
import math
import re
import unicodedata
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any, Literal

from email_validator import EmailNotValidError, validate_email

from gcx.merge import get_path
from gcx.phones import clear_cache as clear_phone_cache
from gcx.phones import phone_region, read_phone

Kind = Literal["organization", "contact"]
KINDS: tuple[Kind, Kind] = ("organization", "contact")

FieldType = Literal["str", "email", "phone", "url", "int", "bool", "list", "custom"]


@dataclass(frozen=True)
class FieldSpec:
    """What a managed path accepts. ``max_len`` comes from the API spec's descriptions."""

    path: str
    type: FieldType
    max_len: int | None = None
    required: bool = False


def _specs(*items: FieldSpec) -> dict[str, FieldSpec]:
    return {s.path: s for s in items}


_ADDRESS = (
    FieldSpec("address.address1", "str", 200),
    FieldSpec("address.address2", "str", 200),
    FieldSpec("address.city", "str", 100),
    FieldSpec("address.state", "str", 50),
    FieldSpec("address.postalCode", "str", 25),
    FieldSpec("address.countryCode", "str", 25),
)

CONTACT_FIELDS: dict[str, FieldSpec] = _specs(
    FieldSpec("firstName", "str", 1000),
    FieldSpec("middleName", "str", 1000),
    FieldSpec("lastName", "str", 1000),
    FieldSpec("salutation", "str", 1000),
    FieldSpec("title", "str", 1000),
    FieldSpec("workPhone", "phone", 512),
    FieldSpec("cellPhone", "phone", 512),
    FieldSpec("homePhone", "phone", 512),
    FieldSpec("otherPhone", "phone", 512),
    FieldSpec("workEmail", "email", 256),
    FieldSpec("personalEmail", "email", 256),
    FieldSpec("otherEmail", "email", 256),
    *_ADDRESS,
    FieldSpec("surveyOptOut", "bool"),
    FieldSpec("externalSystemUrl", "url", 1000),
)

ORGANIZATION_FIELDS: dict[str, FieldSpec] = _specs(
    FieldSpec("name", "str", 1000, required=True),
    FieldSpec("companyType", "str", 1000),
    FieldSpec("industry", "str", 1000),
    *_ADDRESS,
    FieldSpec("phoneNumber", "phone", 512),
    FieldSpec("faxNumber", "phone", 512),
    FieldSpec("employeeCount", "int"),
    FieldSpec("revenue", "int"),
    FieldSpec("tags", "list", 1000),
    FieldSpec("websites", "list", 1000),
    FieldSpec("externalSystemUrl", "url", 1000),
)

FIELDS: dict[Kind, dict[str, FieldSpec]] = {"organization": ORGANIZATION_FIELDS, "contact": CONTACT_FIELDS}

#: Max length of an ExternalId value (identifier value limit in the spec).
KEY_MAX_LEN = 255
#: The contact's organization reference, managed like a field (its value is the org's ExternalId).
ORG_REF = "organization"


class FieldError(ValueError):
    """A value that cannot be synced. ``field`` is the API path."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field = field
        self.reason = reason


@functools.lru_cache(maxsize=4096)
def field_spec(kind: Kind, path: str) -> FieldSpec:
    """The spec for ``path`` on ``kind``; ``customFields.<name>`` is accepted for both kinds."""
    specs = FIELDS[kind]
    if path in specs:
        return specs[path]
    if path.startswith("customFields.") and len(path) > len("customFields."):
        return FieldSpec(path, "custom")
    known = ", ".join(sorted(specs))
    raise FieldError(path, f"not a field sync can manage on a {kind} (known: {known}, customFields.<name>)")


# --------------------------------------------------------------------------- normalising input


def normalize_phone(raw: str, default_country: str | None) -> str:
    """``'(555) 010-0100'`` + ``'US'`` -> ``'+15550100100'``; raises ``ValueError`` if unreadable.

    The reading (:func:`gcx.phones.read_phone`, the expensive part of validating a record) is
    cached per (number as written, country it is read with).
    """
    return _phone(raw.strip(), default_country)


def _phone(text: str, default_country: str | None) -> str:
    """:func:`normalize_phone` of text already trimmed."""
    e164, error = read_phone(text, phone_region(text, default_country))
    if e164 is None:
        raise ValueError(f"cannot read phone number {text!r}: {error}")
    return e164


#: A plain dot-atom local part (RFC 5322), which email-validator accepts as it is.
_DOT_ATOM = re.compile(r"[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+(?:\.[A-Za-z0-9!#$%&'*+/=?^_`{|}~-]+)*")


@functools.lru_cache(maxsize=8192)
def _domain_error(domain: str) -> str | None:
    """email-validator's verdict on a domain (cached: a source has few distinct domains)."""
    try:
        validate_email(f"a@{domain}", check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def check_email(raw: str) -> str:
    """Syntax check with email-validator (no DNS). A plain ASCII local part only needs its
    domain checked, and domains repeat: that verdict is cached (same result, far faster)."""
    local, at, domain = raw.rpartition("@")
    if at and len(local) <= 64 and len(raw) <= 254 and _DOT_ATOM.fullmatch(local):
        error = _domain_error(domain)
        if error is None:
            return raw
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email {raw!r}: {exc}") from None
    return raw


def to_value(spec: FieldSpec, raw: Any, *, phone_country: str | None = None) -> Any:
    """Validate and normalise a source value for ``spec``. ``None``/empty means "no value".

    Raises :class:`FieldError` naming the field and the reason.
    """
    try:
        if type(raw) is str and spec.type in _TEXT_TYPES:  # the common case: _to_value's first test
            return _text_value(spec, raw, phone_country)
        if raw is None:
            return _none(spec)
        return _to_value(spec, raw, phone_country)
    except FieldError:
        raise
    except ValueError as exc:
        raise FieldError(spec.path, str(exc)) from None


#: The types whose value, given as text, :func:`_text_value` reads (without a type test first).
_TEXT_TYPES = frozenset({"str", "email", "phone"})


def _to_value(spec: FieldSpec, raw: Any, phone_country: str | None) -> Any:
    # the API's form of a phone: {"display": ...} (a plain dict skips the ABC check)
    if spec.type == "phone" and (type(raw) is dict or isinstance(raw, Mapping)):
        raw = raw.get("display") or raw.get("e164")
        if raw is None:
            return _none(spec)
    if isinstance(raw, str) and spec.type in _TEXT_TYPES:
        # the common case first: no type tests needed
        return _text_value(spec, raw, phone_country)
    if spec.type == "list":
        items = raw if isinstance(raw, list) else [p for p in str(raw).split(";")]
        out = [str(i).strip() for i in items if i is not None and str(i).strip()]
        for item in out:
            _check_len(spec, item)
        return out or None
    if spec.type == "int":
        if isinstance(raw, bool):
            raise ValueError(f"expected a whole number, got {raw!r}")
        if isinstance(raw, int):
            return raw
        text = str(raw).strip().replace(",", "").replace("_", "")
        if not text:
            return _none(spec)
        try:
            return int(float(text)) if text.endswith(".0") else int(text)
        except ValueError:
            raise ValueError(f"expected a whole number, got {raw!r}") from None
    if spec.type == "bool":
        if isinstance(raw, bool):
            return raw
        text = str(raw).strip().lower()
        if not text:
            return _none(spec)
        if text in {"true", "yes", "y", "1", "t"}:
            return True
        if text in {"false", "no", "n", "0", "f"}:
            return False
        raise ValueError(f"expected true/false, got {raw!r}")
    if spec.type == "custom":
        if isinstance(raw, float) and not math.isfinite(raw):
            raise ValueError(f"{raw} is not a JSON number (only finite numbers can be sent)")
        if isinstance(raw, bool | int | float):
            return raw
        if isinstance(raw, str):
            return raw.strip() or None
        raise ValueError(f"custom field values must be text, numbers or booleans, got {type(raw).__name__}")
    if not isinstance(raw, str | int | float) or isinstance(raw, bool):
        raise ValueError(f"expected text, got {type(raw).__name__}")
    return _text_value(spec, str(raw), phone_country)


def _text_value(spec: FieldSpec, raw: str, phone_country: str | None) -> Any:
    """A text-like value: trimmed, length-checked, then checked as its type (email, phone, URL)."""
    text = raw.strip()
    if not text:
        return _none(spec)
    if spec.max_len is not None and len(text) > spec.max_len:
        _check_len(spec, text)
    if spec.type == "email":
        return check_email(text)
    if spec.type == "phone":
        return _phone(text, phone_country)
    if spec.type == "url":
        lowered = text.lower()
        if not (lowered.startswith("http://") or lowered.startswith("https://")) or len(text) < 9:
            raise ValueError(f"expected an http(s) URL, got {text!r}")
    return text


def _none(spec: FieldSpec) -> None:
    if spec.required:
        raise FieldError(spec.path, "is required")
    return None


def _check_len(spec: FieldSpec, text: str) -> None:
    if spec.max_len is not None and len(text) > spec.max_len:
        raise FieldError(spec.path, f"is {len(text)} characters long (at most {spec.max_len})")


def normal_key(text: str) -> str:
    """The form every ExternalId is compared and stored in: trimmed, Unicode NFC.

    ``José`` typed with a precomposed é (NFC) or e + combining accent (NFD) is one key: one
    record, never a duplicate and a prune. NFC is what most systems (and keyboards) produce."""
    text = text.strip()
    return text if text.isascii() else unicodedata.normalize("NFC", text)


def check_key(raw: Any) -> str:
    """Validate an ExternalId (source key); returns it in :func:`normal_key` form."""
    if type(raw) is str and raw.isascii():  # the common case: NFC already; the same checks
        key = raw.strip()
        if key and len(key) <= KEY_MAX_LEN:
            return key
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise FieldError("externalId", "is missing (every record needs its source key)")
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise FieldError("externalId", f"must be text, got {type(raw).__name__}")
    key = normal_key(str(raw))
    if len(key) > KEY_MAX_LEN:
        raise FieldError("externalId", f"is {len(key)} characters long (at most {KEY_MAX_LEN})")
    return key


# --------------------------------------------------------------------------- reading remote values


def remote_value(kind: Kind, path: str, body: Mapping[str, Any]) -> Any:
    """The normalised value of ``path`` in a record read from Genesys."""
    spec = field_spec(kind, path)
    raw = get_path(body, path)
    if raw is None:
        return None
    if spec.type == "phone":
        if isinstance(raw, Mapping):
            e164 = raw.get("e164")
            if isinstance(e164, str) and e164:
                return e164
            display = raw.get("display")
            if not isinstance(display, str) or not display.strip():
                return None
            try:
                return normalize_phone(display, raw.get("normalizationCountryCode") or "US")
            except ValueError:
                return display.strip()
        return str(raw).strip() or None
    if spec.type == "list":
        if not isinstance(raw, list):
            return None
        items = [str(i).strip() for i in raw if i is not None and str(i).strip()]
        return items or None
    if isinstance(raw, str):
        return raw.strip() or None
    return raw


def same(kind: Kind, path: str, a: Any, b: Any) -> bool:
    """Are two normalised values equal for sync purposes?"""
    if a is None or b is None:
        return a is None and b is None
    spec = field_spec(kind, path)
    if spec.type == "email" and isinstance(a, str) and isinstance(b, str):
        return a.casefold() == b.casefold()
    if spec.type == "custom" and type(a) is not type(b):
        return str(a) == str(b)
    return bool(a == b)


# --------------------------------------------------------------------------- writing values


_PHONE_KEEP = ("extension", "acceptsSMS")


@functools.lru_cache(maxsize=4096)
def _place(kind: Kind, path: str) -> tuple[tuple[str, ...], str, str]:
    """Where ``path`` is written in a body: (parent keys, leaf key, field type); read once."""
    *parents, leaf = path.split(".")
    return tuple(parents), leaf, field_spec(kind, path).type


def set_path(body: dict[str, Any], kind: Kind, path: str, value: Any) -> None:
    """Write normalised ``value`` (``None`` removes) at ``path`` in an API body, in place.

    Siblings are kept: changing ``address.city`` keeps ``address.address1``; changing a
    phone keeps its ``extension`` and ``acceptsSMS``.
    """
    parents, leaf, kind_of = _place(kind, path)
    parent: dict[str, Any] = body
    for part in parents:
        child = parent.get(part)
        if not isinstance(child, dict):
            if value is None:
                return
            child = {}
            parent[part] = child
        parent = child
    if value is None:
        parent.pop(leaf, None)
        return
    if kind_of == "phone":
        old = parent.get(leaf)
        if isinstance(old, dict):
            parent[leaf] = {"display": value, **{k: old[k] for k in _PHONE_KEEP if k in old}}
        else:
            parent[leaf] = {"display": value}
        return
    parent[leaf] = copy.deepcopy(value) if isinstance(value, list) else value


def clear_caches() -> None:
    """Forget the cached verdicts (phones, email domains, field specs): they are bounded, and
    only a measurement of memory from a cold start needs this."""
    clear_phone_cache()
    _domain_error.cache_clear()
    field_spec.cache_clear()
    _place.cache_clear()
