"""The validation fast paths give exactly the answers of the slow paths (hypothesis).

Validating phones (phonenumbers) and emails (email-validator) is most of the cost of planning,
so ``gcx.sync.fields`` caches phone verdicts and checks a plain email's domain once. These
properties compare them with the libraries called directly, the way every record used to be
checked: same value for a good input, same message for a bad one, cache hit or miss.
"""

from __future__ import annotations

import json
import re
import unicodedata
from collections.abc import Mapping
from pathlib import Path

import phonenumbers
import pytest
from email_validator import EmailNotValidError, validate_email
from hypothesis import example, given, settings
from hypothesis import strategies as st

from gcx.phones import (
    NANP_FAST_REGIONS,
    PHONE_CACHE_SIZE,
    cached_readings,
    clear_cache,
    nanp_national,
    read_phone,
)
from gcx.sync.csvfile import Line, text_lines
from gcx.sync.fields import (
    KEY_MAX_LEN,
    KINDS,
    FieldError,
    FieldSpec,
    Kind,
    check_email,
    field_spec,
    normalize_phone,
    set_path,
    to_value,
)
from gcx.sync.plan import _ensure_identity, create_body
from gcx.sync.records import Built, Issue, Record, build_record, hash_text, record_from_json, values_hash
from gcx.sync.rows import JsonObject, json_text, op_payload
from gcx.sync.source import JsonlSource


def slow_phone(raw: str, default_country: str | None) -> str:
    """The phone check without any cache (phonenumbers called directly)."""
    text = raw.strip()
    region = (default_country or "").upper() or None
    try:
        number = phonenumbers.parse(text, None if text.startswith("+") else region)
    except phonenumbers.NumberParseException as exc:
        raise ValueError(f"cannot read phone number {text!r}: {exc}") from None
    if not phonenumbers.is_possible_number(number):
        raise ValueError(f"cannot read phone number {text!r}: not a possible number")
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164))


def slow_email(raw: str) -> str:
    """The email check without the domain fast path (email-validator on every address)."""
    try:
        validate_email(raw, check_deliverability=False)
    except EmailNotValidError as exc:
        raise ValueError(f"invalid email {raw!r}: {exc}") from None
    return raw


def outcome(fn: object, *args: object) -> tuple[str, str]:
    try:
        return ("ok", fn(*args))  # type: ignore[operator]
    except ValueError as exc:
        return ("error", str(exc))


PHONE_CHARS = "0123456789 +-().#xX*/ext;a"
phones = st.one_of(
    st.text(alphabet=PHONE_CHARS, max_size=24),
    st.builds(
        lambda cc, digits, sep: f"+{cc}{sep}{digits}",
        st.sampled_from(["1", "44", "33", "49", "81", "61", "7", "999", "0"]),
        st.text(alphabet="0123456789", min_size=0, max_size=16),
        st.sampled_from(["", " ", "-", " (0) "]),
    ),
    st.builds(
        lambda a, b, c: f"({a}) {b}-{c}",
        st.text(alphabet="0123456789", min_size=3, max_size=3),
        st.text(alphabet="0123456789", min_size=3, max_size=3),
        st.text(alphabet="0123456789", min_size=4, max_size=4),
    ),
    st.text(max_size=12),
)
countries = st.sampled_from([None, "", "US", "us", "GB", "FR", "DE", "JP", "CA", "ZZ", "XX"])


@settings(max_examples=400, deadline=None)
@given(raw=phones, country=countries)
@example(raw="+1 212 555-0125", country="GB")
@example(raw="212-555-0338", country="US")
@example(raw="+15550100100", country=None)
@example(raw="call me maybe", country="US")
@example(raw="  (416) 555-0259 ", country="ca")
def test_cached_phone_equals_uncached(raw: str, country: str | None) -> None:
    expected = outcome(slow_phone, raw, country)
    assert outcome(normalize_phone, raw, country) == expected  # first call (maybe a miss)
    assert outcome(normalize_phone, raw, country) == expected  # now a cache hit


def test_phone_cache_is_bounded_and_keyed_by_country() -> None:
    clear_cache()
    assert normalize_phone("020 7946 0958", "GB") == "+442079460958"
    with pytest.raises(ValueError, match="cannot read phone number"):
        normalize_phone("020 7946 0958", "US")
    # a number written with +<code> ignores the country, so both countries share one entry
    assert normalize_phone("+44 20 7946 0958", "US") == normalize_phone("+44 20 7946 0958", "FR")
    for i in range(PHONE_CACHE_SIZE + 10):
        normalize_phone(f"+44 20 {i:08d}", None)
    assert cached_readings() == PHONE_CACHE_SIZE


# The North American fast path (gcx.phones._NANP_*): every spelling it takes, and its near misses
# (area code 0/1, nine or eleven digits, other separators, other digits, other regions), must
# read exactly as phonenumbers reads them.
_d = st.text(alphabet="0123456789", min_size=1, max_size=1)
_sep = st.sampled_from(["", " ", "-", ".", "  ", "/", " - ", "\u00a0", "x"])
nanp_spellings = st.builds(
    lambda plus, one, s0, area, paren, s1, mid, s2, last: (
        f"{plus}{one}{s0}{'(' + area + ')' if paren else area}{s1}{mid}{s2}{last}"
    ),
    st.sampled_from(["+", "", "\uff0b", "++"]),
    st.sampled_from(["1", "", "11", "2", "44"]),
    _sep,
    st.text(alphabet="0123456789", min_size=2, max_size=4),
    st.booleans(),
    _sep,
    st.text(alphabet="0123456789\u0663", min_size=2, max_size=4),
    _sep,
    st.text(alphabet="0123456789", min_size=3, max_size=5),
)
_digits = lambda n: st.text(alphabet="0123456789", min_size=n, max_size=n)  # noqa: E731
_fast_sep = st.sampled_from(["", " ", "-", "."])
nanp_usual = st.builds(
    lambda prefix, area, paren, s1, mid, s2, last: (
        f"{prefix}{'(' + area + ')' if paren else area}{s1}{mid}{s2}{last}"
    ),
    st.sampled_from(["+1", "+1 ", "+1-", "+1.", "1", "1 ", "1-", "", "", ""]),
    _digits(3),
    st.booleans(),
    _fast_sep,
    _digits(3),
    _fast_sep,
    _digits(4),
)
nanp_regions = st.sampled_from([None, "US", "CA", "US", "CA", "us", "GB", "BS", "PR", "JM", "FR", "ZZ"])


@settings(max_examples=1500, deadline=None)
@given(raw=st.one_of(nanp_usual, nanp_spellings), country=nanp_regions)
@example(raw="+1 212 555 0100", country=None)
@example(raw="+1 (212) 555-0100", country="GB")
@example(raw="+12125550100", country=None)
@example(raw="(212) 555-0100", country="US")
@example(raw="1 (212) 555-0100", country="CA")
@example(raw="1-212-555-0100", country="US")
@example(raw="212.555.0100", country="CA")
@example(raw="+1 112 555 0100", country=None)
@example(raw="+1 012 555 0100", country=None)
@example(raw="012 555 0100", country="US")
@example(raw="112 555 0100", country="US")
@example(raw="11 212 555 0100", country="US")
@example(raw="212 555 0100", country="BS")
@example(raw="212 555 0100", country="us")
@example(raw="+1 212 \u0665\u0665\u0665 0100", country=None)
def test_nanp_fast_path_reads_as_phonenumbers(raw: str, country: str | None) -> None:
    clear_cache()
    assert outcome(normalize_phone, raw, country) == outcome(slow_phone, raw, country)


_GROUPED_TEN = r"(?:\(([2-9]\d\d)\)|([2-9]\d\d))[ .-]?(\d{3})[ .-]?(\d{4})"
_GROUPED_INTL = re.compile(r"\+1[ .-]?" + _GROUPED_TEN, re.ASCII)
_GROUPED_HOME = re.compile(r"(?:1[ .-]?)?" + _GROUPED_TEN, re.ASCII)
_NOT_DIGITS = str.maketrans("", "", "+()-. ")


def reference_nanp_national(text: str, region: str | None) -> tuple[str | None, str | None]:
    """nanp_national's digits read two ways: one group per part of the number, and (as it read
    them before) the separators deleted and the last ten digits kept."""
    if text.startswith("+"):
        match = _GROUPED_INTL.fullmatch(text)
    else:
        match = _GROUPED_HOME.fullmatch(text) if region in NANP_FAST_REGIONS else None
    if match is None:
        return None, None
    return f"{match.group(1) or match.group(2)}{match.group(3)}{match.group(4)}", text.translate(_NOT_DIGITS)[
        -10:
    ]


@settings(max_examples=1500, deadline=None)
@given(raw=st.one_of(nanp_usual, nanp_spellings, phones), country=nanp_regions)
@example(raw="1 (212) 555-0100", country="US")
@example(raw="+1.(212)-555.0100", country=None)
@example(raw="+1 (212 555 0100", country=None)
def test_nanp_national_reads_the_digits_the_groups_and_the_deleted_separators_read(
    raw: str, country: str | None
) -> None:
    """The digits joined from the match's groups are each part's, and those its separators
    deleted left (the reading before)."""
    by_groups, by_deletion = reference_nanp_national(raw, country)
    assert nanp_national(raw, country) == by_groups == by_deletion


def test_text_lines_are_lines(tmp_path: Path) -> None:
    """text_lines makes its Line tuples at C speed: the same class, fields and values."""
    path = tmp_path / "s.csv"
    path.write_bytes(b"a,b\r\n\xff1,2\rx\x00y\n")
    got = list(text_lines(path, "utf-8"))
    assert [type(line) for line in got] == [Line] * 3
    assert got == [
        Line(1, "a,b\r\n"),
        Line(2, "\udcff1,2\r", "cannot decode the line as utf-8 (byte 0)"),
        Line(3, "x\x00y\n", "the line contains a NUL byte"),
    ]
    assert [(line.number, line.text, line.problem) for line in got] == [tuple(line) for line in got]


def test_nanp_fast_path_is_taken_and_leaves_the_cache_alone() -> None:
    clear_cache()
    for region in NANP_FAST_REGIONS:
        assert read_phone("(415) 555-0132", region) == ("+14155550132", None)
    assert read_phone("+1 415 555 0132", None) == ("+14155550132", None)
    assert cached_readings() == 0  # none of them needed phonenumbers
    assert read_phone("415 555 0132", "GB") == ("+444155550132", None)  # phonenumbers' answer in GB
    assert cached_readings() == 1


ATEXT = "abcXYZ0189!#$%&'*+/=?^_`{|}~-"
local_parts = st.one_of(
    st.text(alphabet=ATEXT + ".", min_size=0, max_size=70),
    st.text(alphabet=ATEXT + '. "\\(),:;<>@[]é', min_size=0, max_size=20),
    st.text(max_size=10),
)
labels = st.text(alphabet="abcxyz019-_é", min_size=0, max_size=70)
domains = st.one_of(
    st.sampled_from(
        [
            "example.com",
            "northwindtraders.example",
            "EXAMPLE.COM",
            "localhost",
            "a.b",
            "x.invalid",
            "[127.0.0.1]",
            "-bad.com",
            "bad-.com",
            "a..com",
            "",
            "münchen.de",
            "x" * 250 + ".com",
        ]
    ),
    st.lists(labels, min_size=1, max_size=4).map(".".join),
)


@settings(max_examples=400, deadline=None)
@given(local=local_parts, domain=domains, ats=st.sampled_from(["@", "@@", ""]))
@example(local="jane", domain="acme.example", ats="@")
@example(local="a" * 64, domain="example.com", ats="@")
@example(local="a" * 65, domain="example.com", ats="@")
@example(local="a" * 60, domain="b" * 63 + "." + "c" * 63 + "." + "d" * 60 + ".com", ats="@")
@example(local="jane.", domain="example.com", ats="@")
@example(local='"jane doe"', domain="example.com", ats="@")
def test_email_fast_path_equals_email_validator(local: str, domain: str, ats: str) -> None:
    raw = f"{local}{ats}{domain}"
    assert outcome(check_email, raw) == outcome(slow_email, raw)


text_values = st.one_of(st.text(max_size=60), st.text(alphabet=" \t\n\xa0ab", max_size=8))


@settings(max_examples=300, deadline=None)
@given(
    raw=text_values,
    path=st.sampled_from(["firstName", "address.state", "address.postalCode", "name", "industry"]),
    kind=st.sampled_from(["organization", "contact"]),
)
def test_text_fast_path_equals_the_general_rules(raw: str, path: str, kind: str) -> None:
    """A text field given a string: trimmed, empty is no value (or 'is required'), length checked."""
    try:
        spec = field_spec(kind, path)  # type: ignore[arg-type]
    except FieldError:
        return  # not a field of this kind
    text = raw.strip()
    expected: tuple[str, str | None]
    if not text:
        expected = ("error", "is required") if spec.required else ("ok", None)
    elif spec.max_len is not None and len(text) > spec.max_len:
        expected = ("error", f"is {len(text)} characters long (at most {spec.max_len})")
    else:
        expected = ("ok", text)
    try:
        got: tuple[str, str | None] = ("ok", to_value(spec, raw))
    except FieldError as exc:
        assert exc.field == path
        got = ("error", exc.reason)
    assert got == expected


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(text_values, st.text(min_size=995, max_size=1010), st.integers(), st.none()),
    path=st.sampled_from(["firstName", "address.state", "address.postalCode", "name", "industry"]),
    kind=st.sampled_from(["organization", "contact"]),
)
def test_build_record_reads_text_fields_as_to_value_does(raw: object, path: str, kind: str) -> None:
    """build_record's inline reading of a plain text field gives to_value's value or issue."""
    try:
        spec = field_spec(kind, path)  # type: ignore[arg-type]
    except FieldError:
        return
    values = {"name": "Acme"} if kind == "organization" and path != "name" else {}
    built = build_record(kind, "k-1", {**values, path: raw}, line=3)  # type: ignore[arg-type]
    try:
        expected: tuple[str, object] = ("ok", to_value(spec, raw))
    except FieldError as exc:
        expected = ("error", exc.reason)
    if built.record is not None:
        assert ("ok", built.record.values[path]) == expected
    else:
        assert [(i.field, i.reason) for i in built.issues][:1] == [(path, expected[1])]


@settings(max_examples=300, deadline=None)
@given(
    raw=st.one_of(phones, st.builds(lambda a, b: f" {a}@{b} ", local_parts, domains), text_values),
    path=st.sampled_from(["workEmail", "cellPhone"]),
    country=countries,
)
def test_email_and_phone_strings_follow_the_general_rules(raw: str, path: str, country: str | None) -> None:
    """An email or phone given as a string: trimmed, empty is no value, length checked, then the
    library's verdict (as if called directly) with the field named."""
    spec = field_spec("contact", path)
    text = raw.strip()
    expected: tuple[str, str | None]
    if not text:
        expected = ("ok", None)
    elif spec.max_len is not None and len(text) > spec.max_len:
        expected = ("error", f"is {len(text)} characters long (at most {spec.max_len})")
    else:
        expected = outcome(slow_email, text) if path == "workEmail" else outcome(slow_phone, text, country)
    try:
        got: tuple[str, str | None] = ("ok", to_value(spec, raw, phone_country=country))
    except FieldError as exc:
        assert exc.field == path
        got = ("error", exc.reason)
    assert got == expected


# --------------------------------------------------------------------------- reading canonical JSONL
# A JSONL source is read with orjson, records are built with inline fast paths (plain text fields,
# plain ASCII keys, phones in the API's form), their hash text is written by hand and a create's
# body is built without the merge a PUT needs. The references below are the general paths, as
# every line used to be read: json.loads, every field through to_value, the stdlib encoder.


def reference_key(raw: object) -> str:
    """check_key's general rules (no fast path)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        raise FieldError("externalId", "is missing (every record needs its source key)")
    if not isinstance(raw, str | int) or isinstance(raw, bool):
        raise FieldError("externalId", f"must be text, got {type(raw).__name__}")
    key = unicodedata.normalize("NFC", str(raw).strip())
    if len(key) > KEY_MAX_LEN:
        raise FieldError("externalId", f"is {len(key)} characters long (at most {KEY_MAX_LEN})")
    return key


def reference_flatten(prefix: str, value: object, out: dict[str, object]) -> None:
    if isinstance(value, Mapping) and prefix in {"address", "customFields"}:
        for k, v in value.items():
            reference_flatten(f"{prefix}.{k}", v, out)
        return
    out[prefix] = value


def reference_phone(spec: FieldSpec, raw: object, country: str | None) -> object:
    """A phone in the API's form ({"display": ...}) read as to_value read it before."""
    if isinstance(raw, Mapping):
        raw = raw.get("display") or raw.get("e164")
        if raw is None:
            return None
        if not isinstance(raw, str | int | float) or isinstance(raw, bool):
            raise FieldError(spec.path, f"expected text, got {type(raw).__name__}")
    return to_value(spec, raw, phone_country=country)


def reference_record(obj: object, line: int) -> Built:
    """record_from_json's general path: every field through to_value, every key through the rules."""
    if not isinstance(obj, Mapping):
        return Built(None, [Issue(line, f"expected a JSON object, got {type(obj).__name__}")])
    kind = obj.get("kind")
    if kind not in KINDS:
        return Built(
            None, [Issue(line, f"kind must be 'organization' or 'contact', got {kind!r}", field="kind")]
        )
    if kind == "organization" and "organization" in obj:
        issue = Issue(line, "an organization has no organization reference", field="organization", kind=kind)
        return Built(None, [issue])
    raw_values: dict[str, object] = {}
    for name, value in obj.items():
        if name not in {"kind", "externalId", "organization"}:
            reference_flatten(name, value, raw_values)
    issues: list[Issue] = []
    key: str | None = None
    try:
        key = reference_key(obj.get("externalId"))
    except FieldError as exc:
        issues.append(Issue(line, exc.reason, field=exc.field, kind=kind))
    values: dict[str, object] = {}
    for path, raw in raw_values.items():
        try:
            spec = field_spec(kind, path)
            if spec.type == "phone":
                values[path] = reference_phone(spec, raw, "US")
            else:
                values[path] = to_value(spec, raw, phone_country="US")
        except FieldError as exc:
            issues.append(Issue(line, exc.reason, field=exc.field, key=key, kind=kind))
    manages = kind == "contact" and "organization" in obj
    org_key, ref = obj.get("organization"), None
    if manages and org_key is not None and not (isinstance(org_key, str) and not org_key.strip()):
        try:
            ref = reference_key(org_key)
        except FieldError as exc:
            issues.append(Issue(line, exc.reason, field="organization", key=key, kind=kind))
    if kind == "organization" and "name" not in values and not issues:
        issues.append(
            Issue(line, "is required (an organization needs a name)", field="name", key=key, kind=kind)
        )
    if issues or key is None:
        return Built(None, issues)
    return Built(Record(kind, key, values, org_key=ref, manages_org=manages, line=line))


def reference_items(lines: list[str], kinds: tuple[str, ...]) -> list[Record | Issue]:
    """JsonlSource.items as it read every line: json.loads, then the general path."""
    out: list[Record | Issue] = []
    for n, text in enumerate(lines, 1):
        if not text.strip():
            continue
        try:
            obj = json.loads(text)
        except json.JSONDecodeError as exc:
            out.append(Issue(n, f"not valid JSON: {exc.msg} (column {exc.colno}): record skipped"))
            continue
        if isinstance(obj, dict) and obj.get("kind") in KINDS and obj.get("kind") not in kinds:
            continue
        built = reference_record(obj, n)
        if built.record is not None:
            out.append(built.record)
        out.extend(built.issues)
    return out


huge_ints = st.one_of(
    st.integers(), st.integers(min_value=2**63 - 2, max_value=2**64 + 2).map(lambda i: i * 10**6)
)
numbers = st.one_of(
    huge_ints, st.floats(allow_nan=True, allow_infinity=True), st.sampled_from([1.0, 1e20, -0.0])
)
texts = st.one_of(
    st.text(max_size=12),
    st.sampled_from(
        ["Ada", " Jos\u0065\u0301 ", "+1 212 555 0100", "(415) 555-0132", "a@b.example", "", "  "]
    ),
    st.sampled_from(["jane@example.com", "https://crm.example/1", "true", "12", "x" * 300]),
)
scalars = st.one_of(texts, numbers, st.booleans(), st.none())
json_values = st.recursive(
    scalars,
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(texts, inner, max_size=3),
    max_leaves=6,
)
field_names = st.sampled_from(
    [
        "firstName",
        "title",
        "workEmail",
        "cellPhone",
        "workPhone",
        "name",
        "industry",
        "employeeCount",
        "tags",
        "surveyOptOut",
        "externalSystemUrl",
        "address",
        "customFields",
        "address.city",
        "twitterId",
    ]
)
field_values = st.one_of(
    json_values,
    st.fixed_dictionaries({"display": st.one_of(texts, numbers, st.none())}),
    st.fixed_dictionaries({"e164": texts, "display": st.sampled_from(["", None])}),
    st.dictionaries(st.sampled_from(["city", "state", "tier", "score"]), scalars, max_size=3),
)
records = st.builds(
    lambda kind, key, org, fields: {
        **({"kind": kind} if kind is not None else {}),
        **({"externalId": key} if key is not None else {}),
        **({"organization": org[0]} if org else {}),
        **fields,
    },
    st.sampled_from(["contact", "contact", "organization", "lead", None]),
    st.one_of(texts, huge_ints, st.floats(), st.booleans(), st.none(), st.just("c-1")),
    st.one_of(st.none(), st.tuples(st.one_of(texts, huge_ints, st.none()))),
    st.dictionaries(field_names, field_values, max_size=5),
)


def as_line(obj: object, tail: str) -> str:
    text = json.dumps(obj)  # NaN and Infinity as json writes them (json.loads reads them)
    if tail and text.endswith("}") and len(text) > 2:
        text = text[:-1] + tail + "}"  # a member again: the last one counts
    return text


lines = st.one_of(
    st.builds(as_line, records, st.sampled_from(["", "", ', "kind": "organization"', ', "externalId": 12'])),
    st.sampled_from(
        ["", "   ", "{not json", "[1, 2]", '"text"', "{} x", '{"a": "\\ud800"}', "{" * 1100 + "}" * 1100]
    ),
)


@settings(max_examples=300, deadline=None)
@given(source=st.lists(lines, max_size=6), kinds=st.sampled_from([("organization",), ("contact",), KINDS]))
@example(
    source=['{"kind": "contact", "externalId": 123456789012345678901234567890, "firstName": "Al"}'],
    kinds=KINDS,
)
@example(
    source=['{"kind": "organization", "externalId": "o", "name": "A", "revenue": 100000000000000000000}'],
    kinds=("organization",),  # read by orjson for its kind, then exactly
)
@example(source=['{"kind": "contact", "externalId": "c", "customFields": {"n": NaN}}'], kinds=KINDS)
@example(
    source=[
        "100000000000000000000",  # not an object: said with the integer's type
        '{"kind": 100000000000000000000}',  # a kind not known: said with the integer
        '{"kind": "contact", "externalId": "c", "address": {"zip": [100000000000000000000]}}',
    ],
    kinds=KINDS,  # each found a float by orjson's reading on the walk, then read exactly
)
@example(
    source=[
        '{"kind": "contact", "externalId": 1.5}',
        '{"kind": "contact", "kind": "organization", "externalId": "o"}',
    ],
    kinds=("organization",),
)
def test_jsonl_source_reads_as_the_general_path(
    tmp_path_factory: pytest.TempPathFactory, source: list[str], kinds: tuple[Kind, ...]
) -> None:
    path = tmp_path_factory.mktemp("jsonl") / "s.jsonl"
    path.write_text("".join(f"{line}\n" for line in source), encoding="utf-8")
    got = list(JsonlSource(path).items(kinds))
    assert got == reference_items(source, kinds)
    for item, expected in zip(got, reference_items(source, kinds), strict=True):
        if isinstance(item, Record):
            assert isinstance(expected, Record)
            assert item.hash == values_hash(item.kind, expected.applied_values())


hash_values = st.one_of(
    json_values,
    st.lists(texts, max_size=3),
    st.builds(type("Text", (str,), {}), texts),  # a str subclass: left to the stdlib encoder
    st.builds(lambda f: [f], st.floats()),
)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from(KINDS),
    values=st.dictionaries(st.one_of(field_names, texts), hash_values, max_size=6),
)
@example(kind="contact", values={'a\u2028\x00"é': ["\x1f", "\\"], "b": 10**40, "c": None, "d": True, "e": []})
def test_hash_text_is_the_stdlib_encoders(kind: Kind, values: dict[str, object]) -> None:
    assert hash_text(kind, values) == json.dumps(
        [kind, sorted(values.items())], sort_keys=True, ensure_ascii=False, default=str
    )


def reference_create_body(record: Record, source_id: str, org_id: str | None) -> dict[str, object]:
    """A create's body as update bodies are made: set_path on each value, then _ensure_identity."""
    body: dict[str, object] = {}
    for path, value in record.values.items():
        set_path(body, record.kind, path, value)
    if record.kind == "contact" and org_id:
        body["externalOrganization"] = {"id": org_id}
    _ensure_identity(body, record.key, source_id)
    return body


@settings(max_examples=300, deadline=None)
@given(obj=records, org_id=st.sampled_from([None, "", "g-1"]))
def test_create_body_is_the_general_bodys(obj: dict[str, object], org_id: str | None) -> None:
    built = record_from_json(obj, line=1)
    if built.record is None:
        return
    body = create_body(built.record, "src-1", org_id)
    expected = reference_create_body(built.record, "src-1", org_id)
    assert body == expected
    assert list(body) == list(expected)  # the same members, in the same order


def finite(value: object) -> bool:
    """No NaN or infinity in the value (to_value refuses them: no applied value holds one)."""
    text = json.dumps(value)
    return "NaN" not in text and "Infinity" not in text


@settings(max_examples=500, deadline=None)
@given(
    applied=st.dictionaries(st.one_of(field_names, texts), hash_values, max_size=6).filter(finite),
    digest=st.one_of(texts, st.just("conflict:0123456789abcdef0123456")),
    org_key=st.one_of(st.none(), texts, st.just("o-\ud800")),
)
@example(applied={"b": 10**40, "a": "\x7f\u2028"}, digest="\x00\x1f", org_key="\ud800")
def test_op_payload_is_the_json_text_of_its_dict(
    applied: dict[str, object], digest: str, org_key: str | None
) -> None:
    got = op_payload(JsonObject(json_text(applied)), digest, org_key)
    assert got == json_text({"applied": applied, "hash": digest, "org_key": org_key})


plain_texts = st.one_of(
    st.text(alphabet=st.characters(min_codepoint=0x20, max_codepoint=0x2FF), max_size=10),
    st.sampled_from(["", "%s", "%", "100%", "é", "\u2028", "a\tb", 'say "hi"', "C:\\x", "\x7f", "\ud800"]),
)


@settings(max_examples=500, deadline=None)
@given(
    kind=st.sampled_from([*KINDS, 'odd%s"kind']),
    values=st.dictionaries(
        st.one_of(field_names, plain_texts), st.one_of(plain_texts, st.none()), max_size=7
    ),
)
@example(kind="contact", values={"%s": "%", "b%": "%s", "firstName": "Ann"})
@example(kind="contact", values={"firstName": "A", "lastName": "\u2028"})  # not printable: written as before
@example(kind="contact", values={"firstName": "A", "lastName": 'O"Neil'})
@example(kind="contact", values={"firstName": "A\x7f\u00a0\ud800", "lastName": "b\\c\x1f"})
@example(kind="contact", values={"firstName": "A", "lastName": None})
def test_hash_text_of_text_values_laid_out_at_once_is_the_stdlib_encoders(
    kind: Kind, values: dict[str, object]
) -> None:
    """The usual record (two or more paths, text values, nothing to escape) is written into a
    layout made once per shape; the same shape with other values (None, escapes) is not."""
    for vals in (values, {k: "plain" for k in values}, dict(reversed(values.items()))):
        assert hash_text(kind, vals) == json.dumps(
            [kind, sorted(vals.items())], sort_keys=True, ensure_ascii=False, default=str
        )


jsonl_phones = st.one_of(
    st.fixed_dictionaries({"display": st.one_of(nanp_usual, nanp_spellings, phones, text_values)}),
    st.fixed_dictionaries(
        {"display": st.sampled_from(["", None, " "]), "e164": st.one_of(nanp_usual, phones, st.none())}
    ),
    st.fixed_dictionaries({"display": st.one_of(nanp_usual, st.text(min_size=505, max_size=520))}),
)


@settings(max_examples=600, deadline=None)
@given(
    raw=st.one_of(jsonl_phones, st.builds(lambda a, b: f" {a}@{b} ", local_parts, domains), text_values),
    path=st.sampled_from(["workEmail", "personalEmail", "cellPhone", "workPhone"]),
    country=nanp_regions,
)
@example(raw={"display": "+1 212 555 0100"}, path="cellPhone", country=None)
@example(raw={"display": "(212) 555-0100"}, path="cellPhone", country="us")
@example(raw={"display": "(212) 555-0100"}, path="cellPhone", country="GB")
@example(raw={"display": "", "e164": "+12125550100"}, path="cellPhone", country="US")
@example(raw={"display": " +1 212 555 0100 " + " " * 600}, path="cellPhone", country="US")
@example(raw="jane@example.com", path="workEmail", country="US")
@example(raw=" jane@@example.com ", path="workEmail", country="US")
@example(raw="j" * 250 + "@example.com", path="workEmail", country="US")
def test_build_record_reads_emails_and_phone_objects_as_to_value_does(
    raw: object, path: str, country: str | None
) -> None:
    """build_record's inline reading of an email given as text and of a phone object (a JSONL
    record's {"display": ...}) gives to_value's value, or its issue with the field named."""
    spec = field_spec("contact", path)
    built = build_record("contact", "k-1", {path: raw}, line=3, phone_country=country)
    try:
        expected: tuple[str, object] = ("ok", to_value(spec, raw, phone_country=country))
    except FieldError as exc:
        assert exc.field == path
        expected = ("error", exc.reason)
    if built.record is not None:
        assert ("ok", built.record.values[path]) == expected
    else:
        assert [(i.field, i.reason) for i in built.issues] == [(path, expected[1])]
