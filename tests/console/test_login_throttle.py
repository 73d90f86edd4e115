"""The login throttle is the database's: every web process over one console database counts the
same failures, and a restart forgets none of them (SQLite and, when reachable, PostgreSQL)."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import inspect

from gcx.console import ConsoleDb, ConsoleState, StaticJobs, create_console_app
from gcx.console.security import LoginThrottle
from tests.console.conftest import PASSWORD, csrf_of

PG_ADMIN = "host=127.0.0.1 port=5432 user=postgres dbname=test"


@pytest.fixture(params=["sqlite", "postgres"])
def console_url(request: pytest.FixtureRequest, tmp_path: Path) -> Iterator[str]:
    """A console database of this test's own: a SQLite file, or a fresh PostgreSQL database."""
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'console.sqlite'}"
        return
    import psycopg

    name = f"gcx_throttle_{uuid.uuid4().hex[:10]}"
    try:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'CREATE DATABASE "{name}"')
    except psycopg.Error:
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    try:
        yield f"postgresql+psycopg://postgres@127.0.0.1:5432/{name}"
    finally:
        with psycopg.connect(PG_ADMIN, autocommit=True, connect_timeout=3) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _state(url: str) -> ConsoleState:
    return ConsoleState(db=ConsoleDb(url), jobs=StaticJobs([]))


async def _try(app: Any, name: str, password: str) -> httpx.Response:
    async with httpx.AsyncClient(
        transport=httpx.ASGITransport(app=app), base_url="http://console.test"
    ) as http:
        token = csrf_of((await http.get("/login")).text)
        return await http.post("/login", data={"name": name, "password": password, "csrf": token})


async def test_failures_spread_over_processes_and_a_restart_still_lock_the_name_out(
    console_url: str,
) -> None:
    one, two = _state(console_url), _state(console_url)  # two web processes, one database
    try:
        one.users.add("olga", "operator", PASSWORD)
        one.users.add("victor", "viewer", PASSWORD)
        apps = [create_console_app(one), create_console_app(two)]
        for i in range(5):  # 3 failures on one process, 2 on the other
            r = await _try(apps[i % 2], "olga", f"wrong password {i}")
            assert r.status_code == 401
        for app in apps:
            r = await _try(app, "olga", PASSWORD)
            assert r.status_code == 429 and "Too many failed attempts" in r.text
        assert (await _try(apps[1], "victor", PASSWORD)).status_code == 303  # per name
    finally:
        one.close()
        two.close()
    again = _state(console_url)  # a restart
    try:
        r = await _try(create_console_app(again), "olga", PASSWORD)
        assert r.status_code == 429
        refused = [e for e in again.audit.latest(20) if e.user == "olga" and e.outcome == "refused"]
        assert [e.detail for e in refused[:3]] == [{"reason": "too many failures"}] * 3
        with again.db.engine.connect() as conn:  # no password kept, only when and whose
            stored = [str(v) for row in conn.execute(again.db.login_failures.select()) for v in row]
        assert stored and not any("wrong password" in v for v in stored)
    finally:
        again.close()


def test_the_window_passes_a_success_resets_and_old_failures_go(console_url: str) -> None:
    clock = [1000.0]
    with ConsoleDb(console_url) as db:
        a, b = (LoginThrottle(db, limit=2, window=10, clock=lambda: clock[0]) for _ in range(2))
        assert a.attempt("ann")
        assert b.attempt("ann")
        assert a.blocked("ann") and b.blocked("ann") and not a.blocked("bob")
        clock[0] += 11  # the window has passed
        assert not b.blocked("ann")
        assert a.attempt("ann")
        assert b.attempt("ann")
        a.succeeded("ann")  # a success forgets the name's failures, on every process
        assert not b.blocked("ann")
        for name in ("x", "y", "x'; DROP TABLE gcx_console_users; --"):
            assert a.attempt(name)
        clock[0] += 11
        assert b.attempt("z")  # an attempt deletes the ones older than the window: the table stays small
        with db.engine.connect() as conn:
            assert len(conn.execute(db.login_failures.select()).all()) == 1
        assert inspect(db.engine).has_table(db.users.name)  # names are bound parameters


async def test_a_login_name_longer_than_any_user_name_is_refused_cleanly(console_url: str) -> None:
    """A name past the 64 characters a user name may have is a wrong name (401), audited under a
    shortened name: never a 500 because the audit column is narrower (PostgreSQL checks it)."""
    st = _state(console_url)
    try:
        st.users.add("olga", "operator", PASSWORD)
        app = create_console_app(st)
        long_name = "x" * 300
        r = await _try(app, long_name, PASSWORD)
        assert r.status_code == 401 and "Wrong name or password" in r.text
        refused = [e for e in st.audit.latest(5) if e.outcome == "refused"]
        assert refused and len(refused[0].user) <= 64 and refused[0].user.startswith("x" * 60)
        for _ in range(5):
            await _try(app, long_name, "nope")
        assert (await _try(app, long_name, PASSWORD)).status_code == 429  # throttled all the same
    finally:
        st.close()


async def test_a_burst_of_parallel_attempts_gets_no_more_than_the_limit(console_url: str) -> None:
    """Each attempt is counted before its password is checked (Argon2 takes a while), so a burst
    sent at once gets ``limit`` tries, not one per request: checking, then recording after the
    password check, let every request of a burst through."""
    st = _state(console_url)
    try:
        st.users.add("olga", "operator", PASSWORD)
        app = create_console_app(st)
        answers = await asyncio.gather(*(_try(app, "olga", f"guess {i}") for i in range(12)))
        codes = sorted(r.status_code for r in answers)
        assert codes == [401] * 5 + [429] * 7, codes
        assert (await _try(app, "olga", PASSWORD)).status_code == 429  # the real one waits too
    finally:
        st.close()
