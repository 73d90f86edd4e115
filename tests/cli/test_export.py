"""``gcx export``: files, formats, and resuming after an interruption without duplicates."""

from __future__ import annotations

import csv
import io
import json
import time
from pathlib import Path
from typing import Any

import httpx
import pytest

from gcx import Client
from gcx.cli.columns import CONTACT_CSV_COLUMNS
from gcx.cli.context import CliError
from gcx.cli.export import (
    CURSOR_MAX_AGE,
    STATE_FILE,
    ExportState,
    prepare,
    render_chunk,
    save_state,
    truncate_to_state,
)
from gcx.cli.main import app
from gcx.emulator import Emulator
from tests.cli.conftest import InProcessGcx, Run


class FailingScan(httpx.AsyncBaseTransport):
    """The emulator's in-process transport, answering 400 to the n-th contacts scan page."""

    def __init__(self, emu: Emulator, fail_on: int) -> None:
        self.inner = emu.transport()
        self.fail_on = fail_on
        self.scans = 0

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        if request.url.path.endswith("/scan/contacts"):
            self.scans += 1
            if self.scans == self.fail_on:
                body = {"message": "injected failure", "code": "bad.request", "status": 400}
                return httpx.Response(400, json=body, headers={"ININ-Correlation-Id": "corr-42"})
        return await self.inner.handle_async_request(request)

    async def aclose(self) -> None:
        await self.inner.aclose()


def _run(gcx: InProcessGcx, args: list[str], transport: Any = None) -> Run:
    result = gcx.runner.invoke(
        app, args, env=gcx.env, obj={"transport": transport} if transport else None, catch_exceptions=False
    )
    return Run(result.exit_code, result.stdout, result.stderr)


def _seed(client: Client, n: int) -> None:
    org = client.organizations.create({"name": "Scan Org"})
    bodies = [{"firstName": f"P{i:03d}", "externalOrganization": {"id": org.id}} for i in range(n)]
    assert not client.contacts.bulk_add(bodies).failed


@pytest.mark.parametrize("fmt", ["jsonl", "csv"])
def test_interrupted_export_resumes_without_duplicates(
    gcx: InProcessGcx, emu: Emulator, client: Client, tmp_path: Path, fmt: str
) -> None:
    _seed(client, 95)
    out = tmp_path / "exp"
    args = ["--retries", "0", "export", "--out", str(out), "--page-size", "20", "--format", fmt]
    first = _run(gcx, args, FailingScan(emu, fail_on=3))
    assert first.code == 1
    assert "400 bad.request: injected failure [correlation id corr-42]" in first.stderr
    assert "run the same command again to resume" in first.stderr
    state = json.loads((out / STATE_FILE).read_text())
    assert state["phases"]["organizations"]["done"] is True
    assert state["phases"]["contacts"]["written"] == 40 and state["phases"]["contacts"]["cursor"]

    # A half-written chunk (the process died mid-write) is cut off on resume.
    with open(out / f"contacts.{fmt}", "a", encoding="utf-8") as fh:
        fh.write('{"id": "half-writ')

    second = _run(gcx, args)
    assert second.code == 0, second.stderr
    assert "resuming the export" in second.stderr and "40 contacts already written" in second.stderr
    text = (out / f"contacts.{fmt}").read_text()
    if fmt == "jsonl":
        ids = [json.loads(line)["id"] for line in text.splitlines()]
    else:
        rows = list(csv.DictReader(io.StringIO(text)))
        assert list(rows[0]) == CONTACT_CSV_COLUMNS  # one header, at the top
        ids = [row["id"] for row in rows]
    assert len(ids) == 95 and len(set(ids)) == 95
    assert set(ids) == {c["id"] for c in emu.backend.dump()["contacts"]}


def test_export_refuses_foreign_files_and_other_formats(
    gcx: InProcessGcx, emu: Emulator, tmp_path: Path
) -> None:
    out = tmp_path / "x"
    out.mkdir()
    (out / "contacts.jsonl").write_text("precious\n")
    run = _run(gcx, ["export", "--out", str(out)])
    assert run.code == 1 and "no export state" in run.stderr and "--restart" in run.stderr
    assert (out / "contacts.jsonl").read_text() == "precious\n"

    run = _run(gcx, ["export", "--out", str(out), "--restart"])
    assert run.code == 0, run.stderr
    run = _run(gcx, ["export", "--out", str(out), "--format", "csv"])
    assert run.code == 1 and "holds a complete jsonl export" in run.stderr
    run = _run(gcx, ["export", "--out", str(out), "--format", "xml"])
    assert run.code == 2


def test_export_progress_bar_only_on_a_terminal(gcx: InProcessGcx, emu: Emulator, tmp_path: Path) -> None:
    run = _run(gcx, ["export", "--out", str(tmp_path / "e")])
    assert run.code == 0
    assert "━" not in run.stderr and "\r" not in run.stderr  # CliRunner's stderr is not a terminal
    assert "exported 0 organizations and 0 contacts" in run.stderr


def test_prepare_rejects_an_expired_cursor(tmp_path: Path) -> None:
    state = ExportState(format="jsonl")
    state.phases["organizations"].done = True
    state.phases["contacts"].cursor = "abc"
    state.phases["contacts"].cursor_time = 1000.0
    save_state(tmp_path, state)
    with pytest.raises(CliError, match="scan cursors live 24 h"):
        prepare(tmp_path, "jsonl", restart=False, now=1000.0 + CURSOR_MAX_AGE + 1)
    resumed, is_resume = prepare(tmp_path, "jsonl", restart=False, now=1000.0 + 60)
    assert is_resume and resumed.phases["contacts"].cursor == "abc"
    fresh, is_resume = prepare(tmp_path, "jsonl", restart=True, now=time.time())
    assert not is_resume and fresh.phases["contacts"].cursor is None


def test_corrupt_state_file_is_a_clear_error(tmp_path: Path) -> None:
    (tmp_path / STATE_FILE).write_text("{not json")
    with pytest.raises(CliError, match="not a gcx export state file"):
        prepare(tmp_path, "jsonl", restart=False, now=0.0)


def test_truncate_to_state_detects_missing_data(tmp_path: Path) -> None:
    state = ExportState(format="jsonl")
    state.phases["organizations"].size = 10
    (tmp_path / "organizations.jsonl").write_text("short")
    with pytest.raises(CliError, match="shorter than the export state"):
        truncate_to_state(tmp_path, state)
    (tmp_path / "organizations.jsonl").write_text("0123456789-extra")
    truncate_to_state(tmp_path, state)
    assert (tmp_path / "organizations.jsonl").read_text() == "0123456789"


def test_render_chunk() -> None:
    rows = [{"id": "1", "firstName": "Ä", "futureField": 1}]
    assert (
        render_chunk("contacts", "jsonl", rows, header=False)
        == '{"id":"1","firstName":"Ä","futureField":1}\n'
    )
    text = render_chunk("contacts", "csv", rows, header=True)
    parsed = list(csv.DictReader(io.StringIO(text)))
    assert parsed[0]["firstName"] == "Ä" and json.loads(parsed[0]["_extra"]) == {"futureField": 1}


def test_out_is_a_file_is_a_clear_error(gcx: InProcessGcx, emu: Emulator, tmp_path: Path) -> None:
    target = tmp_path / "a-file"
    target.write_text("keep")
    run = _run(gcx, ["export", "--out", str(target)])
    assert run.code == 1
    assert run.stderr == f"error: {target}: File exists\n"
    assert target.read_text() == "keep"
