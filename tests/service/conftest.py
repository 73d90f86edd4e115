"""Fixtures for the service tests: a fresh PostgreSQL database per test, emulators, configs."""

from __future__ import annotations

import os
import subprocess
import sys
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from types import SimpleNamespace

import pytest

ADMIN = "postgresql://postgres@127.0.0.1:5432/test"
_TEMPLATE: list[str] = []


def _admin() -> object:
    import psycopg

    try:
        return psycopg.connect(ADMIN, autocommit=True, connect_timeout=3)
    except psycopg.Error:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")


def _template() -> str:
    """A database with the service schema applied, made once per session (copied per test)."""
    if not _TEMPLATE:
        from gcx.service.database import ensure_schema

        name = f"gcx_svc_tpl_{uuid.uuid4().hex[:8]}"
        with _admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'CREATE DATABASE "{name}"')
        ensure_schema(f"postgresql://postgres@127.0.0.1:5432/{name}")
        _TEMPLATE.append(name)
    return _TEMPLATE[0]


@pytest.fixture(scope="session", autouse=True)
def _drop_template() -> Iterator[None]:
    yield
    if _TEMPLATE:
        with _admin() as conn:  # type: ignore[attr-defined]
            conn.execute(f'DROP DATABASE IF EXISTS "{_TEMPLATE[0]}" WITH (FORCE)')


@pytest.fixture
def pg_url() -> Iterator[str]:
    """A fresh database (service schema applied) for this test only; dropped afterwards."""
    template = _template()
    name = f"gcx_svc_{uuid.uuid4().hex[:12]}"
    with _admin() as conn:  # type: ignore[attr-defined]
        conn.execute(f'CREATE DATABASE "{name}" TEMPLATE "{template}"')
    try:
        yield f"postgresql://postgres@127.0.0.1:5432/{name}"
    finally:
        if not os.environ.get("GCX_TEST_KEEP_DB"):  # debugging: keep it (its name is in the test's URL)
            with _admin() as conn:  # type: ignore[attr-defined]
                conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def start_process(args: list[str], env: dict[str, str], log: Path) -> subprocess.Popen[bytes]:
    """``gcx serve ...`` in a child process, its output in ``log``."""
    full = {**os.environ, **env, "COLUMNS": "200"}
    fh = log.open("ab")
    return subprocess.Popen(
        [sys.executable, "-m", "gcx.cli.main", *args], env=full, stdout=fh, stderr=subprocess.STDOUT
    )


#: The clock the service tests' periodic deferrer reads: 12:44:30 UTC on a weekday, when no
#: schedule these tests use has ticked in the last 10 minutes ("0 3 * * *", "17 * * * *",
#: "0 0 1 1 *", "*/15 * * * *").
QUIET_CLOCK = datetime(2026, 6, 17, 12, 44, 30, tzinfo=UTC).timestamp()


@pytest.fixture(autouse=True)
def _quiet_periodic_clock(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """A worker started in a test process sees no cron tick fire by itself.

    procrastinate's periodic deferrer defers, when a worker starts, a tick that fell in the last
    10 minutes (``max_delay``): a test whose job runs ``"0 3 * * *"`` got an extra scheduled run
    when it ran between 03:00 and 03:10 UTC, and failed. The deferrer's clock is pinned at
    :data:`QUIET_CLOCK` instead; a test that wants the ticks is marked ``real_clock``. Workers in
    subprocesses (the fleet tests) keep the real clock."""
    if request.node.get_closest_marker("real_clock") is not None:
        return
    import procrastinate.periodic

    monkeypatch.setattr(procrastinate.periodic, "time", SimpleNamespace(time=lambda: QUIET_CLOCK))
