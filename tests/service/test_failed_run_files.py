"""A worker's run that raises mid-run (a bug, the database lost, a cancellation) keeps the ops it
had decided, as ``run-<id>.ops.json`` marked incomplete with the error (secrets masked); the
service's run row and the console's run page point at them. A run that raises before it got an
id leaves nothing (no op can have been written)."""

from __future__ import annotations

import contextlib
import html
import json
import re
import stat
from collections.abc import AsyncIterator, Collection, Iterator
from pathlib import Path

import httpx
import pytest

import gcx.service.runner as runner
from gcx.console.db import ConsoleDb
from gcx.console.runindex import RunIndexes, open_run
from gcx.console.users import UserStore
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.config import JobConfig, ServiceConfig, load_config
from gcx.service.console import console_routes
from gcx.service.database import ledger_url
from gcx.service.runner import Fleet, job_reports_dir, run_sync
from gcx.service.tasks import Service
from gcx.service.web import create_app
from gcx.sync.fields import KINDS, Kind
from gcx.sync.ledger import Ledger
from gcx.sync.source import Item, Source

from .helpers import ENV, config_text, contact, org, query, write_jsonl

pytestmark = pytest.mark.postgres
PASSWORD = "correct horse battery"

ERROR = "connection lost to postgresql://gcx:hunter2-secret@db.internal/crm\nsecond line of detail"


class Breaks:
    """The job's source, raising (not a gcx error: as a bug would) at the ``at``-th contact."""

    def __init__(self, inner: Source, at: int) -> None:
        self.inner, self.at, self.seen = inner, at, 0

    @property
    def description(self) -> str:
        return self.inner.description

    def items(self, kinds: Collection[Kind] = KINDS) -> Iterator[Item]:
        for item in self.inner.items(kinds):
            if getattr(item, "kind", None) == "contact":
                self.seen += 1
                if self.seen == self.at:
                    raise RuntimeError(ERROR)
            yield item


def _config(tmp_path: Path, base: str) -> ServiceConfig:
    write_jsonl(tmp_path / "crm.jsonl", [org(1), org(2), *[contact(i, 1 + i % 2) for i in range(8)]])
    text = config_text(
        {"emu": base},
        '[jobs.crm]\nprofile = "emu"\nschedule = "0 0 1 1 *"\n'
        'source = { type = "jsonl", path = "crm.jsonl" }\noptions = { batch_size = 2 }\n',
        data_dir=str(tmp_path / "data"),
    )
    (tmp_path / "service.toml").write_text(text)
    return load_config(tmp_path / "service.toml")


def _job(tmp_path: Path, base: str) -> JobConfig:
    return _config(tmp_path, base).jobs["crm"]


@contextlib.asynccontextmanager
async def _run_that_raised(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch, emu: Emulator
) -> AsyncIterator[tuple[Service, JobConfig]]:
    """A service whose job's first run raised (its source broke at the 6th contact), the source
    mended since."""
    with emu.serve() as base:
        cfg = _config(tmp_path, base)
        real = runner.source_for
        monkeypatch.setattr(runner, "source_for", lambda j, env: Breaks(real(j, env), at=6))
        service = Service(cfg, pg_url)
        service.fleet.env = dict(ENV)
        await service.open()
        try:
            with pytest.raises(RuntimeError):
                await service._run(cfg.jobs["crm"], "schedule", None)
            monkeypatch.setattr(runner, "source_for", real)
            yield service, cfg.jobs["crm"]
        finally:
            await service.close()


async def test_a_run_that_raises_mid_run_keeps_its_ops_marked_incomplete(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    async with _run_that_raised(pg_url, tmp_path, monkeypatch, emu) as (service, _):
        page = await _run_page(service, pg_url, 1)

    reports = job_reports_dir(tmp_path / "data", "crm")
    assert sorted(p.name for p in reports.iterdir()) == ["run-1.json", "run-1.ops.json"]  # no temporary file
    path = reports / "run-1.ops.json"
    assert stat.S_IMODE(path.stat().st_mode) == 0o600  # contact data
    text = path.read_text(encoding="utf-8")
    assert "hunter2-secret" not in text
    kept = json.loads(text)
    error = "RuntimeError: connection lost to postgresql://gcx:***@db.internal/crm"
    assert kept["incomplete"] is True and kept["error"] == error
    # the organizations were written before the source broke: their ops are there
    orgs = {op["externalId"] for op in kept["ops"] if op["kind"] == "organization"}
    assert orgs == {"org-1", "org-2"}
    assert all(op["op"] == "create" for op in kept["ops"])
    report = json.loads((reports / "run-1.json").read_text(encoding="utf-8"))
    assert report["runId"] == 1 and report["error"] == error
    assert "hunter2-secret" not in (reports / "run-1.json").read_text(encoding="utf-8")
    # the service's run row says why, and holds the report so far: its runId leads to the run page
    [(status, row_error, summary)] = query(pg_url, "SELECT status, error, report FROM gcx_svc_runs")
    assert (status, row_error) == ("error", error)
    assert summary["runId"] == 1 and summary["error"] == error
    assert summary["applied"]["organization"]["created"] == 2

    # the console's run page reads them (with the ledger's states), and says the run stopped
    indexes = RunIndexes()
    try:
        with Ledger(ledger_url(pg_url), prefix="gcx_crm_", create=False) as led:
            detail = open_run(led, reports, 1, indexes)
        assert detail is not None and detail.has_before and detail.index is not None
        rows, n = detail.index.page("all", "", 0, 50)
        assert n == len(kept["ops"])
        assert {r.state for r in rows if r.kind == "organization"} == {"done"}
        assert detail.report is not None and detail.report["error"] == error  # shown on the page
        assert any("did not finish" in w for w in detail.warnings)
    finally:
        indexes.close()
    assert '<span class="status error">error</span>' in page  # the ledger's state: it failed
    assert html.escape(error) in page and "did not finish (error)" in page and "interrupted" not in page
    assert "<code>org-1</code>" in page and "hunter2-secret" not in page


async def test_a_run_that_raised_is_an_error_in_the_ledger_and_the_next_run_resumes_it(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The ledger's run row says ``error`` (with the masked line), as the service's row does:
    ``interrupted`` is for a run that was stopped. The next run reconciles what it left open."""
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    async with _run_that_raised(pg_url, tmp_path, monkeypatch, emu) as (service, job):
        with Ledger(ledger_url(pg_url), prefix="gcx_crm_", create=False) as led:
            [failed] = led.runs(1)
            left_open = len(led.open_ops())
        assert await service._run(job, "schedule", None) == "ok"  # the source mended
        with Ledger(ledger_url(pg_url), prefix="gcx_crm_", create=False) as led:
            [resumed] = led.runs(1)
            assert led.open_ops() == []

    error = "RuntimeError: connection lost to postgresql://gcx:***@db.internal/crm"
    assert (failed["id"], failed["status"], failed["counts"].get("error")) == (1, "error", error)
    assert failed["finished_at"] is not None
    assert failed["counts"]["applied"]["organization"]["created"] == 2
    assert (resumed["id"], resumed["status"]) == (2, "ok")
    [(summary,)] = query(pg_url, "SELECT report FROM gcx_svc_runs WHERE id = 2")
    assert summary["reconciled"]["found"] + summary["reconciled"]["absent"] == left_open
    assert len(emu.dump()["contacts"]) == 8  # each once: nothing the failed run sent was written twice


async def _run_page(service: Service, pg_url: str, run_id: int) -> str:
    """The console's page of the job's run ``run_id``, as a viewer sees it."""
    with ConsoleDb(ledger_url(pg_url)) as db:
        UserStore(db).add("olga", "viewer", PASSWORD)
    routes = console_routes(service, env={})
    app = create_app(service, manage_service=False, extra_routes=routes)
    async with (
        app.router.lifespan_context(app),
        httpx.AsyncClient(transport=httpx.ASGITransport(app=app), base_url="http://svc") as web,
    ):
        page = await web.get("/console/login")
        token = re.search(r'name="csrf" value="([^"]+)"', page.text).group(1)  # type: ignore[union-attr]
        r = await web.post("/console/login", data={"name": "olga", "password": PASSWORD, "csrf": token})
        assert r.status_code == 303
        run = await web.get(f"/console/jobs/crm/runs/{run_id}")
        assert run.status_code == 200
        return run.text


async def test_a_run_that_raises_before_it_has_an_id_leaves_nothing(
    pg_url: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    with Emulator(EmulatorSettings(rate_limit=0, seed=3)).serve() as base:
        job = _job(tmp_path, base)

        def no_ledger(*args: object, **kwargs: object) -> None:
            raise RuntimeError(ERROR)

        monkeypatch.setattr(runner, "Ledger", no_ledger)
        fleet = Fleet(pg_url, env=dict(ENV), data_dir=tmp_path / "data")
        try:
            with pytest.raises(RuntimeError):
                await run_sync(job, fleet)
        finally:
            fleet.close()
    # no op was decided (nothing can be written before a run has its id): nothing to keep
    assert list(job_reports_dir(tmp_path / "data", "crm").iterdir()) == []
