"""Phone numbers: the one reading of a number as E.164 that gcx uses everywhere.

The CLI's options, the sync's source values, the comparison of two records and the checks of
the test harness all ask :func:`read_phone`. A number written with ``+`` and its country code
ignores the country it is read with. The emulator keeps its own copy on purpose: it must not
agree with gcx by construction.
"""

from __future__ import annotations

import functools

import phonenumbers

#: Distinct (number, country) pairs whose reading is remembered. Bounded, so memory stays flat
#: however large a source; sources repeat numbers (switchboards, shared lines).
PHONE_CACHE_SIZE = 16384

#: The reason :func:`read_phone` gives for a number that parses but cannot exist.
NOT_POSSIBLE = "not a possible number"


def phone_region(text: str, country: str | None) -> str | None:
    """The region a number is read in: none when it starts with ``+``, else ``country`` upper-cased."""
    return None if text.startswith("+") else ((country or "").upper() or None)


@functools.lru_cache(maxsize=PHONE_CACHE_SIZE)
def read_phone(text: str, region: str | None) -> tuple[str | None, str | None]:
    """``(E.164, None)``, or ``(None, why)`` when phonenumbers cannot read ``text`` in ``region``
    (``why`` is :data:`NOT_POSSIBLE` for a number that parses but cannot exist)."""
    try:
        number = phonenumbers.parse(text, region)
    except phonenumbers.NumberParseException as exc:
        return None, str(exc)
    if not phonenumbers.is_possible_number(number):
        return None, NOT_POSSIBLE
    return str(phonenumbers.format_number(number, phonenumbers.PhoneNumberFormat.E164)), None
