"""The official Genesys SDK (PureCloudPlatformClientV2), unmodified, against the emulator.

Pointing the SDK at a base URL such as ``http://127.0.0.1:PORT`` is enough: the SDK derives
the login host by rewriting ``//api.`` to ``//login.`` (``ApiClient.get_conf_url``), which
leaves a loopback URL untouched, so the token call goes to the same origin, where the
emulator serves ``POST /oauth/token``.
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest

pc = pytest.importorskip("PureCloudPlatformClientV2")

from PureCloudPlatformClientV2.api_client import ApiClient  # noqa: E402
from PureCloudPlatformClientV2.rest import ApiException  # noqa: E402

from gcx.emulator import Emulator, EmulatorSettings  # noqa: E402
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET  # noqa: E402


def build(cls: type, **attrs: Any) -> Any:
    """SDK models take no constructor arguments: set attributes one by one."""
    obj = cls()
    for name, value in attrs.items():
        setattr(obj, name, value)
    return obj


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorSettings(rate_limit=0, credentials=((CANARY_CLIENT_ID, CANARY_SECRET),)))


@pytest.fixture
def sdk(emu: Emulator) -> Iterator[Any]:
    with emu.serve() as base_url:
        client = ApiClient(host=base_url).get_client_credentials_token(CANARY_CLIENT_ID, CANARY_SECRET)
        try:
            yield client
        finally:
            client.get_http_client().rest_client.pool_manager.clear()


def test_sdk_create_get_update_patch_delete(sdk: Any, emu: Emulator) -> None:
    api = pc.ExternalContactsApi(sdk)
    me = pc.OrganizationApi(sdk).get_organizations_me()
    assert (me.id, me.name) == (emu.settings.org_id, emu.settings.org_name)

    org = api.post_externalcontacts_organizations(build(pc.ExternalOrganization, name="  Acme  "))
    assert org.name == "Acme" and org.id and org.create_date is not None

    phone = build(pc.PhoneNumber, display="317-555-0100")
    contact = build(
        pc.ExternalContact,
        first_name="Ann",
        cell_phone=phone,
        external_organization=build(pc.ExternalOrganization, id=org.id),
    )
    created = api.post_externalcontacts_contacts(contact)
    assert created.type == "Curated"
    assert created.cell_phone.e164 == "+13175550100"
    assert created.external_organization.name == "Acme"

    got = api.get_externalcontacts_contact(created.id)
    got.last_name = "Lee"
    got.first_name = None  # PUT erases what is left out
    updated = api.put_externalcontacts_contact(created.id, got)
    assert updated.last_name == "Lee" and updated.first_name is None

    change = build(pc.ContactsPatchChange, field="$.title", value="Dr", action="Update")
    patched = api.patch_externalcontacts_contact(
        created.id, build(pc.ExternalContactsPatchRequest, changes=[change])
    )
    assert patched.title == "Dr" and patched.last_name == "Lee"

    listing = api.get_externalcontacts_organization_contacts(org.id)
    assert [c.id for c in listing.entities] == [created.id]

    api.delete_externalcontacts_contact(created.id)
    with pytest.raises(ApiException) as info:
        api.get_externalcontacts_contact(created.id)
    assert info.value.status == 404


def test_sdk_bulk_and_scan_to_the_end(sdk: Any) -> None:
    api = pc.ExternalContactsApi(sdk)
    entities = [build(pc.ExternalContact, first_name=f"Bulk{i:02d}") for i in range(25)]
    entities[5] = build(pc.ExternalContact, work_email="not-an-email")
    added = api.post_externalcontacts_bulk_contacts_add(build(pc.BulkContactsRequest, entities=entities))
    assert added.error_count == 1 and len(added.results) == 25
    failed = added.results[added.error_indexes[0]]
    assert failed.success is False and failed.error.status == 400

    ids = [r.id for r in added.results if r.success]
    seen: list[str] = []
    cursor = None
    while True:
        page = api.get_externalcontacts_scan_contacts(limit=10, cursor=cursor)
        seen.extend(e.id for e in page.entities)
        cursor = page.cursors.after if page.cursors else None
        if not cursor:
            break
    assert sorted(seen) == sorted(ids)

    refs = [build(pc.ExternalContactsEntity, id=i) for i in ids[:3]]
    fetched = api.post_externalcontacts_bulk_contacts(build(pc.BulkIdsRequest, entities=refs))
    assert fetched.error_count == 0 and {r.id for r in fetched.results} == set(ids[:3])

    to_update = [build(pc.ExternalContact, id=i, first_name="Renamed") for i in ids[:3]]
    updated = api.post_externalcontacts_bulk_contacts_update(
        build(pc.BulkContactsRequest, entities=to_update)
    )
    assert {r.entity.first_name for r in updated.results} == {"Renamed"}

    removed = api.post_externalcontacts_bulk_contacts_remove(build(pc.BulkIdsRequest, entities=refs))
    assert removed.error_count == 0
    assert api.get_externalcontacts_contacts(q="bulk").total == 24 - 3


def test_sdk_enrich_and_identifier_lookup(sdk: Any) -> None:
    api = pc.ExternalContactsApi(sdk)
    source = api.post_externalcontacts_externalsources(build(pc.ExternalSource, name="crm"))
    ident = build(
        pc.ContactIdentifier,
        type="ExternalId",
        value="crm-1",
        external_source=build(pc.ExternalSource, id=source.id),
    )
    request = build(
        pc.ContactEnrichRequest,
        matching_identifiers=[ident],
        action="Upsert",
        contact=build(pc.ExternalContact, first_name="Eve"),
    )
    enriched = api.post_externalcontacts_contacts_enrich(request)
    assert enriched.first_name == "Eve"
    found = api.post_externalcontacts_identifierlookup_contacts(ident)
    assert found.id == enriched.id
    identifiers = api.get_externalcontacts_contact_identifiers(enriched.id)
    assert [i.value for i in identifiers.entities] == ["crm-1"]


def test_sdk_rejects_bad_secret(emu: Emulator) -> None:
    with emu.serve() as base_url:
        client = ApiClient(host=base_url)
        try:
            with pytest.raises(ApiException) as info:
                client.get_client_credentials_token(CANARY_CLIENT_ID, "wrong")
            assert info.value.status == 401
            assert CANARY_SECRET not in str(info.value)
        finally:
            client.get_http_client().rest_client.pool_manager.clear()


def test_sdk_organizations_identifiers_sources_and_enrich_variants(sdk: Any) -> None:
    api = pc.ExternalContactsApi(sdk)
    src = api.post_externalcontacts_externalsources(build(pc.ExternalSource, name="crm"))
    assert [s.name for s in api.get_externalcontacts_externalsources(limit=10).entities] == ["crm"]
    src.active = False
    assert api.put_externalcontacts_externalsource(src.id, src).active is False
    assert api.get_externalcontacts_externalsource(src.id).name == "crm"

    org = api.post_externalcontacts_organizations(build(pc.ExternalOrganization, name="Acme", tags=["a"]))
    got = api.get_externalcontacts_organization(org.id)
    got.industry = "Retail"
    assert api.put_externalcontacts_organization(org.id, got).industry == "Retail"
    append = build(pc.ContactsPatchChange, field="$.tags", value=["b"], action="AppendToCollection")
    patched = api.patch_externalcontacts_organization(
        org.id, build(pc.ExternalContactsPatchRequest, changes=[append])
    )
    assert patched.tags == ["a", "b"]

    ident = build(pc.ExternalOrganizationIdentifier, type="ExternalId", value="o-1")
    claim = build(pc.ExternalOrganizationIdentifierClaimRequest, operation="Claim", identifier=ident)
    assert api.patch_externalcontacts_organization_identifiers(org.id, claim).date_created is not None
    assert [i.value for i in api.get_externalcontacts_organization_identifiers(org.id).entities] == ["o-1"]
    assert api.post_externalcontacts_identifierlookup_organizations(ident).id == org.id
    assert api.get_externalcontacts_organizations(q="acm").total == 1
    assert [o.id for o in api.get_externalcontacts_scan_organizations(limit=10).entities] == [org.id]

    added = api.post_externalcontacts_bulk_organizations_add(
        build(
            pc.BulkOrganizationsRequest,
            entities=[build(pc.ExternalOrganization, name="B1"), build(pc.ExternalOrganization)],
        )
    )
    assert added.error_count == 1
    assert added.results[added.error_indexes[0]].error.details[0].field_name == "name"
    new_id = next(r.id for r in added.results if r.success)
    refs = build(pc.BulkIdsRequest, entities=[build(pc.ExternalContactsEntity, id=new_id)])
    assert api.post_externalcontacts_bulk_organizations(refs).error_count == 0
    renamed = build(
        pc.BulkOrganizationsRequest, entities=[build(pc.ExternalOrganization, id=new_id, name="B2")]
    )
    assert api.post_externalcontacts_bulk_organizations_update(renamed).results[0].entity.name == "B2"
    assert api.post_externalcontacts_bulk_organizations_remove(refs).error_count == 0

    rules = build(pc.EnrichFieldRules, default_action="PreferExisting")
    enriched = api.post_externalcontacts_organizations_enrich(
        build(
            pc.ExternalOrganizationEnrichRequest,
            matching_identifiers=[ident],
            action="Update",
            external_organization=build(pc.ExternalOrganization, industry="Tech", company_type="Vendor"),
            field_rules=rules,
        )
    )
    assert (enriched.id, enriched.industry, enriched.company_type) == (org.id, "Retail", "Vendor")
    bulk_org = api.post_externalcontacts_bulk_organizations_enrich(
        build(
            pc.BulkOrganizationsEnrichRequest,
            entities=[
                build(
                    pc.ExternalOrganizationEnrichRequest,
                    id="op-1",
                    matching_identifiers=[
                        build(pc.ExternalOrganizationIdentifier, type="ExternalId", value="new")
                    ],
                    action="Insert",
                    external_organization=build(pc.ExternalOrganization, name="New"),
                )
            ],
        )
    )
    assert (bulk_org.results[0].id, bulk_org.results[0].status) == ("op-1", 201)

    email = build(pc.ContactIdentifier, type="Email", value="z@example.com")
    bulk_contact = api.post_externalcontacts_bulk_contacts_enrich(
        build(
            pc.BulkContactsEnrichRequest,
            entities=[
                build(
                    pc.ContactEnrichRequest,
                    id="t-1",
                    matching_identifiers=[email],
                    action="Upsert",
                    contact=build(
                        pc.ExternalContact,
                        first_name="Zed",
                        external_organization=build(pc.ExternalOrganization, id=org.id),
                    ),
                )
            ],
        )
    )
    result = bulk_contact.results[0]
    assert (result.id, result.status, result.entity.first_name) == ("t-1", 201, "Zed")
    release = build(pc.IdentifierClaimRequest, operation="Release", identifier=email)
    assert api.patch_externalcontacts_contact_identifiers(result.entity.id, release).value == "z@example.com"
    search = build(
        pc.ContactSearchRequest,
        page_size=5,
        page_number=1,
        operation=build(pc.ContactSearchOperation, simple_search=build(pc.ContactSimpleSearch, query="zed")),
    )
    assert api.post_externalcontacts_contacts_search(search).total == 1

    with pytest.raises(ApiException) as info:
        api.delete_externalcontacts_organization(org.id)  # it still has Zed: reject by default
    assert info.value.status == 409
    api.delete_externalcontacts_externalsource(src.id)
    assert api.get_externalcontacts_externalsources(limit=10).entities == []


def test_sdk_notes_merges_and_relationships(sdk: Any, emu: Emulator) -> None:
    api = pc.ExternalContactsApi(sdk)
    a = api.post_externalcontacts_contacts(build(pc.ExternalContact, first_name="A"))
    b = api.post_externalcontacts_contacts(build(pc.ExternalContact, first_name="B", last_name="L"))
    note = api.post_externalcontacts_contact_notes(
        b.id, build(pc.Note, note_text="hello", created_by=build(pc.User, id="user-1"))
    )
    assert (note.note_text, note.created_by.id, note.entity_type) == ("hello", "user-1", "contact")
    assert api.get_externalcontacts_contact_notes(b.id).total == 1

    merged = api.post_externalcontacts_contacts_merge(
        build(pc.MergeContactsRequest, contact_ids=[a.id, b.id])
    )
    assert (merged.first_name, merged.last_name) == ("A", "L")
    assert {ref.id for ref in merged.merged_from} == {a.id, b.id}
    assert [n.note_text for n in api.get_externalcontacts_contact_notes(merged.id).entities] == ["hello"]

    # Two curated contacts cannot be merged by the deprecated endpoint: C comes from enrich (Identified).
    c = emu.backend.enrich(
        "contacts",
        {
            "matchingIdentifiers": [{"type": "Email", "value": "c@example.com"}],
            "action": "Upsert",
            "contact": {},
        },
    )[0]
    request = build(pc.MergeRequest, source_contact_id=c["id"], target_contact_id=merged.id)
    # The SDK marks this endpoint deprecated and says so with a DeprecationWarning of its own.
    with pytest.warns(DeprecationWarning, match="post_externalcontacts_merge_contacts is deprecated"):
        result = api.post_externalcontacts_merge_contacts(request)
    assert result.id != merged.id and {ref.id for ref in result.merged_from} == {c["id"], merged.id}
    assert len(result.merge_set) == 5  # a, b, the first merge, c and the new canonical contact
    assert api.get_externalcontacts_contact(a.id).id == result.id  # ancestors act on the canonical one

    org = api.post_externalcontacts_organizations(build(pc.ExternalOrganization, name="O"))
    rel = api.post_externalcontacts_relationships(
        build(
            pc.Relationship,
            user=build(pc.User, id="user-1"),
            external_organization=build(pc.ExternalOrganization, id=org.id),
            relationship="Account Manager",
        )
    )
    assert rel.external_organization.name == "O"
    assert api.get_externalcontacts_organization_relationships(org.id).total == 1
