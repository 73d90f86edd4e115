"""The whole state at once: reset, dump (``GET /_emulator/state``), load (``PUT``), counts."""

from __future__ import annotations

import re
from typing import Any

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import ALL_KINDS, CONTACTS, NOTES, ORGS, RELATIONSHIPS, SOURCES, clone
from gcx.emulator.rules.cleaning import identifier_key
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem

_UUIDISH = re.compile(r"^[A-Za-z0-9._:-]{1,128}$")


class Snapshot:
    """Resets, dumps and loads the store with its indexes."""

    def __init__(self, state: State) -> None:
        self.state = state

    def reset(self) -> None:
        """Forget every record and the statistics (tokens stay valid)."""
        st = self.state
        with st.lock:
            st.store.clear()
            st.hay.clear()
            st.trustor_links.clear()
            st.merged.clear()
            st.stats.reset()
            st.rate_limiter.reset()
            st.org_limiter.reset()
            st.token_limiter.reset()
            st.faults.clear_forced()

    def dump(self) -> dict[str, Any]:
        """The full state as JSON (records in insertion order); :meth:`load` restores it."""
        store = self.state.store
        with self.state.lock:
            return {
                "version": 1,
                "externalsources": [clone(r) for r in store.all(SOURCES)],
                "organizations": [clone(r) for r in store.all(ORGS)],
                "contacts": [clone(r) for r in store.all(CONTACTS)],
                "notes": [clone(r) for r in store.all(NOTES)],
                "relationships": [clone(r) for r in store.all(RELATIONSHIPS)],
                "mergedContacts": dict(self.state.merged),
            }

    def load(self, state: Any) -> dict[str, int]:
        """Replace the state with a :meth:`dump`. Raises a 400 :class:`EmulatorError` naming bad parts."""
        st = self.state
        store = st.store
        with st.lock:
            problems = check_state(state)
            if problems:
                raise invalid(problems, "state")
            store.clear()
            st.hay.clear()
            st.trustor_links.clear()
            st.merged.clear()
            st.merged.update(state.get("mergedContacts") or {})
            for kind in ALL_KINDS:
                for record in state.get(kind, []):
                    stored = clone(record)
                    store.put(kind, stored)
                    if kind == NOTES:
                        store.link_child(NOTES, stored["entityId"], stored["id"])
                    if kind == RELATIONSHIPS:
                        store.link_child(RELATIONSHIPS, stored["externalOrganization"]["id"], stored["id"])
                    if kind in (SOURCES, NOTES, RELATIONSHIPS):
                        continue
                    trustor = stored.get("trustor", {}).get("id") if kind == ORGS else None
                    if isinstance(trustor, str):
                        st.trustor_links.setdefault(trustor, set()).add(stored["id"])
                    for ident in stored.get("identifiers", []):
                        store.add_identifier(kind, identifier_key(ident), stored["id"])
                    org_id = stored.get("externalOrganization", {}).get("id") if kind == CONTACTS else None
                    if org_id:
                        store.link_member(org_id, stored["id"])
            return {kind: store.count(kind) for kind in ALL_KINDS}

    def counts(self) -> dict[str, int]:
        with self.state.lock:
            return {kind: self.state.store.count(kind) for kind in ALL_KINDS}


def check_state(state: Any) -> list[FieldProblem]:
    """Every problem with a state document, named by its path (``contacts[3].id``)."""
    if not isinstance(state, dict):
        return [FieldProblem("state", "must be a JSON object (from GET /_emulator/state)")]
    problems: list[FieldProblem] = []
    if state.get("version") != 1:
        problems.append(FieldProblem("version", "must be 1"))
    merged = state.get("mergedContacts", {})
    if not isinstance(merged, dict) or not all(
        isinstance(k, str) and isinstance(v, str) for k, v in merged.items()
    ):
        problems.append(FieldProblem("mergedContacts", "must map merged contact ids to contact ids"))
    for kind in ALL_KINDS:
        records = state.get(kind, [])
        if not isinstance(records, list):
            problems.append(FieldProblem(kind, "must be a JSON array"))
            continue
        seen: set[str] = set()
        for i, record in enumerate(records):
            rid = record.get("id") if isinstance(record, dict) else None
            if not isinstance(rid, str) or not _UUIDISH.match(rid):
                problems.append(FieldProblem(f"{kind}[{i}].id", "must be a record id"))
            elif rid in seen:
                problems.append(FieldProblem(f"{kind}[{i}].id", "is duplicated", value=rid))
            else:
                seen.add(rid)
            if isinstance(record, dict) and not isinstance(record.get("identifiers", []), list):
                problems.append(FieldProblem(f"{kind}[{i}].identifiers", "must be a JSON array"))
            elif isinstance(record, dict):
                for j, ident in enumerate(record.get("identifiers", [])):
                    if not _valid_identifier(ident):
                        problems.append(
                            FieldProblem(f"{kind}[{i}].identifiers[{j}]", "needs string type and value")
                        )
            division = record.get("division") if isinstance(record, dict) else None
            if division is not None and not (
                isinstance(division, dict) and isinstance(division.get("id"), str)
            ):
                problems.append(FieldProblem(f"{kind}[{i}].division", "must be {id: string, ...}"))
            if kind == NOTES and isinstance(record, dict) and not isinstance(record.get("entityId"), str):
                problems.append(FieldProblem(f"{kind}[{i}].entityId", "must be the id of the noted record"))
            ref = record.get("externalOrganization") if isinstance(record, dict) else None
            if (
                kind == CONTACTS
                and ref is not None
                and not (isinstance(ref, dict) and isinstance(ref.get("id"), str))
            ):
                problems.append(FieldProblem(f"{kind}[{i}].externalOrganization", "must be {id: string}"))
    return problems


def _valid_identifier(ident: Any) -> bool:
    if not isinstance(ident, dict):
        return False
    if not isinstance(ident.get("type"), str) or not isinstance(ident.get("value"), str):
        return False
    source = ident.get("externalSource")
    return source is None or (isinstance(source, dict) and isinstance(source.get("id"), str))
