"""``expand`` on get, search and identifier lookups, and a record's identifiers (issue 10 item 2).

Against the emulator's documented identity rules: identifiers show only when expanded.
"""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gcx import AsyncClient, Client
from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import ValidationError
from tests.client.conftest import BASE, CREDS, FakeApi


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorSettings(rate_limit=0, seed=5))


@pytest.fixture
async def gc(emu: Emulator) -> AsyncIterator[AsyncClient]:
    async with AsyncClient(BASE, **CREDS, transport=emu.transport(), rate_limit=0) as client:
        yield client


async def test_identifiers_only_when_expanded(gc: AsyncClient, emu: Emulator) -> None:
    org = await gc.organizations.create({"name": "Acme"})
    body = {"firstName": "Ann", "workEmail": "Ann@Example.com", "externalOrganization": {"id": org.id}}
    created = await gc.contacts.create(body)
    plain = await gc.contacts.get(created.id)
    assert not plain.identifiers
    full = await gc.contacts.get(created.id, expand=["identifiers"])
    assert [(i.type, i.value) for i in full.identifiers or []] == [("Email", "ann@example.com")]
    found = [c async for c in gc.contacts.search("ann", expand=["identifiers"])]
    assert found[0].identifiers
    members = [c async for c in gc.organizations.contacts(org.id, expand=["identifiers"])]
    assert members[0].identifiers
    looked = await gc.contacts.lookup("Email", "ann@example.com", expand=["identifiers"])
    assert looked is not None and looked.identifiers
    bare = await gc.contacts.lookup("Email", "ann@example.com")
    assert bare is not None and not bare.identifiers
    # A record's identifiers, without reading the whole record:
    assert [i.value for i in await gc.contacts.identifiers.list(created.id)] == ["ann@example.com"]


async def test_lookup_external_id_takes_expand(gc: AsyncClient, emu: Emulator) -> None:
    org = await gc.organizations.create({"name": "Acme"})
    await gc.organizations.identifiers.claim(org.id, "ExternalId", "org-1")
    found = await gc.organizations.lookup_external_id("org-1", expand=["identifiers"])
    assert found is not None and [i.value for i in found.identifiers or []] == ["org-1"]


@pytest.mark.parametrize("expand", [["identifier"], ["identifiers", ""], "identifiers"])
async def test_a_bad_expand_value_is_refused_before_any_request(gc: AsyncClient, expand: object) -> None:
    with pytest.raises(ValidationError) as caught:
        await gc.contacts.get("c1", expand=expand)  # type: ignore[arg-type]
    assert caught.value.field == "expand"
    with pytest.raises(ValidationError):
        [c async for c in gc.contacts.search(expand=expand)]  # type: ignore[arg-type]


def test_the_blocking_client_has_the_same_expand(emu: Emulator) -> None:
    with Client(BASE, **CREDS, transport=emu.transport(), rate_limit=0) as gc:
        created = gc.contacts.create({"workEmail": "b@example.com"})
        assert gc.contacts.get(created.id, expand=["identifiers"]).identifiers
        assert gc.contacts.lookup("Email", "b@example.com", expand=["identifiers"]) is not None
        assert gc.contacts.lookup_external_id("nope", expand=["identifiers"]) is None


async def test_delete_reads_no_meaning_into_the_answer_body() -> None:
    """The SDK reads a DELETE's answer as a bare ``object`` (JSON if it parses, else the raw text):
    any body, JSON or not, means "deleted"."""
    api = FakeApi()
    for i, (body, ctype) in enumerate(((b"", None), (b"{}", "application/json"), (b"OK", "text/plain"))):
        headers = {"Content-Type": ctype} if ctype else {}
        api.routes[("DELETE", f"/api/v2/externalcontacts/contacts/c{i}")] = (
            lambda request, body=body, headers=headers: httpx.Response(200, content=body, headers=headers)
        )
    async with AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        for i in range(3):
            await gc.contacts.delete(f"c{i}")
