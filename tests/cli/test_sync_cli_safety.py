"""Issue 11, items 4 and 5 and the smaller list, through the command line: another External
Source on a bound ledger, a report that cannot be written, a saved plan's prune option, reading
commands that must not create a ledger, unknown fields in --set, and usage mistakes (exit 2)."""

from __future__ import annotations

import errno
import json
import sqlite3
from pathlib import Path

import pytest

from gcx.emulator import Emulator
from tests.cli.conftest import InProcessGcx


def _jsonl(path: Path, n: int) -> Path:
    lines = [{"kind": "organization", "externalId": "o-1", "name": "Acme"}]
    lines += [
        {"kind": "contact", "externalId": f"c-{i}", "organization": "o-1", "firstName": f"F{i}"}
        for i in range(n)
    ]
    path.write_text("".join(json.dumps(x) + "\n" for x in lines), encoding="utf-8")
    return path


def _external_ids(emu: Emulator) -> list[int]:
    return [len(c.get("externalIds") or []) for c in emu.backend.dump()["contacts"]]


def test_another_external_source_on_a_bound_ledger_is_refused(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path
) -> None:
    src = _jsonl(tmp_path / "r.jsonl", 5)
    ledger = str(tmp_path / "l.sqlite")
    assert gcx("sync", "apply", str(src), "--ledger", ledger).code == 0
    for command in ("plan", "apply"):
        run = gcx("sync", command, str(src), "--ledger", ledger, "--external-source", "crm2")
        assert run.code == 1, (command, run.stderr)
        assert "External Source 'gcx'" in run.stderr and "'crm2'" in run.stderr
    assert _external_ids(emu) == [1] * 5  # no second ExternalId anywhere
    run = gcx("-o", "json", "sync", "status", "--ledger", ledger)
    assert json.loads(run.stdout)["org"]["externalSource"] == "gcx"


def test_a_report_that_cannot_be_written_keeps_the_summary_and_no_tmp(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gcx.private as private_files

    src = _jsonl(tmp_path / "r.jsonl", 3)
    ledger = tmp_path / "l.sqlite"
    report = tmp_path / "reports" / "run.json"
    real_fsync = private_files.os.fsync

    def full_disk(fd: int) -> None:
        if (tmp_path / "reports").exists() and any((tmp_path / "reports").iterdir()):
            raise OSError(errno.ENOSPC, "No space left on device")
        real_fsync(fd)

    monkeypatch.setattr(private_files.os, "fsync", full_disk)
    run = gcx("sync", "apply", str(src), "--ledger", str(ledger), "--report", str(report))
    assert "4 created" in run.stderr, run.stderr  # the summary is printed
    assert "could not write the report" in run.stderr and "No space left" in run.stderr
    assert not list((tmp_path / "reports").iterdir())  # no .tmp left behind
    with sqlite3.connect(ledger) as db:
        status = db.execute("SELECT status FROM gcx_runs ORDER BY id DESC").fetchone()[0]
    assert status == "ok"
    assert run.code == 0  # as the ledger says: the run itself succeeded


def test_apply_plan_honours_the_plans_prune_option(gcx: InProcessGcx, emu: Emulator, tmp_path: Path) -> None:
    ledger = str(tmp_path / "l.sqlite")
    assert gcx("sync", "apply", str(_jsonl(tmp_path / "all.jsonl", 10)), "--ledger", ledger).code == 0
    fewer = _jsonl(tmp_path / "fewer.jsonl", 9)
    plan = tmp_path / "plan.json"
    run = gcx("sync", "plan", str(fewer), "--ledger", ledger, "--prune", "--out", str(plan))
    assert run.code == 0, run.stderr
    assert json.loads(plan.read_text())["options"]["prune"] is True
    run = gcx("sync", "apply", "--plan", str(plan), "--ledger", ledger, "--on-conflict", "report")
    assert run.code == 2 and "--on-conflict" in run.stderr  # the plan was made with another choice
    run = gcx("sync", "apply", "--plan", str(plan), "--ledger", ledger)
    assert run.code == 0, run.stderr
    assert "1 deleted" in run.stderr
    assert len(emu.backend.dump()["contacts"]) == 9


def test_apply_plan_keeps_a_broken_sources_prune_refusal(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path
) -> None:
    mapping = tmp_path / "m.toml"
    mapping.write_text('[contact]\nkey = "id"\n[contact.fields]\nfirstName = "name"\n')
    csv = tmp_path / "s.csv"
    csv.write_text("id,name\n" + "".join(f"c-{i},N{i}\n" for i in range(20)))
    ledger = str(tmp_path / "l.sqlite")
    assert gcx("sync", "apply", str(csv), "-m", str(mapping), "--ledger", ledger).code == 0
    quote = '"'
    csv.write_text("id,name\n" + "".join(f"c-{i},{quote if i == 3 else ''}N{i}\n" for i in range(19)))
    plan = tmp_path / "plan.json"
    run = gcx("sync", "plan", str(csv), "-m", str(mapping), "--ledger", ledger, "--prune", "--out", str(plan))
    assert run.code == 3, run.stderr
    run = gcx("sync", "apply", "--plan", str(plan), "--ledger", ledger)
    assert "prune skipped" in run.stderr
    assert len(emu.backend.dump()["contacts"]) == 20


def test_reading_commands_never_create_a_ledger(gcx: InProcessGcx, emu: Emulator, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "r.jsonl", 2)
    missing = tmp_path / "new.sqlite"
    run = gcx("sync", "plan", str(src), "--ledger", str(missing))
    assert run.code == 0, run.stderr
    assert not missing.exists() and not list(tmp_path.glob("new.sqlite*"))
    empty = tmp_path / "empty.sqlite"
    empty.write_bytes(b"")
    run = gcx("sync", "status", "--ledger", str(empty))
    assert run.code == 1 and "not a gcx ledger" in run.stderr
    assert empty.read_bytes() == b""
    run = gcx("sync", "plan", str(src), "--ledger", str(empty))
    assert run.code == 0, run.stderr
    assert empty.read_bytes() == b"" and not list(tmp_path.glob("empty.sqlite-*"))


def test_create_refuses_a_field_the_api_would_drop(gcx: InProcessGcx, emu: Emulator) -> None:
    run = gcx("contacts", "create", "--first-name", "Ada", "--set", "nofield=1")
    assert run.code == 1 and "nofield" in run.stderr and "not a field" in run.stderr
    run = gcx("contacts", "create", "--first-name", "Ada", "--set", "address.nocity=x")
    assert run.code == 1 and "address.nocity" in run.stderr
    run = gcx("orgs", "create", "--name", "Acme", "--set", "revenu=1")
    assert run.code == 1 and "revenu" in run.stderr
    assert emu.backend.dump()["contacts"] == [] and emu.backend.dump()["organizations"] == []
    run = gcx("contacts", "create", "--first-name", "Ada", "--set", "customFields.tier=gold")
    assert run.code in (0, 1) and "not a field" not in run.stderr  # custom fields are free-form


@pytest.mark.parametrize(
    "args",
    [
        ["sync", "plan"],  # no source
        ["sync", "plan", "{csv}"],  # a CSV without a mapping
        ["sync", "plan", "{jsonl}", "--mapping", "{toml}"],  # JSONL takes no mapping
        ["sync", "plan", "{csv}", "--mapping", "{toml}", "--sql-url", "sqlite://", "--query", "SELECT 1"],
        ["sync", "plan", "--sql-url", "sqlite://", "--query", "SELECT 1"],  # SQL without a mapping
        ["sync", "apply", "{csv}", "--plan", "{plan}"],  # a plan and a source
    ],
)
def test_sync_usage_mistakes_exit_2(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path, args: list[str]
) -> None:
    files = {
        "csv": tmp_path / "s.csv",
        "jsonl": tmp_path / "s.jsonl",
        "toml": tmp_path / "m.toml",
        "plan": tmp_path / "p.json",
    }
    files["csv"].write_text("id,name\nc-1,A\n")
    files["jsonl"].write_text("")
    files["toml"].write_text('[contact]\nkey = "id"\n[contact.fields]\nfirstName = "name"\n')
    files["plan"].write_text("{}")
    run = gcx(
        *[a.format(**{k: str(v) for k, v in files.items()}) for a in args], "--ledger", str(tmp_path / "l")
    )
    assert run.code == 2, (args, run.stderr)
