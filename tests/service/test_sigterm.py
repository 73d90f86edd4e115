"""SIGTERM: the batch in flight is finished and recorded, the worker exits 0, the next one resumes."""

from __future__ import annotations

import signal
from pathlib import Path

import psycopg
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx_testkit.service_fleet import Fleet
from gcx_testkit.verify import verify

from .helpers import config_text, contact, org, query, wait_for, write_jsonl

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_sigterm_mid_run_then_another_worker_resumes(pg_url: str, tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=4, latency=0.3))
    source = [org(i) for i in range(5)] + [contact(i, i % 5) for i in range(2000)]
    write_jsonl(tmp_path / "crm.jsonl", source)
    logs = tmp_path / "logs"
    logs.mkdir()
    with emu.serve() as base:
        jobs = '[jobs.crm]\nprofile = "emu"\nschedule = "* * * * *"\nsource = { type = "jsonl", path = "crm.jsonl" }\n'
        (tmp_path / "service.toml").write_text(config_text({"emu": base}, jobs))
        fleet = Fleet(tmp_path / "service.toml", pg_url, logs)
        try:
            fleet.start("w1", "worker")

            def mid_run() -> bool:
                try:
                    # kind 'c': contact, as the ledger stores it (gcx.sync.ledger_codec)
                    done = query(
                        pg_url, "SELECT count(*) FROM gcx_crm_ops WHERE state = 'done' AND kind = 'c'"
                    )
                except psycopg.errors.UndefinedTable:
                    return False
                return int(done[0][0]) > 0

            wait_for(mid_run, 120, "the run writing contacts", step=0.05)
            assert fleet.kill("w1", signal.SIGTERM) == 0
            runs = query(pg_url, "SELECT status, report->'applied'->'contact'->>'created' FROM gcx_svc_runs")
            assert len(runs) == 1 and runs[0][0] == "interrupted"
            created_before = int(runs[0][1])
            assert 0 < created_before < 2000  # stopped after a batch, before the end
            # every batch it started was finished and recorded: nothing open in the ledger
            open_ops = query(pg_url, "SELECT count(*) FROM gcx_crm_ops WHERE state IN ('started', 'unknown')")
            assert open_ops == [(0,)]
            fleet.start("w2", "worker")
            wait_for(
                lambda: bool(query(pg_url, "SELECT 1 FROM gcx_svc_runs WHERE status = 'ok'")),
                120,
                "the run resumed by w2",
            )
        finally:
            codes = fleet.stop()
        assert codes["w2"] == 0
        resumed = query(
            pg_url, "SELECT report->'applied'->'contact'->>'created' FROM gcx_svc_runs WHERE status = 'ok'"
        )
        assert int(resumed[0][0]) == 2000 - created_before  # exactly the rest
        rep = verify(emu.dump(), source, strict_extra=True)
        assert rep.ok, rep.counts()
