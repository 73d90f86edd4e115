"""Flat memory: a run reads the ledger a batch at a time and keeps its per-record state on disk.

A sync of a million records must not hold the ledger whole, the scan snapshot nor the source keys
in memory (docs/sync.md, memory). These tests run every kind of run with a ledger whose
``entries()`` (every record at once) raises, check the size of every ledger lookup, and check the
scratch database: private, removed when the run ends, and right about duplicates across chunks.
"""

from __future__ import annotations

import json
import os
import stat
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.fields import Kind
from gcx.sync.ledger import Ledger
from gcx.sync.rows import LedgerEntry
from gcx.sync.snapshot import Snapshot
from gcx.sync.spill import KeySet, Seen, SeenKeys, Spill

from .helpers import contact, dataset, org, sync

SRC = "src-1"


class NoWholeLedger(Ledger):
    """A ledger that refuses to be read whole and records the size of every lookup."""

    lookups: list[int]

    def entries(self, kind: Kind | None = None) -> dict[tuple[str, str], LedgerEntry]:
        raise AssertionError("a sync run read the whole ledger")

    def records_for(self, kind: Kind, keys: Iterable[str]) -> dict[str, LedgerEntry]:
        wanted = list(keys)
        self.lookups.append(len(wanted))
        return super().records_for(kind, wanted)


@pytest.fixture
def lean(tmp_path: Path) -> Any:
    with NoWholeLedger(f"sqlite:///{tmp_path / 'ledger.sqlite'}") as ledger:
        ledger.lookups = []
        yield ledger


async def test_no_run_reads_the_whole_ledger_and_lookups_are_per_batch(
    lean: NoWholeLedger, tmp_path: Path
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5))
    data = dataset(3, 60)
    first = await sync(emu, lean, data, batch_size=10)
    assert first.totals()["created"] == 63
    changed = dataset(3, 60, changed=5, moved=2)
    plan = await sync(emu, lean, changed, dry_run=True, batch_size=10)
    assert plan.planned.counts["contact"]["update"] == 3 and plan.planned.counts["contact"]["move"] == 2
    again = await sync(emu, lean, changed, batch_size=10)
    assert again.totals()["updated"] == 3 and again.totals()["moved"] == 2
    trusted = await sync(emu, lean, changed, batch_size=10, trust_ledger=True)
    assert trusted.totals()["created"] == 0 and trusted.planned.counts["contact"]["unchanged"] == 60
    pruned = await sync(emu, lean, changed[:-4], batch_size=10, prune=True, force=True)
    assert pruned.applied["contact"]["deleted"] == 4
    assert lean.lookups and max(lean.lookups) <= 10  # a batch's keys at a time, never the ledger
    assert not [p for p in tmp_path.iterdir() if p.name.startswith(".gcx-run-")]  # scratch removed


async def test_duplicates_are_found_across_chunks(lean: NoWholeLedger) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=6))
    data = [
        org("org-0", "Zero", line=1),
        org("org-0", "Zero again", line=2),  # different values: reported, first kept
        org("org-0", "Zero", line=3),  # the same values: silently the same row
        *[contact(f"c-{i}", "org-0", line=10 + i, firstName=f"P{i}") for i in range(7)],
        contact("c-1", "org-0", line=30, firstName="late"),
    ]
    report = await sync(emu, lean, data, batch_size=2)
    reasons = [(i["line"], i["reason"]) for i in report.to_json()["invalid"]]
    assert (
        2,
        "duplicate ExternalId 'org-0' with different values (first at line 1, which is kept)",
    ) in reasons
    assert (30, "duplicate ExternalId 'c-1' (first at line 11): row skipped") in reasons
    assert len(reasons) == 2 and report.totals()["created"] == 8


def test_the_scratch_database_is_private_and_leaves_nothing(tmp_path: Path) -> None:
    before = set(os.listdir(tmp_path))
    spill = Spill(tmp_path)
    try:
        for name in set(os.listdir(tmp_path)) - before:  # only where an open file cannot be unlinked
            assert stat.S_IMODE((tmp_path / name).stat().st_mode) == 0o600
        seen = SeenKeys(spill)
        assert seen.claim("contact", [("c-1", 4, "h", "org-1", True), ("c-2", 5, "h", None, False)]) == {}
        # a key of an earlier chunk keeps its first row, and is returned with it
        again = seen.claim("contact", [("c-3", 6, None, None, False), ("c-1", 7, "x", None, False)])
        assert again == {"c-1": Seen(4, "h")} and seen.first("contact", ["c-1"]) == {"c-1": Seen(4, "h")}
        assert seen.first("contact", ["c-3"]) == {"c-3": Seen(6, None)}
        assert seen.present("contact", ["c-1", "c-2", "c-3", "c-4"]) == {"c-1", "c-2", "c-3"}
        assert seen.managed(["c-1", "c-2"]) == {"c-1"} and seen.members("org-1") == ["c-1"]
    finally:
        spill.close()
    assert set(os.listdir(tmp_path)) == before


def test_a_key_set_is_held_in_the_scratch_database(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    try:
        keys, other = KeySet(spill), KeySet(spill)
        many = [f"c-{i}" for i in range(1000)] + ["Zoë", "Zoe", "Ω-1", "é"]
        keys.add(many[:500])
        keys.add([*many[400:], "c-1"])  # a key added twice is held once
        other.add(["c-1", "x"])
        assert len(keys) == 1004 and len(other) == 2
        assert keys.present(["c-999", "c-1000", "Zoë", "x"]) == {"c-999", "Zoë"}
        keys.discard("c-999")
        keys.discard("c-999")  # already gone
        assert len(keys) == 1003 and keys.present(["c-999"]) == set()
        assert keys.sorted() == sorted(set(many) - {"c-999"})  # Python's order
        assert other.present(["c-1", "c-2"]) == {"c-1"}  # sets apart
        keys.clear()
        assert len(keys) == 0 and keys.sorted() == [] and other.sorted() == ["c-1", "x"]
    finally:
        spill.close()


def _keyed(rid: str, key: str, created: str = "") -> dict[str, Any]:
    return {"id": rid, "createDate": created, "externalIds": [{"externalSource": {"id": SRC}, "value": key}]}


def test_snapshot_prefers_the_ledgers_record_then_the_oldest(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    try:
        idx = Snapshot(spill, "contact")
        a, b = _keyed("a", "k", "2024-02-01"), _keyed("b", "k", "2024-01-01")
        idx.add_page(
            [a, b, {"id": "c", "externalIds": [{"externalSource": {"id": "x"}, "value": "k2"}]}], SRC
        )
        assert idx.get("k") == b and idx.duplicates == {"k": ["a", "b"]} and idx.total == 3
        assert [r["id"] for r in idx.unkeyed()] == ["a", "c"]  # in scan order
        idx2 = Snapshot(spill, "contact")
        idx2.add_page([b], SRC)
        idx2.add_page([a], SRC, lambda keys: {"k": "a"} if "k" in keys else {})
        assert idx2.get("k") == a and dict(idx2.ids()) == {"k": "a"} and idx.get("k") == b
        idx2.discard()  # a scan made for one question: its rows go, the other snapshot's stay
        assert idx2.get("k") is None and idx.get("k") == b
        assert spill.query("SELECT count(*) FROM remote WHERE snap = ?", [idx2.snap]) == [(0,)]
    finally:
        spill.close()


def test_snapshot_keeps_records_packed_and_gives_fresh_copies(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    try:
        idx = Snapshot(spill, "contact")
        bodies = [
            {
                "id": f"id-{i}",
                "firstName": f"P{i}",
                "division": {"id": "d", "name": "Home", "selfUri": "/api/v2/authorization/divisions/d"},
                "externalIds": [{"externalSource": {"id": SRC}, "value": f"k-{i}"}],
            }
            for i in range(50)
        ]
        idx.add_page([*bodies, {"id": "other", "firstName": "no key"}], SRC)
        assert idx.get("k-7") == bodies[7] and idx.by_id("other") == {"id": "other", "firstName": "no key"}
        assert idx.get("k-7") is not idx.get("k-7")  # a copy each time: callers may change it freely
        assert idx.id_of("k-3") == "id-3" and dict(idx.ids())["k-49"] == "id-49" and idx.get("nope") is None
        assert set(idx.get_many(["k-1", "k-2", "nope"])) == {"k-1", "k-2"}
        assert idx.has_ids(["id-1", "zz"]) == {"id-1"}
        (packed,) = spill.query("SELECT sum(length(body)) FROM remote WHERE snap = ?", [idx.snap])[0]
        assert packed < len(json.dumps(bodies)) / 3  # records of a scan share most of their text
    finally:
        spill.close()
