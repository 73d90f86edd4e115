"""Combining two versions of a record field by field (enrich field rules, merges)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import SCHEMA_OF, clone, is_empty
from gcx.emulator.schema import Cleaner, FieldProblem, max_items

FIELD_ACTIONS = ("AlwaysUseProvided", "PreferExisting", "PreferProvided")
ARRAY_ACTIONS = ("Replace", "Extend", "Fill")


@dataclass(frozen=True)
class EnrichRules:
    """An enrich ``fieldRules``: default actions plus per-field ``(action, arrayAction)``."""

    default: str
    default_array: str
    fields: dict[str, tuple[str | None, str | None]]


def _pick(action: str, existing: Any, provided: Any) -> Any:
    if action == "AlwaysUseProvided":
        return clone(provided)
    if action == "PreferExisting":
        return clone(existing if not is_empty(existing) else provided)
    return clone(provided if not is_empty(provided) else existing)


class Combiner:
    """Walks two records along the contract's schemas, applying :class:`EnrichRules`."""

    def __init__(self, cleaner: Cleaner) -> None:
        self.cleaner = cleaner

    def combine(
        self, kind: str, existing: dict[str, Any], provided: dict[str, Any], rules: EnrichRules
    ) -> dict[str, Any]:
        return self._combine_obj(SCHEMA_OF[kind], existing, provided, rules, [])

    def _combine_obj(
        self,
        schema_name: str,
        existing: dict[str, Any],
        provided: dict[str, Any],
        rules: EnrichRules,
        prefix: list[str],
    ) -> dict[str, Any]:
        out: dict[str, Any] = {}
        for key in dict.fromkeys([*existing, *provided]):
            path = [*prefix, key]
            dotted = ".".join(path)
            action, array_action = rules.fields.get(dotted, (None, None))
            e, p = existing.get(key), provided.get(key)
            prop = self.cleaner.properties(schema_name).get(key, {})
            ref = self.cleaner.ref_name(prop)
            value: Any
            if (
                action is None
                and ref is not None
                and key != "externalOrganization"
                and isinstance(e, dict)
                and isinstance(p, dict)
                and "properties" in self.cleaner.schemas.get(ref, {})
            ):
                value = self._combine_obj(ref, e, p, rules, path) or None
            elif prop.get("type") == "array" or isinstance(e, list) or isinstance(p, list):
                value = self._combine_array(
                    action or rules.default, array_action or rules.default_array, e, p, prop, dotted
                )
            else:
                value = _pick(action or rules.default, e, p)
            if value is not None:
                out[key] = value
        return out

    @staticmethod
    def _combine_array(
        action: str, array_action: str, e: Any, p: Any, prop: dict[str, Any], dotted: str
    ) -> Any:
        if array_action == "Replace" or not isinstance(e, list) or not isinstance(p, list):
            return _pick(action, e, p)
        combined = list(e) + [x for x in p if x not in e]
        limit = max_items(str(prop.get("description") or ""))
        if limit is not None and len(combined) > limit:
            if array_action == "Extend":
                raise invalid(
                    [FieldProblem(dotted, f"would hold more than {limit} items after Extend")],
                    "enrich request",
                )
            combined = combined[:limit]
        return combined
