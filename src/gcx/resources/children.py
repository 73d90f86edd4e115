"""The rest of the contract: notes of a contact or an organization, relationships between users
and organizations, contact merges and the body search of contacts.

``gc.contacts.notes`` / ``gc.organizations.notes`` (:class:`Notes`), ``gc.relationships``
(:class:`Relationships`), ``gc.contacts.merge(...)``, ``gc.contacts.merge_into(...)`` and
``gc.contacts.search_body(...)`` (:class:`ContactExtras`).
"""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping, Sequence
from typing import Any

from gcx.errors import ValidationError
from gcx.models import (
    ContactListing,
    ContactSearchRequest,
    ExternalContact,
    MergeContactsRequest,
    MergeRequest,
    Note,
    NoteListing,
    Relationship,
    RelationshipListing,
)
from gcx.resources.bodies import body_of, coerce, patch_items, seg
from gcx.resources.core import API, Core
from gcx.transport import QueryValue

PAGE_SIZE = 100


class Notes:
    """Notes of one kind of record (``/{contacts|organizations}/{id}/notes``)."""

    def __init__(self, core: Core, parent_path: str, kind: str) -> None:
        self._core = core
        self._parent = parent_path
        self._kind = kind

    def _path(self, record_id: str, note_id: str | None = None) -> str:
        base = f"{self._parent}/{seg(record_id, record=f'{self._kind} {record_id}')}/notes"
        return (
            base if note_id is None else f"{base}/{seg(note_id, field='note_id', record=f'note {note_id}')}"
        )

    async def list(self, record_id: str, *, sort_order: str | None = None) -> AsyncIterator[Note]:
        """Every note of the record, page after page (oldest first unless ``sort_order='desc'``)."""
        page = 1
        while True:
            params: dict[str, QueryValue] = {
                "pageSize": PAGE_SIZE,
                "pageNumber": page,
                "sortOrder": sort_order,
            }
            listing = NoteListing.from_api(await self._core.json("GET", self._path(record_id), params=params))
            for note in listing.entities or []:
                yield note
            if not listing.entities or page >= (listing.pageCount or page):
                return
            page += 1

    async def get(self, record_id: str, note_id: str) -> Note:
        return Note.from_api(await self._core.json("GET", self._path(record_id, note_id)))

    async def create(self, record_id: str, note: Note | Mapping[str, Any] | str) -> Note:
        """Add a note (a ``Note``, a mapping, or just its text)."""
        body = (
            {"noteText": note}
            if isinstance(note, str)
            else body_of(Note, note, record=f"note of {record_id}")
        )
        if not str(body.get("noteText") or "").strip():
            raise ValidationError(f"note of {self._kind} {record_id}: noteText is required", field="noteText")
        data = await self._core.json("POST", self._path(record_id), body=body, idempotent=False)
        return Note.from_api(data)

    async def update(self, record_id: str, note: Note | Mapping[str, Any], *, id: str | None = None) -> Note:
        """Replace a note (PUT); its id comes from ``id`` or the note itself."""
        model = coerce(Note, note, record=f"note of {record_id}")
        note_id = id or model.id
        if not note_id:
            raise ValidationError(
                f"note of {self._kind} {record_id}: an update needs the note's id", field="id"
            )
        data = await self._core.json("PUT", self._path(record_id, note_id), body=model.to_api())
        return Note.from_api(data)

    async def patch(self, record_id: str, note_id: str, changes: Sequence[Any]) -> Note:
        """Apply PATCH changes (``{"field": "$.noteText", "value": ..., "action": "Update"}``)."""
        items = patch_items(changes, record=f"note {note_id}")
        data = await self._core.json("PATCH", self._path(record_id, note_id), body={"changes": items})
        return Note.from_api(data)

    async def delete(self, record_id: str, note_id: str) -> None:
        await self._core.send("DELETE", self._path(record_id, note_id))


class Relationships:
    """A user's role towards an external organization (``/relationships``)."""

    path = f"{API}/relationships"

    def __init__(self, core: Core) -> None:
        self._core = core

    def _one(self, relationship_id: str) -> str:
        return f"{self.path}/{seg(relationship_id, record=f'relationship {relationship_id}')}"

    async def list(self, org_id: str, *, sort_order: str | None = None) -> AsyncIterator[Relationship]:
        """Every relationship of an organization, page after page."""
        path = f"{API}/organizations/{seg(org_id, record=f'organization {org_id}')}/relationships"
        page = 1
        while True:
            params: dict[str, QueryValue] = {
                "pageSize": PAGE_SIZE,
                "pageNumber": page,
                "sortOrder": sort_order,
            }
            listing = RelationshipListing.from_api(await self._core.json("GET", path, params=params))
            for rel in listing.entities or []:
                yield rel
            if not listing.entities or page >= (listing.pageCount or page):
                return
            page += 1

    async def get(self, relationship_id: str) -> Relationship:
        return Relationship.from_api(await self._core.json("GET", self._one(relationship_id)))

    async def create(self, relationship: Relationship | Mapping[str, Any]) -> Relationship:
        """Link a user to an organization: ``{"user": {"id"}, "externalOrganization": {"id"},
        "relationship": "Account Manager"}``."""
        body = body_of(Relationship, relationship, record="new relationship")
        missing = [f for f in ("user", "externalOrganization", "relationship") if not body.get(f)]
        if missing:
            raise ValidationError(f"new relationship: {', '.join(missing)} required", field=missing[0])
        data = await self._core.json("POST", self.path, body=body, idempotent=False)
        return Relationship.from_api(data)

    async def update(
        self, relationship: Relationship | Mapping[str, Any], *, id: str | None = None
    ) -> Relationship:
        model = coerce(Relationship, relationship, record="relationship")
        rel_id = id or model.id
        if not rel_id:
            raise ValidationError("relationship: an update needs its id", field="id")
        return Relationship.from_api(await self._core.json("PUT", self._one(rel_id), body=model.to_api()))

    async def patch(self, relationship_id: str, changes: Sequence[Any]) -> Relationship:
        items = patch_items(changes, record=f"relationship {relationship_id}")
        data = await self._core.json("PATCH", self._one(relationship_id), body={"changes": items})
        return Relationship.from_api(data)

    async def delete(self, relationship_id: str) -> None:
        await self._core.send("DELETE", self._one(relationship_id))


class ContactExtras:
    """Contact operations beyond the record basics (a mixin of ``Contacts``): merges and the
    body search."""

    _core: Core

    async def merge(
        self, contact_ids: Sequence[str], *, value_override: Mapping[str, Any] | None = None
    ) -> ExternalContact:
        """Merge contacts into a new canonical contact (``POST /contacts/merge``); returns it."""
        ids = [seg(c, field="contact_ids", record="merge") for c in contact_ids]
        if len(ids) < 2:
            raise ValidationError("merge: give at least two contact ids", field="contactIds")
        body = body_of(
            MergeContactsRequest,
            {"contactIds": ids, **({"valueOverride": dict(value_override)} if value_override else {})},
            record="merge",
        )
        return ExternalContact.from_api(await self._core.json("POST", f"{API}/contacts/merge", body=body))

    async def merge_into(self, source_id: str, target_id: str) -> ExternalContact:
        """Merge an observed contact into another contact (``POST /merge/contacts``)."""
        body = body_of(
            MergeRequest,
            {
                "sourceContactId": seg(source_id, field="source_id", record="merge"),
                "targetContactId": seg(target_id, field="target_id", record="merge"),
            },
            record="merge",
        )
        return ExternalContact.from_api(await self._core.json("POST", f"{API}/merge/contacts", body=body))

    async def search_body(self, request: ContactSearchRequest | Mapping[str, Any]) -> ContactListing:
        """One page of ``POST /contacts/search`` (an ``operation`` tree of criteria)."""
        body = body_of(ContactSearchRequest, request, record="contact search")
        data = await self._core.json("POST", f"{API}/contacts/search", body=body, idempotent=True)
        return ContactListing.from_api(data)
