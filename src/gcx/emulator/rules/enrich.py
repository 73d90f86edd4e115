"""Enrich: the server-side upsert by matching identifiers (one, or bulk in tens)."""

from __future__ import annotations

from typing import Any

from gcx.emulator.errors import EmulatorError, invalid
from gcx.emulator.kinds import CONTACTS, NOUN, ORGS, SCHEMA_OF, record_ref
from gcx.emulator.rules.bulk import Bulk
from gcx.emulator.rules.cleaning import Cleaning
from gcx.emulator.rules.combining import ARRAY_ACTIONS, FIELD_ACTIONS, Combiner, EnrichRules
from gcx.emulator.rules.identifiers import Identifiers
from gcx.emulator.rules.patching import FIELD_PATH
from gcx.emulator.rules.state import State
from gcx.emulator.rules.writes import Plan, Writes
from gcx.emulator.schema import FieldProblem

ENRICH_ACTIONS = {CONTACTS: ("Merge", "Upsert", "Update", "Insert"), ORGS: ("Upsert", "Update", "Insert")}


class Enrich:
    """``POST /{kind}/enrich`` and ``POST /bulk/{kind}/enrich`` (``dryRun`` writes nothing)."""

    def __init__(
        self,
        state: State,
        cleaning: Cleaning,
        writes: Writes,
        identifiers: Identifiers,
        bulk: Bulk,
        combiner: Combiner,
    ) -> None:
        self.state = state
        self.cleaning = cleaning
        self.writes = writes
        self.identifiers = identifiers
        self.bulk = bulk
        self.combiner = combiner

    def enrich(self, kind: str, body: Any, *, dry_run: bool = False) -> tuple[dict[str, Any], bool]:
        """Server-side upsert; returns ``(record, created)`` (HTTP 201 when created)."""
        with self.state.lock:
            plan = self._plan_enrich(kind, body)
            record = plan.record if dry_run else self.writes.apply(plan)
            return self.state.render(kind, record), plan.created

    def bulk_enrich(self, kind: str, body: Any, *, dry_run: bool = False) -> dict[str, Any]:
        st = self.state
        with st.lock:
            entities = self.bulk.entities(body, limit=st.settings.max_enrich_bulk_size, status_over=400)
            results: list[dict[str, Any]] = []
            for item in entities:
                tracker = item.get("id") if isinstance(item, dict) else None
                try:
                    plan = self._plan_enrich(kind, item)
                    record = plan.record if dry_run else self.writes.apply(plan)
                except EmulatorError as err:
                    result: dict[str, Any] = {
                        "success": False,
                        "error": err.bulk_error(item),
                        "status": err.status,
                    }
                else:
                    result = {
                        "success": True,
                        "entity": st.render(kind, record),
                        "status": 201 if plan.created else 200,
                    }
                if isinstance(tracker, str):
                    result["id"] = tracker
                results.append(result)
            return self.bulk.response(results)

    def _plan_enrich(self, kind: str, body: Any) -> Plan:
        st = self.state
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object")], "enrich request")
        action = body.get("action")
        if action not in ENRICH_ACTIONS[kind]:
            problems.append(
                FieldProblem("action", f"must be one of {', '.join(ENRICH_ACTIONS[kind])}", value=action)
            )
        raw_ids = body.get("matchingIdentifiers")
        if not isinstance(raw_ids, list) or not 1 <= len(raw_ids) <= 25:
            problems.append(FieldProblem("matchingIdentifiers", "must hold between 1 and 25 identifiers"))
            matching: list[dict[str, Any]] = []
        else:
            matching = self.cleaning.clean_identifiers(kind, raw_ids, "matchingIdentifiers", problems)
        data_field = "contact" if kind == CONTACTS else "externalOrganization"
        raw_data = body.get(data_field)
        provided: dict[str, Any] = {}
        if raw_data is not None:
            sub: list[FieldProblem] = []
            provided = self.cleaning.clean_body(kind, raw_data, sub, partial=True)
            problems.extend(FieldProblem(f"{data_field}.{p.field}", p.message, p.code, p.value) for p in sub)
        extra_ids = (
            self.cleaning.clean_identifiers(
                kind, raw_data.get("identifiers"), f"{data_field}.identifiers", problems
            )
            if isinstance(raw_data, dict)
            else []
        )
        rules = self._field_rules(kind, body.get("fieldRules"), problems)
        promote = False
        options = body.get("options")
        if kind == CONTACTS and options is not None:
            if not isinstance(options, dict) or not isinstance(options.get("promote", False), bool):
                problems.append(FieldProblem("options.promote", "must be true or false"))
            else:
                promote = bool(options.get("promote", False))
        if problems:
            raise invalid(problems, "enrich request")

        matches: list[str] = []
        for ident in matching:
            for rid in self.identifiers.find_holders(kind, ident):
                if rid not in matches:
                    matches.append(rid)
        claims = list(matching)
        if action == "Insert" and matches:
            raise EmulatorError(
                409,
                "conflict",
                f"Insert refused: {NOUN[kind]} {matches[0]} already holds a matching identifier",
                entity_id=matches[0],
            )
        if action == "Update" and not matches:
            raise EmulatorError(404, "not.found", f"No {NOUN[kind]} holds any of the matching identifiers")
        if not matches:
            if kind == ORGS and not provided.get("name"):
                raise invalid(
                    [FieldProblem("externalOrganization.name", "is required to create", "missing.property")],
                    "enrich request",
                )
            return self.writes.plan(
                kind,
                provided,
                None,
                extra_ids,
                claims=claims,
                contact_type="Curated" if promote else "Identified",
            )
        target = st.require(kind, matches[0])
        existing = st.input_form(target)
        merged_away: list[str] = []
        if action == "Merge" and len(matches) > 1:
            for other_id in matches[1:]:
                other = st.require(kind, other_id)
                existing = self.combiner.combine(
                    kind, existing, st.input_form(other), EnrichRules("PreferExisting", "Fill", {})
                )
                merged_away.append(other_id)
                claims.extend(
                    {k: v for k, v in i.items() if k in ("type", "value", "externalSource")}
                    for i in other.get("identifiers", [])
                )
        combined = self.combiner.combine(kind, existing, provided, rules)
        check: list[FieldProblem] = []
        cleaned = self.cleaning.clean_body(kind, combined, check)
        if check:
            raise invalid(check, "enriched record")
        contact_type = "Curated" if promote else None
        plan = self.writes.plan(
            kind,
            cleaned,
            target,
            extra_ids,
            claims=claims,
            contact_type=contact_type,
            ignore_holders=merged_away,
        )
        if merged_away:
            plan.remove = merged_away
            history = plan.record.get("mergedFrom", [])
            plan.record["mergedFrom"] = [*history, *(record_ref(kind, i) for i in merged_away)]
        return plan

    def _field_rules(self, kind: str, raw: Any, problems: list[FieldProblem]) -> EnrichRules:
        if raw is None:
            return EnrichRules("PreferProvided", "Fill", {})
        if not isinstance(raw, dict):
            problems.append(FieldProblem("fieldRules", "must be a JSON object"))
            return EnrichRules("PreferProvided", "Fill", {})
        default = raw.get("defaultAction") or "PreferProvided"
        if default not in FIELD_ACTIONS:
            problems.append(
                FieldProblem("fieldRules.defaultAction", f"must be one of {', '.join(FIELD_ACTIONS)}")
            )
        default_array = raw.get("defaultArrayAction") or "Fill"
        if default_array not in ARRAY_ACTIONS:
            problems.append(
                FieldProblem("fieldRules.defaultArrayAction", f"must be one of {', '.join(ARRAY_ACTIONS)}")
            )
        per_field: dict[str, tuple[str | None, str | None]] = {}
        rules = raw.get("rules") or []
        if not isinstance(rules, list):
            problems.append(FieldProblem("fieldRules.rules", "must be a JSON array"))
            rules = []
        for i, rule in enumerate(rules):
            where = f"fieldRules.rules[{i}]"
            if not isinstance(rule, dict):
                problems.append(FieldProblem(where, "must be a JSON object"))
                continue
            field_raw = rule.get("field")
            match = FIELD_PATH.match(field_raw) if isinstance(field_raw, str) else None
            if (
                match is None
                or self.state.cleaner.field_schema(SCHEMA_OF[kind], match.group(1).split(".")) is None
            ):
                problems.append(
                    FieldProblem(f"{where}.field", "names no field of the record", value=field_raw)
                )
                continue
            action = rule.get("action")
            array_action = rule.get("arrayAction")
            if action is not None and action not in FIELD_ACTIONS:
                problems.append(FieldProblem(f"{where}.action", f"must be one of {', '.join(FIELD_ACTIONS)}"))
            if array_action is not None and array_action not in ARRAY_ACTIONS:
                problems.append(
                    FieldProblem(f"{where}.arrayAction", f"must be one of {', '.join(ARRAY_ACTIONS)}")
                )
            per_field[match.group(1)] = (action, array_action)
        return EnrichRules(str(default), str(default_array), per_field)
