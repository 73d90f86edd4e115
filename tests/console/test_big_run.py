"""A run of 50k ops: the run page pages, filters and searches on the server (the rows are never
all in memory), and the CSV/JSON downloads stream. Memory is measured, never time."""

from __future__ import annotations

import asyncio
import csv
import io
import json
import re
import threading
import tracemalloc
from pathlib import Path
from typing import Any

import httpx
import pytest

from gcx.console.runindex import RunIndex, RunIndexes, open_run
from gcx.sync.ledger import Ledger
from gcx.sync.plan import Change, Op
from gcx.sync.planfile import PlanWriter
from gcx.sync.report import RunReport
from gcx.sync.runfiles import ops_path

from .conftest import Env, login

N = 50_000


def _op(i: int) -> Op:
    if i % 10 == 0:
        return Op("create", "contact", f"k-{i}", line=i + 2)  # values come from the record
    return Op(
        "update", "contact", f"k-{i}", genesys_id=f"g-{i}", line=i + 2,
        changes=[Change("firstName", f"Old{i}", f"New{i}"), Change("title", None, "Eng")],
    )  # fmt: skip


UNDO = json.dumps({"before": {}, "added": ["firstName"]})


def make_big_run(ledger_url: str, reports: Path, *, run_file: bool = True) -> int:
    """A finished run of N ops in the ledger (and its run file), written without Genesys."""
    with Ledger(ledger_url) as led:
        run_id = led.start_run("apply", "big.csv")
        t = led.t_ops
        with led.engine.begin() as conn:
            for start in range(0, N, 5000):
                conn.execute(
                    t.insert(),
                    [
                        {
                            "run_id": run_id, "kind": "contact", "external_id": f"k-{i}",
                            "op": "create" if i % 10 == 0 else "update",
                            "state": "failed" if i == 7 else "done", "attempt": 1,
                            "genesys_id": f"g-{i}", "line": i + 2, "updated_at": "2026-01-01T00:00:00",
                            # a done op keeps its undo (schema 3): a create none, an update what it
                            # replaced (here: it added the field); a failed op keeps nothing
                            "payload": None if i % 10 == 0 or i == 7 else UNDO,
                        }
                        for i in range(start, min(N, start + 5000))
                    ],
                )  # fmt: skip
                conn.execute(
                    led.t_records.insert(),
                    [
                        {
                            "kind": "contact", "external_id": f"k-{i}", "genesys_id": f"g-{i}", "hash": "h",
                            "applied": json.dumps({"firstName": f"New{i}"}), "org_key": None,
                            "created_by_gcx": True, "updated_at": "2026-01-01T00:00:00",
                        }
                        for i in range(start, min(N, start + 5000))
                        if i != 7
                    ],
                )  # fmt: skip
        led.finish_run(run_id, "partial", {"applied": {"contact": {"updated": N - 1}}}, None)
    if run_file:
        writer = PlanWriter(ops_path(reports, run_id), source="big.csv", options={})
        for i in range(N):
            writer.op(_op(i))
        report = RunReport(
            command="apply", source="big.csv", ledger=ledger_url, run_id=run_id, status="partial"
        )
        report.failures.append(
            {
                "kind": "contact",
                "externalId": "k-7",
                "op": "update",
                "reason": "400 bad title",
                "field": "title",
            }
        )
        writer.close(report)
        report.write(reports / f"run-{run_id}.json")
    return run_id


async def settled(http: httpx.AsyncClient, url: str) -> httpx.Response:
    """The page once the run's index is built (it refreshes itself until then); no time asserted."""
    for _ in range(3000):
        page = await http.get(url)
        if "reading the rest" not in page.text:
            return page
        await asyncio.sleep(0.1)
    raise AssertionError(f"{url} still reading its rows")


async def test_a_big_run_pages_filters_searches_and_streams(env: Env, http: httpx.AsyncClient) -> None:
    run_id = make_big_run(env.target.ledger_url, env.target.reports_dir)
    await login(http, "victor")
    tracemalloc.start()
    try:
        first = await http.get(f"/jobs/crm/runs/{run_id}")
        # the first page shows at once: the run's first rows, while its index is built
        assert first.status_code == 200 and "reading the rest" in first.text
        assert first.text.count('<tbody class="op ') == 200 and "<code>k-199</code>" in first.text
        assert 'hx-trigger="load delay:1s"' in first.text  # the page refreshes itself
        page = await settled(http, f"/jobs/crm/runs/{run_id}")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert page.status_code == 200
    # 50k rows as dicts would be hundreds of MB; streamed into the index it stays small
    assert peak < 40_000_000, f"building and showing the first page peaked at {peak / 1e6:.1f} MB"
    html = page.text
    assert f"{N} row(s), showing 200" in html
    assert "all (50000)" in html and "create (5000)" in html and "update (45000)" in html
    assert "failed (1)" in html
    assert html.count('<tbody class="op ') == 200
    assert 'class="before wrap">Old1<' in html and 'class="after wrap">New1<' in html

    # the next pages, a filter and a search, all answered by the server
    last = (await http.get(f"/jobs/crm/runs/{run_id}?from=49800")).text
    assert "<code>k-49999</code>" in last and "<code>k-49799</code>" not in last
    assert "Next 200 rows" not in last and "Rows 49801\u201350000 of 50000" in last
    assert 'href="?what=all&amp;q=&amp;from=49600" rel="prev"' in last
    assert "Rows 1\u2013200 of 50000" in html and 'href="?what=all&amp;q=&amp;from=200" rel="next"' in html
    creates = (await http.get(f"/jobs/crm/runs/{run_id}?what=create&from=200")).text
    assert "<code>k-2000</code>" in creates and "<code>k-1990</code>" not in creates
    found = (
        await http.get(f"/jobs/crm/runs/{run_id}?q=NEW4242")
    ).text  # any case: k-4242, k-42421..9 (k-42420 is a create)
    assert re.findall(r"[0-9]+ row\(s\)[^<]*", found) == ["10 row(s)."]
    assert "<code>k-4242</code>" in found and "<code>k-42429</code>" in found
    failed = (await http.get(f"/jobs/crm/runs/{run_id}?what=failed")).text
    assert "<code>k-7</code>" in failed and "400 bad title" in failed

    # downloads stream every matching row
    async with http.stream("GET", f"/jobs/crm/runs/{run_id}/rows.csv?what=update") as r:
        assert r.status_code == 200 and "content-length" not in r.headers
        text = "".join([chunk async for chunk in r.aiter_text()])
    lines = list(csv.reader(io.StringIO(text)))
    assert len(lines) == 1 + 45_000 * 2  # a line per changed field
    assert lines[1][:2] == ["contact", "k-1"] and lines[1][6:9] == ["firstName", "Old1", "New1"]
    got = (await http.get(f"/jobs/crm/runs/{run_id}/rows.json?q=k-4999")).json()
    assert got["job"] == "crm" and got["run"]["id"] == run_id
    assert sorted(r["externalId"] for r in got["rows"]) == ["k-4999", *[f"k-4999{d}" for d in range(10)]]


def test_a_big_run_without_a_run_file_pages_from_the_ledger(env: Env) -> None:
    run_id = make_big_run(env.target.ledger_url, env.target.reports_dir, run_file=False)
    indexes = RunIndexes()
    try:
        with Ledger(env.target.ledger_url) as led:
            detail = open_run(led, env.target.reports_dir, run_id, indexes)
            assert detail is not None and not detail.has_before
            rows, total = detail.index.page("update", "", 0, 5)
            assert total == 45_000 and [r.key for r in rows] == ["k-1", "k-2", "k-3", "k-4", "k-5"]
            assert rows[0].changes == [{"field": "firstName", "from": None, "to": "New1"}]
            assert detail.index.page("failed", "", 0, 5)[1] == 1
            assert open_run(led, env.target.reports_dir, run_id, indexes).index is detail.index  # built once
    finally:
        indexes.close()


async def test_a_run_whose_values_are_kept_nowhere_says_so(env: Env, http: httpx.AsyncClient) -> None:
    """No run file, and a ledger that no longer keeps the payload of finished ops."""
    with Ledger(env.target.ledger_url) as led:
        run_id = led.start_run("apply", "crm.csv")
        with led.engine.begin() as conn:
            conn.execute(
                led.t_ops.insert(),
                [
                    {"run_id": run_id, "kind": "contact", "external_id": f"k-{i}", "op": "update",
                     "state": "done", "attempt": 1, "genesys_id": f"g-{i}", "line": i + 2,
                     "updated_at": "2026-01-01T00:00:00", "payload": "{}"}
                    for i in range(3)
                ],
            )  # fmt: skip
        led.finish_run(run_id, "ok", {}, None)
    await login(http, "victor")
    page = (await settled(http, f"/jobs/crm/runs/{run_id}")).text
    assert "Some rows show no values" in page
    assert page.count("values not kept: the ledger no longer holds them and this run left no run file") == 3
    assert "<code>k-2</code>" in page and "3 row(s)." in page


async def test_a_run_in_progress_refreshes_its_summary(env: Env, http: httpx.AsyncClient) -> None:
    with Ledger(env.target.ledger_url) as led:
        running = led.start_run("apply", "crm.csv")
        done = led.start_run("apply", "crm.csv")
        led.finish_run(done, "ok", {}, None)
    await login(http, "victor")
    page = (await settled(http, f"/jobs/crm/runs/{running}")).text
    assert "In progress" in page and 'id="facts" hx-get="" hx-trigger="every 5s"' in page
    page = (await settled(http, f"/jobs/crm/runs/{done}")).text
    assert "In progress" not in page and "every 5s" not in page
    assert f'/jobs/crm/runs/{running}" rel="prev">\u2190 run #{running}</a>' in page  # to the run before
    assert 'rel="next"' not in page.split("</p>")[0]  # the last run has none after it


def test_the_console_closes_its_ledgers_only_after_the_run_indexes_still_building(
    env: Env, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run's index is built in the background when it takes longer than the page waits (a big
    run, or a small one on a loaded machine). The build reads the run's ledger: closing that
    ledger first let the build open a connection nobody closed (in CI: a ResourceWarning raised
    as an unraisable exception, failing whichever test ran when it was collected)."""
    with Ledger(env.target.ledger_url) as led:
        run_id = led.start_run("apply", "crm.csv")
        led.finish_run(run_id, "ok", {}, None)
    ledger = env.state.ledger(env.target.ledger_url)
    release = threading.Event()
    closed: list[str] = []
    read_after_close: list[bool] = []

    def close() -> None:
        closed.append("ledger")
        release.set()  # a build held up by a busy machine goes on now
        Ledger.close(ledger)

    build = RunIndex.build.__func__  # type: ignore[attr-defined]

    def slow_build(cls: type[RunIndex], *args: Any, **kwargs: Any) -> RunIndex:
        release.wait(1.5)  # longer than the page waits (0.5 s): built in the background
        read_after_close.append(bool(closed))
        return build(cls, *args, **kwargs)  # type: ignore[no-any-return]

    monkeypatch.setattr(ledger, "close", close)
    monkeypatch.setattr(RunIndex, "build", classmethod(slow_build))
    detail = open_run(ledger, env.target.reports_dir, run_id, env.state.run_indexes, wait=False)
    assert detail is not None and detail.index is None  # its first rows shown, the index building
    env.state.close()
    assert closed == ["ledger"] and read_after_close == [False]
