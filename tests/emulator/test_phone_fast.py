"""The emulator's North American fast path of the phone check against phonenumbers: the same
(international display, E.164, country) as :func:`parse_phone_slow` for every usual spelling in
every region, and the one-match type test the region lookup uses as phonenumbers' own."""

from __future__ import annotations

import random
import re
from typing import Any

import phonenumbers
from hypothesis import given, settings
from hypothesis import strategies as st
from phonenumbers import PhoneMetadata, PhoneNumberType
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE, _number_type_helper

from gcx.emulator.phones import _known_type, parse_phone, parse_phone_slow, phone_e164

fast_parse = parse_phone.__wrapped__  # past the cache: every call takes the path it would

#: Area codes of every North American region (from their example numbers) and of none (200, 555).
AREAS = sorted(
    {
        str(PhoneMetadata.metadata_for_region(region).general_desc.example_number or "2125550100")[:3]
        for region in COUNTRY_CODE_TO_REGION_CODE[1]
    }
    | {"200", "212", "204", "555", "800", "900", "999", "311", "911"}
)
AREA = st.sampled_from(AREAS) | st.from_regex(r"[0-9]{3}", fullmatch=True)
FOUR = st.from_regex(r"[0-9]{4}", fullmatch=True)
THREE = st.from_regex(r"[0-9]{3}", fullmatch=True)
SEP = st.sampled_from(["", " ", "-", ".", "  ", "/"])
PREFIX = st.sampled_from(["", "+1", "+1 ", "+1-", "1", "1 ", "1-", "+ 1", "+01", "11", "+"])
REGION = st.sampled_from(["US", "CA", "GB", "JM", "PR", "DE", "ZZ", "BS"])


@settings(max_examples=1500, deadline=None)
@given(PREFIX, AREA, st.booleans(), SEP, THREE, SEP, FOUR, REGION)
def test_fast_path_answers_as_phonenumbers(
    prefix: str, area: str, parens: bool, sep1: str, exchange: str, sep2: str, line: str, region: str
) -> None:
    text = f"{prefix}{f'({area})' if parens else area}{sep1}{exchange}{sep2}{line}"
    assert fast_parse(text, region) == parse_phone_slow(text, region), (text, region)


def test_fast_path_on_every_region_of_plus_one() -> None:
    rnd = random.Random(7)
    for region in COUNTRY_CODE_TO_REGION_CODE[1]:
        metadata = PhoneMetadata.metadata_for_region(region)
        for desc in (metadata.fixed_line, metadata.mobile, metadata.toll_free, metadata.general_desc):
            example = desc.example_number if desc is not None else None
            if not example:
                continue
            for text in (f"+1{example}", f"+1 ({example[:3]}) {example[3:6]}-{example[6:]}", example):
                for home in ("US", "CA", region):
                    assert fast_parse(text, home) == parse_phone_slow(text, home), (text, home)
        for _ in range(200):
            digits = str(example or "2125550100")[:3] + "".join(rnd.choice("0123456789") for _ in range(7))
            assert fast_parse(digits, "US") == parse_phone_slow(digits, "US"), digits


def test_known_type_answers_as_phonenumbers() -> None:
    rnd = random.Random(3)
    checked = 0
    for code, regions in COUNTRY_CODE_TO_REGION_CODE.items():
        for region in regions:
            metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
            if metadata is None:
                continue
            examples = [
                str(getattr(metadata, name).example_number)
                for name in ("fixed_line", "mobile", "toll_free", "premium_rate", "voip", "uan")
                if getattr(metadata, name) is not None and getattr(metadata, name).example_number
            ]
            for _ in range(60):
                base = rnd.choice(examples) if examples and rnd.random() < 0.7 else ""
                keep = rnd.randint(0, len(base))
                national = base[:keep] + "".join(
                    rnd.choice("0123456789") for _ in range(rnd.randint(0, 12 - keep if keep < 12 else 1))
                )
                if not national:
                    continue
                expected = _number_type_helper(national, metadata) != PhoneNumberType.UNKNOWN
                assert _known_type(region, metadata, national) == expected, (code, region, national)
                checked += 1
    assert checked > 10000


def test_fast_path_leaves_other_spellings_to_phonenumbers() -> None:
    for text in (
        "+1 200 555 01",
        "(212 555-0100",
        "212--555-0100",
        "+1 \uff10212 555 0100",
        "+1 \u0662125550100",
        "abc",
    ):
        assert fast_parse(text, "US") == parse_phone_slow(text, "US"), text
    assert fast_parse("+1 200 555 0100", "US") == ("+1 200-555-0100", "+12005550100", "1")
    assert fast_parse("(204) 555-0100", "CA") == parse_phone_slow("(204) 555-0100", "CA")
    assert phonenumbers.parse("+12045550100").country_code == 1


@settings(max_examples=500, deadline=None)
@given(PREFIX, AREA, SEP, THREE, SEP, FOUR, REGION)
def test_e164_reading_is_the_full_readings(
    prefix: str, area: str, sep1: str, exchange: str, sep2: str, line: str, region: str
) -> None:
    """:func:`phone_e164` (no region lookup) gives :func:`parse_phone`'s E.164, or None as it does."""
    for text in (f"{prefix}{area}{sep1}{exchange}{sep2}{line}", "+44 20 7946 0958", "+33 6 12", "ext. 12"):
        parsed = parse_phone_slow(text, region)
        assert phone_e164(text, region) == (None if parsed is None else parsed[1]), (text, region)


@settings(max_examples=500, deadline=None)
@given(st.text(alphabet="0123456789\u0663\uff11", min_size=8, max_size=12), REGION)
def test_e164_of_plus_one_and_ten_digits_is_the_general_reading(digits: str, region: str) -> None:
    """``+1`` and ten ASCII digits is its own E.164 (the fast path); anything else near it is read
    as before: nanp_national, then the full reading."""
    from gcx.phones import nanp_national

    text = f"+1{digits}"
    national = nanp_national(text, region)
    if national is not None:
        before: str | None = f"+1{national}"
    else:
        parsed = parse_phone(text, region)
        before = None if parsed is None else parsed[1]
    assert phone_e164(text, region) == before, (text, region)


#: The calling codes several regions share (the region lookup's one-pattern path).
SHARED_CODES = sorted(code for code, regions in COUNTRY_CODE_TO_REGION_CODE.items() if len(regions) > 1)


def test_region_pattern_answers_as_the_steps_for_every_prefix() -> None:
    """Every shared calling code, every 1-4 digit prefix of national numbers of 4 to 13 digits
    (the rest random), and every region's example numbers: one pattern, the steps' answer."""
    from gcx.emulator.phones import _region_for, _region_stepwise

    rng = random.Random(7)
    for code in SHARED_CODES:
        examples = []
        for region in COUNTRY_CODE_TO_REGION_CODE[code]:
            metadata = PhoneMetadata.metadata_for_region(region, None)
            if metadata is None:
                continue
            for name in ("fixed_line", "mobile", "toll_free", "premium_rate", "voip", "general_desc"):
                desc = getattr(metadata, name, None)
                if desc is not None and desc.example_number:
                    examples.append(str(desc.example_number))
        for national in examples:
            assert _region_for(code, national) == _region_stepwise(code, national), (code, national)
        for length in range(4, 14):
            for width in range(1, 5):
                for head in range(10**width):
                    prefix = f"{head:0{width}d}"
                    if len(prefix) > length:
                        continue
                    national = prefix + "".join(rng.choice("0123456789") for _ in range(length - len(prefix)))
                    assert _region_for(code, national) == _region_stepwise(code, national), (code, national)


@settings(max_examples=400)
@given(st.sampled_from(SHARED_CODES), st.from_regex(r"[0-9]{1,17}", fullmatch=True))
def test_region_pattern_answers_as_the_steps(code: int, national: str) -> None:
    from gcx.emulator.phones import _region_for, _region_stepwise

    assert _region_for(code, national) == _region_stepwise(code, national)


#: Patterns of the constructs :func:`no_match_heads` reads (and of some it does not), each checked
#: against every digit string of up to five digits.
HEAD_PATTERNS = [
    r"(?P<_A>20[1-9])|3\d|(?=9)\d{2}5",
    r"8(?:00|33|44)[2-9]\d{6}",
    r"(?=(?:[2-9]\d{9}|3\d{6})\Z)(?:900[2-9]\d{6}|(?:2(?:0[1-35-9]|1[02-9]))\d{7})\Z",
    r"[^3-8]7?|4{2,}1",
    r"1\d*?9|2(?:1|3){0,2}4",
    r"(?:5|)6",
    r"(a)?7|(?P<x>\d)(?P=x)",  # a back-reference: read as anything
    r"\D?8|x|[a-c]9",
    r"(?>12)3|9[^1]",  # an atomic group: read as anything
    r"",
]


def test_no_match_heads_never_leave_out_a_match() -> None:
    from itertools import product

    from gcx.emulator.pattern_heads import no_match_heads

    texts = ["".join(t) for n in range(6) for t in product("0123456789", repeat=n)]
    for source in HEAD_PATTERNS:
        pattern = re.compile(source)
        heads = no_match_heads(pattern)
        starts = {text[:3] for text in texts if len(text) >= 3 and pattern.match(text)}
        assert not heads & starts, source
    assert len(no_match_heads(re.compile(HEAD_PATTERNS[1]))) == 997  # 800, 833, 844
    assert no_match_heads(re.compile(HEAD_PATTERNS[6])) == frozenset()  # read as anything


def test_region_heads_of_no_match_match_nothing() -> None:
    """Every shared calling code's one pattern per length: numbers of a left-out head (random
    completions) match no alternative, so answering None for them is the pattern's answer."""
    from gcx.emulator.phones import _NO_MATCH, _REGION_ONE, _region_for

    rng = random.Random(11)
    for code in SHARED_CODES:
        for length in range(3, 14):
            _region_for(code, "0" * length)
            one = _REGION_ONE[(code, length)]
            if not isinstance(one, re.Pattern):
                continue
            for head in _NO_MATCH[(code, length)]:
                for _ in range(3):
                    national = head + "".join(rng.choice("0123456789") for _ in range(length - 3))
                    assert one.match(national) is None, (code, national)
    assert "200" in _NO_MATCH[(1, 10)]


@settings(max_examples=800, deadline=None)
@given(
    st.sampled_from(["+1", "+", "1", "+11", "+1 ", ""]) | st.text(alphabet="+1 -", max_size=3),
    st.text(alphabet="0123456789", min_size=8, max_size=12)
    | st.text(alphabet="0123456789\u0660\u0661\u0662\u00b3 x", min_size=8, max_size=12),
    REGION,
)
def test_plain_nanp_reads_as_nanp_national(prefix: str, digits: str, region: str) -> None:
    """The E.164 shortcut of the emulator's phone fill: when it reads a number, nanp_national
    reads the same ten digits in every region (and parse_phone answers as for them)."""
    from gcx.emulator.phones import _nanp_parsed, _plain_nanp
    from gcx.phones import nanp_national

    text = prefix + digits
    national = _plain_nanp(text)
    if national is not None:
        assert nanp_national(text, region) == national, (text, region)
        assert fast_parse(text, region) == _nanp_parsed(national) == parse_phone_slow(text, region)
    elif len(text) == 12 and text.startswith("+1") and text[2:].isascii() and text[2:].isdigit():
        assert text[2] in "01" and nanp_national(text, region) is None


def test_plain_nanp_on_usual_and_unusual_spellings() -> None:
    from gcx.emulator.phones import _plain_nanp

    assert _plain_nanp("+12000001199") == "2000001199"
    assert _plain_nanp("+16175550100") == "6175550100"
    for text in (
        "+1 617 555 0100",
        "+11175550100",
        "+1617555010",
        "+161755501000",
        "+1617555010\u0660",
        "16175550100",
    ):
        assert _plain_nanp(text) is None, text


def test_no_match_heads_without_the_private_parser_is_no_shortcut(monkeypatch: Any) -> None:
    """``re._parser`` is private: where it is missing, or its tree is of a shape not read, the
    answer is "no shortcut" (every number tried against the pattern), never a wrong answer."""
    from gcx.emulator import pattern_heads as schema

    pattern = re.compile(HEAD_PATTERNS[1])
    monkeypatch.setattr(schema, "_sre_parser", None)
    assert schema.no_match_heads(pattern) == frozenset()

    class Odd:
        MAXREPEAT = object()

        @staticmethod
        def parse(*_: Any) -> list[Any]:
            return [("LITERAL",)]  # not an (op, arg) pair

    monkeypatch.setattr(schema, "_sre_parser", Odd)
    assert schema.no_match_heads(pattern) == frozenset()
