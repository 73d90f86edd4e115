"""Contacts and organizations one at a time: POST, GET, PUT, PATCH, DELETE."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import NOUN, ORGS
from gcx.emulator.rules.cleaning import Cleaning
from gcx.emulator.rules.patching import Patching
from gcx.emulator.rules.state import State
from gcx.emulator.rules.writes import Plan, Writes
from gcx.emulator.schema import FieldProblem


class Records:
    """CRUD and PATCH of contacts and organizations."""

    def __init__(self, state: State, cleaning: Cleaning, writes: Writes, patching: Patching) -> None:
        self.state = state
        self.cleaning = cleaning
        self.writes = writes
        self.patching = patching

    def create(self, kind: str, body: Any) -> dict[str, Any]:
        """POST a contact or organization (HTTP 200 with the stored record)."""
        with self.state.lock:
            plan = self.plan_create(kind, body)
            return self.state.render(kind, self.writes.apply(plan))

    def plan_create(self, kind: str, body: Any) -> Plan:
        problems: list[FieldProblem] = []
        cleaned = self.cleaning.clean_body(kind, body, problems)
        identifiers = self.cleaning.clean_identifiers(
            kind,
            body.get("identifiers") if isinstance(body, dict) else None,
            "identifiers",
            problems,
            keep=self.state.settings.claim_body_identifiers,  # else plan never reads them
        )
        if problems:
            raise invalid(problems, f"{NOUN[kind]}")
        return self.writes.plan(kind, cleaned, None, identifiers)

    def get(self, kind: str, record_id: str, *, expand: Collection[str] = ()) -> dict[str, Any]:
        """GET one record (a merged contact's id answers its canonical contact)."""
        with self.state.lock:
            return self.state.render(kind, self.state.require_current(kind, record_id), expand)

    def replace(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """PUT: full replacement, a field left out is erased. Identifiers are never released."""
        with self.state.lock:
            plan = self.plan_replace(kind, record_id, body)
            return self.state.render(kind, self.writes.apply(plan))

    def plan_replace(self, kind: str, record_id: str, body: Any) -> Plan:
        previous = self.state.require_current(kind, record_id)
        problems: list[FieldProblem] = []
        if isinstance(body, dict) and body.get("id") not in (None, record_id, previous["id"]):
            problems.append(FieldProblem("id", f"does not match the id in the path ({record_id})"))
        cleaned = self.cleaning.clean_body(kind, body, problems)
        identifiers = self.cleaning.clean_identifiers(
            kind,
            body.get("identifiers") if isinstance(body, dict) else None,
            "identifiers",
            problems,
            keep=self.state.settings.claim_body_identifiers,  # else plan never reads them
        )
        if problems:
            raise invalid(problems, f"{NOUN[kind]} {record_id}")
        return self.writes.plan(kind, cleaned, previous, identifiers)

    def delete(self, kind: str, record_id: str) -> None:
        with self.state.lock:
            self.remove(kind, record_id)

    def remove(self, kind: str, record_id: str) -> None:
        """Delete one record (404 when unknown; an organization's contacts per setting)."""
        record = self.state.require_current(kind, record_id)
        if kind == ORGS:
            self.writes.delete_org_members(record["id"])
        self.writes.delete_record(kind, record["id"])

    def patch(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """PATCH with ``changes`` (six actions on ``$.a`` / ``$.a.b`` paths)."""
        st = self.state
        with st.lock:
            previous = st.require_current(kind, record_id)
            doc = st.input_form(previous)
            self.patching.apply_changes(kind, doc, body)
            problems: list[FieldProblem] = []
            cleaned = self.cleaning.clean_body(kind, doc, problems)
            if problems:
                raise invalid(problems, f"patched {NOUN[kind]} {record_id}")
            plan = self.writes.plan(kind, cleaned, previous, [])
            return st.render(kind, self.writes.apply(plan))
