"""The console's own apply that raises mid-run (a bug, the database lost, an op outside the
approved plan) keeps the ops it had decided as ``run-<id>.ops.json``, marked incomplete with the
error (secrets masked), 0600, like the service's workers do; a dry run (a plan) keeps nothing."""

from __future__ import annotations

import json
import stat

import pytest

from gcx.console.execute import apply_source, plan_job
from gcx.sync.ledger import Ledger
from tests.console.conftest import Breaks, Env, records


async def test_an_apply_that_raises_keeps_its_ops_marked_incomplete(env: Env) -> None:
    with pytest.raises(RuntimeError):
        await apply_source(env.target, Breaks(records()))
    reports = env.target.reports_dir
    kept = sorted(p.name for p in reports.iterdir() if p.is_file())
    assert len(kept) == 2 and kept[0].endswith(".json") and kept[1].endswith(".ops.json"), kept
    ops_file = reports / kept[1]
    assert stat.S_IMODE(ops_file.stat().st_mode) == 0o600
    text = ops_file.read_text(encoding="utf-8")
    assert "hunter2" not in text and "hunter2" not in (reports / kept[0]).read_text(encoding="utf-8")
    data = json.loads(text)
    assert data["incomplete"] is True and data["error"].startswith("RuntimeError: lost postgresql://gcx:***@")
    assert {op["externalId"] for op in data["ops"]} >= {"acme", "globex"}  # the organizations before
    report = json.loads((reports / kept[0]).read_text(encoding="utf-8"))
    assert "RuntimeError" in (report.get("error") or "") and report["status"] == "error"
    with Ledger(env.target.ledger_url, prefix=env.target.ledger_prefix, create=False) as led:
        [run] = led.runs(1)
    assert (run["status"], run["counts"]["error"]) == ("error", report["error"])  # failed, not stopped


async def test_a_plan_that_raises_keeps_no_file(env: Env) -> None:
    with pytest.raises(RuntimeError):
        await plan_job(env.target, Breaks(records()))
    reports = env.target.reports_dir
    left = [p.name for p in reports.rglob("*") if p.is_file()] if reports.exists() else []
    assert left == []
