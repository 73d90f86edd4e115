"""External sources: create, get, replace, delete, list (cursor pages, name prefix, active)."""

from __future__ import annotations

import uuid
from typing import Any
from urllib.parse import urlencode

from gcx.emulator.errors import EmulatorError, invalid
from gcx.emulator.kinds import API, SOURCES, clone
from gcx.emulator.rules.listing import Listing
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record


class Sources:
    """``/externalsources``: names are unique (case-insensitive)."""

    def __init__(self, state: State, listing: Listing) -> None:
        self.state = state
        self.listing = listing

    def create_source(self, body: Any) -> dict[str, Any]:
        with self.state.lock:
            cleaned = self._clean_source(body, None)
            record = {"id": str(uuid.uuid4()), **cleaned}
            record["selfUri"] = f"{API}/externalsources/{record['id']}"
            self.state.store.put(SOURCES, record)
            return clone(record)

    def get_source(self, source_id: str) -> dict[str, Any]:
        with self.state.lock:
            return clone(self.state.require(SOURCES, source_id))

    def replace_source(self, source_id: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            self.state.require(SOURCES, source_id)
            if isinstance(body, dict) and body.get("id") not in (None, source_id):
                raise invalid([FieldProblem("id", "does not match the id in the path")], "external source")
            cleaned = self._clean_source(body, source_id)
            record = {"id": source_id, **cleaned, "selfUri": f"{API}/externalsources/{source_id}"}
            self.state.store.put(SOURCES, record)
            return clone(record)

    def delete_source(self, source_id: str) -> None:
        with self.state.lock:
            self.state.require(SOURCES, source_id)
            self.state.store.delete(SOURCES, source_id)

    def list_sources(
        self,
        *,
        cursor: str | None = None,
        limit: int | None = None,
        name: str | None = None,
        active: bool | None = None,
    ) -> dict[str, Any]:
        with self.state.lock:
            size = 100 if limit is None else limit
            if not 10 <= size <= 200:
                raise invalid([FieldProblem("limit", "must be between 10 and 200", value=size)], "listing")
            after = self.listing.decode_cursor(SOURCES, cursor) if cursor else 0
            prefix = (name or "").strip().lower()
            rows: list[tuple[int, Record]] = []
            more = False
            for seq, record in self.state.store.scan_after(SOURCES, after):
                if prefix and not str(record.get("name", "")).lower().startswith(prefix):
                    continue
                if active is not None and bool(record.get("active", False)) != active:
                    continue
                if len(rows) == size:
                    more = True
                    break
                rows.append((seq, record))
            base = f"{API}/externalsources"
            listing: dict[str, Any] = {
                "entities": [clone(r) for _, r in rows],
                "selfUri": f"{base}?{urlencode({'limit': size})}",
            }
            if more:
                token = self.listing.encode_cursor(SOURCES, rows[-1][0])
                listing["cursors"] = {"after": token}
                listing["nextUri"] = f"{base}?{urlencode({'limit': size, 'cursor': token})}"
            return listing

    def _clean_source(self, body: Any, source_id: str | None) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        cleaner = self.state.cleaner
        cleaned = cleaner.clean("ExternalSource", body, "", problems) if isinstance(body, dict) else None
        if not isinstance(body, dict):
            problems.append(FieldProblem("body", "must be a JSON object (external source)"))
        cleaned = cleaned or {}
        if not problems and not cleaned.get("name"):
            problems.append(FieldProblem("name", "is required", code="missing.property"))
        if problems:
            raise invalid(problems, "external source")
        lowered = cleaned["name"].lower()
        for other in self.state.store.all(SOURCES):
            if other["id"] != source_id and str(other.get("name", "")).lower() == lowered:
                raise EmulatorError(
                    409,
                    "conflict",
                    f"An external source named {cleaned['name']!r} already exists",
                    [{"errorCode": "duplicate.name", "fieldName": "name", "entityId": other["id"]}],
                    entity_id=other["id"],
                )
        cleaned.setdefault("active", True)
        return cleaned
