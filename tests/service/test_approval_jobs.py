"""A scheduled job with ``approval = "always"``: the worker plans, the plan waits in the console,
nothing is written until an operator approves it, then exactly that plan is applied."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from gcx.console.db import ConsoleDb
from gcx.console.users import UserStore
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import load_config
from gcx.service.console import console_routes
from gcx.service.database import ledger_url
from gcx.service.tasks import Service
from gcx.service.web import create_app
from gcx_testkit.verify import verify

from .helpers import ENV, config_text, contact, org, query, write_jsonl

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"


async def test_a_scheduled_job_under_approval_waits_then_applies_exactly(pg_url: str, tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5))
    source = [org(1), *[contact(i, 1) for i in range(4)]]
    write_jsonl(tmp_path / "crm.jsonl", source)
    with emu.serve() as base:
        (tmp_path / "service.toml").write_text(
            config_text(
                {"emu": base},
                '[jobs.crm]\nprofile = "emu"\nschedule = "0 3 * * *"\n'
                'source = { type = "jsonl", path = "crm.jsonl" }\napproval = "always"\n',
                data_dir=str(tmp_path / "data"),
            )
        )
        cfg = load_config(tmp_path / "service.toml")
        assert cfg.jobs["crm"].approval is not None and cfg.jobs["crm"].approval.always
        service = Service(cfg, pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        worker = asyncio.create_task(service.run_worker())
        try:
            assert await service.defer_run("crm")
            for _ in range(150):
                if query(pg_url, "SELECT 1 FROM gcx_svc_runs WHERE finished_at IS NOT NULL"):
                    break
                await asyncio.sleep(0.2)
            assert query(pg_url, "SELECT status, error FROM gcx_svc_runs") == [("waiting", None)]
            assert emu.dump()["organizations"] == [] and emu.dump()["contacts"] == []  # nothing written
            waiting = service.approvals().list(state="pending")
            assert [a.job for a in waiting] == ["crm"]
            assert waiting[0].summary["planned"]["contact"]["create"] == 4

            with ConsoleDb(ledger_url(pg_url)) as db:
                UserStore(db).add("olga", "operator", PASSWORD)
            routes = console_routes(cfg, service.fleet, env={})
            app = create_app(service, manage_service=False, extra_routes=routes)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            ) as web:
                page = await web.get("/console/login")
                token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                await web.post("/console/login", data={"name": "olga", "password": PASSWORD, "csrf": token})
                assert "crm" in (await web.get("/console/approvals")).text
                page = await web.get(f"/console/approvals/{waiting[0].id}")
                token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                r = await web.post(f"/console/approvals/{waiting[0].id}/approve", data={"csrf": token})
                assert r.status_code == 303
            state = routes[0].app.state.console  # type: ignore[attr-defined]
            done = state.approvals.get(waiting[0].id)
            assert done.state == "applied", done.note
            assert verify(emu.dump(), source).ok
            assert len(emu.dump()["contacts"]) == 4
            state.close()
        finally:
            service.stopping.set()
            await asyncio.wait_for(worker, 30)
            await service.close()
