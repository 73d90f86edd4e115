"""Proof: three workers and a web process, two orgs with faults, two workers killed (-9) mid-run.

Every run finishes on another worker, both orgs end exact (no duplicate, nothing lost), every
accepted webhook event is applied, replays change nothing, and SIGTERM stops the rest cleanly.
"""

from __future__ import annotations

import json
import os
import signal
import threading
import time
from pathlib import Path
from typing import Any

import httpx
import psycopg
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.intake import coalesce
from gcx_testkit.service_fleet import Fleet
from gcx_testkit.verify import find_secrets, verify

from .helpers import ENV, config_text, contact, events_body, org, query, signed, wait_for, write_jsonl

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

FAULTS = {
    "fault_rate": 0.03,
    "drop_after_commit": 0.02,
    "burst_429_rate": 0.005,
    "burst_429_length": 3,
}


def _source(prefix: str, n_orgs: int, n_contacts: int) -> list[dict[str, Any]]:
    orgs = [org(i, externalId=f"{prefix}org-{i}", name=f"{prefix} Org {i}") for i in range(n_orgs)]
    contacts = [
        contact(i, externalId=f"{prefix}c-{i}", organization=f"{prefix}org-{i % n_orgs}")
        for i in range(n_contacts)
    ]
    return orgs + contacts


def _post_events(base: str, job: str, prefix: str, n: int, sent: list[dict[str, Any]]) -> None:
    """n events in batches of 50: creates, then updates of the first ones; every 4th batch is sent twice."""
    events = [(f"{prefix}e{i}", contact(i, externalId=f"{prefix}h-{i}")) for i in range(int(n * 0.75))]
    events += [
        (f"{prefix}u{i}", {"kind": "contact", "externalId": f"{prefix}h-{i}", "title": f"v{i}"})
        for i in range(n - len(events))
    ]
    with httpx.Client(base_url=base, timeout=30) as client:
        for k in range(0, len(events), 50):
            chunk = events[k : k + 50]
            body = events_body([r for _, r in chunk], [i for i, _ in chunk])
            for attempt in range(2 if (k // 50) % 4 == 0 else 1):
                r = client.post(f"/hooks/{job}", content=body, headers=signed(body))
                assert r.status_code == 202, r.text
                if attempt == 0:
                    assert r.json()["accepted"] == len(chunk)
                else:
                    assert r.json() == {"accepted": 0, "duplicates": len(chunk)}
            sent.extend(r for _, r in chunk)
            time.sleep(0.05)


def _ledger_count(url: str, job: str) -> int:
    return int(query(url, f"SELECT count(*) FROM gcx_{job}_records")[0][0])


def _kill_mid_run(fleet: Fleet, job: str, after_id: int, url: str) -> tuple[int, str]:
    """Wait for a run of ``job`` (id > after_id) that has written something, then kill -9 its worker."""
    found: dict[str, Any] = {}

    def mid_run() -> bool:
        run = fleet.running_run(job)
        if run is None or run[0] <= after_id:
            return False
        try:
            rows = query(url, f"SELECT count(*) FROM gcx_{job}_ops WHERE state = 'done'")
        except psycopg.errors.UndefinedTable:  # the ledger is being created
            return False
        if rows[0][0] == 0:
            return False
        found["run"] = run
        return True

    # generous: on a loaded 2-core machine a worker may take minutes to pick the job up
    wait_for(mid_run, 240, f"a {job} run in progress", step=0.05)
    run_id, worker = found["run"]
    name = fleet.pid_of(worker)
    assert name is not None, worker
    assert fleet.kill(name) == -signal.SIGKILL
    return run_id, worker


@pytest.mark.timeout(900)
def test_three_workers_two_orgs_faults_two_kills(pg_url: str, tmp_path: Path) -> None:
    emu_a = Emulator(EmulatorSettings(rate_limit=0, seed=11, latency=0.15, **FAULTS))  # type: ignore[arg-type]
    emu_b = Emulator(EmulatorSettings(rate_limit=0, seed=12, latency=0.15, **FAULTS))  # type: ignore[arg-type]
    src_a = _source("a", 30, 1200)
    src_a2 = _source("x", 5, 200)
    src_b = _source("b", 20, 900)
    write_jsonl(tmp_path / "a.jsonl", src_a)
    write_jsonl(tmp_path / "a2.jsonl", src_a2)
    write_jsonl(tmp_path / "b.jsonl", src_b)
    logs = tmp_path / "logs"
    logs.mkdir()
    with emu_a.serve() as base_a, emu_b.serve() as base_b:
        jobs = """
[web]
port = 0

[jobs.crm_a]
profile = "a"
schedule = "*/5 * * * * *"
source = { type = "jsonl", path = "a.jsonl" }

[jobs.crm_a2]
profile = "a"
schedule = "*/7 * * * * *"
source = { type = "jsonl", path = "a2.jsonl" }
options = { external_source = "gcx-a2" }

[jobs.crm_b]
profile = "b"
schedule = "*/5 * * * * *"
source = { type = "jsonl", path = "b.jsonl" }

[jobs.hooks_a]
profile = "a"
source = { type = "webhook", secret_env = "HOOK_SECRET" }
options = { external_source = "hooks-a", trust_ledger = true }

[jobs.hooks_b]
profile = "b"
source = { type = "webhook", secret_env = "HOOK_SECRET" }
options = { external_source = "hooks-b" }
"""
        (tmp_path / "service.toml").write_text(
            config_text({"a": base_a, "b": base_b}, jobs, coalesce_seconds=1)
        )
        fleet = Fleet(tmp_path / "service.toml", pg_url, logs)
        try:
            fleet.start("web", "web")
            for n in ("w1", "w2", "w3"):
                fleet.start(n, "worker")
            web = fleet.web_url()  # port 0: the port it bound, read from its log
            fleet.wait_web(web)
            sent_a: list[dict[str, Any]] = []
            sent_b: list[dict[str, Any]] = []
            posters = [
                threading.Thread(target=_post_events, args=(web, "hooks_a", "a", 400, sent_a)),
                threading.Thread(target=_post_events, args=(web, "hooks_b", "b", 400, sent_b)),
            ]
            for t in posters:
                t.start()

            first_run, first_worker = _kill_mid_run(fleet, "crm_a", 0, pg_url)
            fleet.start("w4", "worker")  # the supervisor restarts it (as systemd would)
            second_run, second_worker = _kill_mid_run(fleet, "crm_b", 0, pg_url)
            fleet.start("w5", "worker")
            for t in posters:
                t.join(120)

            def settled() -> bool:
                done = {}
                for job, after in (("crm_a", first_run), ("crm_b", second_run), ("crm_a2", 0)):
                    rows = query(
                        pg_url,
                        "SELECT worker FROM gcx_svc_runs WHERE job = %s AND id > %s AND status = 'ok' "
                        "AND (report->'applied'->'contact'->>'failed')::int = 0 "
                        "AND (report->'applied'->'organization'->>'failed')::int = 0",
                        (job, after),
                    )
                    done[job] = [r[0] for r in rows]
                pending = query(pg_url, "SELECT count(*) FROM gcx_svc_events WHERE applied_at IS NULL")[0][0]
                return all(done.values()) and pending == 0

            wait_for(
                settled,
                float(os.environ.get("GCX_TEST_SETTLE", "180")),
                "clean runs after the kills and every event applied",
                step=0.5,
            )
            # the interrupted runs finished on other workers
            for job, after, killed in (
                ("crm_a", first_run, first_worker),
                ("crm_b", second_run, second_worker),
            ):
                workers = [
                    r[0]
                    for r in query(
                        pg_url,
                        "SELECT worker FROM gcx_svc_runs WHERE job = %s AND id > %s AND status = 'ok'",
                        (job, after),
                    )
                ]
                assert workers and killed not in workers
            metrics = httpx.get(f"{web}/metrics").text
        finally:
            codes = fleet.stop()
        alive_codes = {n: c for n, c in codes.items() if c != -signal.SIGKILL}
        assert all(c == 0 for c in alive_codes.values()), (alive_codes, fleet.log_text()[-4000:])

        state_a, state_b = emu_a.dump(), emu_b.dump()
        expect_a = src_a + src_a2 + coalesce(sent_a)
        expect_b = src_b + coalesce(sent_b)
        for state, expected in ((state_a, expect_a), (state_b, expect_b)):
            rep = verify(state, expected, strict_extra=True)
            assert rep.ok, (rep.counts(), rep.duplicates[:3], rep.missing[:3], rep.mismatches[:3])
        for job in ("crm_a", "crm_b", "crm_a2", "hooks_a", "hooks_b"):
            open_ops = query(
                pg_url, f"SELECT count(*) FROM gcx_{job}_ops WHERE state IN ('started', 'unknown')"
            )
            assert open_ops == [(0,)], job
        events = query(
            pg_url, "SELECT count(*), count(DISTINCT (job, event_id)), count(applied_at) FROM gcx_svc_events"
        )
        assert events == [(800, 800, 800)]
        stats = [emu_a.stats(), emu_b.stats()]
        assert all(s["faultsInjected"] > 0 for s in stats), stats  # the faults were really on
        assert not [line for line in metrics.splitlines() if line.startswith("gcx_webhook_events_pending{")]
        assert 'gcx_runs_total{job="crm_a",status="ok"}' in metrics
        logs_text = {p.name: p.read_text(errors="replace") for p in logs.glob("*.log")}
        assert find_secrets(logs_text, [ENV["GC_SECRET"], ENV["HOOK_SECRET"]]) == []
        lines = [
            json.loads(line)
            for text in logs_text.values()
            for line in text.splitlines()
            if line.startswith("{")
        ]
        assert any(line.get("msg") == "stalled job put back in the queue" for line in lines)
