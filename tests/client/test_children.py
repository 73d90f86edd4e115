"""Typed methods for the rest of the contract, against the emulator: notes of contacts and
organizations, relationships, contact merges and the body search of contacts."""

from __future__ import annotations

from collections.abc import Iterator

import pytest

from gcx import Client
from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import NotFoundError, ValidationError
from gcx.models import ContactListing, Note, Relationship


@pytest.fixture
def gc() -> Iterator[Client]:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    with Client(
        region="http://emu.test", client_id="i", client_secret="s", transport=emu.transport(), rate_limit=0
    ) as client:
        yield client


def test_notes_of_contacts_and_organizations(gc: Client) -> None:
    contact = gc.contacts.create({"firstName": "Ada"})
    first = gc.contacts.notes.create(contact.id, "called about the renewal")
    assert isinstance(first, Note) and first.noteText == "called about the renewal"
    second = gc.contacts.notes.create(contact.id, {"noteText": "sent the quote"})
    assert {n.id for n in gc.contacts.notes.list(contact.id)} == {first.id, second.id}
    assert gc.contacts.notes.get(contact.id, first.id).noteText == "called about the renewal"
    changed = gc.contacts.notes.update(contact.id, {"noteText": "renewal signed"}, id=first.id)
    assert changed.noteText == "renewal signed"
    patched = gc.contacts.notes.patch(
        contact.id, second.id, [{"field": "$.noteText", "value": "quote accepted", "action": "Update"}]
    )
    assert patched.noteText == "quote accepted"
    gc.contacts.notes.delete(contact.id, first.id)
    with pytest.raises(NotFoundError):
        gc.contacts.notes.get(contact.id, first.id)
    with pytest.raises(ValidationError, match="noteText"):
        gc.contacts.notes.create(contact.id, "  ")
    org = gc.organizations.create({"name": "Acme"})
    note = gc.organizations.notes.create(org.id, "key account")
    assert [n.id for n in gc.organizations.notes.list(org.id)] == [note.id]


def test_relationships(gc: Client) -> None:
    org = gc.organizations.create({"name": "Acme"})
    other = gc.organizations.create({"name": "Other"})
    rel = gc.relationships.create(
        {"user": {"id": "u-1"}, "externalOrganization": {"id": org.id}, "relationship": "Account Manager"}
    )
    assert isinstance(rel, Relationship) and rel.relationship == "Account Manager"
    assert [r.id for r in gc.relationships.list(org.id)] == [rel.id]
    moved = gc.relationships.update(
        {"user": {"id": "u-1"}, "externalOrganization": {"id": other.id}, "relationship": "Engineer"},
        id=rel.id,
    )
    assert moved.externalOrganization is not None and moved.externalOrganization.id == other.id
    patched = gc.relationships.patch(
        rel.id, [{"field": "$.relationship", "value": "Sponsor", "action": "Update"}]
    )
    assert patched.relationship == "Sponsor"
    assert gc.relationships.get(rel.id).relationship == "Sponsor"
    gc.relationships.delete(rel.id)
    assert list(gc.relationships.list(other.id)) == []
    with pytest.raises(ValidationError, match="relationship"):
        gc.relationships.create({"user": {"id": "u-1"}, "externalOrganization": {"id": org.id}})


def test_merge_and_body_search(gc: Client) -> None:
    a = gc.contacts.create({"firstName": "Ann", "title": "T"})
    b = gc.contacts.create({"firstName": "Bob", "lastName": "L"})
    merged = gc.contacts.merge([a.id, b.id], value_override={"title": "Boss"})
    assert merged.id not in (a.id, b.id) and merged.title == "Boss"
    assert gc.contacts.get(a.id).id == merged.id  # an ancestor's id acts on the canonical contact
    with pytest.raises(ValidationError, match="two contact ids"):
        gc.contacts.merge([a.id])
    for n in range(3):
        gc.contacts.create({"firstName": f"Zed{n}"})
    page = gc.contacts.search_body(
        {"pageSize": 2, "pageNumber": 1, "operation": {"simpleSearch": {"query": "Zed"}}}
    )
    assert isinstance(page, ContactListing) and page.total == 3 and len(page.entities or []) == 2


def test_merge_an_identified_contact_into_a_curated_one(gc: Client) -> None:
    target = gc.contacts.create({"firstName": "T", "workEmail": "t@example.com"})
    enriched = gc.request(
        "POST",
        "/api/v2/externalcontacts/contacts/enrich",
        json={
            "matchingIdentifiers": [{"type": "Email", "value": "s@example.com"}],
            "action": "Upsert",
            "contact": {"firstName": "S", "title": "Dr"},
        },
    )
    merged = gc.contacts.merge_into(enriched["id"], target.id)
    assert merged.id not in (target.id, enriched["id"])
    assert merged.firstName == "T" and merged.title == "Dr"
