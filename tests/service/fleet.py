"""A fleet of ``gcx serve`` processes for the proof tests and the benchmarks."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx

from .helpers import ENV, query


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


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
        proc = subprocess.Popen(
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
