"""What part of a result is printed: ``--fields`` (dot paths) and ``--query`` (JMESPath). Pure.

* ``--fields id,firstName,address.city`` keeps those paths of every record (JSON, JSONL and YAML
  keep the nesting; tables and CSV get one column per path, in the order given). ``--fields all``
  prints every column in CSV and tables (a record's whole document in JSON).
* ``--query EXPR`` is a JMESPath expression (as in ``aws --query``) applied to the whole result:
  the list of records for a listing, the record itself for ``get`` of one record, the document
  for other commands. ``--fields`` applies first.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Any

#: ``--fields all`` (or ``*``): every column.
ALL_FIELDS = ("all", "*")


class ShapeError(ValueError):
    """A ``--fields`` or ``--query`` value that cannot be used (a usage error)."""


def parse_fields(text: str | None) -> tuple[str, ...] | None:
    """``"id, firstName,,address.city"`` -> ``("id", "firstName", "address.city")``; ``None`` if not given."""
    if text is None:
        return None
    fields = tuple(dict.fromkeys(part.strip() for part in text.split(",") if part.strip()))
    if not fields:
        raise ShapeError("--fields needs at least one field name (e.g. --fields id,firstName)")
    for name in fields:
        if name.startswith(".") or name.endswith(".") or ".." in name:
            raise ShapeError(f"--fields: {name!r} is not a field path (use dots between names: address.city)")
    return fields


def wants_all(fields: Sequence[str] | None) -> bool:
    return bool(fields) and len(fields or ()) == 1 and (fields or ("",))[0] in ALL_FIELDS


def project(row: Mapping[str, Any], fields: Sequence[str]) -> dict[str, Any]:
    """The record keeping only ``fields`` (dot paths), nesting kept; absent paths are left out."""
    if wants_all(fields):
        return dict(row)
    out: dict[str, Any] = {}
    for path in fields:
        parts = path.split(".")
        current: Any = row
        for part in parts:
            if not isinstance(current, Mapping) or part not in current:
                break
            current = current[part]
        else:
            target = out
            for part in parts[:-1]:
                nested = target.get(part)
                if not isinstance(nested, dict):
                    nested = target[part] = {}
                target = nested
            target[parts[-1]] = current
    return out


@dataclass(frozen=True)
class Query:
    """A compiled JMESPath expression."""

    text: str
    _compiled: Any

    def apply(self, data: Any) -> Any:
        import jmespath.exceptions  # loaded by compile_query already

        try:
            return self._compiled.search(data)
        except jmespath.exceptions.JMESPathTypeError as exc:
            # its own words quote the whole value (a listing's every record): name the types only
            expected = " or ".join(str(t) for t in exc.expected_types)
            raise ShapeError(
                f"--query {self.text!r}: {exc.function_name}() takes {expected}, "
                f"but the result gave it {exc.actual_type}"
            ) from None
        except jmespath.exceptions.JMESPathError as exc:
            detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
            raise ShapeError(f"--query {self.text!r}: {detail}") from None


def compile_query(text: str | None) -> Query | None:
    """A :class:`Query` for ``text`` (``None`` when not given); a bad expression is a ShapeError.

    JMESPath is imported here, not with the module: only ``--query`` needs it, and its import
    costs every other command about 80M instructions at start-up.
    """
    if text is None:
        return None
    import jmespath
    import jmespath.exceptions

    if not text.strip():
        raise ShapeError("--query needs a JMESPath expression (e.g. --query '[].id')")
    try:
        return Query(text, jmespath.compile(text))
    except jmespath.exceptions.JMESPathError as exc:
        detail = str(exc).splitlines()[0] if str(exc) else type(exc).__name__
        raise ShapeError(f"--query {text!r} is not a valid JMESPath expression: {detail}") from None
