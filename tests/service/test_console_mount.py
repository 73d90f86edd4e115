"""The web console inside the service's web process: /console over the service's jobs and database."""

from __future__ import annotations

import asyncio
import re
from pathlib import Path

import httpx
import pytest

from gcx.console.db import ConsoleDb
from gcx.console.execute import plan_job
from gcx.console.users import UserStore
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import load_config
from gcx.service.console import console_routes, next_run
from gcx.service.database import ledger_url
from gcx.service.runner import source_for
from gcx.service.tasks import Service
from gcx.service.web import create_app
from gcx_testkit.verify import verify

from .helpers import ENV, config_text, contact, org, query, write_jsonl

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"


def test_next_run_from_the_cron_schedule() -> None:
    from datetime import UTC, datetime

    assert next_run("*/15 * * * *", datetime(2026, 1, 1, 10, 7, tzinfo=UTC)) == "2026-01-01T10:15:00+00:00"
    assert next_run(None) is None


async def test_the_console_is_mounted_on_the_service_web_app(pg_url: str, tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    source = [org(1), org(2), *[contact(i, 1 + i % 2) for i in range(6)]]
    write_jsonl(tmp_path / "crm.jsonl", source)
    with emu.serve() as base:
        text = config_text(
            {"emu": base},
            """
[jobs.crm]
profile = "emu"
schedule = "0 0 1 1 *"  # yearly: procrastinate defers a tick missed in the last 10 min at start
source = { type = "jsonl", path = "crm.jsonl" }
""",
            data_dir=str(tmp_path / "data"),
        )
        (tmp_path / "service.toml").write_text(text)
        cfg = load_config(tmp_path / "service.toml")
        service = Service(cfg, pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        try:
            worker = asyncio.create_task(service.run_worker())
            assert await service.defer_run("crm")
            for _ in range(150):
                if query(pg_url, "SELECT 1 FROM gcx_svc_runs WHERE finished_at IS NOT NULL"):
                    break
                await asyncio.sleep(0.2)
            with ConsoleDb(ledger_url(pg_url)) as db:
                UserStore(db).add("olga", "operator", PASSWORD)
            routes = console_routes(service, env={})
            assert (tmp_path / "data" / "console-session.key").stat().st_mode & 0o777 == 0o600
            app = create_app(service, manage_service=False, extra_routes=routes)
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            ) as web:
                r = await web.get("/console/")
                assert r.status_code == 303 and r.headers["location"].startswith("http://svc/console/login")
                page = await web.get("/console/login")
                token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
                r = await web.post(
                    "/console/login", data={"name": "olga", "password": PASSWORD, "csrf": token}
                )
                assert r.status_code == 303 and r.headers["location"] == "/console/"
                dash = (await web.get("/console/")).text
                assert "crm" in dash and "JSONL" in dash and "0 0 1 1 *" in dash
                assert 'href="http://svc/console/jobs/crm/runs/1"' in dash
                run = (await web.get("/console/jobs/crm/runs/1")).text
                assert "Run #1" in run
                assert run.count('<span class="opname create">create</span>') == 8  # from the ledger
                # the run's report comes from gcx_svc_runs: its request count is shown
                assert re.search(r"<dt>Requests</dt><dd>[1-9][0-9]*", run), run
                recs = (await web.get("/console/records?kind=contacts")).text
                assert recs.count('href="http://svc/console/records/crm/contacts/') == 6
                assert (await web.get("/healthz")).status_code == 200  # the service's routes still there
                assert ENV["GC_SECRET"] not in dash + run + recs
                # a plan waiting for approval, approved in the console, applied by the worker
                state = routes[0].app.state.console  # type: ignore[attr-defined]
                job = state.jobs.jobs()[0]
                assert job.next_run is not None and job.pending_events == 0
                changed = [org(1), org(2), *[contact(i, 1 + i % 2, firstName=f"New{i}") for i in range(6)]]
                write_jsonl(tmp_path / "crm.jsonl", changed)
                planned = await plan_job(job.target, source_for(cfg.jobs["crm"], ENV))
                assert planned.plan_path is not None, planned.report.error
                approval = state.approvals.submit(
                    "crm", str(planned.plan_path), ["test"], {"planned": planned.report.planned.to_json()}
                )
                page = (await web.get(f"/console/approvals/{approval.id}")).text
                token = re.search(r'name="csrf" value="([^"]+)"', page).group(1)  # type: ignore[union-attr]
                r = await web.post(f"/console/approvals/{approval.id}/approve", data={"csrf": token})
                assert r.status_code == 303 and r.headers["location"] == f"/console/approvals/{approval.id}"
                for _ in range(150):
                    done = state.approvals.get(approval.id)
                    if done.state not in ("approved", "applying"):
                        break
                    await asyncio.sleep(0.2)
                assert done.state == "applied", done.note
                assert verify(emu.dump(), changed).ok
            routes[0].app.state.console.close()  # type: ignore[attr-defined]
        finally:
            service.stopping.set()
            await asyncio.wait_for(worker, 30)
            await service.close()


def test_gcx_serve_user_add_writes_to_the_service_database(pg_url: str, tmp_path: Path) -> None:
    import os
    import subprocess
    import sys

    (tmp_path / "service.toml").write_text(
        config_text(
            {"emu": "http://127.0.0.1:9"},
            '[jobs.crm]\nprofile = "emu"\nsource = { type = "webhook", secret_env = "S" }\n',
        )
    )
    env = {**os.environ, "GCX_DATABASE_URL": pg_url, "COLUMNS": "200"}
    cmd = [sys.executable, "-m", "gcx.cli.main", "serve", "user"]
    r = subprocess.run(
        [*cmd, "add", str(tmp_path / "service.toml"), "ada", "--role", "operator", "--password-stdin"],
        input=PASSWORD + "\n", capture_output=True, text=True, env=env, timeout=60,
    )  # fmt: skip
    assert r.returncode == 0, r.stderr
    assert r.stdout.strip() == "user ada (operator) saved"
    r = subprocess.run(
        [*cmd, "list", str(tmp_path / "service.toml"), "-h"], capture_output=True, text=True, env=env
    )
    assert r.returncode == 0
    with ConsoleDb(ledger_url(pg_url)) as db:
        user = UserStore(db).authenticate("ada", PASSWORD)
    assert user is not None and user.role == "operator"
    assert PASSWORD not in r.stdout + r.stderr


async def test_the_web_tables_session_limits_reach_the_console(pg_url: str, tmp_path: Path) -> None:
    """[web] session_idle_minutes and session_lifetime_minutes set the mounted console's sessions,
    and gcx serve session list ends sessions by them (not by the console's defaults)."""
    from datetime import UTC, datetime, timedelta

    from typer.testing import CliRunner

    from gcx.cli.main import app as gcx
    from gcx.console.sessions import SessionStore

    jobs = '[jobs.crm]\nprofile = "emu"\nsource = { type = "webhook", secret_env = "S" }\n'
    web = "[web]\nsession_idle_minutes = 15\nsession_lifetime_minutes = 1440\n"
    path = tmp_path / "service.toml"
    path.write_text(config_text({"emu": "http://127.0.0.1:9"}, jobs + web, data_dir=str(tmp_path / "data")))
    service = Service(load_config(path), pg_url)
    try:
        [mount] = console_routes(service, env={})
        state = mount.app.state.console  # type: ignore[attr-defined]
        assert (state.sessions.idle, state.sessions.lifetime) == (900, 86_400)
        t = [datetime(2026, 1, 1, 8, tzinfo=UTC)]
        state.sessions.clock = lambda: t[0]
        token = state.sessions.create("ada", "10.0.0.1", "Firefox")
        t[0] += timedelta(minutes=14)
        assert state.sessions.check(token) is not None
        t[0] += timedelta(minutes=15)
        assert state.sessions.check(token) is None  # 15 minutes without a request
        state.close()
    finally:
        await service.close()
    now = datetime.now(UTC)
    with ConsoleDb(ledger_url(pg_url)) as db:  # logged in 13 hours ago, a request 5 minutes ago
        store = SessionStore(db, idle=86_400, lifetime=86_400, clock=lambda: now - timedelta(hours=13))
        token = store.create("bob", "10.0.0.2", "Chromium")
        store.clock = lambda: now - timedelta(minutes=5)
        seen = store.check(token)
        assert seen is not None
    env = {"GCX_DATABASE_URL": pg_url, "COLUMNS": "200"}
    r = CliRunner().invoke(gcx, ["-o", "json", "serve", "session", "list", str(path)], env=env)
    assert r.exit_code == 0 and seen.handle in r.stdout, r.output  # the default 12 hours would end it
