"""External contacts: ``/api/v2/externalcontacts/contacts``."""

from __future__ import annotations

from collections.abc import Sequence

from gcx.models import (
    ContactEnrichRequest,
    ContactIdentifier,
    ExternalContact,
    IdentifierClaimRequest,
)
from gcx.models.values import CONTACT_IDENTIFIER_TYPES
from gcx.resources.bodies import seg
from gcx.resources.children import ContactExtras, Notes
from gcx.resources.core import API, Core
from gcx.resources.records import RecordResource


class Contacts(ContactExtras, RecordResource[ExternalContact, ContactIdentifier, ContactEnrichRequest]):
    """Create, read, update, delete, search, scan, bulk, identify, enrich, move and merge
    contacts; their notes (``notes``)."""

    kind = "contact"
    path = f"{API}/contacts"
    bulk_path = f"{API}/bulk/contacts"
    scan_path = f"{API}/scan/contacts"
    lookup_path = f"{API}/identifierlookup/contacts"
    enrich_record_field = "contact"
    model = ExternalContact
    identifier_model = ContactIdentifier
    enrich_model = ContactEnrichRequest
    claim_model = IdentifierClaimRequest
    identifier_types = CONTACT_IDENTIFIER_TYPES

    def __init__(self, core: Core) -> None:
        super().__init__(core)
        self.notes = Notes(core, self.path, self.kind)

    async def lookup(
        self,
        type: str,
        value: str,
        *,
        external_source_id: str | None = None,
        expand: Sequence[str] | None = None,
    ) -> ExternalContact | None:
        """The contact holding the identifier (``type`` e.g. Email, Phone, ExternalId), or
        ``None``. Phone values need ``+`` and the country code. ``expand=["identifiers"]`` shows
        every identifier the contact holds."""
        return await self._lookup(type, value, external_source_id, expand)

    async def move(self, contact_id: str, org_id: str | None) -> ExternalContact:
        """Move a contact to another organization (``None``: detach it), keeping its id and every
        other field: read the contact, change ``externalOrganization``, PUT it back."""
        label = self._record(contact_id)
        current = await self.get_raw(contact_id)
        if org_id is None:
            current.pop("externalOrganization", None)
        else:
            seg(org_id, field="org_id", record=label)  # validates
            current["externalOrganization"] = {"id": org_id.strip()}
        return await self.put_raw(contact_id, current)
