"""A password in a URL (issue 11, item 10) and files holding contact data (item 11).

``http://user:pass@host`` as a region, a ledger URL or a SQL source URL must never show its
password: not in verbose logs, ``auth check``, ``config show``, the ledger's binding, ``sync
status`` or reports. Ledgers, reports and exports are created 0600; a world-readable config
file (it holds the client secret) is warned about.
"""

from __future__ import annotations

import json
import os
import sqlite3
import stat
from collections.abc import Iterator
from pathlib import Path

import pytest

from gcx import redact
from gcx.config import resolve_region
from gcx.emulator import Emulator, EmulatorSettings
from tests.cli.conftest import InProcessGcx

PASSWORD = "s3cr3t-Url-Pw"


def test_redact_url_masks_the_password_and_keeps_the_rest() -> None:
    cases = {
        f"http://user:{PASSWORD}@127.0.0.1:8787/api": "http://user:***@127.0.0.1:8787/api",
        f"postgresql+psycopg://sync:{PASSWORD}@db:5432/gcx": "postgresql+psycopg://sync:***@db:5432/gcx",
        f"https://u:p@ss:{PASSWORD}@host/x": "https://u:***@host/x",  # an unescaped @ in the password
        "https://host/path@x": "https://host/path@x",  # no user info
        "http://user@host": "http://user@host",  # a user alone is not a secret
        "sqlite:///gcx-ledger.sqlite": "sqlite:///gcx-ledger.sqlite",
    }
    for url, want in cases.items():
        assert redact.redact_url(url) == want
    assert PASSWORD not in redact.scrub(f"cannot reach http://a:{PASSWORD}@h: refused")


def test_a_region_url_keeps_its_password_out_of_its_name_and_repr() -> None:
    region = resolve_region(f"http://user:{PASSWORD}@127.0.0.1:8787")
    assert PASSWORD not in region.name and PASSWORD not in repr(region)
    assert region.name == "http://user:***@127.0.0.1:8787"
    assert PASSWORD in region.api_base  # still used to connect


@pytest.fixture(scope="module")
def open_emulator() -> Iterator[str]:
    """An emulator that takes any credentials: the URL's user info is sent as Basic auth."""
    with Emulator(EmulatorSettings(rate_limit=0)).serve() as url:
        yield url


def _with_password(url: str) -> str:
    return url.replace("http://", f"http://user:{PASSWORD}@")


def _assert_clean(*texts: str) -> None:
    for text in texts:
        assert PASSWORD not in text


def test_region_password_never_shown(gcx: InProcessGcx, open_emulator: str, tmp_path: Path) -> None:
    base_url = open_emulator
    env = {"GENESYSCLOUD_REGION": _with_password(base_url)}
    run = gcx("-v", "-o", "json", "auth", "check", env=env)
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr)
    assert json.loads(run.stdout)["api"].startswith("http://user:***@")
    assert "GET" in run.stderr  # the verbose request log was there

    run = gcx("-o", "json", "config", "show", env=env)
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr)

    cfg = tmp_path / "config.toml"
    run = gcx(
        "config", "add", "p", "--region", _with_password(base_url), "--client-id", "x",
        "--client-secret-stdin", input="secret-secret\n", env={"GCX_CONFIG": str(cfg)},
    )  # fmt: skip
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr)
    for args in (["config", "show", "p"], ["config", "list"]):
        run = gcx("-o", "json", *args, env={"GCX_CONFIG": str(cfg)})
        assert run.code == 0, run.stderr
        _assert_clean(run.stdout, run.stderr)


def test_region_password_never_reaches_the_ledger_or_reports(
    gcx: InProcessGcx, open_emulator: str, tmp_path: Path
) -> None:
    env = {"GENESYSCLOUD_REGION": _with_password(open_emulator)}
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}) + "\n")
    ledger = tmp_path / "ledger.sqlite"
    report = tmp_path / "report.json"
    run = gcx("-v", "sync", "apply", str(src), "--ledger", str(ledger), "--report", str(report), env=env)
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr, report.read_text())
    with sqlite3.connect(ledger) as db:
        dump = "\n".join(db.iterdump())
    _assert_clean(dump)
    run = gcx("-o", "json", "sync", "status", "--ledger", str(ledger), env=env)
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr)
    # the next run (same region, same password) is the same binding
    run = gcx("sync", "apply", str(src), "--ledger", str(ledger), "--report", str(report), env=env)
    assert run.code == 0, run.stderr


def test_an_old_ledger_holding_a_password_is_shown_masked_and_rewritten(
    gcx: InProcessGcx, open_emulator: str, tmp_path: Path
) -> None:
    base_url = open_emulator
    env = {"GENESYSCLOUD_REGION": _with_password(base_url)}
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}) + "\n")
    ledger = tmp_path / "ledger.sqlite"
    assert gcx("sync", "apply", str(src), "--ledger", str(ledger), env=env).code == 0
    with sqlite3.connect(ledger) as db:  # as an earlier gcx wrote it
        db.execute("UPDATE gcx_binding SET region = ?", (_with_password(base_url),))
    run = gcx("-o", "json", "sync", "status", "--ledger", str(ledger), env=env)
    assert run.code == 0, run.stderr
    _assert_clean(run.stdout, run.stderr)
    assert gcx("sync", "apply", str(src), "--ledger", str(ledger), env=env).code == 0
    with sqlite3.connect(ledger) as db:
        _assert_clean("\n".join(db.iterdump()))


def test_sql_and_ledger_url_passwords_never_shown(gcx: InProcessGcx, emu: Emulator, tmp_path: Path) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[contact]\nkey = "id"\n[contact.fields]\nfirstName = "name"\n')
    run = gcx(
        "sync", "plan", "--mapping", str(mapping), "--sql-url",
        f"postgresql+psycopg://crm:{PASSWORD}@127.0.0.1:1/crm", "--query", "SELECT 1",
        "--ledger", str(tmp_path / "l.sqlite"),
    )  # fmt: skip
    assert run.code == 1
    _assert_clean(run.stdout, run.stderr)
    run = gcx("sync", "status", "--ledger", f"postgresql+psycopg://sync:{PASSWORD}@127.0.0.1:1/gcx")
    assert run.code == 1
    _assert_clean(run.stdout, run.stderr)


# --------------------------------------------------------------------------- item 11: file modes


def _mode(path: Path) -> int:
    return stat.S_IMODE(path.stat().st_mode)


@pytest.fixture
def open_umask() -> object:
    old = os.umask(0o022)
    yield None
    os.umask(old)


def test_ledger_report_and_export_are_created_0600(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path, open_umask: object
) -> None:
    src = tmp_path / "r.jsonl"
    src.write_text(json.dumps({"kind": "organization", "externalId": "o-1", "name": "Acme"}) + "\n")
    ledger = tmp_path / "ledger.sqlite"
    report = tmp_path / "reports" / "r.json"
    run = gcx("sync", "apply", str(src), "--ledger", str(ledger), "--report", str(report))
    assert run.code == 0, run.stderr
    assert _mode(ledger) == 0o600
    assert _mode(report) == 0o600
    for extra in tmp_path.glob("ledger.sqlite-*"):  # WAL and shared-memory files
        assert _mode(extra) == 0o600, extra
    default_reports = list((tmp_path / ".gcx").rglob("*.json")) if (tmp_path / ".gcx").exists() else []
    run = gcx("sync", "plan", str(src), "--ledger", str(ledger))
    assert run.code == 0, run.stderr
    for path in (tmp_path / ".gcx").rglob("*.json"):
        if path not in default_reports:
            assert _mode(path) == 0o600, path
    run = gcx("export", "--out", str(tmp_path / "exp"), "--format", "csv")
    assert run.code == 0, run.stderr
    for name in ("organizations.csv", "contacts.csv"):
        assert _mode(tmp_path / "exp" / name) == 0o600, name


def test_a_world_readable_config_file_is_warned_about(gcx: InProcessGcx, tmp_path: Path) -> None:
    cfg = tmp_path / "config.toml"
    run = gcx(
        "config", "add", "p", "--region", "eu-west-1", "--client-id", "x", "--client-secret-stdin",
        input="secret-secret\n", env={"GCX_CONFIG": str(cfg)},
    )  # fmt: skip
    assert run.code == 0 and _mode(cfg) == 0o600
    run = gcx("config", "list", env={"GCX_CONFIG": str(cfg)})
    assert "readable" not in run.stderr
    cfg.chmod(0o644)
    run = gcx("config", "list", env={"GCX_CONFIG": str(cfg)})
    assert run.code == 0
    assert f"{cfg} is readable by other users" in run.stderr and "chmod 600" in run.stderr
