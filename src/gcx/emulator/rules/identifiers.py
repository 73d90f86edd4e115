"""A record's identifiers: list, claim, release, and the identifier lookups."""

from __future__ import annotations

from collections.abc import Collection
from typing import Any

from gcx.emulator.errors import EmulatorError, invalid
from gcx.emulator.kinds import NOUN, clone
from gcx.emulator.rules.cleaning import Cleaning, identifier_key
from gcx.emulator.rules.state import State
from gcx.emulator.rules.writes import Writes
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import IdentifierKey, Record


class Identifiers:
    """``/{kind}/{id}/identifiers`` and ``/identifierlookup``."""

    def __init__(self, state: State, cleaning: Cleaning, writes: Writes) -> None:
        self.state = state
        self.cleaning = cleaning
        self.writes = writes

    def list_identifiers(self, kind: str, record_id: str) -> dict[str, Any]:
        with self.state.lock:
            record = self.state.require_current(kind, record_id)
            return {"entities": clone(record.get("identifiers", []))}

    def patch_identifiers(self, kind: str, record_id: str, body: Any) -> dict[str, Any]:
        """Claim or release one identifier; returns the identifier.

        A Claim of an identifier another record holds is a 409, or moves it to this record
        (``identifier_claim_conflict`` setting: the documents leave it open).
        """
        st = self.state
        with st.lock:
            record = st.require_current(kind, record_id)
            record_id = record["id"]
            problems: list[FieldProblem] = []
            operation = body.get("operation") if isinstance(body, dict) else None
            if operation not in ("Claim", "Release"):
                problems.append(FieldProblem("operation", "must be Claim or Release", value=operation))
            raw = body.get("identifier") if isinstance(body, dict) else None
            if raw is None:
                problems.append(FieldProblem("identifier", "is required", code="missing.property"))
                ident: dict[str, Any] = {}
            else:
                ident = self.cleaning.clean_identifier(kind, raw, "identifier", problems)
            if problems:
                raise invalid(problems, "identifier request")
            key = identifier_key(ident)
            held = record.get("identifiers", [])
            existing = next((i for i in held if identifier_key(i) == key), None)
            if operation == "Release":
                if existing is None:
                    raise EmulatorError(
                        404,
                        "not.found",
                        f"{NOUN[kind].capitalize()} {record_id} does not hold the {key.type} "
                        f"identifier {key.value!r}",
                        entity_id=record_id,
                    )
                self._release(kind, record, key)
                return clone(existing)
            if existing is not None:
                return clone(existing)
            skip = {record_id}
            if st.settings.identifier_claim_conflict == "move" and self.writes.held_elsewhere(
                kind, key, skip
            ):
                for other_id in st.store.holders(kind, key):
                    other = st.store.get(kind, other_id)
                    if other_id != record_id and other is not None:
                        self._release(kind, other, key)
            self.writes.check_claim(kind, key, skip)
            entry = dict(ident)
            entry["division"] = st.division()
            entry["dateCreated"] = st.now()
            updated = dict(record)
            updated["identifiers"] = [*held, entry]
            updated["modifyDate"] = entry["dateCreated"]
            st.store.add_identifier(kind, key, record_id)
            st.store.put(kind, updated)
            return clone(entry)

    def _release(self, kind: str, record: Record, key: IdentifierKey) -> None:
        st = self.state
        updated = dict(record)
        updated["identifiers"] = [i for i in record.get("identifiers", []) if identifier_key(i) != key]
        if not updated["identifiers"]:
            del updated["identifiers"]
        updated["modifyDate"] = st.now()
        st.store.remove_identifier(kind, key, record["id"])
        st.store.put(kind, updated)

    def lookup(self, kind: str, body: Any, *, expand: Collection[str] = ()) -> dict[str, Any]:
        """The record holding an identifier (404 when none); the first holder when several do."""
        st = self.state
        with st.lock:
            problems: list[FieldProblem] = []
            ident = self.cleaning.clean_identifier(kind, body, "", problems)
            if problems:
                raise invalid(problems, "identifier lookup")
            found = self.find_holders(kind, ident)
            if not found:
                raise EmulatorError(
                    404,
                    "not.found",
                    f"No {NOUN[kind]} holds the {ident['type']} identifier {ident['value']!r}",
                )
            return st.render(kind, st.require(kind, found[0]), expand)

    def find_holders(self, kind: str, ident: dict[str, Any]) -> list[str]:
        """Ids of the records holding ``ident`` (any source when it names none), oldest first."""
        store = self.state.store
        key = identifier_key(ident)
        if key.source is not None:
            ids = store.holders(kind, key)
        else:
            ids = store.holders_any_source(kind, key.type, key.value)
        return sorted(ids, key=lambda i: store.seq_of(kind, i) or 0)
