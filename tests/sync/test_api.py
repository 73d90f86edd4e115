"""The documented Python API of the sync (gcx.sync): run, plan, report; the same run as the CLI."""

from __future__ import annotations

from pathlib import Path

import pytest

import gcx.sync
from gcx import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync import SyncOptions, open_source, plan_sync, run_sync
from tests.conftest import ROOT


def _client(emu: Emulator) -> AsyncClient:
    return AsyncClient(
        region="http://emu.test",
        client_id="id",
        client_secret="secret",
        transport=emu.transport(),
        rate_limit=0,
    )


def test_the_package_exports_a_small_typed_api() -> None:
    assert set(gcx.sync.__all__) >= {"run_sync", "plan_sync", "SyncOptions", "RunReport", "open_source"}
    assert "SourceMapping" in gcx.sync.__all__ and not hasattr(gcx.sync.mapping, "Mapping_")


async def test_plan_then_run_then_nothing_to_do(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    source = open_source(ROOT / "examples" / "records.jsonl", None)
    ledger = tmp_path / "ledger.sqlite"
    async with _client(emu) as gc:
        planned = await plan_sync(gc, source, ledger=ledger)
        assert planned.dry_run and planned.exit_code == 0
        assert not emu.backend.dump()["organizations"]
        report = await run_sync(gc, source, ledger=ledger, options=SyncOptions(batch_size=50))
        assert report.status != "error" and report.exit_code == 0
        created = sum(counts["created"] for counts in report.applied.values())
        assert created == len(emu.backend.dump()["organizations"]) + len(emu.backend.dump()["contacts"]) > 0
        again = await run_sync(gc, source, ledger=ledger)
        assert sum(sum(c.values()) for c in again.applied.values()) == 0


async def test_errors_are_raised_or_reported(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    source = open_source(ROOT / "examples" / "records.jsonl", None)
    async with _client(emu) as gc:
        await run_sync(gc, source, ledger=tmp_path / "l.sqlite", options=SyncOptions(external_source="A"))
        with pytest.raises(gcx.sync.SyncError):
            await run_sync(gc, source, ledger=tmp_path / "l.sqlite", options=SyncOptions(external_source="B"))
        report = await run_sync(
            gc,
            source,
            ledger=tmp_path / "l.sqlite",
            options=SyncOptions(external_source="B"),
            raise_errors=False,
        )
    assert report.status == "error" and report.exit_code == 1 and "External Source" in (report.error or "")


async def test_writes_report_their_progress_with_totals(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0))
    source = open_source(ROOT / "examples" / "records.jsonl", None)
    seen: list[tuple[str, int, int]] = []
    async with _client(emu) as gc:
        report = await run_sync(
            gc,
            source,
            ledger=tmp_path / "l.sqlite",
            options=SyncOptions(batch_size=2),
            on_write=lambda *a: seen.append(a),
        )
    for kind in ("organization", "contact"):
        mine = [(n, total) for k, n, total in seen if k == kind]
        created = report.applied[kind]["created"]
        # planning streams ahead of the writes: the total grows to the final count, never shrinks
        totals = [t for _, t in mine]
        assert (
            mine and sum(n for n, _ in mine) == created and totals == sorted(totals) and totals[-1] == created
        )
    assert [k for k, _, _ in seen] == sorted((k for k, _, _ in seen), key=lambda k: k != "organization")
