"""A scheduled job under approval, with the web process and the worker apart (as on two hosts).

The worker plans and the plan waits (in PostgreSQL, with its report on the waiting run); the web
process, which has no Genesys credentials, records the operator's decision and queues it; a
worker applies exactly that plan, or finds it stale and queues the fresh plan as waiting again.
"""

from __future__ import annotations

import asyncio
import json
import re
from collections.abc import AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import httpx
import pytest

from gcx.client import AsyncClient
from gcx.console.approvals import Approval, ApprovalStore
from gcx.console.audit import AuditLog
from gcx.console.db import ConsoleDb
from gcx.console.execute import plan_signature, read_plan_ops
from gcx.console.users import UserStore
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import load_config
from gcx.service.console import console_routes
from gcx.service.database import ledger_url
from gcx.service.tasks import APPROVED_TASK, Service
from gcx.service.web import create_app
from gcx_testkit.verify import verify

from .helpers import ENV, config_text, contact, org, query, write_jsonl

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"
CSRF = re.compile(r'name="csrf" value="([^"]+)"')


async def until(check: Callable[[], bool], what: str, timeout: float = 60.0) -> None:
    for _ in range(int(timeout / 0.2)):
        if check():
            return
        await asyncio.sleep(0.2)
    raise AssertionError(f"timed out waiting for {what}")


@dataclass
class Setup:
    emu: Emulator
    base: str
    tmp: Path
    pg_url: str
    web: httpx.AsyncClient
    web_service: Service
    store: ApprovalStore
    token: str = ""

    def write_source(self, records: list[dict[str, Any]]) -> None:
        write_jsonl(self.tmp / "crm.jsonl", records)

    @asynccontextmanager
    async def worker(self) -> AsyncIterator[Service]:
        """A worker process's service: its own pool and procrastinate app, the credentials."""
        service = Service(load_config(self.tmp / "service.toml"), self.pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        task = asyncio.create_task(service.run_worker())
        try:
            yield service
        finally:
            service.stopping.set()
            await asyncio.wait_for(task, 60)
            await service.close()

    async def scheduled_run(self) -> Approval:
        """A scheduled run on a worker; its plan waits (returned)."""
        before = len(query(self.pg_url, "SELECT 1 FROM gcx_svc_runs WHERE finished_at IS NOT NULL"))
        async with self.worker() as service:
            assert await service.defer_run("crm")
            await until(
                lambda: (
                    len(query(self.pg_url, "SELECT 1 FROM gcx_svc_runs WHERE finished_at IS NOT NULL"))
                    > before
                ),
                "the scheduled run",
            )
        waiting = self.store.list(state="pending")
        assert len(waiting) == 1, waiting
        return waiting[0]

    async def apply_on_worker(self, approval_id: int) -> Approval:
        async with self.worker():
            await until(lambda: self.state(approval_id) not in ("approved", "applying"), "the worker's apply")
        found = self.store.get(approval_id)
        assert found is not None
        return found

    def state(self, approval_id: int) -> str:
        found = self.store.get(approval_id)
        return found.state if found is not None else "gone"

    async def post(self, path: str, data: dict[str, str] | None = None) -> httpx.Response:
        return await self.web.post(f"/console{path}", data={"csrf": self.token, **(data or {})})

    def writes(self) -> int:
        """Genesys requests that change something (the emulator's own count; searches and
        token requests left out)."""
        return sum(r["count"] for r in self.emu.stats()["routes"] if _is_write(r["method"], r["route"]))


def _is_write(method: str, route: str) -> bool:
    if method in ("PUT", "PATCH", "DELETE"):
        return True
    return (
        method == "POST"
        and not route.startswith("/oauth")
        and "search" not in route
        and "bulk/get" not in route
    )


@asynccontextmanager
async def setup(
    pg_url: str, tmp_path: Path, records: list[dict[str, Any]], *, latency: float = 0.0, job: str = ""
) -> AsyncIterator[Setup]:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5, latency=latency))
    write_jsonl(tmp_path / "crm.jsonl", records)
    with emu.serve() as base:
        (tmp_path / "service.toml").write_text(
            config_text(
                {"emu": base},
                '[jobs.crm]\nprofile = "emu"\nschedule = "0 3 * * *"\n'
                'source = { type = "jsonl", path = "crm.jsonl" }\napproval = "always"\n' + job,
                data_dir=str(tmp_path / "data"),
            )
        )
        cfg = load_config(tmp_path / "service.toml")
        # the web process: no Genesys credentials at all (it could not write if it tried)
        web_service = Service(cfg, pg_url)
        web_service.fleet.env = {}
        await web_service.open()
        db = ConsoleDb(ledger_url(pg_url))
        UserStore(db).add("olga", "operator", PASSWORD)
        UserStore(db).add("victor", "viewer", PASSWORD)
        routes = console_routes(web_service, env={})
        app = create_app(web_service, manage_service=False, extra_routes=routes)
        try:
            async with httpx.AsyncClient(
                transport=httpx.ASGITransport(app=app), base_url="http://svc"
            ) as web:
                s = Setup(emu, base, tmp_path, pg_url, web, web_service, ApprovalStore(db))
                yield s
        finally:
            routes[0].app.state.console.close()  # type: ignore[attr-defined]
            db.close()
            await web_service.close()


async def login(s: Setup, name: str = "olga") -> None:
    page = await s.web.get("/console/login")
    token = CSRF.search(page.text).group(1)  # type: ignore[union-attr]
    r = await s.web.post("/console/login", data={"name": name, "password": PASSWORD, "csrf": token})
    assert r.status_code == 303
    s.token = CSRF.search((await s.web.get("/console/approvals")).text).group(1)  # type: ignore[union-attr]


def svc_runs(pg_url: str) -> list[tuple[Any, ...]]:
    return query(
        pg_url, "SELECT id, trigger, status, error, report IS NOT NULL FROM gcx_svc_runs ORDER BY id"
    )


async def test_the_web_process_records_the_approval_and_a_worker_applies_exactly_that_plan(
    pg_url: str, tmp_path: Path
) -> None:
    source = [org(1), *[contact(i, 1) for i in range(4)]]
    async with setup(pg_url, tmp_path, source) as s:
        waiting = await s.scheduled_run()
        assert s.writes() == 0 and s.emu.dump()["contacts"] == []
        assert waiting.summary["planned"]["contact"]["create"] == 4 and waiting.plan_digest
        # the waiting run keeps its report: the plan's counts are there to see
        [(run_id, trigger, status, error, has_report)] = svc_runs(pg_url)
        assert (trigger, status, error, has_report) == ("schedule", "waiting", None, True)
        [(planned,)] = query(pg_url, "SELECT report->'planned' FROM gcx_svc_runs WHERE id = %s", (run_id,))
        assert planned["contact"]["create"] == 4
        assert waiting.service_run == run_id
        assert not (tmp_path / "data" / "reports" / "crm" / "plans").exists() or not list(
            (tmp_path / "data" / "reports" / "crm" / "plans").iterdir()
        )  # the plan is in PostgreSQL, not on a disk the web process would have to share

        await login(s)
        page = (await s.web.get(f"/console/approvals/{waiting.id}")).text
        assert "waiting" in page and "First3" in page and "Approve and apply this plan" in page
        requests_before = s.emu.stats()["total"]
        r = await s.post(f"/approvals/{waiting.id}/approve")
        assert r.status_code == 303
        # recorded and queued; the web process sent nothing at all to Genesys
        assert s.emu.stats()["total"] == requests_before and s.writes() == 0
        approved = s.store.get(waiting.id)
        assert approved is not None and approved.state == "approved" and approved.decided_by == "olga"
        assert approved.decided_at and approved.plan_digest == waiting.plan_digest
        [entry] = [e for e in AuditLog(s.store.db).latest(10) if e.action == "approve"]
        assert entry.user == "olga" and entry.detail["digest"] == waiting.plan_digest
        assert query(pg_url, "SELECT task_name, status::text, args->>'approval' FROM procrastinate_jobs") == [
            (APPROVED_TASK, "todo", str(waiting.id))
        ]
        assert svc_runs(pg_url)[0][2] == "approved"
        page = (await s.web.get(f"/console/approvals/{waiting.id}")).text
        assert "approved, queued" in page and 'hx-trigger="every 2s"' in page and ">reload</a>" in page
        # a second click is refused and queues nothing more
        again = await s.post(f"/approvals/{waiting.id}/approve")
        assert again.status_code == 409 and "already approved by olga" in again.text
        assert len(query(pg_url, "SELECT 1 FROM procrastinate_jobs")) == 1

        done = await s.apply_on_worker(waiting.id)
        assert done.state == "applied", done.note
        assert verify(s.emu.dump(), source).ok and len(s.emu.dump()["contacts"]) == 4
        assert s.writes() > 0, s.emu.stats()["routes"]  # the worker's writes, counted the same way
        # exactly the approved ops were applied, recorded as a service run like any other
        ops = read_plan_ops(tmp_path / "data" / "reports" / "crm" / f"run-{done.run_id}.ops.json")
        stored = json.loads(s.store.plan_document(waiting.id) or b"{}")["ops"]
        assert plan_signature(ops) == plan_signature(stored) and len(plan_signature(stored)) == 5
        [_, (_, trigger, status, error, has_report)] = svc_runs(pg_url)
        assert (trigger, status, error, has_report) == ("approval", "ok", None, True)
        assert [e.action for e in AuditLog(s.store.db).latest(2)] == ["apply", "approve"]
        page = (await s.web.get(f"/console/approvals/{waiting.id}")).text
        assert "applied" in page and "every 2s" not in page and f"run #{done.run_id}" in page

        # approving or rejecting it again is refused, with the reason
        again = await s.post(f"/approvals/{waiting.id}/approve")
        assert again.status_code == 409
        assert f"already approved by olga and applied (run #{done.run_id})" in again.text
        assert (await s.post(f"/approvals/{waiting.id}/reject")).status_code == 409
        assert query(pg_url, "SELECT count(*) FROM procrastinate_jobs WHERE status = 'todo'") == [(0,)]


async def test_a_plan_made_stale_after_its_approval_is_not_applied_and_waits_again(
    pg_url: str, tmp_path: Path
) -> None:
    source = [org(1), *[contact(i, 1) for i in range(4)]]
    async with setup(pg_url, tmp_path, source) as s:
        await login(s)
        # 1. the source changes after the approval: nothing is written, the fresh plan waits
        first = await s.scheduled_run()
        assert (await s.post(f"/approvals/{first.id}/approve")).status_code == 303
        s.write_source([*source, contact(9, 1)])
        stale = await s.apply_on_worker(first.id)
        assert stale.state == "stale" and stale.replaced_by is not None
        assert "now planned: create contact c-9" in (stale.note or "")
        assert s.writes() == 0 and s.emu.dump()["contacts"] == []
        fresh = s.store.get(stale.replaced_by)
        assert (
            fresh is not None
            and fresh.state == "pending"
            and fresh.summary["planned"]["contact"]["create"] == 5
        )
        # the worker's run for it ended waiting, with the fresh plan's report
        runs = svc_runs(pg_url)
        assert [r[1:3] for r in runs] == [("schedule", "approved"), ("approval", "waiting")]
        assert fresh.service_run == runs[1][0]
        page = (await s.web.get(f"/console/approvals/{first.id}")).text
        assert "stale" in page and "now planned: create contact c-9" in page and f"#{fresh.id}" in page
        assert [e.outcome for e in AuditLog(s.store.db).latest(1)] == ["stale"]
        refused = await s.post(f"/approvals/{first.id}/approve")
        assert refused.status_code == 409 and f"plan #{fresh.id} replaced it" in refused.text
        assert (await s.post(f"/approvals/{fresh.id}/approve")).status_code == 303
        applied = await s.apply_on_worker(fresh.id)
        assert applied.state == "applied", applied.note
        assert len(s.emu.dump()["contacts"]) == 5

        # 2. Genesys changes after the approval: someone made one of the planned edits by hand
        changed = [org(1), *[contact(i, 1, firstName=f"New{i}") for i in range(4)], contact(9, 1)]
        s.write_source(changed)
        second = await s.scheduled_run()
        assert second.summary["planned"]["contact"]["update"] == 4
        assert (await s.post(f"/approvals/{second.id}/approve")).status_code == 303
        async with AsyncClient(
            s.base, client_id=ENV["GC_ID"], client_secret=ENV["GC_SECRET"], rate_limit=0
        ) as gc:
            [cid] = [c["id"] for c in s.emu.dump()["contacts"] if c.get("workEmail") == "c2@example.com"]
            await gc.contacts.safe_update(str(cid), {"firstName": "New2"})
        writes = s.writes()
        stale = await s.apply_on_worker(second.id)
        assert stale.state == "stale" and "no longer planned: update contact c-2" in (stale.note or "")
        assert s.writes() == writes  # nothing written
        assert {c["firstName"] for c in s.emu.dump()["contacts"]} >= {"First1", "New2"}
        fresh = s.store.get(stale.replaced_by or 0)
        assert fresh is not None and fresh.summary["planned"]["contact"]["update"] == 3


def test_a_worker_starting_just_after_a_tick_would_run_it_so_the_tests_pin_the_clock(
    tmp_path: Path,
) -> None:
    """The flake this file had: between 03:00 and 03:10 UTC a worker started by a test deferred
    the missed 03:00 tick of ``"0 3 * * *"`` (procrastinate does so within ``max_delay``), an
    extra scheduled run the test did not expect. The tests' deferrer reads a pinned clock."""
    from procrastinate.periodic import PeriodicDeferrer

    from .conftest import QUIET_CLOCK

    (tmp_path / "service.toml").write_text(
        config_text(
            {"emu": "http://127.0.0.1:9"},
            '[jobs.crm]\nprofile = "emu"\nschedule = "0 3 * * *"\n'
            'source = { type = "jsonl", path = "crm.jsonl" }\napproval = "always"\n',
        )
    )
    service = Service(load_config(tmp_path / "service.toml"), "postgresql://postgres@127.0.0.1:9/none")
    just_after = datetime(2026, 12, 1, 3, 4, 31, tzinfo=UTC).timestamp()
    missed = [
        t for (task, t) in PeriodicDeferrer(service.app.periodic_registry).get_previous_tasks(just_after)
    ]
    assert missed == [int(datetime(2026, 12, 1, 3, 0, tzinfo=UTC).timestamp())]
    assert list(PeriodicDeferrer(service.app.periodic_registry).get_previous_tasks(QUIET_CLOCK)) == []


async def test_reject_and_a_superseded_plan(pg_url: str, tmp_path: Path) -> None:
    source = [org(1), *[contact(i, 1) for i in range(3)]]
    async with setup(pg_url, tmp_path, source) as s:
        older = await s.scheduled_run()
        newer = await s.scheduled_run()  # a later run while a plan waits: its plan replaces it
        assert s.state(older.id) == "stale" and s.store.get(older.id).replaced_by == newer.id  # type: ignore[union-attr]
        assert [r[2] for r in svc_runs(pg_url)] == ["stale", "waiting"]
        # the superseded plan was never decided: its document is dropped, the newer one kept
        assert s.store.plan_document(older.id) is None and s.store.plan_document(newer.id)
        await login(s, "victor")  # a viewer cannot decide
        assert (await s.post(f"/approvals/{newer.id}/reject")).status_code == 403
        await login(s)
        refused = await s.post(f"/approvals/{older.id}/approve")
        assert refused.status_code == 409 and f"plan #{newer.id} replaced it" in refused.text
        r = await s.post(f"/approvals/{newer.id}/reject", {"note": "wrong extract"})
        assert r.status_code == 303
        rejected = s.store.get(newer.id)
        assert rejected is not None and rejected.state == "rejected"
        assert rejected.decided_by == "olga" and rejected.decided_at and rejected.note == "wrong extract"
        assert [r[2] for r in svc_runs(pg_url)] == ["stale", "rejected"]
        entry = AuditLog(s.store.db).latest(1)[0]
        assert (entry.user, entry.action, entry.detail["note"]) == ("olga", "reject", "wrong extract")
        for action in ("approve", "reject"):
            again = await s.post(f"/approvals/{newer.id}/{action}")
            assert again.status_code == 409 and "it was rejected by olga" in again.text
        assert query(
            pg_url, "SELECT count(*) FROM procrastinate_jobs WHERE task_name = %s", (APPROVED_TASK,)
        ) == [(0,)]
        assert s.writes() == 0 and s.emu.dump()["contacts"] == []


async def test_sigterm_stops_an_approved_apply_after_the_batch_in_flight_and_the_retry_resumes_it(
    pg_url: str, tmp_path: Path
) -> None:
    source = [org(1), *[contact(i, 1) for i in range(400)]]
    async with setup(pg_url, tmp_path, source, latency=0.2, job="options = { batch_size = 25 }\n") as s:
        waiting = await s.scheduled_run()
        await login(s)
        assert (await s.post(f"/approvals/{waiting.id}/approve")).status_code == 303

        def contacts_done() -> int:
            # kind 'c' contact, op 'c' create: as the ledger stores them (gcx.sync.ledger_codec)
            sql = "SELECT count(*) FROM gcx_crm_ops WHERE state = 'done' AND kind = 'c' AND op = 'c'"
            return int(query(pg_url, sql)[0][0])

        async with s.worker():  # stopped (SIGTERM's stop flag) once it has written some contacts
            await until(lambda: contacts_done() > 0, "the apply writing contacts", timeout=120)
        assert s.state(waiting.id) == "applying"
        [run] = query(
            pg_url,
            "SELECT status, report->'applied'->'contact'->>'created' FROM gcx_svc_runs WHERE trigger = 'approval'",
        )
        assert run[0] == "interrupted" and 0 < int(run[1]) < 400
        assert 0 < len(s.emu.dump()["contacts"]) < 400
        open_ops = query(pg_url, "SELECT count(*) FROM gcx_crm_ops WHERE state IN ('started', 'unknown')")
        assert open_ops == [(0,)]  # the batches in flight were finished and recorded
        # procrastinate's retry of the same task waits in the queue
        assert query(pg_url, "SELECT task_name, status::text, attempts FROM procrastinate_jobs") == [
            (APPROVED_TASK, "todo", 1)
        ]
        page = (await s.web.get(f"/console/approvals/{waiting.id}")).text
        assert "applying" in page and 'hx-trigger="every 2s"' in page

        done = await s.apply_on_worker(waiting.id)  # the next worker resumes it
        assert done.state == "applied", done.note
        assert verify(s.emu.dump(), source).ok and len(s.emu.dump()["contacts"]) == 400
        outcomes = [(e.action, e.outcome) for e in reversed(AuditLog(s.store.db).latest(3))]
        assert outcomes == [("approve", "ok"), ("apply", "interrupted"), ("apply", "ok")]
        statuses = query(pg_url, "SELECT status FROM gcx_svc_runs WHERE trigger = 'approval' ORDER BY id")
        assert statuses == [("interrupted",), ("ok",)]


async def test_an_approval_whose_task_was_lost_is_queued_by_the_workers(pg_url: str, tmp_path: Path) -> None:
    source = [org(1), contact(1, 1)]
    async with setup(pg_url, tmp_path, source) as s:
        waiting = await s.scheduled_run()
        # the web process recorded the decision, then died before deferring the task
        assert s.store.approve(waiting.id, "olga")
        assert query(pg_url, "SELECT count(*) FROM procrastinate_jobs") == [(0,)]
        done = await s.apply_on_worker(waiting.id)  # the workers' maintenance queues it
        assert done.state == "applied", done.note
        assert verify(s.emu.dump(), source).ok


async def test_a_worker_lost_while_applying_an_approved_plan_is_recovered_and_the_apply_resumed(
    pg_url: str, tmp_path: Path
) -> None:
    source = [org(1), *[contact(i, 1) for i in range(3)]]
    async with setup(pg_url, tmp_path, source) as s:
        waiting = await s.scheduled_run()
        await login(s)
        assert (await s.post(f"/approvals/{waiting.id}/approve")).status_code == 303
        # a worker took the task and started the apply, then vanished (kill -9: no heartbeat)
        assert s.store.move(waiting.id, "applying")
        query(pg_url, "UPDATE procrastinate_jobs SET status = 'doing', worker_id = NULL RETURNING id")
        done = await s.apply_on_worker(waiting.id)  # the stalled-job recovery queues it again
        assert done.state == "applied", done.note
        assert verify(s.emu.dump(), source).ok and len(s.emu.dump()["contacts"]) == 3
        jobs = query(
            pg_url, "SELECT task_name, status::text, args->>'approval' FROM procrastinate_jobs ORDER BY id"
        )
        assert jobs[0] == (APPROVED_TASK, "failed", str(waiting.id))  # closed by the recovery
