"""The run report: counts, every invalid row, every failed record, conflicts, requests used.

Written as JSON (``--report FILE``; default ``.gcx/reports/sync-<run>-<time>.json`` next to
the ledger file or in the working directory). It never holds a secret: errors are the API's
ErrorBody fields (message, code, status) and gcx's own reasons; URLs are rendered without
passwords.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from gcx.private import write_private
from gcx.sync.plan import PlanCounts
from gcx.sync.records import Issue

REPORT_VERSION = 1


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


@dataclass
class RunReport:
    """What one ``plan``/``apply`` did. ``exit_code``: 0 ok, 3 when any row or record failed."""

    command: str
    source: str
    ledger: str
    dry_run: bool = False
    run_id: int | None = None
    started: str = field(default_factory=_now)
    finished: str | None = None
    status: str = "running"
    error: str | None = None
    org_id: str | None = None
    external_source_id: str | None = None
    options: dict[str, Any] = field(default_factory=dict)
    planned: PlanCounts = field(default_factory=PlanCounts)
    applied: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            k: {"created": 0, "updated": 0, "moved": 0, "deleted": 0, "adopted": 0, "failed": 0}
            for k in ("organization", "contact")
        }
    )
    invalid: list[dict[str, Any]] = field(default_factory=list)
    failures: list[dict[str, Any]] = field(default_factory=list)
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    warnings: list[str] = field(default_factory=list)
    reconciled: dict[str, int] = field(default_factory=lambda: {"found": 0, "absent": 0})
    #: Adoption checks (gcx.sync.adoption): strategy per kind, candidates, keys, checks, adopted,
    #: seconds at the client's rate. In a plan: the checks the apply would make.
    adoption: dict[str, Any] = field(default_factory=dict)
    requests: int = 0
    request_stats: dict[str, Any] = field(default_factory=dict)
    seconds: float = 0.0
    report_path: str | None = None

    def add_invalid(self, issue: Issue) -> None:
        self.invalid.append(issue.to_json())
        self.planned.invalid += 1

    def add_failure(
        self,
        *,
        kind: str,
        key: str,
        op: str,
        line: int | None,
        reason: str,
        field: str | None = None,
        status: int | None = None,
        code: str | None = None,
    ) -> None:
        self.failures.append(
            {
                "line": line,
                "kind": kind,
                "externalId": key,
                "op": op,
                "field": field,
                "reason": reason,
                "status": status,
                "code": code,
            }
        )
        self.applied[kind]["failed"] += 1

    @property
    def failed_rows(self) -> int:
        return len(self.invalid) + len(self.failures)

    @property
    def exit_code(self) -> int:
        if self.status == "error":
            return 1
        return 3 if self.failed_rows else 0

    def totals(self) -> dict[str, int]:
        out: dict[str, int] = {}
        for counts in self.applied.values():
            for k, v in counts.items():
                out[k] = out.get(k, 0) + v
        return out

    def to_json(self) -> dict[str, Any]:
        return {
            "version": REPORT_VERSION,
            "command": self.command,
            "dryRun": self.dry_run,
            "runId": self.run_id,
            "status": self.status,
            "error": self.error,
            "exitCode": self.exit_code,
            "started": self.started,
            "finished": self.finished,
            "seconds": round(self.seconds, 3),
            "source": self.source,
            "ledger": self.ledger,
            "orgId": self.org_id,
            "externalSourceId": self.external_source_id,
            "options": self.options,
            "planned": self.planned.to_json(),
            "applied": self.applied,
            "requests": self.requests,
            "requestStats": self.request_stats,
            "reconciled": self.reconciled,
            "adoption": self.adoption,
            "invalid": self.invalid,
            "failures": self.failures,
            "conflicts": self.conflicts,
            "warnings": self.warnings,
        }

    def write(self, path: Path) -> Path:
        self.report_path = str(path)
        write_private(path, json.dumps(self.to_json(), indent=2, ensure_ascii=False, default=str) + "\n")
        return path


def default_report_path(
    ledger_url: str, run_id: int | None, workdir: Path | None = None, command: str = "apply"
) -> Path:
    """``.gcx/reports/`` next to a SQLite ledger file, else under the working directory."""
    base = workdir or Path.cwd()
    if ledger_url.startswith("sqlite:///"):
        base = Path(ledger_url[len("sqlite:///") :]).parent
    stamp = datetime.now(UTC).strftime("%Y%m%dT%H%M%S.%fZ")
    run = f"-run{run_id}" if run_id is not None else ""
    return base / ".gcx" / "reports" / f"{stamp}-{command}{run}.json"
