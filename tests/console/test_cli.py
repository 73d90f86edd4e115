"""gcx console user add/list/remove (the password is never an argument, never printed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from gcx.console.db import ConsoleDb
from gcx.console.users import UserStore
from gcx_testkit.listening import OutputWatch, wait_for_url


def _gcx(*args: str, stdin: str = "") -> Any:
    from typer.testing import CliRunner

    from gcx.cli.main import app

    return CliRunner().invoke(app, list(args), input=stdin, env={"COLUMNS": "200"})


def test_user_add_list_remove(tmp_path: Path) -> None:
    db = str(tmp_path / "console.sqlite")
    r = _gcx(
        "console",
        "user",
        "add",
        "ada",
        "--role",
        "operator",
        "--db",
        db,
        "--password-stdin",
        stdin="long enough pw\n",
    )
    assert r.exit_code == 0 and r.stdout.strip() == "user ada (operator) saved", r.output
    r = _gcx("console", "user", "add", "ada", "--db", db, "--password-stdin", stdin="long enough pw\n")
    assert r.exit_code == 1 and "already exists" in r.output
    r = _gcx("console", "user", "add", "bob", "--db", db, "--password-stdin", stdin="short\n")
    assert r.exit_code == 1 and "at least 10 characters" in r.output
    r = _gcx(
        "console", "user", "add", "eve", "--role", "admin", "--db", db, "--password-stdin", stdin="x" * 12
    )
    assert r.exit_code == 1 and "viewer or operator" in r.output
    r = _gcx(
        "console", "user", "add", "cy", "--db", db, stdin="long enough pw\nlong enough pw\n"
    )  # prompted twice
    assert r.exit_code == 0 and "long enough" not in r.output
    r = _gcx("-o", "json", "console", "user", "list", "--db", db)
    assert r.exit_code == 0 and '"ada"' in r.stdout and '"cy"' in r.stdout and "long enough" not in r.stdout
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        assert UserStore(cdb).authenticate("ada", "long enough pw") is not None
        assert UserStore(cdb).authenticate("ada", "wrong password") is None
        assert UserStore(cdb).authenticate("cy", "long enough pw") is not None
    r = _gcx("console", "user", "remove", "ada", "--db", db)
    assert r.exit_code == 0
    r = _gcx("console", "user", "remove", "ada", "--db", db)
    assert r.exit_code == 1 and "no console user named 'ada'" in r.output


def test_console_serve_binds_loopback_and_serves_the_login_page(tmp_path: Path) -> None:
    import httpx

    env = {
        **os.environ,
        "COLUMNS": "200",
        "GENESYSCLOUD_REGION": "http://127.0.0.1:9",
        "GENESYSCLOUD_OAUTHCLIENT_ID": "id",
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": "s3cr3t-canary-77",
    }
    db = tmp_path / "console.sqlite"
    # Port 0: the console binds a free port itself and says which (a test never touches a port
    # it did not open).
    args = ["console", "serve", "--ledger", str(tmp_path / "l.sqlite"), "--db", str(db), "--port", "0"]
    proc = subprocess.Popen(
        [sys.executable, "-m", "gcx.cli.main", *args],
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
        text=True,
    )
    assert proc.stderr is not None
    stderr = OutputWatch(proc.stderr)
    try:
        url = wait_for_url(proc, stderr, r"console on (http://\S+)/\n", what="gcx console serve")
        port = int(url.rsplit(":", 1)[1])
        assert url == f"http://127.0.0.1:{port}" and port != 0
        r = httpx.get(f"{url}/login", timeout=10)
        assert r.status_code == 200 and "Log in" in r.text
        assert "s3cr3t-canary" not in r.text
        assert (db.with_suffix(".secret").stat().st_mode & 0o777) == 0o600
    finally:
        proc.terminate()
        proc.wait(timeout=20)
        err = stderr.close()
    assert "no console user yet" in err and f"http://127.0.0.1:{port}/" in err


def _capture_served(monkeypatch: Any) -> list[Any]:
    """Console serve builds its app and returns instead of serving: the states it would serve."""
    from gcx.listening import ListeningServer

    served: list[Any] = []
    monkeypatch.setattr(
        ListeningServer, "run", lambda self, **_kw: served.append(self.config.app.state.console)
    )
    return served


def test_console_serve_bounds_the_audit_trail_and_decided_plans(tmp_path: Path, monkeypatch: Any) -> None:
    from gcx.console.approvals import DEFAULT_KEEP_APPROVALS
    from gcx.console.audit import DEFAULT_KEEP_AUDIT

    served = _capture_served(monkeypatch)
    env = {"GENESYSCLOUD_REGION": "http://127.0.0.1:9", "GENESYSCLOUD_ACCESS_TOKEN": "t0ken-canary"}
    for k, v in env.items():
        monkeypatch.setenv(k, v)
    base = ["console", "serve", "--ledger", str(tmp_path / "l.sqlite"), "--db", str(tmp_path / "c.sqlite")]
    assert _gcx(*base).exit_code == 0
    assert _gcx(*base, "--keep-audit", "50", "--keep-approvals", "0").exit_code == 0
    assert _gcx(*base, "--keep-audit", "-1").exit_code == 2
    (default, chosen) = served
    assert (default.audit.keep, default.approvals.keep) == (DEFAULT_KEEP_AUDIT, DEFAULT_KEEP_APPROVALS)
    assert (chosen.audit.keep, chosen.approvals.keep) == (50, None)  # 0: keep every one
    for state in served:
        state.close()


def test_console_serve_sets_the_session_limits(tmp_path: Path, monkeypatch: Any) -> None:
    from datetime import UTC, datetime, timedelta

    from gcx.console.sessions import IDLE_SECONDS, LIFETIME_SECONDS

    served = _capture_served(monkeypatch)
    monkeypatch.setenv("GENESYSCLOUD_REGION", "http://127.0.0.1:9")
    monkeypatch.setenv("GENESYSCLOUD_ACCESS_TOKEN", "t0ken-canary")
    base = ["console", "serve", "--ledger", str(tmp_path / "l.sqlite"), "--db", str(tmp_path / "c.sqlite")]
    assert _gcx(*base).exit_code == 0
    assert _gcx(*base, "--session-idle", "15").exit_code == 0
    assert _gcx(*base, "--session-lifetime", "30").exit_code == 0  # the default hour would never apply
    assert _gcx(*base, "--session-idle", "480", "--session-lifetime", "480").exit_code == 0
    try:
        limits = [(s.sessions.idle, s.sessions.lifetime) for s in served]
        assert limits == [(IDLE_SECONDS, LIFETIME_SECONDS), (900, 43_200), (1800, 1800), (28_800, 28_800)]
        assert served[1].session_idle == 900  # what the sessions page says
        # a session ends 15 minutes after its last request
        t0 = datetime(2026, 1, 1, 8, tzinfo=UTC)
        now = [t0]
        store = served[1].sessions
        store.clock = lambda: now[0]
        token = store.create("ada", "10.0.0.1", "Firefox")
        now[0] += timedelta(minutes=14)
        assert store.check(token) is not None
        now[0] += timedelta(minutes=15)
        assert store.check(token) is None
        ended = store.get(_handle(store))
        assert ended is not None and ended.ended_why == "idle"
    finally:
        for state in served:
            state.close()


def _handle(store: Any) -> str:
    with store.db.engine.connect() as conn:
        return str(conn.execute(store.db.sessions.select()).mappings().one()["handle"])


def test_console_serve_refuses_bad_session_limits(tmp_path: Path) -> None:
    base = ["console", "serve", "--ledger", str(tmp_path / "l.sqlite"), "--db", str(tmp_path / "c.sqlite")]
    for opt, value in [
        ("--session-idle", "0"),
        ("--session-idle", "-5"),
        ("--session-idle", "15m"),
        ("--session-lifetime", "0"),
        ("--session-lifetime", "1.5"),
        ("--session-lifetime", "43201"),  # over 30 days
    ]:
        r = _gcx(*base, opt, value)
        assert r.exit_code == 2 and opt in r.output, (opt, value, r.output)
    r = _gcx(*base, "--session-idle", "90", "--session-lifetime", "60")
    assert r.exit_code == 2, r.output
    assert r.output.strip() == (
        "error: --session-idle (90 minutes) must not be more than --session-lifetime (60): "
        "a session ends at its lifetime anyway"
    )
    r = _gcx(*base, "--session-idle", "800")  # longer than the default 12 hours
    assert r.exit_code == 2 and "--session-lifetime (720)" in r.output
