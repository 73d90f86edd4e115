"""gcx console user add/list/remove (the password is never an argument, never printed)."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

from gcx.console.db import ConsoleDb
from gcx.console.users import UserStore


def _gcx(*args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "COLUMNS": "200"}
    return subprocess.run(
        [sys.executable, "-m", "gcx.cli.main", *args],
        input=stdin,
        capture_output=True,
        text=True,
        env=env,
        timeout=60,
    )


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
    assert r.returncode == 0 and r.stdout.strip() == "user ada (operator) saved", r.stderr
    r = _gcx("console", "user", "add", "ada", "--db", db, "--password-stdin", stdin="long enough pw\n")
    assert r.returncode == 1 and "already exists" in r.stderr
    r = _gcx("console", "user", "add", "bob", "--db", db, "--password-stdin", stdin="short\n")
    assert r.returncode == 1 and "at least 10 characters" in r.stderr
    r = _gcx(
        "console", "user", "add", "eve", "--role", "admin", "--db", db, "--password-stdin", stdin="x" * 12
    )
    assert r.returncode == 1 and "viewer or operator" in r.stderr
    r = _gcx("-o", "json", "console", "user", "list", "--db", db)
    assert r.returncode == 0 and '"ada"' in r.stdout and "long enough" not in r.stdout
    with ConsoleDb(f"sqlite:///{db}") as cdb:
        assert UserStore(cdb).authenticate("ada", "long enough pw") is not None
        assert UserStore(cdb).authenticate("ada", "wrong password") is None
    r = _gcx("console", "user", "remove", "ada", "--db", db)
    assert r.returncode == 0
    r = _gcx("console", "user", "remove", "ada", "--db", db)
    assert r.returncode == 1 and "no console user named 'ada'" in r.stderr
