"""The mapping file (TOML): which source columns become which API fields.

Example (see ``examples/crm_mapping.toml`` for a complete one)::

    [source]                       # optional
    format = "csv"                 # csv (default for files) | sql
    encoding = "utf-8"
    delimiter = ","
    # url = "postgresql+psycopg://user@host/db"   (format = "sql")
    # query = "SELECT * FROM crm_contacts ORDER BY id"

    [options]
    phone_country = "US"           # default country for numbers written without +<code>
    phone_country_column = "country"   # optional: per-row country (ISO alpha-2) for phones

    [organization]
    key = "account_id"             # column holding the organization's ExternalId
    [organization.fields]
    name = "account_name"
    industry = { column = "industry", transforms = ["trim", "lower"] }
    companyType = { value = "Customer" }          # constant
    "address.city" = "account_city"

    [contact]
    key = "contact_id"
    organization = "account_id"    # column holding the contact's organization ExternalId
    [contact.fields]
    firstName = "first_name"
    workEmail = { column = "email", transforms = ["trim", "lower"] }
    cellPhone = { column = "mobile", phone_country = "GB" }
    "customFields.tier" = "tier"

In a CSV where each row is a contact with its organization's columns, a row whose organization
columns are all empty only *references* the organization (by the key column): the organization
must be described on another row, be in the ledger or exist in Genesys.

Transforms: ``trim``, ``lower``, ``upper``, ``title``, ``collapse_spaces``, ``digits``
(keep digits only), ``none_if_empty`` (implicit). A field table may also give ``default``
(used when the column is empty). Only mapped fields are managed: everything else on the
Genesys record is left as it is.
"""

from __future__ import annotations

import functools
import re
import tomllib
from collections.abc import Callable, Collection, Iterator, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from gcx.errors import ConfigError
from gcx.sync.fields import KINDS, FieldError, Kind, field_spec
from gcx.sync.records import Built, build_record

_SPACES = re.compile(r"\s+")

TRANSFORMS: dict[str, Callable[[str], str]] = {
    "trim": str.strip,
    "lower": str.lower,
    "upper": str.upper,
    "title": str.title,
    "collapse_spaces": lambda s: _SPACES.sub(" ", s).strip(),
    "digits": lambda s: "".join(ch for ch in s if ch.isdigit()),
    "none_if_empty": lambda s: s,
}


@dataclass(frozen=True)
class ColumnRule:
    """How one value is produced: a column (with transforms) or a constant."""

    column: str | None = None
    value: Any = None
    transforms: tuple[str, ...] = ()
    default: Any = None
    phone_country: str | None = None

    def extract(self, row: Mapping[str, Any]) -> Any:
        if self.column is None:
            return self.value
        raw = row.get(self.column)
        if isinstance(raw, str):
            for name in self.transforms:
                raw = TRANSFORMS[name](raw)
            if raw == "":
                raw = None
        if raw is None:
            return self.default
        return raw

    @property
    def columns(self) -> list[str]:
        return [self.column] if self.column else []


@dataclass(frozen=True)
class KindMapping:
    kind: Kind
    key: ColumnRule
    fields: dict[str, ColumnRule]
    organization: ColumnRule | None = None  # contacts only

    @functools.cached_property
    def phone_countries(self) -> dict[str, str]:
        """Per-field phone countries (computed once, not per row)."""
        return {p: r.phone_country for p, r in self.fields.items() if r.phone_country}

    @functools.cached_property
    def column_paths(self) -> tuple[str, ...]:
        """The fields read from a column (not constants)."""
        return tuple(p for p, r in self.fields.items() if r.column is not None)

    @property
    def columns(self) -> list[str]:
        cols = list(self.key.columns)
        if self.organization:
            cols += self.organization.columns
        for rule in self.fields.values():
            cols += rule.columns
        return cols


@dataclass(frozen=True)
class SourceSettings:
    format: str | None = None
    encoding: str = "utf-8"
    delimiter: str = ","
    url: str | None = None
    query: str | None = None


@dataclass(frozen=True)
class SourceMapping:
    """A parsed mapping file."""

    organization: KindMapping | None
    contact: KindMapping | None
    source: SourceSettings = field(default_factory=SourceSettings)
    phone_country: str | None = "US"
    phone_country_column: str | None = None
    path: str | None = None

    @property
    def kinds(self) -> list[KindMapping]:
        return [m for m in (self.organization, self.contact) if m is not None]

    def required_columns(self) -> list[str]:
        cols: list[str] = []
        for m in self.kinds:
            cols += m.columns
        if self.phone_country_column:
            cols.append(self.phone_country_column)
        return sorted(set(cols))

    def check_columns(self, header: Sequence[str], where: str) -> None:
        """Refuse a source whose header lacks a mapped column (a mapping error, not a row error),
        or names a column twice (which of the two would be read is anyone's guess)."""
        seen: dict[str, int] = {}
        for n, name in enumerate(header, start=1):
            if name and name in seen:
                raise ConfigError(
                    f"{where}: the header names column {name!r} more than once (columns {seen[name]} "
                    f"and {n}): rename or remove one"
                )
            seen[name] = n
        missing = [c for c in self.required_columns() if c not in set(header)]
        if missing:
            raise ConfigError(
                f"{where}: column(s) {', '.join(repr(c) for c in missing)} named in the mapping "
                f"{self.path or ''} are not in the source (columns: {', '.join(header)})"
                + delimiter_hint(header, self.source.delimiter)
            )

    def build(
        self, row: Mapping[str, Any], line: int | None, kinds: Collection[Kind] = KINDS
    ) -> Iterator[Built]:
        """One source row -> the organization (if mapped and keyed) and the contact (if mapped)."""
        row_country: str | None = None
        if self.phone_country_column:
            raw = row.get(self.phone_country_column)
            row_country = str(raw).strip().upper() if raw not in (None, "") else None
        for m in self.kinds:
            if m.kind not in kinds:
                continue
            key = m.key.extract(row)
            if m.kind == "organization" and self.contact is not None and key is None:
                continue  # a contact row without an organization: nothing to build for the org
            values = {path: rule.extract(row) for path, rule in m.fields.items()}
            if (
                m.kind == "organization"
                and self.contact is not None
                and all(values[p] is None for p in m.column_paths)
            ):
                continue  # the row only references its organization (described on another row)
            org_key = m.organization.extract(row) if m.organization else None
            yield build_record(
                m.kind,
                key,
                values,
                line=line,
                org_key=org_key,
                manages_org=m.organization is not None,
                phone_country=row_country or self.phone_country,
                phone_countries=m.phone_countries,
            )


def _rule(kind: Kind, name: str, spec: Any, where: str) -> ColumnRule:
    if isinstance(spec, str):
        if not spec.strip():
            raise ConfigError(f"{where}: {name} maps to an empty column name")
        return ColumnRule(column=spec)
    if not isinstance(spec, dict):
        raise ConfigError(f"{where}: {name} must be a column name or a table, got {spec!r}")
    unknown = set(spec) - {"column", "value", "transforms", "default", "phone_country"}
    if unknown:
        raise ConfigError(f"{where}: {name} has unknown key(s) {', '.join(sorted(unknown))}")
    has_column = "column" in spec
    has_value = "value" in spec
    if has_column == has_value:
        raise ConfigError(f"{where}: {name} needs exactly one of 'column' or 'value'")
    transforms = spec.get("transforms", [])
    if isinstance(transforms, str):
        transforms = [transforms]
    if not isinstance(transforms, list) or not all(isinstance(t, str) for t in transforms):
        raise ConfigError(f"{where}: {name}.transforms must be a list of names")
    bad = [t for t in transforms if t not in TRANSFORMS]
    if bad:
        raise ConfigError(
            f"{where}: {name} has unknown transform(s) {', '.join(bad)} (known: {', '.join(TRANSFORMS)})"
        )
    country = spec.get("phone_country")
    if country is not None and (not isinstance(country, str) or len(country.strip()) != 2):
        raise ConfigError(f"{where}: {name}.phone_country must be a 2-letter country code")
    column = spec.get("column")
    if has_column and (not isinstance(column, str) or not column.strip()):
        raise ConfigError(f"{where}: {name}.column must be a column name")
    return ColumnRule(
        column=column,
        value=spec.get("value"),
        transforms=tuple(transforms),
        default=spec.get("default"),
        phone_country=country.strip().upper() if isinstance(country, str) else None,
    )


def _kind_mapping(kind: Kind, table: Any, where: str) -> KindMapping:
    if not isinstance(table, dict):
        raise ConfigError(f"{where}: [{kind}] must be a table")
    unknown = set(table) - {"key", "fields", "organization"}
    if unknown:
        raise ConfigError(f"{where}: [{kind}] has unknown key(s) {', '.join(sorted(unknown))}")
    if "key" not in table:
        raise ConfigError(f"{where}: [{kind}] needs 'key' (the column holding the ExternalId)")
    key = _rule(kind, f"{kind}.key", table["key"], where)
    fields_table = table.get("fields", {})
    if not isinstance(fields_table, dict):
        raise ConfigError(f"{where}: [{kind}.fields] must be a table")
    fields: dict[str, ColumnRule] = {}
    for path, spec in fields_table.items():
        try:
            field_spec(kind, path)
        except FieldError as exc:
            raise ConfigError(f"{where}: [{kind}.fields] {exc}") from None
        fields[path] = _rule(kind, f"{kind}.fields.{path}", spec, where)
    org: ColumnRule | None = None
    if "organization" in table:
        if kind != "contact":
            raise ConfigError(f"{where}: only [contact] takes 'organization'")
        org = _rule(kind, "contact.organization", table["organization"], where)
    if kind == "organization" and "name" not in fields:
        raise ConfigError(f"{where}: [organization.fields] must map 'name' (required by the API)")
    return KindMapping(kind=kind, key=key, fields=fields, organization=org)


def parse_mapping(data: dict[str, Any], where: str = "mapping") -> SourceMapping:
    unknown = set(data) - {"source", "options", "organization", "contact"}
    if unknown:
        raise ConfigError(f"{where}: unknown section(s) {', '.join(sorted(unknown))}")
    org = _kind_mapping("organization", data["organization"], where) if "organization" in data else None
    contact = _kind_mapping("contact", data["contact"], where) if "contact" in data else None
    if org is None and contact is None:
        raise ConfigError(f"{where}: map at least one of [organization] or [contact]")
    src = data.get("source", {})
    if not isinstance(src, dict):
        raise ConfigError(f"{where}: [source] must be a table")
    bad = set(src) - {"format", "encoding", "delimiter", "url", "query"}
    if bad:
        raise ConfigError(f"{where}: [source] has unknown key(s) {', '.join(sorted(bad))}")
    fmt = src.get("format")
    if fmt is not None and fmt not in {"csv", "sql"}:
        raise ConfigError(f"{where}: [source] format must be 'csv' or 'sql', got {fmt!r}")
    delimiter = src.get("delimiter", ",")
    if not isinstance(delimiter, str) or len(delimiter) != 1:
        raise ConfigError(f"{where}: [source] delimiter must be one character")
    encoding = str(src.get("encoding", "utf-8"))
    try:
        "".encode(encoding)
    except LookupError:
        raise ConfigError(f"{where}: [source] unknown encoding {encoding!r}") from None
    opts = data.get("options", {})
    if not isinstance(opts, dict):
        raise ConfigError(f"{where}: [options] must be a table")
    bad = set(opts) - {"phone_country", "phone_country_column"}
    if bad:
        raise ConfigError(f"{where}: [options] has unknown key(s) {', '.join(sorted(bad))}")
    country = opts.get("phone_country", "US")
    if country is not None and (not isinstance(country, str) or len(country) != 2):
        raise ConfigError(f"{where}: [options] phone_country must be a 2-letter country code")
    return SourceMapping(
        organization=org,
        contact=contact,
        source=SourceSettings(
            format=fmt,
            encoding=encoding,
            delimiter=delimiter,
            url=src.get("url"),
            query=src.get("query"),
        ),
        phone_country=country.upper() if country else None,
        phone_country_column=opts.get("phone_country_column"),
        path=where,
    )


def load_mapping(path: str | Path) -> SourceMapping:
    p = Path(path)
    try:
        data = tomllib.loads(p.read_text(encoding="utf-8"))
    except FileNotFoundError:
        raise ConfigError(f"mapping file {p} does not exist") from None
    except (tomllib.TOMLDecodeError, UnicodeDecodeError) as exc:
        raise ConfigError(f"mapping file {p} is not valid TOML: {exc}") from None
    return parse_mapping(data, where=str(p))


def delimiter_hint(header: Sequence[str], delimiter: str) -> str:
    """When the header reads as one column holding another separator: the setting to use."""
    if len(header) != 1:
        return ""
    counts = {sep: header[0].count(sep) for sep in (";", "\t", "|", ",") if sep != delimiter}
    sep, n = max(counts.items(), key=lambda item: item[1])
    if not n:
        return ""
    shown = "\\t" if sep == "\t" else sep
    return (
        f"; the header reads as one column holding {n} {shown!r}: if the file is separated by "
        f'{shown!r}, set delimiter = "{shown}" under [source] in the mapping'
    )
