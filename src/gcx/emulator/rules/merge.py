"""Merging contacts: ``POST /contacts/merge`` (a new contact) and ``POST /merge/contacts``."""

from __future__ import annotations

from typing import Any

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import CONTACTS, record_ref
from gcx.emulator.rules.cleaning import Cleaning
from gcx.emulator.rules.combining import Combiner, EnrichRules
from gcx.emulator.rules.state import State
from gcx.emulator.rules.writes import Plan, Writes
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record

#: Most contacts in one merge tree ("default limit of 52", POST /contacts/merge in the contract).
MAX_MERGE_SET = 52


class Merge:
    """Contact merges (see docs/emulator.md)."""

    def __init__(self, state: State, cleaning: Cleaning, writes: Writes, combiner: Combiner) -> None:
        self.state = state
        self.cleaning = cleaning
        self.writes = writes
        self.combiner = combiner

    def merge_contacts(self, body: Any) -> dict[str, Any]:
        """``POST /contacts/merge``: 2..25 contacts become one new contact (see docs/emulator.md)."""
        st = self.state
        with st.lock:
            problems: list[FieldProblem] = []
            ids = body.get("contactIds") if isinstance(body, dict) else None
            if not isinstance(ids, list) or not all(isinstance(i, str) and i for i in ids):
                problems.append(FieldProblem("contactIds", "must be an array of contact ids"))
                ids = []
            elif not 2 <= len(set(ids)) <= 25 or len(set(ids)) != len(ids):
                problems.append(FieldProblem("contactIds", "must hold 2 to 25 distinct contact ids"))
            override_raw = body.get("valueOverride") if isinstance(body, dict) else None
            sub: list[FieldProblem] = []
            override = (
                self.cleaning.clean_body(CONTACTS, override_raw, sub, partial=True)
                if override_raw is not None
                else {}
            )
            problems.extend(FieldProblem(f"valueOverride.{p.field}", p.message, p.code, p.value) for p in sub)
            if problems:
                raise invalid(problems, "merge request")
            inputs = self._inputs(ids)
            return self._merge(inputs, override)

    def merge_into(self, body: Any) -> dict[str, Any]:
        """``POST /merge/contacts`` (deprecated): two contacts into a new one; two curated ones refused."""
        st = self.state
        with st.lock:
            problems: list[FieldProblem] = []
            names = ("sourceContactId", "targetContactId")
            values = [body.get(n) if isinstance(body, dict) else None for n in names]
            for name, value in zip(names, values, strict=True):
                if not isinstance(value, str) or not value:
                    problems.append(FieldProblem(name, "is required (a contact id)", "missing.property"))
            if not problems and values[0] == values[1]:
                problems.append(FieldProblem("sourceContactId", "must differ from targetContactId"))
            if problems:
                raise invalid(problems, "merge request")
            source, target = self._inputs([str(values[1]), str(values[0])])[::-1]
            if source.get("type") == "Curated" and target.get("type") == "Curated":
                raise invalid(
                    [FieldProblem("sourceContactId", "and targetContactId are both curated contacts")],
                    "merge request (two curated contacts cannot be merged)",
                )
            return self._merge([target, source], {})

    def _inputs(self, ids: list[str]) -> list[Record]:
        """The current contacts the ids name (a merged id stands for its canonical contact)."""
        st = self.state
        records = [st.require_current(CONTACTS, i) for i in ids]
        if len({r["id"] for r in records}) != len(records):
            raise invalid(
                [FieldProblem("contactIds", "name the same contact twice (directly or through a merge)")],
                "merge request",
            )
        return records

    def _merge(self, inputs: list[Record], override: dict[str, Any]) -> dict[str, Any]:
        """A new canonical contact from ``inputs``; they become its read-only ancestors."""
        st = self.state
        plan = self._plan_merge(inputs, override)
        ancestors: list[str] = []
        for record in inputs:
            ancestors.extend(ref["id"] for ref in record.get("mergeSet", []) if ref["id"] != record["id"])
            ancestors.append(record["id"])
        if len(ancestors) + 1 > MAX_MERGE_SET:
            raise invalid(
                [FieldProblem("contactIds", f"would make a merge set of more than {MAX_MERGE_SET} contacts")],
                "merge request",
            )
        canonical = plan.record["id"]
        plan.record["canonicalContact"] = record_ref(CONTACTS, canonical)
        plan.record["mergeSet"] = [record_ref(CONTACTS, i) for i in [*ancestors, canonical]]
        merged = self.writes.apply(plan)
        for record in inputs:
            st.merged[record["id"]] = canonical
        return st.render(CONTACTS, merged)

    def _plan_merge(self, inputs: list[Record], override: dict[str, Any]) -> Plan:
        """Combine ``inputs`` (earlier ones win, later ones fill gaps), then apply ``override``.

        The result is a new contact; every input leaves the store (its id then stands for the
        result), its identifiers and notes moving to the result.
        """
        st = self.state
        keep = EnrichRules("PreferExisting", "Fill", {})
        combined: dict[str, Any] = {}
        for record in inputs:
            combined = self.combiner.combine(CONTACTS, combined, st.input_form(record), keep)
        combined = self.combiner.combine(
            CONTACTS, combined, override, EnrichRules("PreferProvided", "Fill", {})
        )
        problems: list[FieldProblem] = []
        cleaned = self.cleaning.clean_body(CONTACTS, combined, problems)
        if problems:
            raise invalid(problems, "merged contact")
        merged_away = [r["id"] for r in inputs]
        identifiers = [
            {k: v for k, v in ident.items() if k in ("type", "value", "externalSource")}
            for record in inputs
            for ident in record.get("identifiers", [])
        ]
        plan = self.writes.plan(
            CONTACTS,
            cleaned,
            None,
            [],
            claims=identifiers,
            contact_type="Curated",
            ignore_holders=merged_away,
        )
        plan.remove = merged_away
        history = plan.record.get("mergedFrom", [])
        plan.record["mergedFrom"] = [*history, *(record_ref(CONTACTS, i) for i in merged_away)]
        return plan
