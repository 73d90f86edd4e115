"""How a contact or organization is written: plan the stored record, claim identifiers, apply.

A write is worked out first (:class:`Plan`) and applied only when every rule agrees, so a dry
run or a conflict never leaves traces. Deleting a record also drops its notes, its identifiers
and (for an organization) its relationships and trustor link.
"""

from __future__ import annotations

import os
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from gcx.emulator.errors import EmulatorError
from gcx.emulator.kinds import API, CONTACTS, NOTES, NOUN, ORGS, RELATIONSHIPS, clone
from gcx.emulator.rules.cleaning import identifier_key
from gcx.emulator.rules.identity import field_identifiers, keyed_field_identifiers
from gcx.emulator.rules.state import State
from gcx.emulator.store import IdentifierKey, Record

#: The fields of an identifier a record keeps from a claim (besides its division and date).
_IDENTIFIER_FIELDS = frozenset({"type", "value", "externalSource"})


def uuid4_text(random16: bytes) -> str:
    """``str(uuid.UUID(bytes=random16, version=4))`` (what ``uuid.uuid4()`` makes of 16 random
    bytes), without building the UUID object: a new record's id."""
    h = random16.hex()
    # version 4 (byte 6's high nibble); RFC 4122 variant (byte 8's two high bits 10)
    return f"{h[:8]}-{h[8:12]}-4{h[13:16]}-{_VARIANT[h[16]]}{h[17:20]}-{h[20:]}"


#: Byte 8's high nibble (a hex digit) once its two high bits are set to ``10``.
_VARIANT = {digit: "89ab"[int(digit, 16) & 3] for digit in "0123456789abcdef"}


@dataclass(slots=True)
class Plan:
    """A write worked out but not applied (so dry runs and conflicts never leave traces)."""

    kind: str
    record: Record
    previous: Record | None
    claim: list[IdentifierKey]
    created: bool
    remove: list[str] = field(default_factory=list)
    release: list[IdentifierKey] = field(default_factory=list)


class Writes:
    """Planning, applying and deleting contact and organization records."""

    def __init__(self, state: State) -> None:
        self.state = state

    def plan(
        self,
        kind: str,
        cleaned: dict[str, Any],
        previous: Record | None,
        body_identifiers: list[dict[str, Any]],
        *,
        claims: Iterable[dict[str, Any]] = (),
        contact_type: str | None = None,
        record_id: str | None = None,
        ignore_holders: Iterable[str] = (),
    ) -> Plan:
        """Work out the stored record for a create (``previous`` None) or a full replacement.

        Identifiers: those the fields make (and a body's ``identifiers``, per setting) are claimed
        when free and, by default, silently left with another holder; ``claims`` (enrich's
        matching identifiers, a merge's inherited ones) must be claimed or the write is a 409.
        """
        st = self.state
        now = st.now()
        if previous is None:
            rid = record_id or uuid4_text(os.urandom(16))
            record: Record = {"id": rid, **cleaned}
            record["division"] = st.division()
            record["createDate"] = now
            record["modifyDate"] = now
            if kind == CONTACTS:
                record["type"] = contact_type or "Curated"
            held: list[dict[str, Any]] = []
        else:
            rid = previous["id"]
            record = {"id": rid, **cleaned}
            record["division"] = clone(previous.get("division") or st.division())
            record["createDate"] = previous.get("createDate", now)
            if "trustor" in previous:  # linked by the trustor endpoints only
                record["trustor"] = clone(previous["trustor"])
            record["modifyDate"] = now
            if kind == CONTACTS:
                record["type"] = contact_type or previous.get("type", "Curated")
                for merge_field in ("mergedFrom", "mergeSet", "canonicalContact", "mergedTo"):
                    if merge_field in previous:  # read-only merge history survives updates
                        record[merge_field] = clone(previous[merge_field])
            held = clone(previous.get("identifiers", []))
        record["selfUri"] = f"{API}/{kind}/{rid}"
        settings = st.settings
        derived = keyed_field_identifiers(kind, record, settings)
        release: list[IdentifierKey] = []
        if previous is not None and settings.release_on_change:
            kept = {key for _, key in derived}
            gone = {identifier_key(i) for i in field_identifiers(kind, previous, settings)} - kept
            release = [identifier_key(i) for i in held if identifier_key(i) in gone]
            held = [i for i in held if identifier_key(i) not in gone]
        soft = (
            derived + [(i, identifier_key(i)) for i in body_identifiers]
            if settings.claim_body_identifiers and body_identifiers
            else derived
        )
        held_keys = {identifier_key(i) for i in held} if held else set()
        claim: list[IdentifierKey] = []
        skip = {rid, *ignore_holders}
        keep = settings.write_claim_conflict == "keep"
        unique_external_ids = settings.unique_external_ids
        holders_of = st.store.holders
        home = st.division()
        for required, idents in ((False, soft), (True, [(i, identifier_key(i)) for i in claims])):
            for ident, key in idents:
                if key in held_keys:
                    continue
                # held_elsewhere, written out (a write asks it of every identifier it claims)
                if (
                    (unique_external_ids or key[0] != "ExternalId")
                    and (holders := holders_of(kind, key))
                    and any(h not in skip for h in holders)
                ):
                    if keep and not required:
                        continue  # documented: an identifier another record holds stays with it, silently
                    self.check_claim(kind, key, skip)  # a 409
                entry = (
                    dict(ident)
                    if _IDENTIFIER_FIELDS.issuperset(ident)
                    else {k: v for k, v in ident.items() if k in _IDENTIFIER_FIELDS}
                )
                entry["division"] = dict(home)
                entry["dateCreated"] = now
                held.append(entry)
                held_keys.add(key)
                claim.append(key)
        if held:
            record["identifiers"] = held
        plan = Plan(kind=kind, record=record, previous=previous, claim=claim, created=previous is None)
        if release:
            plan.release = [k for k in release if k not in held_keys]
        return plan

    def held_elsewhere(self, kind: str, key: IdentifierKey, skip: set[str]) -> bool:
        """Whether a record outside ``skip`` holds ``key`` in a way that blocks a claim."""
        if key.type == "ExternalId" and not self.state.settings.unique_external_ids:
            return False
        holders = self.state.store.holders(kind, key)
        return bool(holders) and any(h not in skip for h in holders)

    def check_claim(self, kind: str, key: IdentifierKey, skip: set[str]) -> None:
        """409 when a record outside ``skip`` holds ``key`` (ExternalIds: per setting)."""
        if not self.held_elsewhere(kind, key, skip):
            return
        others = [h for h in self.state.store.holders(kind, key) if h not in skip]
        source = f" (external source {key.source})" if key.source else ""
        raise EmulatorError(
            409,
            "identifier.conflict",
            f"The {key.type} identifier {key.value!r}{source} is already claimed by {NOUN[kind]} {others[0]}",
            [{"errorCode": "identifier.conflict", "fieldName": "identifiers", "entityId": others[0]}],
            entity_id=others[0],
        )

    def apply(self, plan: Plan) -> Record:
        """Store a planned write with its index changes."""
        store = self.state.store
        kind, record = plan.kind, plan.record
        for other in plan.remove:
            self.move_notes(kind, other, record["id"])
            self.delete_record(kind, other)
        rid = record["id"]
        if kind == CONTACTS:
            old_org = (plan.previous or {}).get("externalOrganization", {}).get("id")
            new_org = record.get("externalOrganization", {}).get("id")
            if old_org != new_org:
                if old_org:
                    store.unlink_member(old_org, rid)
                if new_org:
                    store.link_member(new_org, rid)
        for key in plan.release:
            store.remove_identifier(kind, key, rid)
        for key in plan.claim:
            store.add_identifier(kind, key, rid)
        store.put(kind, record)
        return record

    def delete_record(self, kind: str, record_id: str) -> Record | None:
        """Remove a record and everything hanging off it (notes, identifiers, links)."""
        st = self.state
        store = st.store
        record = store.get(kind, record_id)
        if record is None:
            return None
        st.hay.pop((kind, record_id), None)
        for note_id in store.children(NOTES, record_id):  # a record's notes go with it
            store.delete(NOTES, note_id)
            store.unlink_child(NOTES, record_id, note_id)
        if kind == ORGS:
            trustor = (record.get("trustor") or {}).get("id")
            if isinstance(trustor, str):
                st.trustor_links.get(trustor, set()).discard(record_id)
        if kind == ORGS:  # so do an organization's relationships
            for rel_id in store.children(RELATIONSHIPS, record_id):
                store.delete(RELATIONSHIPS, rel_id)
                store.unlink_child(RELATIONSHIPS, record_id, rel_id)
        for ident in record.get("identifiers", []):
            store.remove_identifier(kind, identifier_key(ident), record_id)
        if kind == CONTACTS:
            org_id = record.get("externalOrganization", {}).get("id")
            if org_id:
                store.unlink_member(org_id, record_id)
        return store.delete(kind, record_id)

    def delete_org_members(self, org_id: str) -> None:
        """Before an organization goes: 409, unlink or delete its contacts (per setting)."""
        st = self.state
        members = st.store.members(org_id)
        if not members:
            return
        mode = st.settings.org_delete_with_contacts
        if mode == "reject":
            raise EmulatorError(
                409,
                "organization.has.contacts",
                f"External organization {org_id} still has {len(members)} contact(s); "
                "move or delete them first",
                entity_id=org_id,
            )
        now = st.now()
        for contact_id in members:
            if mode == "cascade":
                self.delete_record(CONTACTS, contact_id)
                continue
            contact = st.store.get(CONTACTS, contact_id)
            if contact is not None:
                updated = {k: v for k, v in contact.items() if k != "externalOrganization"}
                updated["modifyDate"] = now
                st.store.unlink_member(org_id, contact_id)
                st.store.put(CONTACTS, updated)

    def move_notes(self, kind: str, from_id: str, to_id: str) -> None:
        """A merged-away record's notes move to the record it was merged into."""
        store = self.state.store
        for note_id in store.children(NOTES, from_id):
            note = store.get(NOTES, note_id)
            store.unlink_child(NOTES, from_id, note_id)
            if note is None:
                continue
            moved = {**note, "entityId": to_id, "selfUri": f"{API}/{kind}/{to_id}/notes/{note_id}"}
            store.put(NOTES, moved)
            store.link_child(NOTES, to_id, note_id)
