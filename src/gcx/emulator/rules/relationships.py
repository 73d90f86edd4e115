"""Relationships between a user and an external organization (``/relationships``)."""

from __future__ import annotations

import uuid
from typing import Any

from gcx.emulator.errors import invalid
from gcx.emulator.kinds import API, ORGS, RELATIONSHIPS, clone
from gcx.emulator.rules.listing import Listing
from gcx.emulator.rules.patching import Patching
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem
from gcx.emulator.store import Record


class Relationships:
    """Relationships, indexed under their organization (they go when it goes)."""

    def __init__(self, state: State, listing: Listing, patching: Patching) -> None:
        self.state = state
        self.listing = listing
        self.patching = patching

    def _clean_relationship(self, body: Any) -> dict[str, Any]:
        problems: list[FieldProblem] = []
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object (relationship)")], "relationship")
        raw = {k: v for k, v in body.items() if k not in ("user", "externalOrganization", "division")}
        cleaned: dict[str, Any] = self.state.cleaner.clean("Relationship", raw, "", problems) or {}
        if not problems and not cleaned.get("relationship"):
            problems.append(
                FieldProblem("relationship", "is required (1 to 100 characters)", "missing.property")
            )
        user = body.get("user")
        user_id = user.get("id") if isinstance(user, dict) else None
        if not isinstance(user_id, str) or not user_id.strip():
            problems.append(
                FieldProblem("user.id", "is required (the user in this relationship)", "missing.property")
            )
        else:
            cleaned["user"] = {"id": user_id.strip(), "selfUri": f"/api/v2/users/{user_id.strip()}"}
        org = body.get("externalOrganization")
        org_id = org.get("id") if isinstance(org, dict) else None
        if not isinstance(org_id, str) or not org_id.strip():
            problems.append(FieldProblem("externalOrganization.id", "is required", "missing.property"))
        elif self.state.store.get(ORGS, org_id.strip()) is None:
            problems.append(
                FieldProblem("externalOrganization.id", "names no external organization", value=org_id)
            )
        else:
            cleaned["externalOrganization"] = {"id": org_id.strip()}
        if problems:
            raise invalid(problems, "relationship")
        return cleaned

    def _store_relationship(self, record: Record, previous: Record | None) -> dict[str, Any]:
        store = self.state.store
        old_org = (previous or {}).get("externalOrganization", {}).get("id")
        new_org = record["externalOrganization"]["id"]
        if old_org != new_org:
            if old_org:
                store.unlink_child(RELATIONSHIPS, old_org, record["id"])
            store.link_child(RELATIONSHIPS, new_org, record["id"])
        store.put(RELATIONSHIPS, record)
        return self.state.render(RELATIONSHIPS, record)

    def create_relationship(self, body: Any) -> dict[str, Any]:
        with self.state.lock:
            rel_id = str(uuid.uuid4())
            record: Record = {"id": rel_id, **self._clean_relationship(body)}
            record["division"] = self.state.division()
            record["selfUri"] = f"{API}/relationships/{rel_id}"
            return self._store_relationship(record, None)

    def get_relationship(self, rel_id: str) -> dict[str, Any]:
        with self.state.lock:
            return self.state.render(RELATIONSHIPS, self.state.require(RELATIONSHIPS, rel_id))

    def replace_relationship(self, rel_id: str, body: Any) -> dict[str, Any]:
        st = self.state
        with st.lock:
            previous = st.require(RELATIONSHIPS, rel_id)
            record: Record = {"id": rel_id, **self._clean_relationship(body)}
            record["division"] = clone(previous.get("division") or st.division())
            record["selfUri"] = previous.get("selfUri", f"{API}/relationships/{rel_id}")
            return self._store_relationship(record, previous)

    def patch_relationship(self, rel_id: str, body: Any) -> dict[str, Any]:
        with self.state.lock:
            previous = self.state.require(RELATIONSHIPS, rel_id)
            doc = {
                k: clone(v)
                for k, v in previous.items()
                if k in ("user", "externalOrganization", "relationship")
            }
            self.patching.apply_changes(RELATIONSHIPS, doc, body)
            return self.replace_relationship(rel_id, doc)

    def delete_relationship(self, rel_id: str) -> None:
        st = self.state
        with st.lock:
            record = st.require(RELATIONSHIPS, rel_id)
            st.store.delete(RELATIONSHIPS, rel_id)
            st.store.unlink_child(RELATIONSHIPS, record["externalOrganization"]["id"], rel_id)

    def list_relationships(
        self,
        org_id: str,
        *,
        page_size: int | None = None,
        page_number: int | None = None,
        sort_order: str | None = None,
    ) -> dict[str, Any]:
        """A page of an organization's relationships (``RelationshipListing``)."""
        st = self.state
        with st.lock:
            st.require(ORGS, org_id)
            rels = self.listing.children_in_order(
                RELATIONSHIPS, org_id, sort_order, ("createDate", "relationship")
            )
            extra = {"sortOrder": sort_order} if sort_order else {}
            return self.listing.paged(
                RELATIONSHIPS,
                rels,
                page_size=page_size,
                page_number=page_number,
                max_size=st.settings.search_max_page_size,
                base=f"{API}/organizations/{org_id}/relationships",
                extra=extra,
            )
