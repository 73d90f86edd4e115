"""The embedded PostgreSQL (pgserver's binaries), also when gcx runs as root."""

from __future__ import annotations

import os
import shutil
import tempfile
from collections.abc import Iterator
from pathlib import Path

import psycopg
import pytest

from gcx.errors import ConfigError
from gcx.service.database import ensure_schema
from gcx.service.embedded import start_embedded, stop_embedded

pytest.importorskip("pgserver")


@pytest.fixture
def data_dir() -> Iterator[Path]:
    # not under pytest's basetemp: as root, that is closed to the unprivileged user (0700)
    path = Path(tempfile.mkdtemp(prefix="gcx-emb-", dir="/tmp"))
    path.chmod(0o755)
    try:
        yield path
    finally:
        stop_embedded(path)
        shutil.rmtree(path, ignore_errors=True)


def test_starts_reuses_and_stops(data_dir: Path) -> None:
    url = start_embedded(data_dir)
    assert url.startswith("postgresql://postgres@/postgres?host=")
    ensure_schema(url)
    with psycopg.connect(url) as conn:
        assert conn.execute("SELECT to_regclass('gcx_svc_runs')").fetchone() == ("gcx_svc_runs",)
    assert start_embedded(data_dir) == url  # running: reused
    pgdata = data_dir / "postgres"
    assert (pgdata.stat().st_mode & 0o777) == 0o700
    if os.geteuid() == 0:
        assert pgdata.stat().st_uid != 0  # never run as root
    assert stop_embedded(data_dir)


@pytest.mark.skipif(os.geteuid() != 0, reason="the unreachable data directory case is root's")
def test_as_root_an_unreachable_data_dir_is_a_clear_error(tmp_path: Path) -> None:
    closed = tmp_path / "closed"
    closed.mkdir(mode=0o700)
    inner = closed / "svc"
    inner.mkdir()
    with pytest.raises(ConfigError, match="cannot reach the data directory"):
        start_embedded(inner)
