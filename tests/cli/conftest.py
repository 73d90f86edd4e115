"""Fixtures for the ``gcx`` CLI tests: an in-process runner and the emulator over loopback."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from collections.abc import Callable, Iterator, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gcx import Client
from gcx.cli.main import app
from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

Invoke = Callable[..., Result]


@pytest.fixture
def runner() -> CliRunner:
    return CliRunner()


@pytest.fixture
def invoke(runner: CliRunner) -> Invoke:
    """Run ``gcx ARGS`` in-process; ``env`` adds environment variables, ``obj`` presets ctx.obj."""

    def run(
        args: Sequence[str],
        *,
        input: str | None = None,
        env: Mapping[str, str] | None = None,
        obj: Any = None,
    ) -> Result:
        return runner.invoke(
            app, list(args), input=input, env=dict(env or {}), obj=obj, catch_exceptions=False
        )

    return run


def credentials_env(region: str) -> dict[str, str]:
    """Environment for a run against ``region`` with the canary credentials."""
    return {
        "GENESYSCLOUD_REGION": region,
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
        "GCX_CONFIG": os.environ["GCX_CONFIG"],
    }


# --------------------------------------------------------------------------- emulator


@pytest.fixture(scope="module")
def served_emulator() -> Iterator[tuple[Emulator, str]]:
    """One emulator per test module on real loopback HTTP; only the canary credentials work."""
    emu = Emulator(
        EmulatorSettings(rate_limit=0, credentials=((CANARY_CLIENT_ID, CANARY_SECRET),))
    )  # the documented identity rules (the emulator's strict defaults)
    with emu.serve() as url:
        yield emu, url


@pytest.fixture
def emu(served_emulator: tuple[Emulator, str]) -> Emulator:
    """The module's emulator, emptied for this test."""
    emulator, _ = served_emulator
    emulator.backend.reset()
    return emulator


@pytest.fixture
def base_url(served_emulator: tuple[Emulator, str], emu: Emulator) -> str:
    return served_emulator[1]


@pytest.fixture
def client(base_url: str) -> Iterator[Client]:
    """The library's sync client on the emulator, to seed data and check results."""
    with Client(region=base_url, client_id=CANARY_CLIENT_ID, client_secret=CANARY_SECRET, rate_limit=0) as gc:
        yield gc


def counts(emulator: Emulator) -> tuple[int, int]:
    """(organizations, contacts) stored in the emulator."""
    state = emulator.backend.dump()
    return len(state["organizations"]), len(state["contacts"])


@dataclass
class Run:
    code: int
    stdout: str
    stderr: str

    def json(self) -> Any:
        return json.loads(self.stdout)

    def jsonl(self) -> list[Any]:
        return [json.loads(line) for line in self.stdout.splitlines() if line.strip()]


class Gcx:
    """Runs the real ``gcx`` entry point in a subprocess against the emulator.

    Every run is checked: the client secret never appears in stdout or stderr, and no
    traceback is printed unless ``--verbose`` was given.
    """

    def __init__(self, base_url: str) -> None:
        self.env = {k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))}
        self.env.update(credentials_env(base_url))
        self.env.update({"NO_COLOR": "1", "COLUMNS": "200", "GCX_RATE_LIMIT": "0", "PYTHONWARNINGS": "error"})
        self.runs = 0

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Run:
        run_env = dict(self.env)
        for key, value in (env or {}).items():
            if value is None:
                run_env.pop(key, None)
            else:
                run_env[key] = value
        proc = subprocess.run(
            [sys.executable, "-m", "gcx.cli.main", *args],
            input=input,
            capture_output=True,
            text=True,
            env=run_env,
            timeout=120,
            stdin=None if input is not None else subprocess.DEVNULL,
        )
        self.runs += 1
        for stream in (proc.stdout, proc.stderr):
            assert CANARY_SECRET not in stream, f"secret leaked by gcx {' '.join(args)}"
        if "--verbose" not in args and "-v" not in args:
            assert "Traceback" not in proc.stderr, proc.stderr
        return Run(proc.returncode, proc.stdout, proc.stderr)


class InProcessGcx:
    """The same interface as :class:`Gcx`, running ``gcx`` in this process (typer's CliRunner).

    Far faster than a subprocess (no interpreter start, no imports), so the wide matrix of
    commands, formats and errors runs here; ``test_e2e.py`` runs the real entry point.
    """

    def __init__(self, base_url: str) -> None:
        self.runner = CliRunner()
        self.env: dict[str, str | None] = dict(credentials_env(base_url))
        self.env.update({"NO_COLOR": "1", "COLUMNS": "200", "GCX_RATE_LIMIT": "0"})

    def __call__(
        self, *args: str, input: str | None = None, env: Mapping[str, str | None] | None = None
    ) -> Run:
        run_env = {**self.env, **(env or {})}
        result = self.runner.invoke(app, list(args), input=input, env=run_env, catch_exceptions=False)
        for stream in (result.stdout, result.stderr):
            assert CANARY_SECRET not in stream, f"secret leaked by gcx {' '.join(args)}"
        if "--verbose" not in args and "-v" not in args:
            assert "Traceback" not in result.stderr, result.stderr
        return Run(result.exit_code, result.stdout, result.stderr)


@pytest.fixture
def gcx(base_url: str) -> InProcessGcx:
    """``gcx`` run in-process against the emulator."""
    return InProcessGcx(base_url)


@pytest.fixture
def gcx_proc(base_url: str) -> Gcx:
    """``gcx`` run as a subprocess (the real entry point) against the emulator."""
    return Gcx(base_url)
