"""A run's files: what a run that did not finish (failed, stopped, raised) decided is kept,
marked incomplete with its error (secrets masked), 0600; a saved plan that did not complete is not."""

from __future__ import annotations

import json
import stat
from pathlib import Path

from gcx.sync.plan import Op
from gcx.sync.planfile import PlanWriter
from gcx.sync.report import RunReport
from gcx.sync.runfiles import failure, keep_failed_run, keep_run_files, ops_writer

SECRET_URL = "postgresql://sync:s3cr3t-pass@db/gcx"


def _report(status: str, run_id: int | None = 7, error: str | None = None) -> RunReport:
    return RunReport(command="apply", source="crm.csv", ledger="x", run_id=run_id, status=status, error=error)


def _kept(path: Path) -> dict:
    assert stat.S_IMODE(path.stat().st_mode) == 0o600
    return json.loads(path.read_text(encoding="utf-8"))


def test_failure_is_one_line_with_secrets_masked() -> None:
    assert (
        failure(RuntimeError(f"lost {SECRET_URL}\n  detail"))
        == "RuntimeError: lost postgresql://sync:***@db/gcx"
    )
    assert failure(KeyError()) == "KeyError"


def test_a_run_ending_in_error_keeps_its_ops_marked_incomplete(tmp_path: Path) -> None:
    writer = ops_writer(tmp_path, "crm.csv", {})
    writer.op(Op("create", "contact", "c-1"))
    report = _report("error", error=f"403 from {SECRET_URL}")
    writer.close(report)
    keep_run_files(tmp_path, report, writer.path)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-7.json", "run-7.ops.json"]
    kept = _kept(tmp_path / "run-7.ops.json")
    assert [op["externalId"] for op in kept["ops"]] == ["c-1"]
    assert kept["incomplete"] is True and kept["error"] == "403 from postgresql://sync:***@db/gcx"


def test_a_complete_run_and_a_failed_plan_are_as_before(tmp_path: Path) -> None:
    writer = ops_writer(tmp_path, "crm.csv", {})
    report = _report("ok")
    writer.close(report)
    keep_run_files(tmp_path, report, writer.path)
    assert "incomplete" not in _kept(tmp_path / "run-7.ops.json")
    plan = PlanWriter(tmp_path / "plan.json", source="crm.csv", options={})
    plan.op(Op("create", "contact", "c-1"))
    plan.close(_report("error", run_id=None))
    assert not list(tmp_path.glob("plan.json*"))  # a plan that did not complete is not saved


def test_a_run_that_raised_keeps_its_ops_under_its_id(tmp_path: Path) -> None:
    writer = ops_writer(tmp_path, "crm.csv", {})
    writer.op(Op("create", "organization", "o-1"))
    report = _report("interrupted")
    kept = keep_failed_run(writer, report, RuntimeError(f"boom at {SECRET_URL}"))
    assert kept == tmp_path / "run-7.ops.json"
    data = _kept(kept)
    assert (
        data["incomplete"] is True and data["error"] == "RuntimeError: boom at postgresql://sync:***@db/gcx"
    )
    assert json.loads((tmp_path / "run-7.json").read_text(encoding="utf-8"))["error"] == data["error"]
    assert sorted(p.name for p in tmp_path.iterdir()) == ["run-7.json", "run-7.ops.json"]


def test_a_run_that_raised_without_an_id_keeps_only_ops_it_had(tmp_path: Path) -> None:
    empty = ops_writer(tmp_path, "crm.csv", {})
    assert keep_failed_run(empty, None, RuntimeError("no database")) is None
    assert list(tmp_path.iterdir()) == []
    writer = ops_writer(tmp_path, "crm.csv", {})
    writer.op(Op("create", "organization", "o-1"))
    kept = keep_failed_run(writer, _report("interrupted", run_id=None), ValueError("bug"))
    assert kept is not None and kept.name.startswith("ops-") and kept.name.endswith(".failed.json")
    assert list(tmp_path.iterdir()) == [kept]
    assert _kept(kept)["error"] == "ValueError: bug"


def test_an_incomplete_ops_file_is_refused_as_a_plan(tmp_path: Path) -> None:
    """What a failed run did is a record, not a plan: applying it would replay a part of a source
    as if it were the whole (and its options with it)."""
    import pytest

    from gcx.errors import ConfigError
    from gcx.sync.planfile import PlanSource

    writer = ops_writer(tmp_path, "crm.csv", {})
    writer.op(Op("create", "contact", "c-1"))
    report = _report("error", error="boom")
    writer.close(report)
    keep_run_files(tmp_path, report, writer.path)
    kept = tmp_path / "run-7.ops.json"
    with pytest.raises(ConfigError, match=r"did not finish .*boom"):
        list(PlanSource(kept).items())
