"""Notes on a contact or an organization (``/{kind}/{id}/notes``)."""

from __future__ import annotations

import uuid
from typing import Any

from gcx.emulator.errors import invalid, not_found
from gcx.emulator.kinds import API, NOTE_ENTITY_TYPE, NOTES, clone
from gcx.emulator.rules.listing import Listing
from gcx.emulator.rules.patching import Patching
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record


class Notes:
    """A record's notes: they live and die with it (and move with it on a merge)."""

    def __init__(self, state: State, listing: Listing, patching: Patching) -> None:
        self.state = state
        self.listing = listing
        self.patching = patching

    def _clean_note(self, body: Any) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object (note)")], "note")
        raw = {k: v for k, v in body.items() if k not in ("createdBy", "entityId", "entityType", "division")}
        cleaned: dict[str, Any] = self.state.cleaner.clean("Note", raw, "", problems) or {}
        if not problems and not cleaned.get("noteText"):
            problems.append(
                FieldProblem("noteText", "is required (1 to 32,000 characters)", "missing.property")
            )
        author = body.get("createdBy")
        if author is not None:
            author_id = author.get("id") if isinstance(author, dict) else None
            if not isinstance(author_id, str) or not author_id.strip():
                problems.append(FieldProblem("createdBy.id", "must be a user id"))
            else:
                cleaned["createdBy"] = {
                    "id": author_id.strip(),
                    "selfUri": f"/api/v2/users/{author_id.strip()}",
                }
        if problems:
            raise invalid(problems, "note")
        return cleaned

    def _require_note(self, kind: str, parent_id: str, note_id: str) -> Record:
        self.state.require(kind, parent_id)
        note = self.state.store.get(NOTES, note_id)
        if note is None or note.get("entityId") != parent_id:
            raise not_found(NOTES, note_id)
        return note

    def create_note(self, kind: str, parent_id: str, body: Any) -> dict[str, Any]:
        """POST a note on a contact or organization."""
        st = self.state
        with st.lock:
            st.require(kind, parent_id)
            cleaned = self._clean_note(body)
            note_id = str(uuid.uuid4())
            now = st.now()
            record: Record = {
                "id": note_id,
                "entityId": parent_id,
                "entityType": NOTE_ENTITY_TYPE[kind],
                **cleaned,
                "createDate": now,
                "modifyDate": now,
                "selfUri": f"{API}/{kind}/{parent_id}/notes/{note_id}",
            }
            st.store.put(NOTES, record)
            st.store.link_child(NOTES, parent_id, note_id)
            return st.render(NOTES, record)

    def get_note(self, kind: str, parent_id: str, note_id: str) -> dict[str, Any]:
        with self.state.lock:
            return self.state.render(NOTES, self._require_note(kind, parent_id, note_id))

    def replace_note(self, kind: str, parent_id: str, note_id: str, body: Any) -> dict[str, Any]:
        st = self.state
        with st.lock:
            previous = self._require_note(kind, parent_id, note_id)
            record = {k: previous[k] for k in ("id", "entityId", "entityType", "createDate", "selfUri")}
            record.update(self._clean_note(body))
            record["modifyDate"] = st.now()
            st.store.put(NOTES, record)
            return st.render(NOTES, record)

    def patch_note(self, kind: str, parent_id: str, note_id: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            previous = self._require_note(kind, parent_id, note_id)
            doc = {k: clone(v) for k, v in previous.items() if k in ("noteText", "createdBy")}
            self.patching.apply_changes(NOTES, doc, body)
            return self.replace_note(kind, parent_id, note_id, doc)

    def delete_note(self, kind: str, parent_id: str, note_id: str) -> None:
        with self.state.lock:
            self._require_note(kind, parent_id, note_id)
            self.state.store.delete(NOTES, note_id)
            self.state.store.unlink_child(NOTES, parent_id, note_id)

    def list_notes(
        self,
        kind: str,
        parent_id: str,
        *,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        """A page of a record's notes (``NoteListing``), oldest first unless ``createDate:desc``."""
        with self.state.lock:
            self.state.require(kind, parent_id)
            notes = self.listing.children_in_order(NOTES, parent_id, sort_order, ("createDate",))
            extra = {"sortOrder": sort_order} if sort_order else {}
            return self.listing.paged(
                NOTES,
                notes,
                page_size=page_size,
                page_number=page_number,
                max_size=100,
                base=f"{API}/{kind}/{parent_id}/notes",
                extra=extra,
            )
