"""A fleet of ``gcx serve`` processes against emulators, for the service's proof tests and benchmarks.

:class:`Fleet` starts worker and web processes (``python -m gcx.cli.main serve ...``) on one
database, kills them, waits for runs; :func:`shared_limits` is the scenario "three workers
sharing one OAuth client against an emulator limited to N requests per minute" and returns
its figures (tests assert correctness, ``benchmarks/service_shared_limits.py`` prints them).
"""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import psycopg

from gcx.emulator import Emulator, EmulatorSettings
from gcx_testkit.listening import wait_for_url

#: Credentials and the webhook secret the scenarios put in the processes' environment.
ENV = {
    "GC_ID": "svc-client",
    "GC_SECRET": "svc-secret-0123456789",
    "HOOK_SECRET": "whsec-test-0123456789abcdef",
}


def query(url: str, sql: str, params: tuple[Any, ...] = ()) -> list[tuple[Any, ...]]:
    with psycopg.connect(url, autocommit=True) as conn:
        return list(conn.execute(sql.encode(), params).fetchall())


def wait_for(check: Callable[[], bool], timeout: float, what: str, step: float = 0.2) -> None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if check():
            return
        time.sleep(step)
    raise AssertionError(f"timed out after {timeout:g} s waiting for {what}")


@dataclass
class Fleet:
    """Worker and web processes against one database; every output in ``logs``."""

    config: Path
    url: str
    logs: Path
    env: dict[str, str] = field(default_factory=lambda: dict(ENV))
    procs: dict[str, subprocess.Popen[bytes]] = field(default_factory=dict)
    files: list[Any] = field(default_factory=list)

    def start(self, name: str, command: str) -> subprocess.Popen[bytes]:
        full = {**os.environ, **self.env, "GCX_DATABASE_URL": self.url, "COLUMNS": "200"}
        log = (self.logs / f"{name}.log").open("ab")
        self.files.append(log)
        proc = subprocess.Popen(  # noqa: S603 - our own CLI, fixed arguments
            [sys.executable, "-m", "gcx.cli.main", "serve", command, str(self.config)],
            env=full,
            stdout=log,
            stderr=subprocess.STDOUT,
        )
        self.procs[name] = proc
        return proc

    def pid_of(self, worker: str) -> str | None:
        """The process name ("w1") whose pid is in a ``host:pid`` worker column."""
        pid = int(worker.rsplit(":", 1)[1])
        return next((n for n, p in self.procs.items() if p.pid == pid), None)

    def kill(self, name: str, sig: int = signal.SIGKILL) -> int:
        proc = self.procs[name]
        proc.send_signal(sig)
        return proc.wait(timeout=60)

    def web_url(self, name: str = "web", timeout: float = 60) -> str:
        """The address web process ``name`` says it listens on (start it with ``[web] port = 0``:
        a test never touches a port it did not open)."""
        return wait_for_url(
            self.procs[name],
            self.logs / f"{name}.log",
            r'"web listening on (http://[^"\s]+)"',
            timeout=timeout,
            what=f"the web process {name!r}",
        )

    def wait_web(self, base: str, timeout: float = 30) -> None:
        end = time.monotonic() + timeout
        while time.monotonic() < end:
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.2)
        raise AssertionError(f"the web process did not get ready: {self.log_text()[-3000:]}")

    def running_run(self, job: str) -> tuple[int, str] | None:
        rows = query(
            self.url,
            "SELECT id, worker FROM gcx_svc_runs WHERE job = %s AND finished_at IS NULL ORDER BY id DESC LIMIT 1",
            (job,),
        )
        return (int(rows[0][0]), str(rows[0][1])) if rows else None

    def dump_stacks(self) -> None:
        """Every live process writes its threads' stacks to its log (faulthandler, SIGUSR1)."""
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGUSR1)
        time.sleep(1)

    def log_text(self) -> str:
        return "\n".join(p.read_text(errors="replace") for p in sorted(self.logs.glob("*.log")))

    def stop(self) -> dict[str, int | None]:
        codes: dict[str, int | None] = {}
        for proc in self.procs.values():
            if proc.poll() is None:
                proc.send_signal(signal.SIGTERM)
        for name, proc in self.procs.items():
            try:
                codes[name] = proc.wait(timeout=60)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                codes[name] = None
        for fh in self.files:
            fh.close()
        return codes


def _contacts_jsonl(path: Path, prefix: str, n: int) -> None:
    lines = [
        json.dumps(
            {"kind": "contact", "externalId": f"{prefix}-{i}", "firstName": f"F{i}", "lastName": f"L{i}"}
        )
        for i in range(n)
    ]
    path.write_text("\n".join(lines) + "\n")


def _ok_calls(emu: Emulator) -> tuple[int, int]:
    """API calls answered (not 429) and 429s so far."""
    routes = emu.stats()["routes"]
    ok = sum(r["count"] for r in routes if r["route"].startswith("/api/v2") and r["status"] != 429)
    limited = sum(r["count"] for r in routes if r["route"].startswith("/api/v2") and r["status"] == 429)
    return ok, limited


def shared_limits(
    url: str, workdir: Path, *, rate: int = 300, seconds: float = 60.0, contacts: int = 2000, workers: int = 3
) -> dict[str, Any]:
    """Three jobs (one OAuth client, one External Source, disjoint keys) on ``workers`` workers against an emulator limited to
    ``rate`` requests per minute per token, for ``seconds`` after the first runs finished.

    Returns the figures: token requests, requests, 429s, and the share of the allowed rate
    used over the measured window."""
    emu = Emulator(EmulatorSettings(rate_limit=rate, seed=9))
    logs = workdir / "logs"
    logs.mkdir(parents=True, exist_ok=True)
    with emu.serve() as base:
        jobs = []
        for j in range(3):
            _contacts_jsonl(workdir / f"src{j}.jsonl", f"j{j}", contacts)
            jobs.append(
                f'[jobs.job{j}]\nprofile = "shared"\nschedule = "* * * * * */2"\n'
                f'source = {{ type = "jsonl", path = "src{j}.jsonl" }}\n'
            )
        text = (
            "[service]\nheartbeat_interval = 1\nstalled_after = 10\n"
            f'[profiles.shared]\nregion = "{base}"\nclient_id_env = "GC_ID"\n'
            f'client_secret_env = "GC_SECRET"\nrate_limit = {rate}\n' + "\n".join(jobs)
        )
        config = workdir / "service.toml"
        config.write_text(text)
        fleet = Fleet(config, url, logs)
        try:
            for w in range(workers):
                fleet.start(f"w{w + 1}", "worker")

            def first_runs() -> bool:
                rows = query(url, "SELECT count(DISTINCT job) FROM gcx_svc_runs WHERE status = 'ok'")
                return int(rows[0][0]) == 3

            try:
                wait_for(first_runs, 300, "a first run of every job")
            except AssertionError:
                fleet.dump_stacks()
                raise
            ok0, limited0 = _ok_calls(emu)
            t0 = time.monotonic()
            time.sleep(seconds)
            ok1, limited1 = _ok_calls(emu)
            window = time.monotonic() - t0
        finally:
            codes = fleet.stop()
        stats = emu.stats()
    total = ok1 + limited1
    return {
        "rate_per_minute": rate,
        "workers": workers,
        "token_requests": stats["tokensIssued"],
        "api_requests": total,
        "rate_limited": limited1,
        "rate_limited_share": limited1 / total if total else 0.0,
        "window_seconds": round(window, 1),
        "window_requests": ok1 - ok0,
        "window_rate_limited": limited1 - limited0,
        "used_share": (ok1 - ok0) / (rate / 60.0 * window),
        "exit_codes": codes,
    }
