"""The files a run leaves for the people who look at it later (the web console's run page).

Beside the ledger (what was written, for resuming), a run kept this way leaves two files in a
reports directory: ``run-<id>.json`` (its :class:`~gcx.sync.report.RunReport`) and
``run-<id>.ops.json`` (every op as decided, with the value Genesys held just before the run and
the value written, field by field: the plan file format of :mod:`gcx.sync.planfile`). Both hold
contact data: they are created 0600. Whoever runs the sync (the console's executor, the
service's workers) keeps them through :func:`ops_writer` and :func:`keep_run_files`.

A run that did not finish keeps its ops file too, marked ``"incomplete": true`` with the error
(its last line, :mod:`gcx.sync.planfile`): the ops it decided, those it wrote among them (the
ledger says which were done). One that raised instead of returning its report (a bug, the
database lost, a cancellation) is kept by :func:`keep_failed_run`: as ``run-<id>.ops.json`` and
``run-<id>.json`` (the report so far, with the error) once the run had its id; before that no op
can have been written, and an ops file holding some would be kept as ``ops-<stamp>.failed.json``.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcx import redact
from gcx.sync.planfile import PlanWriter
from gcx.sync.report import RunReport


def report_path(reports_dir: Path, run_id: int) -> Path:
    return reports_dir / f"run-{run_id}.json"


def ops_path(reports_dir: Path, run_id: int) -> Path:
    return reports_dir / f"run-{run_id}.ops.json"


def ops_writer(reports_dir: Path, source: str, options: dict[str, Any]) -> PlanWriter:
    """A writer streaming the ops of a run about to start (its id is not known yet) to a
    temporary name in ``reports_dir``; :func:`keep_run_files` gives it the run's name. What
    it holds is kept even when the run does not complete (marked so)."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return PlanWriter(reports_dir / f"ops-{stamp}.json", source=source, options=options, keep_incomplete=True)


def keep_run_files(reports_dir: Path, report: RunReport, ops_file: Path | None) -> None:
    """Write ``run-<id>.json`` and move the ops file to ``run-<id>.ops.json`` (a run that got no
    id, refused before it started, leaves nothing)."""
    if report.run_id is None:
        if ops_file is not None:
            ops_file.unlink(missing_ok=True)
        return
    report.write(report_path(reports_dir, report.run_id))
    if ops_file is not None and ops_file.exists():
        ops_file.replace(ops_path(reports_dir, report.run_id))


def failure(exc: BaseException) -> str:
    """Pure: one line saying what stopped a run: the exception's type and the first line of its
    message, every secret gcx knows of and the password of any URL masked."""
    lines = str(exc).strip().splitlines()
    return redact.scrub(f"{type(exc).__name__}: {lines[0]}" if lines else type(exc).__name__)


def keep_failed_run(writer: PlanWriter, report: RunReport | None, exc: BaseException) -> Path | None:
    """Keep what a run that raised ``exc`` had decided (``report``: the run's report so far, None
    when it was not even made); the path of the ops file kept, None for none."""
    error = failure(exc)
    writer.close(report, error=error)
    if report is not None and report.run_id is not None:
        report.error = report.error or error
        keep_run_files(writer.path.parent, report, writer.path)
        return ops_path(writer.path.parent, report.run_id)
    if not writer.ops:
        writer.path.unlink(missing_ok=True)
        return None
    kept = writer.path.with_name(f"{writer.path.stem}.failed.json")
    writer.path.replace(kept)
    return kept
