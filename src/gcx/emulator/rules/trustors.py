"""Linking an external organization to a trustor org (``/organizations/{id}/trustor``)."""

from __future__ import annotations

from typing import Any

from gcx.emulator.errors import EmulatorError, invalid
from gcx.emulator.kinds import API, ORGS, clone
from gcx.emulator.rules.state import State
from gcx.emulator.schema import FieldProblem


class Trustors:
    """One external organization per trustor; ``state.trustor_links`` indexes the links."""

    def __init__(self, state: State) -> None:
        self.state = state

    def link_trustor(self, org_id: str, trustor_id: str) -> dict[str, Any]:
        """``PUT /organizations/{id}/trustor/{trustorId}``: the org now stands for that trustor org."""
        st = self.state
        with st.lock:
            org = st.require(ORGS, org_id)
            trustor = trustor_id.strip()
            if not trustor:
                raise invalid([FieldProblem("trustorId", "is required")], "trustor link")
            others = sorted(st.trustor_links.get(trustor, set()) - {org_id})
            if others:
                raise EmulatorError(
                    409,
                    "conflict",
                    f"Trustor {trustor} is already linked to external organization {others[0]}",
                    entity_id=others[0],
                )
            now = st.now()
            previous = org.get("trustor", {}).get("id")
            if previous and previous != trustor:
                st.trustor_links.get(previous, set()).discard(org_id)
            updated = {
                **org,
                "trustor": {"id": trustor, "enabled": True, "dateCreated": now},
                "modifyDate": now,
            }
            st.store.put(ORGS, updated)
            st.trustor_links.setdefault(trustor, set()).add(org_id)
            return {
                "division": clone(org.get("division") or st.division()),
                "externalOrganizationId": org_id,
                "trustorOrgId": trustor,
                "dateCreated": now,
                "externalOrganizationUri": f"{API}/organizations/{org_id}",
            }

    def unlink_trustor(self, org_id: str) -> None:
        """``DELETE /organizations/{id}/trustor`` (404 when the org has no trustor)."""
        st = self.state
        with st.lock:
            org = st.require(ORGS, org_id)
            trustor = org.get("trustor", {}).get("id")
            if not trustor:
                raise EmulatorError(
                    404,
                    "not.found",
                    f"External organization {org_id} is not linked to a trustor",
                    entity_id=org_id,
                )
            st.trustor_links.get(trustor, set()).discard(org_id)
            st.store.put(ORGS, {**{k: v for k, v in org.items() if k != "trustor"}, "modifyDate": st.now()})
