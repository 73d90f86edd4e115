"""A worker runs scheduled jobs and webhook batches into the emulator (in process)."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import load_config
from gcx.service.tasks import Service
from gcx.service.web import create_app
from gcx_testkit.verify import verify

from .helpers import ENV, config_text, contact, events_body, org, query, signed, write_jsonl

pytestmark = pytest.mark.postgres


async def _until(check, timeout: float, what: str) -> None:  # type: ignore[no-untyped-def]
    loop = asyncio.get_running_loop()
    end = loop.time() + timeout
    while loop.time() < end:
        if await check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


async def test_a_scheduled_run_and_a_webhook_batch(pg_url: str, tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    source = [org(1), org(2), *[contact(i, 1 + i % 2) for i in range(20)]]
    write_jsonl(tmp_path / "crm.jsonl", source)
    with emu.serve() as base:
        text = config_text(
            {"emu": base},
            """
[jobs.crm]
profile = "emu"
schedule = "0 0 1 1 *"
source = { type = "jsonl", path = "crm.jsonl" }

[jobs.push]
profile = "emu"
source = { type = "webhook", secret_env = "HOOK_SECRET" }
options = { external_source = "push" }
""",
        )
        (tmp_path / "service.toml").write_text(text)
        cfg = load_config(tmp_path / "service.toml")
        service = Service(cfg, pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        try:
            # Both deferred before any worker runs: a worker taking the first at once would free
            # its queueing lock (it is no longer waiting) and let the second in.
            assert await service.defer_run("crm")
            assert not await service.defer_run("crm")  # one waiting run per job
            worker = asyncio.create_task(service.run_worker())

            async def crm_done() -> bool:
                rows = query(
                    pg_url, "SELECT status FROM gcx_svc_runs WHERE job = 'crm' AND finished_at IS NOT NULL"
                )
                return bool(rows)

            await _until(crm_done, 30, "the crm run")
            state = emu.dump()
            rep = verify(state, source)
            assert rep.ok, rep.counts()

            app = create_app(service, manage_service=False)
            pushed = [contact(100 + i, None) for i in range(5)] + [contact(100, None, firstName="Zed")]
            body = events_body(pushed, [f"e{i}" for i in range(6)])
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            ) as web:
                r = await web.post("/hooks/push", content=body, headers=signed(body))
                assert r.status_code == 202, r.text
                assert r.json() == {"accepted": 6, "duplicates": 0}
                r = await web.post("/hooks/push", content=body, headers=signed(body))
                assert r.json() == {"accepted": 0, "duplicates": 6}

                async def applied() -> bool:
                    rows = query(pg_url, "SELECT count(*) FROM gcx_svc_events WHERE applied_at IS NULL")
                    return rows[0][0] == 0

                await _until(applied, 30, "the webhook batch")
                metrics = (await web.get("/metrics")).text
                assert (await web.get("/readyz")).json()["status"] == "ready"
            expected = [contact(101 + i, None) for i in range(4)] + [contact(100, None, firstName="Zed")]
            rep = verify(emu.dump(), expected)
            assert rep.ok, rep.counts()
            runs = query(pg_url, "SELECT job, trigger, status, events FROM gcx_svc_runs ORDER BY id")
            assert runs == [("crm", "schedule", "ok", 0), ("push", "webhook", "ok", 6)]
            assert 'gcx_runs_total{job="crm",status="ok"} 1.0' in metrics
            records = [line for line in metrics.splitlines() if line.startswith("gcx_records_total")]
            assert 'gcx_records_total{job="push",kind="contact",result="created"} 5.0' in records, records
            assert 'gcx_webhook_events_received_total{job="push"} 6.0' in metrics
            assert "gcx_run_duration_seconds_bucket" in metrics
            report = query(pg_url, "SELECT report FROM gcx_svc_runs WHERE job = 'push'")[0][0]
            assert json.dumps(report).find(ENV["GC_SECRET"]) == -1
        finally:
            service.stopping.set()
            await asyncio.wait_for(worker, 30)
            await service.close()
