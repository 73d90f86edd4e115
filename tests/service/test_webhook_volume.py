"""Proof: 10,000 webhook events applied in coalesced bulk batches, across a worker kill, replays inert.

2,000 contacts exist (an earlier batch); then 10,000 events arrive within seconds: updates of
those 2,000 and creates of 8,000 more. They are applied with at most 120 API requests in all,
although the worker applying them is killed (-9) in the middle; nothing is lost, and sending
the same events again changes nothing.
"""

from __future__ import annotations

import signal
from pathlib import Path
from typing import Any

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.intake import coalesce
from gcx_testkit.service_fleet import Fleet
from gcx_testkit.verify import verify

from .helpers import config_text, contact, events_body, query, signed, wait_for

pytestmark = [pytest.mark.postgres, pytest.mark.slow]

BATCH = 500


def _post(client: httpx.Client, events: list[tuple[str, dict[str, Any]]]) -> tuple[int, int]:
    accepted = dups = 0
    for k in range(0, len(events), BATCH):
        chunk = events[k : k + BATCH]
        body = events_body([r for _, r in chunk], [i for i, _ in chunk])
        r = client.post("/hooks/push", content=body, headers=signed(body))
        assert r.status_code == 202, r.text
        accepted += r.json()["accepted"]
        dups += r.json()["duplicates"]
    return accepted, dups


def _pending(url: str) -> int:
    return int(query(url, "SELECT count(*) FROM gcx_svc_events WHERE applied_at IS NULL")[0][0])


def test_ten_thousand_events_few_requests_a_kill_and_replays(pg_url: str, tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=5, latency=0.1))
    with emu.serve() as base:
        jobs = """
[web]
port = 0

[jobs.push]
profile = "emu"
source = { type = "webhook", secret_env = "HOOK_SECRET" }
"""
        (tmp_path / "service.toml").write_text(
            config_text({"emu": base}, jobs, coalesce_seconds=4, max_events_per_request=BATCH)
        )
        logs = tmp_path / "logs"
        logs.mkdir()
        fleet = Fleet(tmp_path / "service.toml", pg_url, logs)
        try:
            fleet.start("web", "web")
            fleet.start("w1", "worker")
            fleet.start("w2", "worker")
            web = fleet.web_url()  # port 0: the port it bound, read from its log
            fleet.wait_web(web)
            with httpx.Client(base_url=web, timeout=60) as client:
                seed = [(f"s{i}", contact(i)) for i in range(2000)]
                assert _post(client, seed) == (2000, 0)
                wait_for(lambda: _pending(pg_url) == 0, 120, "the first 2,000 contacts")
                before = emu.stats()["apiCalls"]
                seed_runs = int(query(pg_url, "SELECT max(id) FROM gcx_svc_runs")[0][0])

                updates = [
                    (f"u{i}", {"kind": "contact", "externalId": f"c-{i}", "title": f"t{i}"})
                    for i in range(2000)
                ]
                creates = [(f"n{i}", contact(i)) for i in range(2000, 10000)]
                events = updates + creates
                assert _post(client, events) == (10000, 0)

                def mid_run() -> bool:
                    run = fleet.running_run("push")
                    if run is None or run[0] <= seed_runs:
                        return False
                    done = query(pg_url, "SELECT count(*) FROM gcx_push_ops WHERE state = 'done'")[0][0]
                    return int(done) >= 2000 + 2400  # the 2,000 seed creates + updates + some creates

                wait_for(mid_run, 120, "the big batch in progress", step=0.05)
                _run, worker = fleet.running_run("push")  # type: ignore[misc]
                victim = fleet.pid_of(worker)
                assert victim is not None
                assert fleet.kill(victim) == -signal.SIGKILL
                wait_for(lambda: _pending(pg_url) == 0, 180, "every event applied after the kill")
                used = emu.stats()["apiCalls"] - before
                state = emu.dump()

                # replays: the same events again are all duplicates, and nothing is applied
                assert _post(client, events[:1000] + events[-1000:]) == (0, 2000)
                runs_before = query(pg_url, "SELECT count(*) FROM gcx_svc_runs")[0][0]
        finally:
            fleet.stop()
        assert query(pg_url, "SELECT count(*) FROM gcx_svc_runs")[0][0] == runs_before
        assert emu.dump() == state
        print(f"10,000 events: {used} API requests")
        assert used <= 120, used
        expected = coalesce([r for _, r in seed] + [r for _, r in events])
        rep = verify(state, expected, strict_extra=True)
        assert rep.ok, rep.counts()
        assert rep.present["contact"] == 10000
        runs = query(
            pg_url, "SELECT worker, status FROM gcx_svc_runs WHERE id > %s ORDER BY id", (seed_runs,)
        )
        assert runs[0][0] == worker and runs[0][1] == "running"  # the killed run never finished
        assert all(r[0] != worker for r in runs[1:])
        assert query(pg_url, "SELECT count(*), count(applied_at) FROM gcx_svc_events") == [(12000, 12000)]
