"""External organizations: ``/api/v2/externalcontacts/organizations``."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from gcx.errors import ValidationError
from gcx.models import (
    ExternalContact,
    ExternalOrganization,
    ExternalOrganizationEnrichRequest,
    ExternalOrganizationIdentifier,
    ExternalOrganizationIdentifierClaimRequest,
)
from gcx.models.values import ORG_IDENTIFIER_TYPES
from gcx.pagination import ScanPager, SearchPager, scan_limit
from gcx.resources.bodies import expand_param, seg
from gcx.resources.children import Notes
from gcx.resources.core import API, Core
from gcx.resources.records import RecordResource


class Organizations(
    RecordResource[ExternalOrganization, ExternalOrganizationIdentifier, ExternalOrganizationEnrichRequest]
):
    """Create, read, update, delete, search, scan, bulk, identify and enrich organizations."""

    kind = "organization"
    path = f"{API}/organizations"
    bulk_path = f"{API}/bulk/organizations"
    scan_path = f"{API}/scan/organizations"
    lookup_path = f"{API}/identifierlookup/organizations"
    enrich_record_field = "externalOrganization"
    model = ExternalOrganization
    identifier_model = ExternalOrganizationIdentifier
    enrich_model = ExternalOrganizationEnrichRequest
    claim_model = ExternalOrganizationIdentifierClaimRequest
    identifier_types = ORG_IDENTIFIER_TYPES

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.notes = Notes(core, self.path, self.kind)

    def _check_new(self, body: dict[str, Any], record: str) -> None:
        name = body.get("name")
        if not isinstance(name, str) or not name.strip():
            raise ValidationError(f"{record}: an organization needs a name", field="name", record=record)

    def contacts(
        self,
        org_id: str,
        *,
        q: str | None = None,
        all: bool = False,
        page_size: int = 100,
        sort_order: str | None = None,
        expand: Sequence[str] | None = None,
        limit: int = 200,
        max_records: int | None = None,
    ) -> SearchPager[ExternalContact] | ScanPager[ExternalContact]:
        """Contacts of an organization (async iterator).

        By default this is the organization's contact search, which the API caps at 1,000
        records (``.truncated`` tells). ``all=True`` scans every contact instead and keeps those
        whose ``externalOrganization.id`` is ``org_id``: complete, but reads the whole contact set.
        """
        path = f"{self.path}/{seg(org_id, record=self.kind)}/contacts"
        expanded = expand_param(expand, record=f"contacts of organization {org_id}")
        if all:
            if q:
                raise ValidationError("q cannot be combined with all=True (scan has no search)", field="q")
            size = scan_limit(limit)
            wanted = org_id.strip()

            async def fetch(cursor: str | None) -> dict[str, Any]:
                data = await self._core.json(
                    "GET", f"{API}/scan/contacts", params={"limit": size, "cursor": cursor}
                )
                return data if isinstance(data, dict) else {}

            def belongs(raw: dict[str, Any]) -> bool:
                org = raw.get("externalOrganization")
                return isinstance(org, dict) and org.get("id") == wanted

            return ScanPager(
                fetch,
                ExternalContact.from_api,
                where=belongs,
                max_records=max_records,
                what=f"contacts of organization {wanted}",
            )

        async def page(number: int, size: int) -> dict[str, Any]:
            params: dict[str, Any] = {
                "pageSize": size,
                "pageNumber": number,
                "q": q or None,
                "sortOrder": sort_order,
                "expand": expanded,
            }
            data = await self._core.json("GET", path, params=params)
            return data if isinstance(data, dict) else {}

        return SearchPager(
            page,
            ExternalContact.from_api,
            page_size=page_size,
            max_records=max_records,
            what=f"contacts of organization {org_id}",
        )
