"""Phone numbers read as the service reads them: international display, E.164 and country.

The emulator's cleaning (:mod:`gcx.emulator.schema`) fills a phone's ``display``, ``e164`` and
``countryCode`` with :func:`fill_phone`; the identity rules compare numbers by
:func:`phone_e164`. phonenumbers gives the answers; the usual North American spellings
(:func:`gcx.phones.nanp_national`) are answered without it, and a calling code shared by
several regions is resolved with the patterns compiled once (:func:`region_code_for_number`).
``tests/emulator/test_phone_fast.py`` and ``tests/emulator/test_email_fast.py`` hold each fast
path to phonenumbers' own answer.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import phonenumbers
from phonenumbers import PhoneMetadata
from phonenumbers.phonenumberutil import COUNTRY_CODE_TO_REGION_CODE

from gcx.emulator.pattern_heads import HEAD, no_match_heads
from gcx.phones import nanp_national


def fill_phone(out: dict[str, Any]) -> None:
    """Fill ``userInput``, ``e164`` and ``countryCode`` and rewrite ``display`` as the service does,
    in place, on a phone that holds none of the server-set fields (see
    :func:`gcx.emulator.schema.normalize_phone`)."""
    display = out.get("display")
    if not isinstance(display, str) or not display:
        return
    out["userInput"] = display
    national = _plain_nanp(display)
    if national is not None:  # +1 and ten digits: read so in any region, nothing to remember
        parsed: tuple[str, str, str] | None = _nanp_parsed(national)
    else:
        region = str(out.get("normalizationCountryCode") or "US").upper()
        parsed = parse_phone(display, region if len(region) == 2 else "US")
    if parsed is not None:
        out["display"], out["e164"], out["countryCode"] = parsed


@lru_cache(maxsize=4096)
def parse_phone(display: str, region: str) -> tuple[str, str, str] | None:
    """(international display, E.164, country) for a number that parses, else None.

    A North American number in a usual spelling (:func:`gcx.phones.nanp_national`) is answered
    without parsing: ``+1 AAA-EEE-SSSS``, ``+1`` and the ten digits, its region looked up as
    phonenumbers does. ``tests/emulator/test_phone_fast.py`` holds it to :func:`parse_phone_slow`.
    """
    national = nanp_national(display, region)
    if national is None:
        return parse_phone_slow(display, region)
    return _nanp_parsed(national)


def _nanp_parsed(national: str) -> tuple[str, str, str]:
    """:func:`parse_phone`'s answer for the North American number of these ten digits."""
    region_code = _region_for(1, national)
    return (
        f"+1 {national[:3]}-{national[3:6]}-{national[6:]}",
        f"+1{national}",
        region_code if region_code and region_code != "ZZ" else "1",
    )


_NANP_AREA_START = frozenset("23456789")


def _plain_nanp(text: str) -> str | None:
    """The ten digits of a number written ``+1`` and ten ASCII digits, the first 2-9 (E.164, as
    gcx sends them), else None: one of the spellings :func:`gcx.phones.nanp_national` reads (its
    answer for those in every region), told without a regular expression.
    ``tests/emulator/test_phone_fast.py`` compares both."""
    if len(text) == 12 and text.startswith("+1"):
        digits = text[2:]
        if digits.isdigit() and digits.isascii() and digits[0] in _NANP_AREA_START:
            return digits
    return None


def phone_e164(text: str, region: str) -> str | None:
    """The E.164 form of :func:`parse_phone`'s reading (a North American number's region, which
    only the display needs, is not looked up), or None for a number that does not parse.
    ``+1`` and ten digits (:func:`_plain_nanp`, E.164 already) is its own answer in any region."""
    if _plain_nanp(text) is not None:
        return text
    national = nanp_national(text, region)
    if national is not None:
        return f"+1{national}"
    parsed = parse_phone(text, region)
    return None if parsed is None else parsed[1]


def parse_phone_slow(display: str, region: str) -> tuple[str, str, str] | None:
    """:func:`parse_phone` through phonenumbers for every number."""
    try:
        parsed = phonenumbers.parse(display, region)
    except phonenumbers.NumberParseException:
        return None
    if not phonenumbers.is_possible_number(parsed):
        return None
    region_code = region_code_for_number(parsed)
    return (
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.INTERNATIONAL),
        phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.E164),
        region_code if region_code and region_code != "ZZ" else str(parsed.country_code),
    )


#: Countries sharing a calling code (+1, +7, +44...), as the steps of trying them in phonenumbers'
#: order: ``(None, region, metadata)``, a region of no leading digits (a full validation);
#: ``(pattern, region, None)``, a region's leading digits; ``(pattern, "", None)``, a run of
#: regions' leading digits as one alternation of groups named ``_REGION`` (the first alternative
#: that matches wins, as trying the regions in turn: +1's 23 patterns in one match).
_REGION_STEPS: dict[int, list[tuple[re.Pattern[str] | None, str, Any]]] = {}
#: Leading-digits patterns safe to put in one alternation: digits, classes, groups (?:...), no
#: capturing group of their own (checked when compiled too).
_PLAIN_LEADING = re.compile(r"[0-9\[\]()|?:\-\\d]*")


def region_code_for_number(number: phonenumbers.PhoneNumber) -> str | None:
    """``phonenumbers.region_code_for_number``, step for step, with the patterns compiled once.

    A calling code shared by several regions (+1: 25 of them) is resolved by trying each region in
    phonenumbers' order: its leading digits when it has them, else a full validation; a number of
    no region (an unassigned area code) tries them all. ``tests/emulator/test_email_fast.py``
    checks the answer against phonenumbers' own on numbers of every calling code.
    """
    code = number.country_code
    if code is None:
        return None
    return _region_for(code, phonenumbers.national_significant_number(number))


#: Per (region, length of a national number): the general pattern and the patterns of every
#: number type whose lengths allow it, as one alternation; None when no type can match.
_KNOWN_TYPE: dict[tuple[str, int], tuple[re.Pattern[str], re.Pattern[str]] | None] = {}
_UNSEEN: Any = object()
_TYPE_DESCS = (
    "premium_rate",
    "toll_free",
    "shared_cost",
    "voip",
    "personal_number",
    "pager",
    "uan",
    "voicemail",
    "fixed_line",
    "mobile",
)


def _desc_pattern(desc: Any, length: int) -> str | None:
    """A number description's pattern when a number of ``length`` digits may match it."""
    if desc is None or not desc.national_number_pattern:
        return None
    if desc.possible_length and length not in desc.possible_length:
        return None
    return str(desc.national_number_pattern)


def _known_type(region: str, metadata: Any, national: str) -> bool:
    """``_number_type_helper(national, metadata) != UNKNOWN``, in at most two matches.

    phonenumbers asks the general description, then each type's in turn (its lengths, then its
    pattern); a number is of some type exactly when the general pattern and one type's pattern
    of a fitting length match it whole.
    """
    key = (region, len(national))
    tests = _KNOWN_TYPE.get(key, _UNSEEN)
    if tests is _UNSEEN:
        general = _desc_pattern(metadata.general_desc, len(national))
        types = [_desc_pattern(getattr(metadata, name), len(national)) for name in _TYPE_DESCS]
        alternatives = [f"(?:{pattern})" for pattern in types if pattern is not None]
        _KNOWN_TYPE[key] = (
            (re.compile(general), re.compile("|".join(alternatives)))
            if general is not None and alternatives
            else None
        )
        tests = _KNOWN_TYPE[key]
    return (
        tests is not None
        and tests[0].fullmatch(national) is not None
        and tests[1].fullmatch(national) is not None
    )


def _region_for(code: int, national: str) -> str | None:
    """The region of the number ``+code national`` (see :func:`region_code_for_number`)."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return None
    if len(regions) == 1:
        return str(regions[0])
    key = (code, len(national))
    one = _REGION_ONE.get(key, _UNSEEN)
    if one is _UNSEEN:
        one = _REGION_ONE[key] = _region_pattern(_steps_of(code, regions), len(national))
        _NO_MATCH[key] = no_match_heads(one) if isinstance(one, re.Pattern) else frozenset()
    if one is None:
        return None
    if one is not _STEPWISE:
        if national[:HEAD] in _NO_MATCH[key]:
            return None  # no number of this length starting so matches: no region
        match = one.match(national)
        return None if match is None else str(match.lastgroup)[1:]
    return _region_stepwise(code, national)


def _steps_of(code: int, regions: Any) -> list[tuple[re.Pattern[str] | None, str, Any]]:
    steps = _REGION_STEPS.get(code)
    if steps is None:
        steps = _REGION_STEPS[code] = _region_steps(regions)
    return steps


#: Per (calling code, length of a national number): :func:`_region_stepwise`'s steps as one
#: pattern, an alternation of groups named ``_REGION`` in the steps' order (the first alternative
#: that matches wins, as the first step that matches does): a region of no leading digits as
#: ``(?=(?:general)\Z)(?:types)\Z``; None when no step can match a number of that length;
#: :data:`_STEPWISE` when a pattern holds a group of its own (its number would shift).
_REGION_ONE: dict[tuple[int, int], Any] = {}
_STEPWISE: Any = object()


#: Per key of :data:`_REGION_ONE`: the first :data:`HEAD` digits that no match of its pattern
#: can start with (:func:`no_match_heads`): a number starting so is of no region, which the
#: pattern would find by trying every alternative (+1's area code 200: all 25 regions, 30k
#: instructions, to answer None).
_NO_MATCH: dict[tuple[int, int], frozenset[str]] = {}


def _region_pattern(steps: list[tuple[re.Pattern[str] | None, str, Any]], length: int) -> Any:
    parts: list[str] = []
    for pattern, region, metadata in steps:
        if pattern is None:
            _known_type(region, metadata, "0" * length)  # compiles the tests of this length
            tests = _KNOWN_TYPE[(region, length)]
            if tests is None:
                continue  # no number of this length is of a known type there
            if tests[0].groups or tests[1].groups:
                return _STEPWISE
            parts.append(f"(?P<_{region}>(?=(?:{tests[0].pattern})\\Z)(?:{tests[1].pattern})\\Z)")
        elif region:
            if pattern.groups:
                return _STEPWISE
            parts.append(f"(?P<_{region}>{pattern.pattern})")
        else:
            parts.append(pattern.pattern)  # a run: already groups named _REGION, nothing else
    return re.compile("|".join(parts)) if parts else None


def _region_stepwise(code: int, national: str) -> str | None:
    """:func:`_region_for` step by step: each region of ``code`` in phonenumbers' order."""
    regions = COUNTRY_CODE_TO_REGION_CODE.get(code)
    if regions is None:
        return None
    if len(regions) == 1:
        return str(regions[0])
    for pattern, region, metadata in _steps_of(code, regions):
        if pattern is None:
            if _known_type(region, metadata, national):
                return region
            continue
        match = pattern.match(national)
        if match is not None:
            return region or str(match.lastgroup)[1:]
    return None


def _region_steps(regions: Any) -> list[tuple[re.Pattern[str] | None, str, Any]]:
    """The steps of :data:`_REGION_STEPS` for one calling code's regions, in phonenumbers' order."""
    steps: list[tuple[re.Pattern[str] | None, str, Any]] = []
    run: list[str] = []  # alternatives of the run of leading-digits patterns so far

    def end_run() -> None:
        if run:
            steps.append((re.compile("|".join(run)), "", None))
            run.clear()

    for region in regions:
        metadata = PhoneMetadata.metadata_for_region(region.upper(), None)
        if metadata is None:
            continue
        leading = metadata.leading_digits
        if leading is None:
            end_run()
            steps.append((None, region, metadata))
        elif _PLAIN_LEADING.fullmatch(leading) and re.compile(leading).groups == 0:
            run.append(f"(?P<_{region}>{leading})")
        else:
            end_run()
            steps.append((re.compile(leading), region, None))
    end_run()
    return steps
