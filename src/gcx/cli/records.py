"""Pure input handling for the record commands: documents, change sets, local validation.

Nothing here does I/O beyond reading the ``--file`` the user named, so every rule is tested
without a server. Every error names the record (``contacts.jsonl line 3``, ``--work-email``)
and the field.
"""

from __future__ import annotations

import json
import sys
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import IO, Any
from urllib.parse import urlsplit

from pydantic import ValidationError as PydanticValidationError

from gcx.cli.context import CliError
from gcx.errors import ValidationError
from gcx.merge import get_path
from gcx.models import ExternalContact, ExternalOrganization
from gcx.models.base import ApiModel
from gcx.phones import NOT_POSSIBLE, phone_region, read_phone

EMAIL_FIELDS = ("workEmail", "personalEmail", "otherEmail")
PHONE_FIELDS = ("workPhone", "cellPhone", "homePhone", "otherPhone", "phoneNumber", "faxNumber")

#: Length limits from the spec's field descriptions (dot paths).
MAX_LENGTHS: dict[str, int] = {
    "firstName": 1000,
    "middleName": 1000,
    "lastName": 1000,
    "salutation": 1000,
    "title": 1000,
    "name": 1000,
    "workEmail": 256,
    "personalEmail": 256,
    "otherEmail": 256,
    "externalSystemUrl": 1000,
    "address.address1": 200,
    "address.address2": 200,
    "address.city": 100,
    "address.state": 50,
    "address.postalCode": 25,
    "address.countryCode": 25,
    **{f"{p}.display": 512 for p in PHONE_FIELDS},
}


# --------------------------------------------------------------------------- documents


@dataclass(frozen=True)
class Document:
    """One record read from a file: where it came from (for messages) and its JSON object."""

    label: str
    data: dict[str, Any]


def read_text(path: str, stdin: IO[str] | None = None) -> tuple[str, str]:
    """``(name, text)`` of ``path``, or of stdin when ``path`` is ``-``."""
    if path == "-":
        return "stdin", (stdin or sys.stdin).read().removeprefix("\ufeff")
    file = Path(path)
    try:
        # utf-8-sig: a byte-order mark (as some editors and Excel write) is not part of the data.
        return file.name, file.read_text(encoding="utf-8-sig")
    except FileNotFoundError:
        raise CliError(f"cannot read {path}: no such file") from None
    except IsADirectoryError:
        raise CliError(f"cannot read {path}: it is a directory") from None
    except UnicodeDecodeError as exc:
        raise CliError(f"cannot read {path}: not UTF-8 text ({exc.reason} at byte {exc.start})") from None
    except OSError as exc:
        raise CliError(f"cannot read {path}: {exc.strerror or exc}") from None


def parse_documents(name: str, text: str) -> list[Document]:
    """A JSON object, a JSON array of objects, or JSON Lines (one object per line).

    Raises :class:`ValidationError` naming the file, the line (or item) and the JSON error.
    """
    if not text.strip():
        raise ValidationError(
            f"{name} is empty: expected a JSON object, a JSON array or JSON Lines", record=name
        )
    lines = [(n, line) for n, line in enumerate(text.splitlines(), start=1) if line.strip()]
    try:
        whole = json.loads(text)
    except json.JSONDecodeError as exc:
        if len(lines) > 1 and _parses(lines[0][1]):
            return [_document(f"{name} line {n}", _loads_line(name, n, line)) for n, line in lines]
        raise ValidationError(
            f"{name}: invalid JSON at line {exc.lineno} column {exc.colno}: {exc.msg}", record=name
        ) from None
    if isinstance(whole, list):
        return [_document(f"{name} item {i}", item) for i, item in enumerate(whole, start=1)]
    return [_document(name, whole)]


def _parses(line: str) -> bool:
    try:
        json.loads(line)
    except json.JSONDecodeError:
        return False
    return True


def _loads_line(name: str, number: int, line: str) -> Any:
    try:
        return json.loads(line)
    except json.JSONDecodeError as exc:
        raise ValidationError(
            f"{name} line {number}: invalid JSON at column {exc.colno}: {exc.msg}",
            record=f"{name} line {number}",
        ) from None


def _document(label: str, value: Any) -> Document:
    if not isinstance(value, dict):
        raise ValidationError(f"{label}: expected a JSON object, got {type(value).__name__}", record=label)
    return Document(label, value)


def read_documents(path: str, stdin: IO[str] | None = None) -> list[Document]:
    """Read and parse ``--file PATH`` (``-`` for stdin)."""
    name, text = read_text(path, stdin)
    return parse_documents(name, text)


# --------------------------------------------------------------------------- change sets


def parse_assignments(values: Iterable[str], *, option: str) -> dict[str, Any]:
    """``PATH=text`` (a string) or ``PATH:=json`` (typed JSON) assignments into a change set."""
    out: dict[str, Any] = {}
    for raw in values:
        if ":=" in raw and ("=" not in raw or raw.index(":=") < raw.index("=")):
            path, _, value_text = raw.partition(":=")
            try:
                value: Any = json.loads(value_text)
            except json.JSONDecodeError as exc:
                raise ValidationError(
                    f"{option} {raw!r}: the value after ':=' must be JSON ({exc.msg})", field=path.strip()
                ) from None
        elif "=" in raw:
            path, _, value = raw.partition("=")
        else:
            raise ValidationError(
                f"{option} {raw!r}: expected PATH=VALUE (text) or PATH:=JSON, e.g. address.city=Paris",
                field=raw,
            )
        path = path.strip()
        if not path:
            raise ValidationError(f"{option} {raw!r}: the field path is empty", field=raw)
        if path in out:
            raise ValidationError(f"{option}: field {path!r} is given twice", field=path)
        out[path] = value
    return out


def flatten_changes(doc: Mapping[str, Any], prefix: str = "") -> dict[str, Any]:
    """A partial nested record as a change set: ``{"address": {"city": "X"}}`` -> ``{"address.city": "X"}``.

    Lists, empty objects and ``null`` are leaves (``null`` removes the field).
    """
    out: dict[str, Any] = {}
    for key, value in doc.items():
        path = f"{prefix}{key}"
        if isinstance(value, Mapping) and value:
            out.update(flatten_changes(value, path + "."))
        else:
            out[path] = value
    return out


def build_record(changes: Mapping[str, Any]) -> dict[str, Any]:
    """A nested record from a change set of dot paths (``None`` values are left out)."""
    record: dict[str, Any] = {}
    for path, value in changes.items():
        if value is None:
            continue
        parts = path.removeprefix("$.").split(".")
        target = record
        for part in parts[:-1]:
            child = target.setdefault(part, {})
            if not isinstance(child, dict):
                raise ValidationError(f"field {path!r} conflicts with {part!r}", field=path)
            target = child
        target[parts[-1]] = value
    return record


# --------------------------------------------------------------------------- validation


def _pydantic_errors(model: type[ApiModel], data: Mapping[str, Any], record: str) -> None:
    try:
        model.model_validate(data)
    except PydanticValidationError as exc:
        first = exc.errors()[0]
        path = ".".join(str(p) for p in first["loc"])
        raise ValidationError(
            f"{record}: field {path}: {first['msg']} (got {first.get('input')!r})", field=path, record=record
        ) from None


def validate_fields(kind: str, data: Mapping[str, Any], *, record: str) -> None:
    """Check the values present in ``data`` (types, emails, URLs, lengths); raise on the first bad one."""
    model: type[ApiModel] = ExternalContact if kind == "contact" else ExternalOrganization
    _pydantic_errors(model, data, record)
    for field in EMAIL_FIELDS:
        value = data.get(field)
        if value is None:
            continue
        from email_validator import EmailNotValidError, validate_email  # imported when needed: slow

        try:
            validate_email(str(value), check_deliverability=False)
        except EmailNotValidError as exc:
            raise ValidationError(
                f"{record}: field {field}: {value!r} is not a valid email address ({exc})",
                field=field,
                record=record,
            ) from None
    url = data.get("externalSystemUrl")
    if url is not None:
        parts = urlsplit(str(url).strip())
        if parts.scheme not in {"http", "https"} or not parts.netloc:
            raise ValidationError(
                f"{record}: field externalSystemUrl: {url!r} is not an http(s) URL",
                field="externalSystemUrl",
                record=record,
            )
    for path, limit in MAX_LENGTHS.items():
        value = get_path(data, path)
        if isinstance(value, str) and len(value.strip()) > limit:
            raise ValidationError(
                f"{record}: field {path}: {len(value.strip())} characters, at most {limit} allowed",
                field=path,
                record=record,
            )


def unknown_field(kind: str, path: str) -> str | None:
    """The leading part of a dot ``path`` that is no field of a ``kind`` record (``None``: known).

    Below a map or a list (``customFields.tier``) any name goes: the API defines those keys."""
    from pydantic import BaseModel

    from gcx.cli.columns import field_types

    parts = path.split(".")
    current: Any = ExternalContact if kind == "contact" else ExternalOrganization
    for i, part in enumerate(parts):
        if not (isinstance(current, type) and issubclass(current, BaseModel)):
            return None
        names = {(info.alias or name): name for name, info in current.model_fields.items()}
        if part not in names:
            return ".".join(parts[: i + 1])
        current = field_types(current)[names[part]]
    return None


def validate_new_record(kind: str, data: Mapping[str, Any], *, record: str) -> None:
    """A record about to be created (or to replace one): field checks plus required fields."""
    if kind == "organization" and not str(data.get("name") or "").strip():
        raise ValidationError(
            f"{record}: field name: an organization needs a name", field="name", record=record
        )
    validate_fields(kind, data, record=record)


#: Fields the server owns: dropped from a record before it is created.
SERVER_FIELDS = ("id", "selfUri", "createDate", "modifyDate", "type", "mergeSet", "mergedFrom", "mergedTo")


def strip_server_fields(data: Mapping[str, Any]) -> tuple[dict[str, Any], list[str]]:
    """``data`` without the fields the server owns (e.g. a record from ``gcx export``), and their names."""
    removed = [k for k in SERVER_FIELDS if k in data]
    return {k: v for k, v in data.items() if k not in SERVER_FIELDS}, removed


def validate_changes(kind: str, changes: Mapping[str, Any], *, record: str) -> None:
    """A change set for a safe update: the values it sets are checked, removals of required fields refused."""
    if kind == "organization" and "name" in changes and not str(changes["name"] or "").strip():
        raise ValidationError(
            f"{record}: field name: an organization needs a name", field="name", record=record
        )
    validate_fields(kind, build_record(changes), record=record)


# --------------------------------------------------------------------------- identifiers


def normalize_phone(value: str, country: str | None, *, field: str = "phone") -> str:
    """A phone number in E.164 (``+33123456789``); needs ``+`` and the country code, or ``country``."""
    text = value.strip()
    e164, why = read_phone(text, phone_region(text, country))
    if e164 is not None:
        return e164
    if why == NOT_POSSIBLE:
        raise ValidationError(f"{field}: {value!r} is not a possible phone number", field=field)
    hint = (
        "" if text.startswith("+") or country else " (start with + and the country code, or pass --country)"
    )
    raise ValidationError(f"{field}: {value!r} is not a phone number: {why}{hint}", field=field)


def normalize_email(value: str, *, field: str = "email") -> str:
    from email_validator import EmailNotValidError, validate_email

    try:
        return str(validate_email(value.strip(), check_deliverability=False).normalized)
    except EmailNotValidError as exc:
        raise ValidationError(
            f"{field}: {value!r} is not a valid email address ({exc})", field=field
        ) from None


def check_identifier_type(value: str, allowed: Sequence[str]) -> str:
    """The canonical spelling of an identifier type (case-insensitive), or a clear error."""
    for name in allowed:
        if name.lower() == value.strip().lower():
            return name
    raise ValidationError(
        f"--type: unknown identifier type {value!r}; one of: {', '.join(allowed)}", field="type"
    )


def normalize_identifier_value(kind: str, value: str, country: str | None) -> str:
    """Phone identifiers in E.164, emails normalised, others trimmed (at most 255 characters)."""
    if kind == "Phone":
        return normalize_phone(value, country, field="--value")
    if kind == "Email":
        return normalize_email(value, field="--value")
    text = value.strip()
    if not text:
        raise ValidationError("--value: an identifier value must not be empty", field="value")
    if len(text) > 255:
        raise ValidationError(f"--value: {len(text)} characters, at most 255 allowed", field="value")
    return text


def phone_object(display: str, country: str | None) -> dict[str, Any]:
    """A PhoneNumber body for an option value; the server normalises ``display``."""
    body: dict[str, Any] = {"display": display.strip()}
    if country:
        body["normalizationCountryCode"] = country.upper()
    return body
