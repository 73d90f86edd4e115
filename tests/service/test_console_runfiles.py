"""A run made by a worker keeps its run files: the console shows Genesys's value just before the
run -> the value written; the mounted console's engines close with the web app (lifespan)."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from gcx.client import AsyncClient
from gcx.console.db import ConsoleDb
from gcx.console.users import UserStore
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import load_config
from gcx.service.console import console_routes
from gcx.service.database import ledger_url
from gcx.service.tasks import Service
from gcx.service.web import create_app
from gcx.sync.ledger import Ledger

from .helpers import ENV, config_text, contact, org, query, write_jsonl

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"


async def _finished(pg_url: str, n: int) -> None:
    for _ in range(300):
        if len(query(pg_url, "SELECT 1 FROM gcx_svc_runs WHERE finished_at IS NOT NULL")) >= n:
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"{n} run(s) did not finish")


async def test_a_service_run_shows_genesys_values_before_it_and_the_console_closes(
    pg_url: str, tmp_path: Path
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5))
    source = [org(1), *[contact(i, 1) for i in range(4)]]
    write_jsonl(tmp_path / "crm.jsonl", source)
    with emu.serve() as base:
        text = config_text(
            {"emu": base},
            '[jobs.crm]\nprofile = "emu"\nschedule = "0 0 1 1 *"\nsource = { type = "jsonl", path = "crm.jsonl" }\n',
            data_dir=str(tmp_path / "data"),
        )
        (tmp_path / "service.toml").write_text(text)
        cfg = load_config(tmp_path / "service.toml")
        service = Service(cfg, pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        worker = asyncio.create_task(service.run_worker())
        try:
            assert await service.defer_run("crm")
            await _finished(pg_url, 1)
            # someone edits c-0 in Genesys; then the source changes it and another field
            async with AsyncClient(base, client_id="id", client_secret="s", rate_limit=0) as gc:
                with Ledger(ledger_url(pg_url), prefix="gcx_crm_", create=False) as led:
                    cid = led.entries()[("contact", "c-0")].genesys_id
                await gc.contacts.safe_update(cid, {"firstName": "EditedInGenesys"})
            changed = [org(1), contact(0, 1, firstName="FromSource", lastName="Renamed"), *source[2:]]
            write_jsonl(tmp_path / "crm.jsonl", changed)
            assert await service.defer_run("crm")
            await _finished(pg_url, 2)

            reports = tmp_path / "data" / "reports" / "crm"
            ops = sorted(p.name for p in reports.glob("run-*.ops.json"))
            assert ops == ["run-1.ops.json", "run-2.ops.json"]
            assert (reports / "run-2.ops.json").stat().st_mode & 0o777 == 0o600
            assert not list(reports.glob("ops-*"))  # no temporary file left

            with ConsoleDb(ledger_url(pg_url)) as db:
                UserStore(db).add("olga", "viewer", PASSWORD)
            routes = console_routes(service, env={})
            app = create_app(service, manage_service=False, extra_routes=routes)
            state = routes[0].app.state.console  # type: ignore[attr-defined]
            async with app.router.lifespan_context(app):
                async with httpx.AsyncClient(
                    transport=httpx.ASGITransport(app=app), base_url="http://svc"
                ) as web:
                    page = await web.get("/console/login")
                    token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                    r = await web.post(
                        "/console/login", data={"name": "olga", "password": PASSWORD, "csrf": token}
                    )
                    assert r.status_code == 303
                    run = (await web.get("/console/jobs/crm/runs/2")).text
                assert "Read from the ledger" not in run
                # the value Genesys held just before the run (not the one gcx last wrote) -> the new one
                row = run[run.index("<code>c-0</code>") :]
                row = row[: row.index("</tbody>")]
                assert re.search(
                    r'class="before wrap">EditedInGenesys<.*class="after wrap">FromSource<', row, re.S
                )
                assert re.search(r'class="before wrap">Last0<.*class="after wrap">Renamed<', row, re.S)
                assert state.db.engine.pool.checkedin() >= 1 and state._ledgers
            # the web app stopped: the console's pooled connections and ledgers are closed
            assert state.db.engine.pool.checkedin() == 0
            assert state._ledgers == {}
        finally:
            service.stopping.set()
            await asyncio.wait_for(worker, 30)
            await service.close()
