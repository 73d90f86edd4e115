"""A prune never deletes or detaches a contact gcx does not own, whatever the server does to the
contacts of a deleted organization (the spec leaves it unknown: reject, unlink or cascade)."""

from __future__ import annotations

import pytest

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.ledger import Ledger

from .helpers import BASE, dataset, state, sync


@pytest.mark.parametrize("mode", ["reject", "unlink", "cascade"])
async def test_prune_keeps_an_organization_holding_a_hand_made_contact(mode: str, ledger: Ledger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3, org_delete_with_contacts=mode))
    data = dataset(2, 6)
    await sync(emu, ledger, data)
    orgs = {o["externalIds"][0]["value"]: o["id"] for o in state(emu)["organizations"]}
    # A person adds a contact of their own to org-1, which gcx created.
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        mine = await gc.contacts.create(
            {"firstName": "HandMade", "externalOrganization": {"id": orgs["org-1"]}}
        )
    # The source drops org-1 and its contacts.
    keep = [r for r in data if r.key != "org-1" and r.org_key != "org-1"]
    assert len(keep) < len(data)
    report = await sync(emu, ledger, keep, prune=True, force=True)
    after = state(emu)
    ids = {c["id"]: c for c in after["contacts"]}
    assert mine.id in ids, "a contact gcx does not own was deleted"
    assert ids[mine.id].get("externalOrganization", {}).get("id") == orgs["org-1"], "it was detached"
    assert orgs["org-1"] in {o["id"] for o in after["organizations"]}
    assert any("org-1 not pruned" in w for w in report.warnings)
    # gcx's own contacts of org-1 were pruned, and nothing of org-0 was touched.
    left = {e["value"] for c in after["contacts"] for e in c.get("externalIds") or []}
    assert left == {r.key for r in keep if r.kind == "contact"}


async def test_prune_deletes_an_organization_that_only_gcx_used(ledger: Ledger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3, org_delete_with_contacts="reject"))
    data = dataset(2, 6)
    await sync(emu, ledger, data)
    keep = [r for r in data if r.key != "org-1" and r.org_key != "org-1"]
    report = await sync(emu, ledger, keep, prune=True, force=True)
    assert report.applied["organization"]["deleted"] == 1
    assert [o["externalIds"][0]["value"] for o in state(emu)["organizations"]] == ["org-0"]
    assert not report.failures
