"""Which first digits no match of a regular expression can start with, read from its parse tree.

The emulator's phone check (:mod:`gcx.emulator.schema`) tries a calling code's region patterns
one by one; a number whose first digits no pattern can begin with is of no region without trying
them all. Only an optimisation: wherever the parse tree is not understood, the answer is "no
shortcut", never a wrong one.
"""

from __future__ import annotations

import importlib
import re
from typing import Any

#: How many first digits are read (three: a North American area code).
HEAD = 3
_DIGITS = "0123456789"
#: Python's regular expression parser (``re._parser``; ``sre_parse`` warns that it is deprecated).
#: A private module: where it is missing, or reads a pattern in a way not understood here, there is
#: no shortcut (every number is tried against the pattern, as before), never a wrong answer.
try:
    _sre_parser: Any = importlib.import_module("re._parser")
except ImportError:  # pragma: no cover - a Python without it
    _sre_parser = None


def no_match_heads(pattern: re.Pattern[str], width: int = HEAD) -> frozenset[str]:
    """The strings of ``width`` ASCII digits that no string a ``pattern.match`` accepts starts with.

    Worked out from the pattern's parse tree as the set of every way a match can begin (its
    first ``width`` characters, or all of a shorter match), over-approximated where a construct
    is not simple (look-arounds and anchors are ignored, an unknown construct may begin with
    anything): a digit string it leaves out cannot begin a match, whatever follows it.
    """
    if _sre_parser is None:
        return frozenset()
    try:
        starts = _starts(list(_sre_parser.parse(pattern.pattern, pattern.flags)), width)
    except Exception:  # a parse tree of another shape: no shortcut
        return frozenset()
    if starts is None:
        return frozenset()
    heads = (f"{n:0{width}d}" for n in range(10**width))
    return frozenset(h for h in heads if not any(h.startswith(s) for s in starts))


def _starts(items: list[Any], width: int) -> set[str] | None:
    """Every way a sequence of parse-tree items can begin: its matches cut to ``width`` characters
    (a shorter one is a whole match), over the ten ASCII digits; None when it may be anything."""
    out = {""}
    for op, arg in items:
        name = str(op)
        if name in {"AT", "ASSERT", "ASSERT_NOT"}:
            continue  # zero width: leaving it out only allows more
        done = {s for s in out if len(s) >= width}
        grow = out - done
        if not grow:
            return out
        firsts: dict[int, set[str] | None] = {}
        new = set(done)
        for s in grow:
            room = width - len(s)
            if room not in firsts:
                firsts[room] = _item_starts(name, arg, room)
            part = firsts[room]
            if part is None:
                return None
            new.update(s + t for t in part)
        out = new
    return out


def _item_starts(name: str, arg: Any, width: int) -> set[str] | None:
    if name == "LITERAL":
        return {chr(arg)} if chr(arg) in _DIGITS else set()
    if name == "NOT_LITERAL":
        return {d for d in _DIGITS if d != chr(arg)}
    if name == "ANY":
        return set(_DIGITS)
    if name == "IN":
        return _class_digits(arg)
    if name == "BRANCH":
        union: set[str] = set()
        for alternative in arg[1]:
            starts = _starts(list(alternative), width)
            if starts is None:
                return None
            union |= starts
        return union
    if name == "SUBPATTERN":
        return _starts(list(arg[-1]), width)
    if name in {"MAX_REPEAT", "MIN_REPEAT", "POSSESSIVE_REPEAT"}:
        low, high, body = arg
        once = _starts(list(body), width)
        if once is None:
            return None
        # n copies for n from low: past low + width copies, a match's first width characters
        # are those of fewer copies followed by more (already counted)
        top = low + width + 1 if high is _sre_parser.MAXREPEAT else min(high, low + width + 1)
        out: set[str] = set()
        level = {""}  # the beginnings of n copies
        for n in range(top + 1):
            if n >= low:
                out |= level
            level = {(s + t)[:width] for s in level for t in once}
        return out
    return None


def _class_digits(items: list[Any]) -> set[str] | None:
    """The ASCII digits a character class holds (None when it holds a construct not read here)."""
    held: set[str] = set()
    negate = False
    for op, arg in items:
        name = str(op)
        if name == "NEGATE":
            negate = True
        elif name == "LITERAL":
            held |= {chr(arg)} & set(_DIGITS)
        elif name == "RANGE":
            held |= {d for d in _DIGITS if arg[0] <= ord(d) <= arg[1]}
        elif name == "CATEGORY" and str(arg) == "CATEGORY_DIGIT":
            held |= set(_DIGITS)
        else:
            return None
    return set(_DIGITS) - held if negate else held
