"""kill -9 at several points of ``gcx sync apply``, run again: the result is exact, no duplicate.

The apply runs in a child process against the emulator served over loopback by this process
(forked, so that it starts in milliseconds; the final run is a real ``python -m gcx.cli.main``
subprocess); the test watches the emulator's request count and SIGKILLs the subprocess once it has sent N API
requests (somewhere between "batch started in the ledger", "bulk call committed" and "outcome
recorded"). The next run reconciles the ``started`` operations before planning anything new.
"""

from __future__ import annotations

import json
import multiprocessing
import multiprocessing.process
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from gcx.cli.main import app
from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from gcx.sync.ledger import Ledger
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

from .helpers import api_calls, assert_exact, dataset, state, writes

pytestmark = pytest.mark.slow


def _write_source(path: Path, n_orgs: int, n_contacts: int) -> list:  # type: ignore[type-arg]
    records = dataset(n_orgs, n_contacts)
    path.write_text("\n".join(json.dumps(r.to_json()) for r in records) + "\n", encoding="utf-8")
    return records


def _start(url: str, src: Path, ledger: Path, tmp: Path) -> subprocess.Popen[bytes]:
    env = {
        **{k: v for k, v in os.environ.items() if not k.startswith(("GENESYSCLOUD_", "GCX_"))},
        "GENESYSCLOUD_REGION": url,
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
        "GCX_CONFIG": str(tmp / "config.toml"),
    }
    args = [sys.executable, "-m", "gcx.cli.main", "--rate-limit", "0", "sync", "apply", str(src)]
    args += ["--ledger", str(ledger), "--batch-size", "50", "--report", str(tmp / "report.json")]
    return subprocess.Popen(args, env=env, cwd=tmp, stdout=subprocess.PIPE, stderr=subprocess.PIPE)


def _child(url: str, src: str, ledger: str, tmp: str, report: str) -> None:
    os.environ.update(
        {
            "GENESYSCLOUD_REGION": url,
            "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
            "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
            "GCX_CONFIG": str(Path(tmp) / "config.toml"),
        }
    )
    os.chdir(tmp)
    args = ["--rate-limit", "0", "sync", "apply", src, "--ledger", ledger, "--batch-size", "50"]
    args += ["--report", report]
    code = 1
    try:
        app(args, prog_name="gcx")
        code = 0
    except SystemExit as exc:
        code = int(exc.code or 0)
    finally:
        os._exit(code)


def _fork_apply(
    url: str, src: Path, ledger: Path, tmp: Path, report: str = "killed-report.json"
) -> multiprocessing.process.BaseProcess:
    args = (url, str(src), str(ledger), str(tmp), str(tmp / report))
    proc = multiprocessing.get_context("fork").Process(target=_child, args=args)
    proc.start()
    return proc


def _fork_to_end(url: str, src: Path, ledger: Path, tmp: Path) -> None:
    proc = _fork_apply(url, src, ledger, tmp, "report.json")
    proc.join(240)
    assert proc.exitcode == 0
    proc.close()


def _kill_after(emu: Emulator, proc: multiprocessing.process.BaseProcess, n: int) -> bool:
    """SIGKILL ``proc`` once the emulator has seen ``n`` more API requests. False if it ended first."""
    start = api_calls(emu)
    deadline = time.monotonic() + 240
    try:
        while time.monotonic() < deadline:
            if not proc.is_alive():
                return False
            if api_calls(emu) - start >= n:
                assert proc.pid is not None
                os.kill(proc.pid, signal.SIGKILL)
                return True
            time.sleep(0.0005)
        raise AssertionError("the sync did not progress")
    finally:
        if proc.is_alive() and proc.pid is not None:
            os.kill(proc.pid, signal.SIGKILL)
        proc.join()
        proc.close()


def _run_to_end(url: str, src: Path, ledger: Path, tmp: Path) -> str:
    proc = _start(url, src, ledger, tmp)
    out, err = proc.communicate(timeout=240)
    assert proc.returncode == 0, err.decode()
    text = out.decode() + err.decode()
    assert CANARY_SECRET not in text
    return text


async def _seed_hand_made(emu: Emulator) -> str:
    """A contact a person made (holding one of the source's keys) with an unmanaged field."""
    async with AsyncClient(
        "http://seed.test", client_id="a", client_secret="b", transport=emu.transport(), rate_limit=0
    ) as gc:
        made = await gc.contacts.create({"firstName": "Typed", "salutation": "Dr"})
        assert made.id
        await gc.contacts.identifiers.claim(made.id, "ExternalId", "c-7")  # tagged by a person
    return str(made.id)


@pytest.mark.parametrize(
    ("unique", "kill_points", "identity"),
    [(False, [4, 7, 10], "strict"), (True, [3, 7], "strict"), (False, [4, 7, 10], "kind")],
)
async def test_kill_9_then_rerun_is_exact(
    tmp_path: Path, unique: bool, kill_points: list[int], identity: str
) -> None:
    kind = KIND_IDENTITY if identity == "kind" else {}
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=21, unique_external_ids=unique, **kind))
    src = tmp_path / "records.jsonl"
    records = _write_source(src, 6, 450)
    ledger_file = tmp_path / "ledger.sqlite"
    hand_made = await _seed_hand_made(emu)
    with emu.serve() as url:
        killed = 0
        for n in kill_points:
            killed += _kill_after(emu, _fork_apply(url, src, ledger_file, tmp_path), n)
        assert killed >= 1, "no run was interrupted"
        with Ledger(f"sqlite:///{ledger_file}") as led:
            interrupted = len(led.open_ops())
        if unique:
            _run_to_end(url, src, ledger_file, tmp_path)  # a real `python -m gcx.cli.main` process
        else:
            _fork_to_end(url, src, ledger_file, tmp_path)
        report = json.loads((tmp_path / "report.json").read_text(encoding="utf-8"))
        assert report["failures"] == [] and report["invalid"] == []
        assert report["reconciled"]["found"] + report["reconciled"]["absent"] == interrupted
        assert_exact(emu, records)
        contact = next(c for c in state(emu)["contacts"] if c["id"] == hand_made)
        assert contact["salutation"] == "Dr"  # unmanaged, kept through every run
        assert [e["value"] for e in contact["externalIds"]] == ["c-7"]  # adopted, not duplicated
        with Ledger(f"sqlite:///{ledger_file}") as led:
            assert led.open_ops() == []
            assert led.count_records() == {"organization": 6, "contact": 450}
        before = writes(emu)
        _fork_to_end(url, src, ledger_file, tmp_path)
        assert writes(emu) == before, "the run after recovery must be a no-op"
