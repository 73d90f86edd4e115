"""The sync as a routine job: known bad rows accepted, the reason of an error in status, a Ctrl-C
that says how to resume, a bad CSV refused before any request (with a delimiter hint)."""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any

import pytest
from typer.testing import CliRunner, Result

from gcx.cli.main import app
from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

from .helpers import api_calls

ROOT = Path(__file__).resolve().parents[2]
EXAMPLES = ROOT / "examples"


@pytest.fixture
def emu() -> Emulator:
    return Emulator(EmulatorSettings(rate_limit=0, seed=5))


@pytest.fixture
def gcx(emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Any:
    monkeypatch.chdir(tmp_path)
    env = {
        "GENESYSCLOUD_REGION": "http://emu.test",
        "GENESYSCLOUD_OAUTHCLIENT_ID": CANARY_CLIENT_ID,
        "GENESYSCLOUD_OAUTHCLIENT_SECRET": CANARY_SECRET,
        "GCX_CONFIG": os.environ["GCX_CONFIG"],
        "COLUMNS": "200",
    }

    def obj() -> dict[str, Any]:
        return {"transport": emu.transport(), "env": env, "client_options": {"rate_limit": 0}}

    def run(*args: str) -> Result:
        return CliRunner().invoke(app, list(args), env=env, obj=obj(), catch_exceptions=False)

    run.env = env  # type: ignore[attr-defined]
    run.obj = obj  # type: ignore[attr-defined]
    return run


def _jsonl(path: Path, rows: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(r) + "\n" for r in rows), encoding="utf-8")
    return path


def test_a_known_number_of_bad_rows_can_be_accepted(gcx: Any, tmp_path: Path) -> None:
    src = _jsonl(
        tmp_path / "r.jsonl",
        [
            {"kind": "organization", "externalId": "o-1", "name": "Acme"},
            {"kind": "organization", "externalId": "o-2", "name": ""},  # invalid: no name
        ],
    )
    assert gcx("sync", "apply", str(src)).exit_code == 3
    accepted = gcx("sync", "apply", str(src), "--max-invalid", "1")
    assert accepted.exit_code == 0, accepted.output
    assert "1 invalid row(s) accepted" in accepted.stderr
    assert gcx("sync", "plan", str(src), "--max-invalid", "1").exit_code == 0
    assert gcx("sync", "apply", str(src), "--max-invalid", "0").exit_code == 3


def test_status_shows_why_a_run_failed(gcx: Any, tmp_path: Path) -> None:
    src = _jsonl(tmp_path / "r.jsonl", [{"kind": "organization", "externalId": "o-1", "name": "Acme"}])
    assert gcx("sync", "apply", str(src)).exit_code == 0
    refused = gcx("sync", "apply", str(src), "--external-source", "other")
    assert refused.exit_code == 1
    status = gcx("sync", "status", "-o", "json")
    runs = json.loads(status.stdout)["runs"]
    assert runs[0]["status"] == "error" and "External Source" in runs[0]["reason"]
    table = gcx("sync", "status")
    assert "External Source" in table.stdout


def test_status_shows_a_run_that_raised_as_an_error_not_interrupted(
    gcx: Any, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    from gcx.sync.source import JsonlSource

    real = JsonlSource.items

    def breaks(self: JsonlSource, kinds: Any = ("organization", "contact")) -> Any:
        for item in real(self, kinds):
            if getattr(item, "kind", None) == "contact":
                raise RuntimeError("lost postgresql://crm:hunter2-secret@db/crm\nmore detail")
            yield item

    monkeypatch.setattr(JsonlSource, "items", breaks)
    rows = [
        {"kind": "organization", "externalId": "o-1", "name": "Acme"},
        {"kind": "contact", "externalId": "c-1", "firstName": "Ann", "organization": "o-1"},
    ]
    src = _jsonl(tmp_path / "r.jsonl", rows)
    run = gcx("sync", "apply", str(src))
    assert run.exit_code != 0 and "hunter2-secret" not in run.output
    status = gcx("sync", "status", "-o", "json")
    [last] = json.loads(status.stdout)["runs"]
    reason = "RuntimeError: lost postgresql://crm:***@db/crm"
    assert (last["status"], last["reason"], last["applied"]) == ("error", reason, "created 1")
    monkeypatch.setattr(JsonlSource, "items", real)
    assert gcx("sync", "apply", str(src)).exit_code == 0  # the next run goes on from there
    assert len(emu.backend.dump()["organizations"]) == 1 and len(emu.backend.dump()["contacts"]) == 1


def test_a_gcx_error_that_ends_a_run_is_kept_with_its_secrets_masked(
    gcx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """gcx's own errors are kept whole (they may say more on a second line), but masked like
    any other: the ledger's reason and the report hold no password."""
    from gcx.errors import ConfigError
    from gcx.sync.source import JsonlSource

    def breaks(self: JsonlSource, kinds: Any = ("organization", "contact")) -> Any:
        raise ConfigError("cannot read postgresql://crm:hunter2-secret@db/crm")
        yield  # a generator, as the real one

    monkeypatch.setattr(JsonlSource, "items", breaks)
    src = _jsonl(tmp_path / "r.jsonl", [{"kind": "organization", "externalId": "o-1", "name": "Acme"}])
    report = tmp_path / "report.json"
    run = gcx("sync", "apply", str(src), "--report", str(report))
    assert run.exit_code != 0 and "hunter2-secret" not in run.output
    [last] = json.loads(gcx("sync", "status", "-o", "json").stdout)["runs"]
    assert last["status"] == "error" and "postgresql://crm:***@db/crm" in last["reason"]
    assert "hunter2-secret" not in report.read_text() and "***" in report.read_text()


def test_ctrl_c_says_how_to_resume(gcx: Any, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    from gcx.sync.engine import SyncEngine

    async def interrupted(self: SyncEngine) -> Any:
        raise KeyboardInterrupt

    monkeypatch.setattr(SyncEngine, "run", interrupted)
    src = _jsonl(tmp_path / "r.jsonl", [{"kind": "organization", "externalId": "o-1", "name": "Acme"}])
    run = gcx("sync", "apply", str(src))
    assert run.exit_code == 130
    assert "interrupted" in run.stderr and "run the same gcx sync apply again" in run.stderr


def test_a_semicolon_csv_without_its_delimiter_is_refused_before_any_request(
    gcx: Any, emu: Emulator, tmp_path: Path
) -> None:
    text = [line.decode() for line in (EXAMPLES / "crm_contacts.csv").read_bytes().splitlines()[:4]]
    semi = tmp_path / "crm.csv"
    semi.write_text("\n".join(line.replace(",", ";") for line in text) + "\n", encoding="utf-8")
    before = api_calls(emu)
    run = gcx("sync", "plan", str(semi), "-m", str(EXAMPLES / "crm_mapping.toml"))
    assert run.exit_code == 1
    assert "are not in the source" in run.stderr
    assert 'set delimiter = ";" under [source]' in run.stderr
    assert api_calls(emu) == before  # not one request


def test_apply_on_a_terminal_shows_the_plan_and_asks(
    gcx: Any, emu: Emulator, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    import gcx.cli.sync_cmd as sync_cmd

    monkeypatch.setattr(sync_cmd, "_interactive", lambda: True)
    src = _jsonl(tmp_path / "r.jsonl", [{"kind": "organization", "externalId": "o-1", "name": "Acme"}])
    runner_input = {"input": "n\n"}
    refused = CliRunner().invoke(app, ["sync", "apply", str(src)], **runner_input, env=gcx.env, obj=gcx.obj())
    assert refused.exit_code == 1 and "aborted: nothing was changed" in refused.stderr
    assert "organizations: 1 to create" in refused.stderr
    assert not emu.backend.dump()["organizations"]
    accepted = CliRunner().invoke(app, ["sync", "apply", str(src)], input="y\n", env=gcx.env, obj=gcx.obj())
    assert accepted.exit_code == 0, accepted.output
    assert len(emu.backend.dump()["organizations"]) == 1
    assert gcx("sync", "apply", str(src), "--yes").exit_code == 0  # --yes (and a job) never asks


def test_after_ctrl_c_mid_write_status_shows_pending_not_failed(
    gcx: Any, emu: Emulator, tmp_path: Path
) -> None:
    import httpx

    inner = emu.transport()
    calls = {"adds": 0}

    class CtrlCOnSecondBatch(httpx.AsyncBaseTransport):
        async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
            if request.url.path.endswith("/bulk/organizations/add"):
                calls["adds"] += 1
                if calls["adds"] == 2:
                    raise KeyboardInterrupt
            return await inner.handle_async_request(request)

    rows = [{"kind": "organization", "externalId": f"o-{n}", "name": f"O{n}"} for n in range(25)]
    src = _jsonl(tmp_path / "r.jsonl", rows)
    obj = {**gcx.obj(), "transport": CtrlCOnSecondBatch()}
    run = CliRunner().invoke(app, ["sync", "apply", str(src), "--batch-size", "10"], env=gcx.env, obj=obj)
    assert run.exit_code == 130 and "run the same gcx sync apply again" in run.stderr
    status = json.loads(gcx("sync", "status", "-o", "json").stdout)
    assert status["failed"] == []  # the batch in flight is pending, the rest was never sent
    assert status["pending"] == 10 and status["runs"][0]["status"] == "interrupted"
    again = gcx("sync", "apply", str(src), "--batch-size", "10")
    assert again.exit_code == 0, again.output
    assert len(emu.backend.dump()["organizations"]) == 25


def test_a_plan_never_lists_the_prune_apply_would_refuse(gcx: Any, emu: Emulator, tmp_path: Path) -> None:
    org = {"kind": "organization"}
    first = [
        {**org, "externalId": "K-1", "name": "One"},
        {**org, "externalId": "K-2", "name": "Two"},
        {"kind": "contact", "externalId": "C-2", "organization": "K-1", "firstName": "Cee"},
        {"kind": "contact", "externalId": "C-3", "organization": "K-2", "firstName": "Dee"},
    ]
    assert gcx("sync", "apply", str(_jsonl(tmp_path / "a.jsonl", first))).exit_code == 0
    # C-2 moves to K-2; C-3, the only other record about K-2, is gone, and so is K-2's own row
    second = [first[0], {**first[2], "organization": "K-2"}]
    src = _jsonl(tmp_path / "b.jsonl", second)
    plan = gcx("sync", "plan", str(src), "--prune", "--force", "-o", "jsonl")
    decisions = [json.loads(line) for line in plan.stdout.splitlines() if line.strip()]
    deletes = {
        (d.get("kind"), d.get("key") or d.get("externalId")) for d in decisions if d.get("op") == "delete"
    }
    assert ("contact", "C-3") in deletes and not any(k == "organization" for k, _ in deletes), deletes
    assert "organization K-2 not pruned: contact C-2 (in the source)" in plan.stderr
    applied = gcx("sync", "apply", str(src), "--prune", "--force")
    assert applied.exit_code == 0, applied.output
    names = {o["name"] for o in emu.backend.dump()["organizations"]}
    assert names == {"One", "Two"}
