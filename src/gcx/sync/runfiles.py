"""The files a run leaves for the people who look at it later (the web console's run page).

Beside the ledger (what was written, for resuming), a run kept this way leaves two files in a
reports directory: ``run-<id>.json`` (its :class:`~gcx.sync.report.RunReport`) and
``run-<id>.ops.json`` (every op as decided, with the value Genesys held just before the run and
the value written, field by field: the plan file format of :mod:`gcx.sync.planfile`). Both hold
contact data: they are created 0600. Whoever runs the sync (the console's executor, the
service's workers) keeps them through :func:`ops_writer` and :func:`keep_run_files`.
"""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcx.sync.planfile import PlanWriter
from gcx.sync.report import RunReport


def report_path(reports_dir: Path, run_id: int) -> Path:
    return reports_dir / f"run-{run_id}.json"


def ops_path(reports_dir: Path, run_id: int) -> Path:
    return reports_dir / f"run-{run_id}.ops.json"


def ops_writer(reports_dir: Path, source: str, options: dict[str, Any]) -> PlanWriter:
    """A writer streaming the ops of a run about to start (its id is not known yet) to a
    temporary name in ``reports_dir``; :func:`keep_run_files` gives it the run's name."""
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S%fZ")
    return PlanWriter(reports_dir / f"ops-{stamp}.json", source=source, options=options)


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
