"""Running ``gcx`` as a separate process that the gate can SIGKILL: a fresh interpreter per run,
or a fork server (:mod:`gcx_testkit.chaos.fork_server`) that imported gcx once."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import subprocess
import sys
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Protocol


class Launcher(Protocol):
    """Runs ``gcx <args>`` as a separate process that can be SIGKILLed; returns its exit code
    (negative: killed by that signal; None: it outlived ``timeout`` and was killed)."""

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None: ...

    def close(self) -> None:
        """Release what the launcher holds."""
        ...


class SubprocessLauncher:
    """``python -m gcx.cli.main ARGS``: a fresh interpreter per run (the most faithful)."""

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None:
        cmd = [sys.executable, "-m", "gcx.cli.main", *args]
        with out.open("wb") as fo, err.open("wb") as fe:
            proc = subprocess.Popen(  # noqa: S603 - our own interpreter and arguments
                cmd, cwd=cwd, env=env, stdout=fo, stderr=fe, stdin=subprocess.DEVNULL
            )
            on_pid(proc.pid)
            try:
                return proc.wait(timeout=timeout)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
                return None

    def close(self) -> None:
        """Nothing to release: each run was its own process."""


class ForkLauncher:
    """Runs through a fork server that imported gcx once: much faster starts, same ``main()``."""

    def __init__(self) -> None:
        self.proc: subprocess.Popen[str] | None = None

    def _server(self) -> subprocess.Popen[str]:
        if self.proc is None:
            self.proc = subprocess.Popen(
                [sys.executable, "-m", "gcx_testkit.chaos.fork_server"],
                stdin=subprocess.PIPE,
                stdout=subprocess.PIPE,
                stderr=subprocess.DEVNULL,
                text=True,
                env={k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))},
            )
        return self.proc

    def run(
        self,
        args: list[str],
        cwd: Path,
        env: dict[str, str],
        out: Path,
        err: Path,
        on_pid: Callable[[int], None],
        timeout: float,
    ) -> int | None:
        proc = self._server()
        assert proc.stdin is not None and proc.stdout is not None
        req = {"args": args, "cwd": str(cwd), "env": env, "out": str(out), "err": str(err)}
        proc.stdin.write(json.dumps(req) + "\n")
        proc.stdin.flush()
        pid = int(json.loads(proc.stdout.readline())["pid"])
        on_pid(pid)
        proc.stdin.write("go\n")
        proc.stdin.flush()
        fired: list[bool] = []

        def on_timeout() -> None:
            fired.append(True)
            _kill_quietly(pid)

        timer = threading.Timer(timeout, on_timeout)
        timer.start()
        try:
            line = proc.stdout.readline()
        finally:
            timer.cancel()
        if not line:
            raise RuntimeError("the gcx fork server stopped")
        code = int(json.loads(line)["exit"])
        return None if fired else code

    def close(self) -> None:
        if self.proc is not None:
            assert self.proc.stdin is not None and self.proc.stdout is not None
            self.proc.stdin.close()
            self.proc.wait(timeout=30)
            self.proc.stdout.close()
            self.proc = None


def _kill_quietly(pid: int) -> None:
    with contextlib.suppress(ProcessLookupError):
        os.kill(pid, signal.SIGKILL)
