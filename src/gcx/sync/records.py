"""Canonical records (what the source says) and row issues (why a row cannot sync)."""

from __future__ import annotations

import functools
import hashlib
import json
import operator
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, overload

from gcx import jsonfast
from gcx.phones import nanp_national, phone_region
from gcx.sync.fields import (
    FIELDS,
    KINDS,
    ORG_REF,
    FieldError,
    FieldSpec,
    Kind,
    check_email,
    check_key,
    field_spec,
    to_value,
)
from gcx.sync.quickinit import quick_init


class _Once:
    """``functools.cached_property`` without its lock (Python 3.11 takes one on each first read,
    a good part of the cost for a value read once per record): computed on the first read, then
    kept in the instance's ``__dict__``, which is read before this (a non-data descriptor)."""

    def __init__(self, func: Callable[[Any], str]) -> None:
        self.func = func
        self.name = func.__name__
        self.__doc__ = func.__doc__

    @overload
    def __get__(self, instance: None, owner: type | None = None) -> _Once: ...

    @overload
    def __get__(self, instance: object, owner: type | None = None) -> str: ...

    def __get__(self, instance: object, owner: type | None = None) -> _Once | str:
        if instance is None:
            return self
        value = instance.__dict__[self.name] = self.func(instance)
        return value


@quick_init  # built once per source row: its fields written at once
@dataclass(frozen=True)
class Record:
    """One organization or contact as the source of truth wants it.

    ``values`` maps every *managed* path to its normalised value (``None``: the source
    manages the field but has no value). ``org_key`` is a contact's organization ExternalId;
    ``manages_org`` says whether the source manages that link at all.
    """

    kind: Kind
    key: str
    values: Mapping[str, Any]
    org_key: str | None = None
    manages_org: bool = False
    line: int | None = None

    @property
    def managed(self) -> frozenset[str]:
        paths = set(self.values)
        if self.manages_org:
            paths.add(ORG_REF)
        return frozenset(paths)

    def applied_values(self) -> dict[str, Any]:
        """The managed values as the ledger stores them (org link included under ``organization``)."""
        if self.manages_org:  # one copy, made at C speed
            return {**self.values, ORG_REF: self.org_key}
        return dict(self.values)

    @_Once
    def hash(self) -> str:  # computed once: planning, the ledger op and the record all ask for it
        return values_hash(self.kind, self.applied_values())

    def to_json(self) -> dict[str, Any]:
        """The canonical JSONL form (API names, nested), readable again by :func:`record_from_json`."""
        out: dict[str, Any] = {"kind": self.kind, "externalId": self.key}
        if self.manages_org:
            out[ORG_REF] = self.org_key
        for path, value in self.values.items():
            spec = field_spec(self.kind, path)
            v: Any = {"display": value} if spec.type == "phone" and value is not None else value
            parts = path.split(".")
            cur = out
            for part in parts[:-1]:
                cur = cur.setdefault(part, {})
            cur[parts[-1]] = v
        return out


#: ``json.dumps(..., sort_keys=True, ensure_ascii=False, default=str)``, made once (the hash's text
#: must never change: ledgers keep hashes across versions).
_HASH_TEXT = json.JSONEncoder(sort_keys=True, ensure_ascii=False, default=str).encode


#: A JSON string as ``_HASH_TEXT`` writes it (``ensure_ascii=False``).
_STRING = json.encoder.encode_basestring


def hash_text(kind: Kind, values: Mapping[str, Any]) -> str:
    """``_HASH_TEXT([kind, sorted(values.items())])``, the text a hash is taken of.

    The values a record holds (text, whole numbers, booleans, lists of text, ``None``) are written
    here directly, a few times faster; anything else is left to ``_HASH_TEXT`` itself. The usual
    record, its values all text that needs no escape, is written at once into the text laid out
    for its paths (:func:`_layout`).
    """
    layout = _layout(kind, tuple(values))
    if layout is not None:
        pick, template = layout
        texts = pick(values)
        try:
            joined = "".join(texts)  # refuses anything but text (None, numbers, lists)
        except TypeError:
            pass
        else:
            # nothing to escape (a quote, a backslash, a control character): _STRING only
            # lengthens the text it escapes. Printable text holds no control character: only a
            # quote or a backslash is left to look for, without making the escaped copy.
            plain = joined.isprintable() and '"' not in joined and "\\" not in joined
            if plain or len(_STRING(joined)) == len(joined) + 2:
                return template % texts
    items = sorted(values.items())
    parts: list[str] = []
    for path, value in items:
        kind_of = type(value)
        if type(path) is not str:
            return _HASH_TEXT([kind, items])
        if kind_of is str:
            text = _STRING(value)
        elif value is None:
            text = "null"
        elif kind_of is bool:
            text = "true" if value else "false"
        elif kind_of is int:
            text = int.__repr__(value)
        elif kind_of is list and all(type(item) is str for item in value):
            text = "[" + ", ".join(map(_STRING, value)) + "]"
        else:
            return _HASH_TEXT([kind, items])
        parts.append(f"[{_STRING(path)}, {text}]")
    return f"[{_STRING(kind)}, [{', '.join(parts)}]]"


@functools.lru_cache(maxsize=1024)
def _layout(
    kind: str, paths: tuple[Any, ...]
) -> tuple[Callable[[Mapping[str, Any]], tuple[Any, ...]], str] | None:
    """For values with these ``paths`` (two or more, all text): what takes their values in sorted
    path order, and the hash text with each value's place a ``%s``, the rest as ``_HASH_TEXT``
    writes it. A value that is text with nothing to escape is written by ``_STRING`` as itself in
    quotes: ``template % values`` is then the text. Records of a source have a few shapes only."""
    if len(paths) < 2 or not all(type(p) is str for p in paths) or type(kind) is not str:
        return None
    order = sorted(paths)
    pairs = ", ".join(f'[{_STRING(p).replace("%", "%%")}, "%s"]' for p in order)
    return operator.itemgetter(*order), f"[{_STRING(kind).replace('%', '%%')}, [{pairs}]]"


def values_hash(kind: Kind, values: Mapping[str, Any]) -> str:
    return hashlib.sha256(hash_text(kind, values).encode("utf-8")).hexdigest()[:32]


@dataclass(frozen=True)
class Issue:
    """Why a source row (or record) was not synced: line, ExternalId, field and reason."""

    line: int | None
    reason: str
    field: str | None = None
    key: str | None = None
    kind: Kind | None = None
    # The source could not be parsed here (a broken quote): it may hide rows, so it never
    # drives a prune.
    structural: bool = False

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "line": self.line,
            "kind": self.kind,
            "externalId": self.key,
            "field": self.field,
            "reason": self.reason,
        }
        if self.structural:
            out["structural"] = True
        return out

    def __str__(self) -> str:
        where = f"line {self.line}" if self.line is not None else "record"
        who = f" {self.kind} {self.key!r}" if self.key else ""
        what = f" field {self.field}:" if self.field else ":"
        return f"{where}{who}{what} {self.reason}"


@dataclass
class Built:
    """Result of building one record: the record, or the issues that made it invalid."""

    record: Record | None
    issues: list[Issue] = field(default_factory=list)


def build_record(
    kind: Kind,
    raw_key: Any,
    raw_values: Mapping[str, Any],
    *,
    line: int | None,
    org_key: Any = None,
    manages_org: bool = False,
    phone_country: str | None = None,
    phone_countries: Mapping[str, str] | None = None,
) -> Built:
    """Validate raw values (API paths -> raw source values) into a :class:`Record`.

    Every bad field becomes an :class:`Issue`; a record with any issue is not built.
    """
    out = _build(kind, raw_key, raw_values, line, org_key, manages_org, phone_country, phone_countries)
    return Built(out) if isinstance(out, Record) else Built(None, out)


def _build(
    kind: Kind,
    raw_key: Any,
    raw_values: Mapping[str, Any],
    line: int | None,
    org_key: Any,
    manages_org: bool,
    phone_country: str | None,
    phone_countries: Mapping[str, str] | None,
) -> Record | list[Issue]:
    """:func:`build_record`'s record, or its issues (never empty), without the :class:`Built`
    around them: a source reading records one by one (:func:`read_record`) has no use for it."""
    issues: list[Issue] = []
    key: str | None = None
    try:
        key = check_key(raw_key)
    except FieldError as exc:
        issues.append(Issue(line, exc.reason, field=exc.field, key=None, kind=kind))
    values: dict[str, Any] = {}
    specs = FIELDS[kind]
    for path, raw in raw_values.items():
        try:
            spec = specs.get(path) or field_spec(kind, path)
            type_of = spec.type
            if type(raw) is str:  # the common cases, as to_value reads them
                text = raw.strip()
                if text and (spec.max_len is None or len(text) <= spec.max_len):
                    if type_of == "str":
                        values[path] = text
                        continue
                    if type_of == "email":
                        values[path] = _email(spec, text)
                        continue
            elif type_of == "phone" and type(raw) is dict and phone_countries is None:
                # a JSONL record's phone, {"display": text}, read as to_value reads it
                shown = raw.get("display") or raw.get("e164")
                if type(shown) is str:
                    text = shown.strip()
                    if text and (spec.max_len is None or len(text) <= spec.max_len):
                        national = nanp_national(text, phone_region(text, phone_country))
                        if national is not None:
                            values[path] = f"+1{national}"
                            continue
            country = (phone_countries.get(path) if phone_countries else None) or phone_country
            values[path] = to_value(spec, raw, phone_country=country)
        except FieldError as exc:
            issues.append(Issue(line, exc.reason, field=exc.field, key=key, kind=kind))
    ref: str | None = None
    if manages_org and org_key is not None and not (isinstance(org_key, str) and not org_key.strip()):
        try:
            ref = check_key(org_key)
        except FieldError as exc:
            issues.append(Issue(line, exc.reason, field=ORG_REF, key=key, kind=kind))
    if kind == "organization" and "name" not in values and not issues:
        issues.append(
            Issue(line, "is required (an organization needs a name)", field="name", key=key, kind=kind)
        )
    if issues or key is None:
        return issues
    return Record(kind, key, values, ref, manages_org, line)


def _email(spec: FieldSpec, text: str) -> str:
    """``to_value`` of an email given as text, already trimmed, not empty and not too long."""
    try:
        return check_email(text)
    except ValueError as exc:
        raise FieldError(spec.path, str(exc)) from None


#: Objects whose members are managed one by one (``address.city``); any other value is one field
#: (a phone object, a list).
_NESTED = frozenset({"address", "customFields"})
#: Members of a canonical record that are not managed values.
_NOT_VALUES = frozenset({"kind", "externalId", ORG_REF})


def record_from_json(obj: Any, *, line: int | None, phone_country: str | None = "US") -> Built:
    """A canonical JSON record -> :class:`Record`. Fields present (even ``null``) are managed."""
    out = read_record(obj, line, phone_country)
    return Built(out) if isinstance(out, Record) else Built(None, out)


def read_record(obj: Any, line: int | None, phone_country: str | None = "US") -> Record | list[Issue]:
    """:func:`record_from_json`'s record, or its issues (never empty), without the :class:`Built`
    around them (what a source reading records one by one yields)."""
    out = read_loaded_record(obj, line, phone_country, False)
    assert out is not None  # no float test asked for: never "read it again"
    return out


def read_loaded_record(
    obj: Any, line: int | None, phone_country: str | None, by_orjson: bool
) -> Record | list[Issue] | None:
    """:func:`read_record`; when ``by_orjson`` (``obj`` read by :func:`jsonfast.loads`, which reads
    an integer beyond 64 bits as a float), ``None`` if a float is anywhere in ``obj``: the line is
    then to be read again exactly (``json.loads``) and passed here without ``by_orjson``. The
    float test rides on the walk over the values (text, most of a record, passes one test), before
    anything is built or refused, so what is built and said is what the exact reading gives.
    """
    if type(obj) is not dict and not isinstance(obj, Mapping):  # a dict: no ABC check
        if by_orjson and jsonfast.has_float(obj):
            return None
        return [Issue(line, f"expected a JSON object, got {type(obj).__name__}")]
    kind_raw = obj.get("kind")
    if kind_raw not in KINDS:
        if by_orjson and jsonfast.has_float(obj):
            return None
        return [Issue(line, f"kind must be 'organization' or 'contact', got {kind_raw!r}", field="kind")]
    kind: Kind = "organization" if kind_raw == "organization" else "contact"
    values: dict[str, Any] = {}  # nested API JSON -> dot paths, stopping at phones and lists
    for name, value in obj.items():
        if type(value) is not str and by_orjson and jsonfast.has_float(value):
            return None
        if name in _NOT_VALUES:
            continue
        if name in _NESTED and (type(value) is dict or isinstance(value, Mapping)):
            for member, inner in value.items():
                values[f"{name}.{member}"] = inner
        else:
            values[name] = value
    manages_org = kind == "contact" and ORG_REF in obj
    if kind == "organization" and ORG_REF in obj:
        return [Issue(line, "an organization has no organization reference", field=ORG_REF, kind=kind)]
    return _build(
        kind, obj.get("externalId"), values, line, obj.get(ORG_REF), manages_org, phone_country, None
    )
