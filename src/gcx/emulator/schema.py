"""Input cleaning driven by the OpenAPI contract.

The emulator keeps what the real service keeps: the fields a schema defines (``customFields``
and other free-form objects kept whole), trimmed, checked against the field rules written in
the spec's descriptions (``Max: N characters``, ``Valid email format``, URLs, enums, array
sizes). Fields a schema does not define are dropped, like the real service does. ``null``
means absent. Phone numbers are normalised to E.164 as the service does.

Everything here is pure: :meth:`Cleaner.clean` returns the cleaned value and appends one
:class:`FieldProblem` per bad field, named by its path (``address.city``,
``externalIds[0].value``).

The rules run compiled: each component schema is turned once into a function per property,
with its limits, enums and formats worked out ahead (a million contacts otherwise re-read the
spec a million times); a body shape that repeats (a sync's records) gets its own function with
each field's steps written out, and plain strings, emails, enums and E.164 phones take fast
paths that fall back to the full rule for anything unusual. The test oracle,
``tests/emulator/schema_reference.py``, is the plain walk over the spec (each property's schema
and description read as it goes);
``tests/emulator/test_schema_compiled.py`` runs both over valid and hostile bodies and
requires the same cleaned values and the same problems, in the same order.
"""

from __future__ import annotations

import json
import re
import sys
from collections.abc import Callable
from dataclasses import dataclass
from functools import cache, lru_cache
from importlib import resources
from typing import Any
from urllib.parse import urlsplit

from email_validator import EmailNotValidError, validate_email

from gcx.emulator.phones import fill_phone
from gcx.emulator.phones import phone_e164 as phone_e164  # importable from here, as the rules do

SCHEMA_PREFIX = "#/components/schemas/"

_MAX_CHARS = re.compile(r"Max:?\s*([\d,]+)\s*characters", re.IGNORECASE)
_MAX_ITEMS = re.compile(r"Max:?\s*([\d,]+)\s*(?:ids?|items?)\b", re.IGNORECASE)
_BETWEEN_CHARS = re.compile(r"Between\s+([\d,]+)\s+and\s+([\d,]+)\s+characters", re.IGNORECASE)
_INT32 = (-(2**31), 2**31 - 1)

#: Fields the server sets: ignored on input, whatever a client sends.
READ_ONLY: dict[str, frozenset[str]] = {
    "ExternalContact": frozenset(
        {
            "id",
            "createDate",
            "modifyDate",
            "selfUri",
            "type",
            "externalDataSources",
            "canonicalContact",
            "mergeSet",
            "mergedFrom",
            "mergedTo",
            "mergeOperation",
        }
    ),
    "ExternalOrganization": frozenset(
        {"id", "createDate", "modifyDate", "selfUri", "externalDataSources", "trustor"}
    ),
    "PhoneNumber": frozenset({"userInput", "e164", "countryCode"}),
    "ContactIdentifier": frozenset({"dateCreated"}),
    "ExternalOrganizationIdentifier": frozenset({"dateCreated"}),
    "ExternalSource": frozenset({"id", "selfUri"}),
    "Note": frozenset({"id", "selfUri", "createDate", "modifyDate", "externalDataSources"}),
    "Relationship": frozenset({"id", "selfUri", "externalDataSources"}),
    "WritableStarrableDivision": frozenset({"selfUri"}),
}

#: String fields that must hold an http(s) URL.
URL_FIELDS = frozenset({"externalSystemUrl", "uriTemplate", "profileUrl"})


@dataclass(frozen=True)
class FieldProblem:
    """One bad field: its path in the body and what is wrong with it."""

    field: str
    message: str
    code: str = "invalid.property"
    value: Any = None


@cache
def load_spec() -> dict[str, Any]:
    """The packaged OpenAPI contract (parsed once)."""
    text = resources.files("gcx.spec").joinpath("externalcontacts.openapi.json").read_text(encoding="utf-8")
    spec: dict[str, Any] = json.loads(text)
    return spec


def normalize_phone(phone: dict[str, Any]) -> dict[str, Any]:
    """Rewrite ``display`` as the service does and fill ``userInput``, ``e164``, ``countryCode``.

    A number that parses (with ``normalizationCountryCode`` or +1 as the default country) is
    rewritten in international format; one that does not is kept as written.
    """
    out = {k: v for k, v in phone.items() if k not in READ_ONLY["PhoneNumber"]}
    fill_phone(out)
    return out


#: Addresses of plain ASCII (dot-separated runs of letters, digits, ``_``, ``+``, ``-`` before the
#: @-sign; letters, digits, dots and hyphens after it): email-validator's verdict on those is its
#: verdict on the domain alone once the lengths are within bounds.
_PLAIN_EMAIL = re.compile(r"([A-Za-z0-9_+\-]+(?:\.[A-Za-z0-9_+\-]+)*)@([A-Za-z0-9.\-]+)")


def email_problem(text: str) -> str | None:
    """Why ``text`` is not a valid email address, or None when it is (email-validator's verdict).

    A plain ASCII address (see ``_PLAIN_EMAIL``) whose parts are within the length limits (64
    before the @-sign, 254 in all) is valid exactly when its domain is, which is checked once per
    domain; anything else, and every address that is not valid, gets email-validator's full
    check and its own message. ``tests/emulator/test_email_fast.py`` compares both on hostile
    addresses.
    """
    plain = _PLAIN_EMAIL.fullmatch(text)
    if plain is not None and len(text) <= 254:
        local, domain = plain.groups()
        if len(local) <= 64 and (domain in _GOOD_DOMAINS or _good_domain(domain)):
            return None
    return _full_email_problem(text)


#: Domains email-validator accepts (``a@domain`` is valid), remembered; bounded.
_GOOD_DOMAINS: set[str] = set()


def _good_domain(domain: str) -> bool:
    if _full_email_problem(f"a@{domain}") is not None:
        return False
    if len(_GOOD_DOMAINS) >= 4096:
        _GOOD_DOMAINS.clear()
    _GOOD_DOMAINS.add(domain)
    return True


@lru_cache(maxsize=4096)
def _full_email_problem(text: str) -> str | None:
    try:
        validate_email(text, check_deliverability=False)
    except EmailNotValidError as exc:
        return str(exc)
    return None


def _join(path: str, name: str) -> str:
    return f"{path}.{name}" if path else name


class Cleaner:
    """Cleans request bodies against the spec's component schemas."""

    def __init__(self, spec: dict[str, Any] | None = None) -> None:
        self.spec = spec if spec is not None else load_spec()
        self.schemas: dict[str, Any] = self.spec["components"]["schemas"]
        self._rules: dict[tuple[str, bool, frozenset[str]], Rule] = {}
        self._compiling: set[tuple[str, bool, frozenset[str]]] = set()
        #: The rules of strings with a length limit only, and that limit (written inline by
        #: :func:`_shape_rule`).
        self._text_limits: dict[Rule, int] = {}

    def properties(self, schema_name: str) -> dict[str, Any]:
        props: dict[str, Any] = self.schemas[schema_name].get("properties", {})
        return props

    @staticmethod
    def ref_name(prop: dict[str, Any]) -> str | None:
        """The component a property refers to (``$ref`` or single ``allOf``), if any."""
        ref = prop.get("$ref")
        if ref is None and isinstance(prop.get("allOf"), list) and prop["allOf"]:
            ref = prop["allOf"][0].get("$ref")
        if isinstance(ref, str) and ref.startswith(SCHEMA_PREFIX):
            return ref[len(SCHEMA_PREFIX) :]
        return None

    def field_schema(self, schema_name: str, dotted: list[str]) -> dict[str, Any] | None:
        """The property schema at a dotted path below ``schema_name`` (None if undefined)."""
        current = schema_name
        prop: dict[str, Any] | None = None
        for i, part in enumerate(dotted):
            props = self.properties(current)
            if part not in props:
                return None
            prop = props[part]
            if i < len(dotted) - 1:
                ref = self.ref_name(prop)
                if ref is None:
                    # Inside a free-form object (customFields): any member, of any shape.
                    return {} if prop.get("type") == "object" else None
                current = ref
        return prop

    def clean(
        self,
        schema_name: str,
        value: Any,
        path: str,
        problems: list[FieldProblem],
        *,
        nested: bool = False,
        skip: frozenset[str] = frozenset(),
    ) -> Any:
        """Clean ``value`` as an instance of component ``schema_name`` (the compiled rules).

        At the top level the server-set fields (``id``, dates...) are dropped; in a nested
        object (a reference such as ``externalSource``) the ``id`` is what matters and is kept.
        The fields named in ``skip`` are left out as if the body did not hold them (a caller
        that reads them by its own rules).
        """
        return self.rule(schema_name, nested=nested, skip=skip)(value, path, problems)

    # ------------------------------------------------------------------ the compiled rules
    # Each property's checks, in the order and with the messages the contract's rules give;
    # tests/emulator/schema_reference.py walks the spec the slow way as their oracle.

    def rule(self, schema_name: str, *, nested: bool = False, skip: frozenset[str] = frozenset()) -> Rule:
        """The compiled rule of :meth:`clean` (compiled on first use, with every schema it refers to)."""
        key = (schema_name, nested, skip)
        rule = self._rules.get(key)
        if rule is None:
            if key in self._compiling:  # a schema that refers to itself: resolved when first used
                rules = self._rules

                def deferred(value: Any, path: str, problems: list[FieldProblem]) -> Any:
                    return rules[key](value, path, problems)

                return deferred
            self._compiling.add(key)
            try:
                rule = self._rules[key] = self._compile_object(schema_name, nested, skip)
            finally:
                self._compiling.discard(key)
        return rule

    def _compile_object(self, schema_name: str, nested: bool, skip: frozenset[str]) -> Rule:
        """The rule of one object: the rules of the fields a value holds, in the schema's order.

        A body holds a few of its schema's dozens of fields, and bodies come in a few shapes (a
        sync sends the same fields in every record): the fields to clean, in the schema's order,
        are worked out once per shape (the tuple of the body's keys, bounded) and the others are
        never looked at.
        """
        read_only = READ_ONLY.get(schema_name, frozenset())
        if nested:
            read_only = read_only - {"id"}
        rules = {
            name: self._compile_prop(name, prop)
            for name, prop in self.properties(schema_name).items()
            if name not in read_only and name not in skip
        }
        rank = {name: i for i, name in enumerate(rules)}
        shapes: dict[tuple[Any, ...], tuple[tuple[str, Rule], ...]] = {}
        #: Shapes seen often enough to be worth their own function (see _shape_rule).
        fast: dict[tuple[Any, ...], Rule] = {}
        seen: dict[tuple[Any, ...], int] = {}
        phone = schema_name == "PhoneNumber"
        text_limits = self._text_limits

        def fields_of(keys: tuple[Any, ...]) -> tuple[tuple[str, Rule], ...]:
            names = sorted((key for key in keys if key in rules), key=rank.__getitem__)
            fields = tuple((name, rules[name]) for name in names)
            if len(keys) <= _SHAPE_KEYS:
                if len(shapes) >= _SHAPES:
                    shapes.clear()
                shapes[keys] = fields
            return fields

        def promote(keys: tuple[Any, ...], fields: tuple[tuple[str, Rule], ...]) -> None:
            """Count a remembered shape's use; at the :data:`_HOT`-th, give it its own function."""
            count = seen.get(keys, 0) + 1
            if count < _HOT:
                if len(seen) >= _SHAPES:
                    seen.clear()
                seen[keys] = count
                return
            seen.pop(keys, None)
            if len(fast) >= _FAST_SHAPES:
                fast.clear()
            fast[keys] = _shape_rule(fields, text_limits, fill_phone if phone else None)

        def clean_object(value: Any, path: str, problems: list[FieldProblem]) -> Any:
            if value.__class__ is dict:
                shape = fast.get(tuple(value))
                if shape is not None:
                    return shape(value, path, problems)
            if value is None:
                return None
            if not isinstance(value, dict):
                problems.append(FieldProblem(path or "body", "must be a JSON object", value=_short(value)))
                return None
            keys = tuple(value)
            fields = shapes.get(keys)
            if fields is None:
                fields = fields_of(keys)
            elif value.__class__ is dict:  # a remembered shape (the fast path takes plain dicts)
                promote(keys, fields)
            out: dict[str, Any] = {}
            prefix = f"{path}." if path else ""  # a body: each field's path is its name
            for name, rule in fields:
                item = value[name]
                if item is not None:
                    cleaned = rule(item, prefix + name if prefix else name, problems)
                    if cleaned is not None:
                        out[name] = cleaned
            if phone:
                fill_phone(out)
            return out

        return clean_object

    def _compile_prop(self, name: str, prop: dict[str, Any]) -> Rule:
        """The rule of one property (its value is never None: the caller skips those)."""
        ref = self.ref_name(prop)
        if ref is not None:
            if ref not in self.schemas or "properties" not in self.schemas[ref]:
                return _as_is
            return self.rule(ref, nested=True)
        kind = prop.get("type")
        description = str(prop.get("description") or "")
        if kind == "string":
            return self._compile_string(name, prop, description)
        if kind == "integer":
            int32 = prop.get("format") == "int32"

            def clean_int(value: Any, path: str, problems: list[FieldProblem]) -> Any:
                if isinstance(value, bool) or not isinstance(value, int):
                    problems.append(FieldProblem(path, "must be an integer", value=_short(value)))
                    return None
                if int32 and not _INT32[0] <= value <= _INT32[1]:
                    problems.append(FieldProblem(path, "is outside the 32-bit integer range", value=value))
                    return None
                return value

            return clean_int
        if kind == "number":
            return _clean_number
        if kind == "boolean":
            return _clean_boolean
        if kind == "array":
            return self._compile_array(name, prop, description)
        if kind == "object":
            return _clean_free_object
        return _as_is

    def _compile_string(self, name: str, prop: dict[str, Any], description: str) -> Rule:
        enum = prop.get("enum")
        limit = max_chars(description)
        between = between_chars(description)
        email = "valid email" in description.lower()
        url = name in URL_FIELDS
        date_time = prop.get("format") == "date-time"

        def clean_string(value: Any, path: str, problems: list[FieldProblem]) -> Any:
            if not isinstance(value, str):
                problems.append(FieldProblem(path, "must be a string", value=_short(value)))
                return None
            text = value.strip()
            if not text:
                return None
            if enum and text not in enum:
                problems.append(
                    FieldProblem(path, f"must be one of {', '.join(enum)}", code="invalid.value", value=text)
                )
                return None
            if limit is not None and len(text) > limit:
                problems.append(
                    FieldProblem(path, f"is longer than {limit} characters", value=text[:40] + "...")
                )
                return None
            if between is not None:
                low, high = between
                if not low <= len(text) <= high:
                    problems.append(FieldProblem(path, f"must be between {low} and {high} characters"))
                    return None
            if email:
                problem = email_problem(text)
                if problem is not None:
                    problems.append(
                        FieldProblem(path, f"is not a valid email address ({problem})", value=text)
                    )
                    return None
            if url:
                parts = urlsplit(text)
                if parts.scheme not in {"http", "https"} or not parts.netloc:
                    problems.append(FieldProblem(path, "must be an http(s) URL", value=text))
                    return None
            if date_time and not _ISO.match(text):
                problems.append(FieldProblem(path, "must be an ISO-8601 date-time", value=text))
                return None
            return text

        if email and not (enum or between is not None or url or date_time):
            # An email field (a length limit at most besides): a str within it that trims to a
            # valid address is the answer; anything else takes the full rule for its problem.
            longest = limit if limit is not None else sys.maxsize

            def clean_email(value: Any, path: str, problems: list[FieldProblem]) -> Any:
                if value.__class__ is str:
                    text = value.strip()
                    if text and len(text) <= longest and email_problem(text) is None:
                        return text
                return clean_string(value, path, problems)

            return clean_email
        if (
            enum
            and all(isinstance(item, str) for item in enum)
            and not (between or email or url or date_time)
        ):
            # An enum (a length limit at most besides): a str that trims to one of its values,
            # within the limit, is the answer; anything else takes the full rule.
            values = frozenset(enum) - {""}
            top = limit if limit is not None else sys.maxsize

            def clean_enum(value: Any, path: str, problems: list[FieldProblem]) -> Any:
                if value.__class__ is str:
                    text = value.strip()
                    if text in values and len(text) <= top:
                        return text
                return clean_string(value, path, problems)

            return clean_enum
        if enum or between is not None or email or url or date_time:
            return clean_string
        # Most strings have a length limit only: a str within it is the answer, trimmed (an
        # empty one is absent); anything else takes the full rule for its problem.
        most = limit if limit is not None else sys.maxsize

        def clean_text(value: Any, path: str, problems: list[FieldProblem]) -> Any:
            if value.__class__ is str:
                text = value.strip()
                if len(text) <= most:
                    return text or None
            return clean_string(value, path, problems)

        self._text_limits[clean_text] = most
        return clean_text

    def _compile_array(self, name: str, prop: dict[str, Any], description: str) -> Rule:
        limit = max_items(description)
        item_rule = self._compile_prop(name, prop.get("items", {}))

        def clean_array(value: Any, path: str, problems: list[FieldProblem]) -> Any:
            if not isinstance(value, list):
                problems.append(FieldProblem(path, "must be a JSON array", value=_short(value)))
                return None
            if limit is not None and len(value) > limit:
                problems.append(FieldProblem(path, f"holds more than {limit} items", value=len(value)))
                return None
            out: list[Any] = []
            for i, item in enumerate(value):
                if item is None:
                    continue
                cleaned = item_rule(item, f"{path}[{i}]", problems)
                if cleaned is not None:
                    out.append(cleaned)
            return out

        return clean_array


#: Body shapes (tuples of keys) remembered per object rule, and the most keys of one remembered:
#: a sync's bodies come in a few shapes; hostile ones in many, so the memory is bounded.
_SHAPES = 256
_SHAPE_KEYS = 64


#: A compiled rule: (value, path, problems) -> the cleaned value, or None (problems appended).
Rule = Callable[[Any, str, list[FieldProblem]], Any]

#: The uses of a remembered shape after which it gets its own function, and how many such
#: functions an object rule keeps (each costs a compilation: only a shape that repeats earns one).
_HOT = 8
_FAST_SHAPES = 64


def _shape_rule(
    fields: tuple[tuple[str, Rule], ...],
    text_limits: dict[Rule, int],
    fill: Callable[[dict[str, Any]], None] | None,
) -> Rule:
    """An object rule's loop over one shape's fields, written out as one function.

    The same steps as the loop of ``clean_object`` (each field read, a None skipped, its rule
    applied with the path ``path.name``, a None answer left out; the phone filled last), with a
    string of a length limit only checked inline (its rule's fast path: a str within the limit
    is the answer, trimmed, an empty one absent) and its rule called for anything else. Names are
    written as literals (``repr``); they are the schema's own property names.
    """
    lines = ["def clean_shape(value, path, problems):", "    out = {}"]
    scope: dict[str, Any] = {"fill": fill}
    for i, (name, field_rule) in enumerate(fields):
        scope[f"r{i}"] = field_rule
        key = repr(name)
        where = f"(path + {'.' + name!r} if path else {key})"
        lines += [f"    v = value[{key}]", "    if v is not None:"]
        limit = text_limits.get(field_rule)
        if limit is not None:
            lines += [
                f"        if v.__class__ is str and len(t := v.strip()) <= {limit}:",
                "            if t:",
                f"                out[{key}] = t",
                "        else:",
                f"            c = r{i}(v, {where}, problems)",
                "            if c is not None:",
                f"                out[{key}] = c",
            ]
        else:
            lines += [
                f"        c = r{i}(v, {where}, problems)",
                "        if c is not None:",
                f"            out[{key}] = c",
            ]
    if fill is not None:
        lines.append("    fill(out)")
    lines.append("    return out")
    exec(compile("\n".join(lines) + "\n", "<gcx.emulator.schema shape>", "exec"), scope)  # noqa: S102
    rule: Rule = scope["clean_shape"]
    return rule


def _as_is(value: Any, path: str, problems: list[FieldProblem]) -> Any:
    return value


def _clean_number(value: Any, path: str, problems: list[FieldProblem]) -> Any:
    if isinstance(value, bool) or not isinstance(value, int | float):
        problems.append(FieldProblem(path, "must be a number", value=_short(value)))
        return None
    return value


def _clean_boolean(value: Any, path: str, problems: list[FieldProblem]) -> Any:
    if not isinstance(value, bool):
        problems.append(FieldProblem(path, "must be true or false", value=_short(value)))
        return None
    return value


def _clean_free_object(value: Any, path: str, problems: list[FieldProblem]) -> Any:
    if not isinstance(value, dict):
        problems.append(FieldProblem(path, "must be a JSON object", value=_short(value)))
        return None
    return value


_ISO = re.compile(r"^\d{4}-\d{2}-\d{2}T\d{2}:\d{2}(:\d{2}(\.\d+)?)?(Z|[+-]\d{2}:?\d{2})?$")


@lru_cache(maxsize=4096)
def max_chars(description: str) -> int | None:
    match = _MAX_CHARS.search(description)
    return int(match.group(1).replace(",", "")) if match else None


@lru_cache(maxsize=4096)
def between_chars(description: str) -> tuple[int, int] | None:
    match = _BETWEEN_CHARS.search(description)
    if match is None:
        return None
    low, high = (int(g.replace(",", "")) for g in match.groups())
    return low, high


@lru_cache(maxsize=4096)
def max_items(description: str) -> int | None:
    match = _MAX_ITEMS.search(description)
    return int(match.group(1).replace(",", "")) if match else None


def _short(value: Any) -> Any:
    text = json.dumps(value, default=str)
    return value if len(text) <= 60 else text[:57] + "..."
