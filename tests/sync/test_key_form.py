"""A key's Unicode form never changes its identity (issue 11, item 3): keys are NFC everywhere a
key is compared or stored, and ledgers written before are migrated."""

from __future__ import annotations

import json
import unicodedata
from pathlib import Path

from sqlalchemy import select, update

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.fields import check_key, normal_key
from gcx.sync.ledger import SCHEMA_VERSION, Ledger
from gcx.sync.plan import key_of

from .helpers import BASE, contact, org, state, sync

NFC = unicodedata.normalize("NFC", "NF-José")
NFD = unicodedata.normalize("NFD", "NF-José")
ORG_NFC = unicodedata.normalize("NFC", "Société")
ORG_NFD = unicodedata.normalize("NFD", "Société")


def test_the_two_forms_are_different_strings_and_one_key() -> None:
    assert NFC != NFD
    assert check_key(NFD) == check_key(NFC) == NFC
    assert normal_key(f"  {NFD} ") == NFC
    body = {"id": "x", "externalIds": [{"externalSource": {"id": "s"}, "value": NFD}]}
    assert key_of(body, "s") == NFC


def _data(key: str, org_key: str, **values: str) -> list:  # type: ignore[type-arg]
    return [org(org_key, "Société Générale"), contact(key, org_key, firstName="José", **values)]


async def test_a_key_resent_in_nfd_is_the_same_record(sqlite_ledger: Ledger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    await sync(emu, sqlite_ledger, _data(NFC, ORG_NFC))
    cid = state(emu)["contacts"][0]["id"]
    # A person adds a field the source does not manage.
    async with AsyncClient(
        BASE, client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        await gc.contacts.safe_update(cid, {"title": "Dr"})
    report = await sync(emu, sqlite_ledger, _data(NFD, ORG_NFD), prune=True)
    totals = report.totals()
    assert totals["created"] == 0 and totals["deleted"] == 0, totals
    contacts = state(emu)["contacts"]
    assert [c["id"] for c in contacts] == [cid]
    assert contacts[0]["title"] == "Dr"
    assert len(state(emu)["organizations"]) == 1


async def test_a_ledger_written_with_nfd_keys_is_migrated(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    with Ledger(url) as ledger:
        await sync(emu, ledger, _data(NFC, ORG_NFC))
    # As an earlier gcx left it: keys as an NFD source spelt them, schema 1.
    with Ledger(url) as ledger, ledger.engine.begin() as conn:
        t = ledger.t_records
        conn.execute(update(t).where(t.c.external_id == NFC).values(external_id=NFD, org_key=ORG_NFD))
        conn.execute(update(t).where(t.c.external_id == ORG_NFC).values(external_id=ORG_NFD))
        row = conn.execute(select(t.c.applied).where(t.c.external_id == NFD)).scalar_one()
        applied = json.loads(row)
        applied["organization"] = ORG_NFD
        conn.execute(update(t).where(t.c.external_id == NFD).values(applied=json.dumps(applied)))
        conn.execute(update(ledger.t_binding).values(schema_version=1))
    with Ledger(url) as ledger:
        keys = {k for _, k in ledger.entries()}
        assert keys == {NFC, ORG_NFC}
        with ledger.engine.connect() as conn:
            stored = set(conn.execute(select(ledger.t_records.c.external_id)).scalars())
            assert stored == {NFC, ORG_NFC}
            assert conn.execute(select(ledger.t_binding.c.schema_version)).scalar() == SCHEMA_VERSION == 4
        report = await sync(emu, ledger, _data(NFC, ORG_NFC), prune=True)
    assert report.totals()["created"] == 0 and report.totals()["deleted"] == 0
    assert report.totals()["updated"] == 0 and report.totals()["moved"] == 0


async def test_a_key_held_twice_in_two_forms_keeps_the_nfc_record(tmp_path: Path) -> None:
    # What the bug left behind: one contact in NFC, its duplicate in NFD, both in the ledger.
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3, unique_external_ids=False))
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    with Ledger(url) as ledger:
        await sync(emu, ledger, _data(NFC, ORG_NFC))
        with ledger.engine.begin() as conn:
            t = ledger.t_records
            row = dict(conn.execute(select(t).where(t.c.external_id == NFC)).mappings().one())
            conn.execute(t.insert().values({**row, "external_id": NFD, "genesys_id": "dup-id"}))
            conn.execute(update(ledger.t_binding).values(schema_version=1))
    with Ledger(url) as ledger:
        assert len(ledger.migration_warnings) == 1
        warning = ledger.migration_warnings[0]
        assert "dup-id is no longer managed" in warning and "kept Genesys record" in warning
        entries = ledger.entries()
        assert entries[("contact", NFC)].genesys_id != "dup-id"
        assert len(entries) == 2


async def test_a_plan_reads_a_ledger_not_migrated_yet_by_its_nfc_keys(tmp_path: Path) -> None:
    """``sync plan`` does not migrate: the records of a schema-1 ledger with NFD keys still match
    (the run reads such a ledger whole, as NFC, instead of looking keys up)."""
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    with Ledger(url) as ledger:
        await sync(emu, ledger, _data(NFC, ORG_NFC))
        with ledger.engine.begin() as conn:
            t = ledger.t_records
            conn.execute(update(t).where(t.c.external_id == NFC).values(external_id=NFD, org_key=ORG_NFD))
            conn.execute(update(t).where(t.c.external_id == ORG_NFC).values(external_id=ORG_NFD))
            conn.execute(update(ledger.t_binding).values(schema_version=1))
    with Ledger(url, create=False) as ledger:
        assert not ledger.keys_in_nfc()
        report = await sync(emu, ledger, _data(NFC, ORG_NFC), dry_run=True, trust_ledger=True)
        with ledger.engine.connect() as conn:  # still as it was: a plan writes nothing
            assert conn.execute(select(ledger.t_binding.c.schema_version)).scalar() == 1
    assert report.planned.counts["contact"]["unchanged"] == 1
    assert report.planned.counts["organization"]["unchanged"] == 1
    assert report.requests == 0  # the ledger vouched for both: no lookup by ExternalId
