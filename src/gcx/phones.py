"""Phone numbers: the one reading of a number as E.164 that gcx uses everywhere.

The CLI's options, the sync's source values, the comparison of two records and the checks of
the test harness all ask :func:`read_phone`. A number written with ``+`` and its country code
ignores the country it is read with. The emulator keeps its own reading on purpose (it must not
agree with gcx by construction) and shares only :func:`nanp_national`, the spelling rule that
both hold to phonenumbers in their tests.
"""

from __future__ import annotations

import functools
import re

import phonenumbers

#: Distinct (number, country) pairs whose reading is remembered. Bounded, so memory stays flat
#: however large a source; sources repeat numbers (switchboards, shared lines).
PHONE_CACHE_SIZE = 16384

#: The reason :func:`read_phone` gives for a number that parses but cannot exist.
NOT_POSSIBLE = "not a possible number"


def phone_region(text: str, country: str | None) -> str | None:
    """The region a number is read in: none when it starts with ``+``, else ``country`` upper-cased."""
    return None if text.startswith("+") else ((country or "").upper() or None)


#: A North American number in its usual spellings: ``+1 212 555 0100``, ``+1 (212) 555-0100``,
#: ``+12125550100``, and without ``+1`` (``1`` allowed) when read in the US or Canada. The area
#: code starts with 2-9, so phonenumbers has no prefix to strip: it reads exactly ``+1`` and the
#: ten digits (tests/sync/test_fast_paths.py holds it to phonenumbers on every spelling).
_NANP_TEN = r"(?:\(([2-9]\d\d)\)|([2-9]\d\d))[ .-]?(\d{3})[ .-]?(\d{4})"
_NANP_INTL = re.compile(r"\+1[ .-]?" + _NANP_TEN, re.ASCII)  # ASCII digits: others are phonenumbers'
_NANP_HOME = re.compile(r"(?:1[ .-]?)?" + _NANP_TEN, re.ASCII)
#: The regions whose reading of a ten-digit number starting with 2-9 is ``+1`` and the digits.
NANP_FAST_REGIONS = frozenset({"US", "CA"})


def read_phone(text: str, region: str | None) -> tuple[str | None, str | None]:
    """``(E.164, None)``, or ``(None, why)`` when phonenumbers cannot read ``text`` in ``region``
    (``why`` is :data:`NOT_POSSIBLE` for a number that parses but cannot exist).

    A North American number in a usual spelling is read without phonenumbers (same answer, a
    tenth of the time); any other reading is phonenumbers', remembered per (text, region).
    """
    national = nanp_national(text, region)
    if national is not None:
        return f"+1{national}", None
    return _parsed(text, region)


def nanp_national(text: str, region: str | None) -> str | None:
    """The ten digits of a North American number in a usual spelling (see ``_NANP_TEN``), or None
    for any other text: phonenumbers reads such a number, in ``region``, as exactly ``+1`` and
    these digits. The one place of this rule: :func:`read_phone` and the emulator's phone check
    both use it (each tested against phonenumbers).
    """
    if text.startswith("+"):
        match = _NANP_INTL.fullmatch(text)
    else:
        match = _NANP_HOME.fullmatch(text) if region in NANP_FAST_REGIONS else None
    if match is None:
        return None
    return "".join(match.groups(""))  # area code (one of two groups), exchange, line: ten digits


def clear_cache() -> None:
    """Forget the remembered readings (bounded anyway; for measurements from a cold start)."""
    _parsed.cache_clear()


def cached_readings() -> int:
    """How many readings are remembered (at most :data:`PHONE_CACHE_SIZE`)."""
    return _parsed.cache_info().currsize


@functools.lru_cache(maxsize=PHONE_CACHE_SIZE)
def _parsed(text: str, region: str | None) -> tuple[str | None, str | None]:
    """phonenumbers' reading of ``text`` in ``region`` (see :func:`read_phone`)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return None, str(exc)
    if not phonenumbers.is_possible_number(number):
        return None, NOT_POSSIBLE
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), None
