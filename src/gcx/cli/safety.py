"""Record text made safe for whoever reads it: a terminal, a spreadsheet, a JSON consumer.

Record fields are written by anyone with access to the org (or by the systems feeding it), so
gcx treats them as hostile wherever they reach a reader:

* **terminals** (:func:`terminal_safe`): control characters (ESC sequences that recolour,
  move the cursor or set the window title, BEL, backspace, CR, the 8-bit C1 controls) and the
  bidirectional overrides that reorder what is shown are printed as visible escapes
  (``\\x1b``, ``\\u202e``); line feeds and tabs stay. Applied to tables, messages, warnings,
  errors, and CSV written to a terminal.
* **JSON** (:func:`json_safe`): JSON already escapes C0 controls; the C1 controls, DEL and
  the bidi overrides are escaped too (``\\u009b``), which changes nothing for a JSON parser.
* **spreadsheets** (:func:`spreadsheet_safe`): a CSV cell starting with ``= + - @``, a tab or a
  CR is run as a formula by Excel, LibreOffice and Google Sheets (formula/DDE injection). As
  OWASP advises, such a cell gets a leading ``'`` so it is shown as text. A signed number or
  phone number (``+1 415-555-0132``, ``-12.5``: digits, spaces and ``.,()/-`` only) cannot
  call a function or reference a cell, and is left as it is. ``gcx --raw-csv`` writes cells as
  stored.
"""

from __future__ import annotations

import re

_CONTROLS = "\x00-\x08\x0b-\x1f\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069"
_TERMINAL_UNSAFE = re.compile(f"[{_CONTROLS}]")
_JSON_UNSAFE = re.compile("[\x7f-\x9f\u200e\u200f\u202a-\u202e\u2066-\u2069]")
_FORMULA_START = ("=", "+", "-", "@", "\t", "\r")
_SIGNED_NUMBER = re.compile(r"[+-][0-9 .,()/-]*\Z")


def _visible(match: re.Match[str]) -> str:
    code = ord(match.group())
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def terminal_safe(text: str) -> str:
    """``text`` with every character a terminal would act on (or reorder by) shown as an escape."""
    if text.isascii() and text.isprintable():
        return text
    return _TERMINAL_UNSAFE.sub(_visible, text)


def json_safe(text: str) -> str:
    """JSON text (from ``json.dumps``) with C1 controls, DEL and bidi overrides escaped as ``\\uXXXX``."""
    if text.isascii() and "\x7f" not in text:
        return text
    return _JSON_UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def spreadsheet_safe(cell: str) -> str:
    """A CSV cell a spreadsheet shows as text, never runs as a formula (OWASP CSV injection)."""
    if not cell.startswith(_FORMULA_START) or _SIGNED_NUMBER.match(cell):
        return cell
    return "'" + cell
