"""The run lease (issue 11, item 2): renewed while the run lives, fenced before every write batch,
a holder identity that survives PID namespaces, stale leases taken over, shown and released."""

from __future__ import annotations

import asyncio
import os
import socket
import time
from pathlib import Path
from typing import Any

import httpx
import pytest
from sqlalchemy import update

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.engine import SyncEngine
from gcx.sync.errors import LeaseLostError, LedgerLockedError
from gcx.sync.lease import Holder, held_by_other, machine_id
from gcx.sync.ledger import Ledger, NewOp
from gcx.sync.remote import Remote
from gcx.sync.source import RecordsSource

from .helpers import BASE, dataset, state, sync

ME = Holder(run="a" * 32, host="h", machine="boot/pid:[1]", pid=100)


def _alive(pid: int) -> bool:
    return pid == 100


def test_a_fresh_lease_is_held_whatever_the_pid_says_in_another_namespace() -> None:
    # A run in another container on the same hostname: its pid means nothing here.
    other = Holder(run="b" * 32, host="h", machine="boot/pid:[2]", pid=7)
    assert held_by_other(other, 1000.0, ME, now=1010.0, lease=120, pid_alive=_alive)
    # No machine id known (an older gcx, another OS): only the age decides.
    unknown = Holder(run="b" * 32, host="h", machine=None, pid=7)
    assert held_by_other(unknown, 1000.0, ME, now=1010.0, lease=120, pid_alive=_alive)
    assert held_by_other(unknown, 1000.0, ME, now=1120.0, lease=120, pid_alive=_alive) is None


def test_a_dead_holder_in_this_namespace_is_taken_over_at_once() -> None:
    dead = Holder(run="b" * 32, host="h", machine=ME.machine, pid=7)
    assert held_by_other(dead, 1000.0, ME, now=1001.0, lease=120, pid_alive=_alive) is None


def test_a_reused_pid_does_not_block_for_ever() -> None:
    # The holder died and its pid was reused by a live process: the lease goes stale all the same.
    reused = Holder(run="b" * 32, host="h", machine=ME.machine, pid=100)
    assert held_by_other(reused, 1000.0, ME, now=1010.0, lease=120, pid_alive=_alive)
    assert held_by_other(reused, 1000.0, ME, now=1121.0, lease=120, pid_alive=_alive) is None


def test_the_holder_is_a_random_run_id_with_its_machine(tmp_path: Path) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        ledger.acquire()
        try:
            with ledger.engine.connect() as conn:
                row = conn.execute(ledger.t_lock.select()).mappings().one()
            assert len(row["token"]) == 32 and row["pid"] == os.getpid()
            host, _, machine = row["host"].partition("|")
            assert host == socket.gethostname()
            assert (machine or None) == machine_id()
            info = ledger.lock_info()
            assert info is not None and info["run"] == row["token"] and not info["stale"]
        finally:
            ledger.release()
        assert ledger.lock_info() is None


def test_the_lease_is_renewed_while_the_run_is_busy(ledger: Ledger) -> None:
    holder = ledger
    holder.lease_seconds = 0.8
    with Ledger(ledger.url, prefix=ledger.prefix, lease_seconds=0.8) as other:
        holder.acquire()
        try:
            time.sleep(2.0)  # a blocked event loop, a long 429 wait: the keeper thread renews
            with pytest.raises(LedgerLockedError, match="is using this ledger"):
                other.acquire()
            assert holder.renew()
        finally:
            holder.release()
        other.acquire()
        other.release()


def test_a_run_that_lost_its_lease_writes_nothing_more(ledger: Ledger) -> None:
    """SQLite and PostgreSQL: the fencing update finds another token and rolls the batch back."""
    ledger.acquire()
    run = ledger.start_run("apply", "test")
    with ledger.engine.begin() as conn:  # another run took it over
        conn.execute(update(ledger.t_lock).values(token="f" * 32))
    with pytest.raises(LeaseLostError, match="lost the ledger's lease"):
        ledger.start_batch(run, "b1", [NewOp("contact", "c-1", "create", {"applied": {}})])
    assert ledger.open_ops() == []  # rolled back: no op started
    assert not ledger.renew()
    ledger.release()  # releases nothing of the other run's
    assert ledger.lock_info() is not None


class StealDuringScan(httpx.AsyncBaseTransport):
    """The emulator, where another run takes the ledger's lease during the snapshot scan."""

    def __init__(self, emu: Emulator, ledger: Ledger) -> None:
        self.inner = emu.transport()
        self.ledger = ledger
        self.stolen = False

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/scan/" in request.url.path and not self.stolen:
            self.stolen = True
            with self.ledger.engine.begin() as conn:
                conn.execute(update(self.ledger.t_lock).values(token="e" * 32))
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_a_sync_whose_lease_is_taken_stops_before_writing(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        transport = StealDuringScan(emu, ledger)
        async with AsyncClient(
            BASE, client_id="i", client_secret="s", transport=transport, rate_limit=0
        ) as gc:
            engine = SyncEngine(
                ledger=ledger, source=RecordsSource(dataset(2, 10)), remote=Remote(gc), region=BASE
            )
            report = await engine.run()
    assert transport.stolen
    assert report.status == "error" and "lost the ledger's lease" in (report.error or "")
    assert isinstance(engine.exception, LeaseLostError)
    assert state(emu)["organizations"] == [] and state(emu)["contacts"] == []


class SlowScan(httpx.AsyncBaseTransport):
    """The emulator, with every scan page answered after ``delay`` seconds (a 429 wait, say)."""

    def __init__(self, emu: Emulator, delay: float) -> None:
        self.inner = emu.transport()
        self.delay = delay

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if "/scan/" in request.url.path:
            await asyncio.sleep(self.delay)
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


async def test_no_run_takes_the_lease_of_a_run_waiting_on_the_server(tmp_path: Path) -> None:
    # The case: a run waiting out long 429s lost its lock to another host's run, which
    # then created the in-flight batch again. With the lease renewed, the other run is refused.
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    refused: list[str] = []

    async def other_run() -> None:
        await asyncio.sleep(1.5)  # the first run is inside its slow snapshot by now
        with Ledger(url, lease_seconds=0.6) as other:
            try:
                other.acquire()
            except LedgerLockedError as exc:
                refused.append(str(exc))
            else:
                other.release()

    with Ledger(url, lease_seconds=0.6) as ledger:
        async with AsyncClient(
            BASE, client_id="i", client_secret="s", transport=SlowScan(emu, 1.0), rate_limit=0
        ) as gc:
            engine = SyncEngine(
                ledger=ledger, source=RecordsSource(dataset(1, 5)), remote=Remote(gc), region=BASE
            )
            report, _ = await asyncio.gather(engine.run(), other_run())
    assert report.status == "ok", report.error
    assert refused and "is using this ledger" in refused[0]


async def test_a_stale_lease_is_taken_over(tmp_path: Path) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as ledger:
        with ledger.engine.begin() as conn:  # a holder on another machine, gone 10 minutes ago
            conn.execute(
                ledger.t_lock.insert().values(
                    id=1, host="elsewhere|x/pid:[9]", pid=1, token="d" * 32, heartbeat=time.time() - 600
                )
            )
        report = await sync(emu, ledger, dataset(1, 3))
    assert report.status == "ok"


# --------------------------------------------------------------------------- CLI


def _cli_env(tmp_path: Path) -> dict[str, Any]:
    return {"COLUMNS": "200", "NO_COLOR": "1", "GCX_CONFIG": str(tmp_path / "cfg.toml")}


def test_status_shows_the_lock_and_unlock_releases_it(tmp_path: Path) -> None:
    from typer.testing import CliRunner

    from gcx.cli.main import app

    path = tmp_path / "l.sqlite"
    with Ledger(f"sqlite:///{path}") as ledger, ledger.engine.begin() as conn:
        conn.execute(
            ledger.t_lock.insert().values(
                id=1, host="worker-7|x/pid:[9]", pid=4242, token="c" * 32, heartbeat=time.time()
            )
        )
    runner = CliRunner()
    env = _cli_env(tmp_path)
    res = runner.invoke(app, ["sync", "status", "--ledger", str(path)], env=env)
    assert res.exit_code == 0, res.output
    assert "lock: held by run cccccccccccc" in res.stdout and "pid 4242 on worker-7" in res.stdout
    res = runner.invoke(app, ["-o", "json", "sync", "status", "--ledger", str(path)], env=env)
    assert res.exit_code == 0
    import json

    lock = json.loads(res.stdout)["lock"]
    assert lock["run"] == "c" * 32 and lock["host"] == "worker-7" and lock["stale"] is False

    res = runner.invoke(app, ["sync", "unlock", "--ledger", str(path)], env=env)
    assert res.exit_code == 1 and "--yes" in res.stderr  # no terminal, no --yes: refused
    res = runner.invoke(app, ["sync", "unlock", "--ledger", str(path), "--yes"], env=env)
    assert res.exit_code == 0, res.output
    assert "released the lock of run cccccccccccc" in res.stderr
    with Ledger(f"sqlite:///{path}") as ledger:
        assert ledger.lock_info() is None
    res = runner.invoke(app, ["sync", "unlock", "--ledger", str(path), "--yes"], env=env)
    assert res.exit_code == 0 and "not locked" in res.stderr


def test_the_keeper_renews_through_a_connection_of_its_own(tmp_path: Path) -> None:
    """Renewing through the run's pool made a second connection whenever the run held the first,
    and the pool then handed the run both in turn: two SQLite page caches of 16 MB where one does
    (a 1M no-op: 123 MiB instead of 103)."""
    from sqlalchemy import event

    connects: list[str] = []
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}", lease_seconds=0.4) as ledger:
        event.listen(ledger.engine, "connect", lambda *_: connects.append("run"))
        ledger.acquire()
        try:
            for _ in range(4):  # the run queries while the keeper renews (every 0.1 s)
                with ledger.engine.connect() as conn:
                    conn.exec_driver_sql("SELECT 1")
                    time.sleep(0.15)
            with ledger.engine.connect() as conn:
                beat = conn.execute(ledger.t_lock.select()).mappings().one()["heartbeat"]
            assert time.time() - beat < 0.3  # renewed all along
        finally:
            ledger.release()
        assert connects == []  # the run's pool made no connection after the one opening it made
        assert ledger.engine.pool.checkedin() == 1
