"""What a record prints as: table columns, CSV columns and the record kinds that pair them.

CSV columns are derived from the pydantic models (:func:`csv_columns`): nested value objects
(address, phone numbers) are flattened to ``address.city``, references (``division``,
``externalOrganization``) to their ``.id``/``.name``, lists and maps are JSON-encoded, and
any field the model does not know lands in a final ``_extra`` JSON column, so no data is lost
and the header never changes between runs. Pure: :mod:`gcx.cli.output` does the printing.
"""

from __future__ import annotations

import json
import types
import typing
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from pydantic import BaseModel

from gcx.merge import get_path
from gcx.models import ExternalContact, ExternalOrganization
from gcx.models.base import ApiModel

EXTRA_COLUMN = "_extra"


# --------------------------------------------------------------------------- records


def to_dict(record: Any) -> dict[str, Any]:
    """A record (pydantic model or mapping) as a JSON-ready dict with API field names."""
    if isinstance(record, ApiModel):
        return record.to_api()
    if isinstance(record, BaseModel):
        return record.model_dump(mode="json", by_alias=True, exclude_none=True)
    if isinstance(record, Mapping):
        return dict(record)
    raise TypeError(f"cannot print a {type(record).__name__} as a record")


# --------------------------------------------------------------------------- columns


@dataclass(frozen=True)
class Column:
    """A table column: a header and how to get its text from a record dict."""

    header: str
    path: str | None = None
    getter: Callable[[Mapping[str, Any]], Any] | None = None
    max_width: int | None = None
    #: Never wrapped nor cut (ids: they must stay whole and copyable); the other columns give way.
    whole: bool = False

    def value(self, row: Mapping[str, Any]) -> str:
        raw = self.getter(row) if self.getter else get_path(row, self.path or self.header)
        return cell_text(raw)


def cell_text(value: Any) -> str:
    """How one value looks in a table or CSV cell."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, str):
        return value
    if isinstance(value, int | float):
        return str(value)
    return json.dumps(value, ensure_ascii=False, sort_keys=True, separators=(",", ":"))


def _contact_name(row: Mapping[str, Any]) -> str:
    parts = [row.get("firstName"), row.get("middleName"), row.get("lastName")]
    return " ".join(str(p) for p in parts if p)


def _phone(row: Mapping[str, Any]) -> str | None:
    for key in ("workPhone", "cellPhone", "homePhone", "otherPhone"):
        phone = row.get(key)
        if isinstance(phone, Mapping) and (phone.get("display") or phone.get("e164")):
            return str(phone.get("display") or phone.get("e164"))
    return None


def _org_of_contact(row: Mapping[str, Any]) -> str | None:
    org = row.get("externalOrganization")
    if isinstance(org, Mapping):
        return str(org.get("name") or org.get("id") or "") or None
    return None


def _email(row: Mapping[str, Any]) -> str | None:
    for key in ("workEmail", "personalEmail", "otherEmail"):
        if row.get(key):
            return str(row[key])
    return None


def is_id_path(path: str) -> bool:
    """``id``, ``externalOrganization.id``, ``contactId``...: a column that must stay whole."""
    last = path.rsplit(".", 1)[-1]
    return last == "id" or last.endswith("Id")


CONTACT_COLUMNS: tuple[Column, ...] = (
    Column("id", whole=True),
    Column("name", getter=_contact_name),
    Column("email", getter=_email),
    Column("phone", getter=_phone),
    Column("organization", getter=_org_of_contact),
    Column("modified", path="modifyDate"),
)

ORG_COLUMNS: tuple[Column, ...] = (
    Column("id", whole=True),
    Column("name"),
    Column("industry"),
    Column("type", path="companyType"),
    Column("city", path="address.city"),
    Column("modified", path="modifyDate"),
)

IDENTIFIER_COLUMNS: tuple[Column, ...] = (
    Column("type"),
    Column("value"),
    Column("external source", path="externalSource.id"),
    Column("created", path="dateCreated"),
)


def _unwrap_optional(annotation: Any) -> Any:
    origin = typing.get_origin(annotation)
    if origin is typing.Union or origin is types.UnionType:
        args = [a for a in typing.get_args(annotation) if a is not type(None)]
        if len(args) == 1:
            return args[0]
    return annotation


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def field_types(model: type[BaseModel]) -> dict[str, Any]:
    """Each field's resolved type (models may defer building, leaving forward references)."""
    hints = typing.get_type_hints(model)
    return {
        name: _unwrap_optional(hints.get(name, info.annotation)) for name, info in model.model_fields.items()
    }


def csv_columns(model: type[BaseModel]) -> list[str]:
    """Flattened column names (dot paths) for a model, stable across runs.

    * scalar field -> its name;
    * nested model with an ``id`` (a reference) -> ``x.id`` and, if it has one, ``x.name``;
    * other nested model (address, phone number) -> one column per scalar sub-field;
    * list or map -> one column holding JSON;
    * finally :data:`EXTRA_COLUMN` for fields the model does not know.
    """
    columns: list[str] = []
    types = field_types(model)
    for name, info in model.model_fields.items():
        key = info.alias or name
        annotation = types[name]
        if _is_model(annotation):
            sub_fields = annotation.model_fields
            if "id" in sub_fields:
                columns.append(f"{key}.id")
                if "name" in sub_fields:
                    columns.append(f"{key}.name")
                continue
            for sub_name, sub_info in sub_fields.items():
                sub_key = sub_info.alias or sub_name
                columns.append(f"{key}.{sub_key}")
            continue
        columns.append(key)
    columns.append(EXTRA_COLUMN)
    return columns


CONTACT_CSV_COLUMNS: list[str] = csv_columns(ExternalContact)
ORG_CSV_COLUMNS: list[str] = csv_columns(ExternalOrganization)


def flatten(row: Mapping[str, Any], columns: Sequence[str]) -> dict[str, str]:
    """One CSV row for ``row``: every column filled, unknown data kept in ``_extra``."""
    out: dict[str, str] = {}
    covered: dict[str, set[str] | None] = {}
    for column in columns:
        if column == EXTRA_COLUMN:
            continue
        head, _, tail = column.partition(".")
        if tail:
            covered.setdefault(head, set())
            bucket = covered[head]
            if bucket is not None:
                bucket.add(tail)
        else:
            covered[head] = None
        out[column] = cell_text(get_path(row, column))
    extra: dict[str, Any] = {}
    for key, value in row.items():
        if key not in covered:
            extra[key] = value
            continue
        sub_keys = covered[key]
        if sub_keys is None or not isinstance(value, Mapping):
            if sub_keys is not None and value is not None:
                extra[key] = value
            continue
        leftovers = {k: v for k, v in value.items() if k not in sub_keys and v is not None}
        if leftovers:
            extra[key] = leftovers
    if EXTRA_COLUMN in columns:
        out[EXTRA_COLUMN] = cell_text(extra) if extra else ""
    return out


def generic_columns(rows: Sequence[Mapping[str, Any]]) -> list[str]:
    """Columns for records of no known kind: every top-level key, in first-seen order."""
    seen: dict[str, None] = {}
    for row in rows:
        for key in row:
            seen.setdefault(key, None)
    return list(seen)


# --------------------------------------------------------------------------- kinds


@dataclass(frozen=True)
class RecordKind:
    """How one kind of record prints: table columns, every CSV column (``--fields all``, export)
    and the CSV columns printed by default (``csv_default``; every column when ``None``)."""

    name: str
    table: tuple[Column, ...]
    csv: Sequence[str] | None
    csv_default: Sequence[str] | None = None


#: ``-o csv`` of contacts without --fields: the columns a person or a script usually wants.
CONTACT_CSV_DEFAULT: tuple[str, ...] = (
    "id",
    "firstName",
    "lastName",
    "title",
    "workEmail",
    "personalEmail",
    "workPhone.e164",
    "cellPhone.e164",
    "address.city",
    "address.countryCode",
    "externalOrganization.id",
    "externalOrganization.name",
    "modifyDate",
)
ORG_CSV_DEFAULT: tuple[str, ...] = (
    "id",
    "name",
    "companyType",
    "industry",
    "phoneNumber.e164",
    "address.city",
    "address.countryCode",
    "websites",
    "tags",
    "modifyDate",
)

CONTACT = RecordKind("contact", CONTACT_COLUMNS, CONTACT_CSV_COLUMNS, CONTACT_CSV_DEFAULT)
ORGANIZATION = RecordKind("organization", ORG_COLUMNS, ORG_CSV_COLUMNS, ORG_CSV_DEFAULT)
IDENTIFIER = RecordKind(
    "identifier", IDENTIFIER_COLUMNS, ["type", "value", "externalSource.id", "dateCreated", EXTRA_COLUMN]
)
