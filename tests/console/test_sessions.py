"""Server-side sessions: logout ends them for real, operators see and revoke them, disabling a
user or changing a password ends theirs, idle timeout and absolute lifetime, the CLI."""

from __future__ import annotations

import re
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import httpx

from gcx.console.db import ConsoleDb
from gcx.console.sessions import SessionStore, expired_why
from gcx.console.users import UserStore

from .conftest import PASSWORD, Env, csrf_of, login


def _client(env: Env) -> httpx.AsyncClient:
    return httpx.AsyncClient(transport=httpx.ASGITransport(app=env.app), base_url="http://console.test")


async def _is_in(http: httpx.AsyncClient) -> bool:
    r = await http.get("/")
    return r.status_code == 200


async def test_logout_ends_the_session_and_a_replayed_cookie_is_refused(env: Env) -> None:
    async with _client(env) as http:
        csrf = await login(http, "victor")
        cookie = http.cookies.get("gcx_console")
        assert cookie and await _is_in(http)
        r = await http.post("/logout", data={"csrf": csrf})
        assert r.status_code == 303
    async with _client(env) as replay:
        replay.cookies.set("gcx_console", cookie)
        r = await replay.get("/")
        assert r.status_code == 303 and "/login" in r.headers["location"]
        r = await replay.post("/approvals/1/reject", data={"csrf": csrf})
        assert r.status_code == 401
    assert env.state.sessions.active("victor") == []


async def test_an_operator_sees_and_revokes_sessions_a_viewer_only_their_own(env: Env) -> None:
    async with _client(env) as olga, _client(env) as victor:
        csrf_o = await login(olga, "olga")
        csrf_v = await login(victor, "victor")
        page = (await olga.get("/sessions")).text
        assert page.count("<tr>\n  <td>") == 2 and ">victor<" in page and ">olga<" in page
        assert "this one" in page and "<code>127.0.0.1</code>" in page
        assert "after 1 hour without a request and 12 hours after login" in page  # the defaults
        (v_handle,) = [s.handle for s in env.state.sessions.active("victor")]
        (o_handle,) = [s.handle for s in env.state.sessions.active("olga")]
        mine = (await victor.get("/sessions")).text
        assert v_handle in mine and o_handle not in mine  # a viewer sees their own only
        r = await victor.post(f"/sessions/{o_handle}/revoke", data={"csrf": csrf_v})
        assert r.status_code == 404 and await _is_in(olga)
        r = await olga.post(f"/sessions/{v_handle}/revoke", data={"csrf": csrf_o})
        assert r.status_code == 303 and r.headers["location"].endswith("/sessions")
        assert not await _is_in(victor)  # ended at once, not in 12 hours
        assert await _is_in(olga)
        activity = (await olga.get("/activity")).text
        assert re.search(r"<td>olga</td><td>revoke</td><td><code>session " + v_handle, activity)
        # ending one's own session logs out
        r = await olga.post(f"/sessions/{o_handle}/revoke", data={"csrf": csrf_o})
        assert r.status_code == 303 and r.headers["location"].endswith("/login")
        assert not await _is_in(olga)


async def test_disabling_a_user_or_a_new_password_ends_their_sessions(env: Env) -> None:
    async with _client(env) as http:
        await login(http, "victor")
        env.state.users.add("victor", "viewer", "another long password", replace=True)
        assert not await _is_in(http)
    async with _client(env) as http:
        await login(http, "victor", "another long password")
        assert env.state.users.set_disabled("victor", True)
        assert not await _is_in(http)
        page = await http.get("/login")
        r = await http.post(
            "/login", data={"name": "victor", "password": "another long password", "csrf": csrf_of(page.text)}
        )
        assert r.status_code == 401  # a disabled user cannot log in
        assert [u.disabled for u in env.state.users.list() if u.name == "victor"] == [True]
        env.state.users.set_disabled("victor", False)
        await login(http, "victor", "another long password")
        assert await _is_in(http)


def test_idle_timeout_and_absolute_lifetime(tmp_path: Path) -> None:
    t0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
    assert expired_why(t0, t0, t0 + timedelta(minutes=59), 3600, 43200) is None
    assert expired_why(t0, t0, t0 + timedelta(minutes=60), 3600, 43200) == "idle"
    assert expired_why(t0, t0 + timedelta(hours=11.9), t0 + timedelta(hours=12), 3600, 43200) == "expired"
    now = [t0]
    with ConsoleDb(f"sqlite:///{tmp_path / 'c.sqlite'}") as db:
        store = SessionStore(db, idle=1800, lifetime=4 * 3600, clock=lambda: now[0])
        active = store.create("ada", "10.0.0.1", "Firefox")
        for _ in range(9):  # a request every 25 minutes keeps it alive (3 h 45)...
            now[0] += timedelta(minutes=25)
            assert store.check(active) is not None
        now[0] = t0 + timedelta(hours=4)  # ...until four hours after login
        assert store.check(active) is None
        idle = store.create("ada", "10.0.0.1", "Firefox")
        now[0] += timedelta(minutes=31)
        assert store.check(idle) is None
        assert store.active() == []
        assert {s.ended_why for s in _ended(db)} == {"expired", "idle"}
        now[0] += timedelta(days=31)
        assert store.forget_ended() == 2 and _ended(db) == []


def _ended(db: ConsoleDb) -> list[Any]:
    with db.engine.connect() as conn:
        return list(conn.execute(db.sessions.select()).mappings())


def _gcx(*args: str, stdin: str = "") -> Any:
    from typer.testing import CliRunner

    from gcx.cli.main import app

    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


def test_the_cli_lists_and_revokes_sessions_and_disables_users(tmp_path: Path) -> None:
    db = str(tmp_path / "console.sqlite")
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        UserStore(cdb).add("ada", "operator", PASSWORD)
        store = SessionStore(cdb)
        one, two = store.create("ada", "10.0.0.1", "Firefox"), store.create("ada", "10.0.0.2", "Chromium")
        handles = [s.handle for s in store.active()]
    r = _gcx("-o", "json", "console", "session", "list", "--db", db)
    assert r.exit_code == 0 and "10.0.0.1" in r.stdout and "10.0.0.2" in r.stdout, r.output
    assert one not in r.stdout and two not in r.stdout  # the tokens never leave the cookie
    r = _gcx("console", "session", "revoke", handles[0], "--db", db)
    assert r.exit_code == 0 and f"session {handles[0]} of ada ended" in r.stdout
    r = _gcx("console", "session", "revoke", handles[0], "--db", db)
    assert r.exit_code == 1 and "no live session" in r.output
    r = _gcx("console", "session", "revoke", "--db", db)
    assert r.exit_code == 1 and "--user" in r.output
    r = _gcx("console", "user", "disable", "ada", "--db", db)
    assert r.exit_code == 0 and "disabled" in r.stdout
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        assert SessionStore(cdb).active() == []
        assert UserStore(cdb).authenticate("ada", PASSWORD) is None
    r = _gcx("console", "user", "enable", "ada", "--db", db)
    assert r.exit_code == 0
    r = _gcx("console", "user", "disable", "nobody", "--db", db)
    assert r.exit_code == 1 and "no console user named 'nobody'" in r.output


def test_a_console_database_from_before_sessions_is_upgraded(tmp_path: Path) -> None:
    import sqlite3

    path = tmp_path / "old.sqlite"
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE gcx_console_users (name VARCHAR(64) PRIMARY KEY, role VARCHAR(16) NOT NULL, "
            "password_hash TEXT NOT NULL, created_at VARCHAR(40) NOT NULL)"
        )
    with ConsoleDb(f"sqlite:///{path}") as db:
        users = UserStore(db)
        users.add("ada", "viewer", PASSWORD)
        assert users.get("ada") is not None and users.set_disabled("ada", True) and users.get("ada") is None


async def test_a_login_forgets_sessions_that_ended_a_month_ago(env: Env) -> None:
    old = env.state.sessions.create("victor", "10.0.0.9", "Firefox")
    env.state.sessions.end(old)
    with env.state.db.engine.begin() as conn:
        conn.execute(env.state.db.sessions.update().values(ended_at="2020-01-01T00:00:00+00:00"))
    async with _client(env) as http:
        await login(http, "olga")
    assert [s["address"] for s in _ended(env.state.db)] == ["127.0.0.1"]


def test_session_list_ends_sessions_by_the_limits_it_is_given(tmp_path: Path) -> None:
    """A 13-hour-old session of a console serving 24-hour sessions is live: listing it with the
    same --session-lifetime keeps it; with the default 12 hours ends it."""
    db = str(tmp_path / "console.sqlite")
    now = datetime.now(UTC)
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        token = SessionStore(cdb, lifetime=24 * 3600, clock=lambda: now - timedelta(hours=13)).create(
            "ada", "10.0.0.1", "Firefox"
        )
        day = SessionStore(cdb, idle=24 * 3600, lifetime=24 * 3600, clock=lambda: now - timedelta(minutes=5))
        seen = day.check(token)  # a request 5 minutes ago
        assert seen is not None
    r = _gcx("-o", "json", "console", "session", "list", "--db", db, "--session-lifetime", "1440")
    assert r.exit_code == 0 and seen.handle in r.stdout, r.output
    r = _gcx("-o", "json", "console", "session", "list", "--db", db)
    assert r.exit_code == 0 and seen.handle not in r.stdout, r.output
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        assert [s["ended_why"] for s in _ended(cdb)] == ["expired"]
    r = _gcx("console", "session", "list", "--db", db, "--session-idle", "0")
    assert r.exit_code == 2


def test_a_store_refuses_limits_that_make_no_sense(tmp_path: Path) -> None:
    import pytest

    with ConsoleDb(f"sqlite:///{tmp_path / 'c.sqlite'}") as db:
        for idle, lifetime in [(0, 3600), (-1, 3600), (7200, 3600)]:
            with pytest.raises(ValueError, match="idle"):
                SessionStore(db, idle=idle, lifetime=lifetime)
        assert SessionStore(db, idle=900, lifetime=900).idle == 900


def test_limits_are_spoken_as_people_say_them() -> None:
    from gcx.console.sessions import spoken

    assert [spoken(m * 60) for m in (1, 15, 60, 90, 720, 1440, 2880, 2940, 43200)] == [
        "1 minute", "15 minutes", "1 hour", "90 minutes", "12 hours", "24 hours", "2 days",
        "49 hours", "30 days",
    ]  # fmt: skip
