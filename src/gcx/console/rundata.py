"""What the run pages show, read from a job's ledger and its run files (no writes).

A run's rows come from ``run-<id>.ops.json`` (every op with its per-field before -> after)
when the console or the service ran it; for a run made elsewhere (``gcx sync apply``) the
ledger's ops give the values written (no "before"). The report (``run-<id>.json``, or the
CLI's ``*-run<id>.json``) adds invalid rows, failures, conflicts and request counts.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, select

from gcx.sync.ledger import Ledger

FILTERS = ("all", "create", "update", "move", "delete", "conflict", "failed", "invalid")


@dataclass
class Row:
    """One line of a run page: an op, a failure or an invalid source row."""

    kind: str
    key: str
    op: str
    line: int | None = None
    genesys_id: str | None = None
    state: str = ""
    changes: list[dict[str, Any]] = field(default_factory=list)  # field, from, to
    conflicts: list[dict[str, Any]] = field(default_factory=list)
    reason: str = ""
    field: str | None = None

    def matches(self, what: str, q: str) -> bool:
        if what == "conflict" and not self.conflicts:
            return False
        if what == "failed" and self.state != "failed":
            return False
        if what not in ("all", "conflict", "failed") and self.op != what:
            return False
        if not q:
            return True
        hay = " ".join(
            [self.kind, self.key, self.op, self.reason, self.field or "", self.genesys_id or ""]
            + [f"{c.get('field')} {c.get('from')} {c.get('to')}" for c in self.changes]
        ).lower()
        return q.lower() in hay


@dataclass
class RunSummary:
    id: int
    command: str
    status: str
    started: str
    finished: str | None
    seconds: float | None
    source: str
    counts: dict[str, int]
    requests: int | None
    rate_limited: int | None


@dataclass
class RunDetail:
    summary: RunSummary
    report: dict[str, Any] | None
    rows: list[Row]
    has_before: bool
    warnings: list[str]


def _seconds(start: str, end: str | None) -> float | None:
    if not end:
        return None
    try:
        return (datetime.fromisoformat(end) - datetime.fromisoformat(start)).total_seconds()
    except ValueError:
        return None


def applied_totals(counts: dict[str, Any]) -> dict[str, int]:
    """Pure: created/updated/moved/deleted/failed over both kinds from a run's ledger counts."""
    out = {"created": 0, "updated": 0, "moved": 0, "deleted": 0, "failed": 0}
    applied = counts.get("applied") if isinstance(counts, dict) else None
    for kind_counts in (applied or {}).values():
        if isinstance(kind_counts, dict):
            for k in out:
                out[k] += int(kind_counts.get(k, 0) or 0)
    planned = counts.get("planned") if isinstance(counts, dict) else None
    out["invalid"] = int((planned or {}).get("invalid", 0) or 0)
    return out


def report_file(reports_dir: Path, run_id: int) -> Path | None:
    own = reports_dir / f"run-{run_id}.json"
    if own.is_file():
        return own
    found = sorted(reports_dir.glob(f"*-run{run_id}.json")) if reports_dir.is_dir() else []
    return found[-1] if found else None


ReportLoader = Callable[[int], dict[str, Any] | None]


def load_report(reports_dir: Path, run_id: int, loader: ReportLoader | None = None) -> dict[str, Any] | None:
    path = report_file(reports_dir, run_id)
    if path is None:
        return loader(run_id) if loader is not None else None
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return None
    return data if isinstance(data, dict) else None


def summarize(run: dict[str, Any], report: dict[str, Any] | None) -> RunSummary:
    stats = (report or {}).get("requestStats") or {}
    return RunSummary(
        id=int(run["id"]),
        command=str(run.get("command") or ""),
        status=str(run.get("status") or ""),
        started=str(run.get("started_at") or ""),
        finished=run.get("finished_at"),
        seconds=(report or {}).get("seconds") or _seconds(str(run.get("started_at")), run.get("finished_at")),
        source=str(run.get("source") or ""),
        counts=applied_totals(run.get("counts") or {}),
        requests=(report or {}).get("requests"),
        rate_limited=stats.get("rate_limited") if isinstance(stats, dict) else None,
    )


def list_runs(
    ledger: Ledger, reports_dir: Path, limit: int = 30, loader: ReportLoader | None = None
) -> list[RunSummary]:
    return [summarize(r, load_report(reports_dir, int(r["id"]), loader)) for r in ledger.runs(limit)]


def run_detail(
    ledger: Ledger, reports_dir: Path, run_id: int, loader: ReportLoader | None = None
) -> RunDetail | None:
    t = ledger.t_runs
    with ledger.engine.connect() as conn:
        row = conn.execute(t.select().where(t.c.id == run_id)).mappings().first()
    if row is None:
        return None
    run = dict(row)
    run["counts"] = json.loads(run["counts"]) if run.get("counts") else {}
    report = load_report(reports_dir, run_id, loader)
    states: dict[tuple[str, str, str], Any] = {(o.kind, o.key, o.op): o for o in ledger.ops(run_id=run_id)}
    rows: list[Row] = []
    ops_path = reports_dir / f"run-{run_id}.ops.json"
    has_before = ops_path.is_file()
    if has_before:
        for op in _plan_ops(ops_path):
            if op.get("op") == "unchanged" and not op.get("conflicts"):
                continue
            led = states.get((str(op.get("kind")), str(op.get("externalId")), str(op.get("op"))))
            changes = list(op.get("changes") or [])
            if op.get("op") == "create":
                changes = [{"field": k, "from": None, "to": v} for k, v in (op.get("values") or {}).items()]
            rows.append(
                Row(
                    kind=str(op.get("kind")),
                    key=str(op.get("externalId")),
                    op=str(op.get("op")),
                    line=op.get("line"),
                    genesys_id=(led.genesys_id if led else None) or op.get("genesysId"),
                    state=led.state.value if led else "",
                    changes=changes,
                    conflicts=list(op.get("conflicts") or []),
                )
            )
    else:
        prev = previous_applied(ledger, run_id, [(o.kind, o.key) for o in states.values()])
        for o in states.values():
            applied = o.payload.get("applied") if isinstance(o.payload, dict) else None
            rows.append(
                Row(
                    kind=o.kind,
                    key=o.key,
                    op=o.op,
                    line=o.line,
                    genesys_id=o.genesys_id,
                    state=o.state.value,
                    changes=ledger_changes(prev.get((o.kind, o.key)), applied or {}),
                )
            )
    if report is not None:
        by_key = {(r.kind, r.key): r for r in rows}
        for f in report.get("failures") or []:
            hit = by_key.get((str(f.get("kind")), str(f.get("externalId"))))
            if hit is not None:
                hit.state, hit.reason, hit.field = "failed", str(f.get("reason") or ""), f.get("field")
            else:
                rows.append(_issue_row(f, op=str(f.get("op") or ""), state="failed"))
        for c in report.get("conflicts") or []:
            hit = by_key.get((str(c.get("kind")), str(c.get("externalId"))))
            if hit is not None and not hit.conflicts:
                hit.conflicts = list(c.get("fields") or [])
        rows.extend(_issue_row(i, op="invalid", state="invalid") for i in report.get("invalid") or [])
    return RunDetail(
        summary=summarize(run, report),
        report=report,
        rows=rows,
        has_before=has_before,
        warnings=[str(w) for w in (report or {}).get("warnings") or []],
    )


def ledger_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Pure: the fields whose value differs from what gcx wrote last time (all of them for a
    first write); "before" is gcx's last written value, not necessarily Genesys's."""
    before = before or {}
    return [
        {"field": k, "from": before.get(k), "to": v}
        for k, v in sorted(after.items())
        if k not in before or before[k] != v
    ]


def previous_applied(
    ledger: Ledger, run_id: int, keys: list[tuple[str, str]]
) -> dict[tuple[str, str], dict[str, Any]]:
    """The values gcx wrote for each (kind, key) in its latest successful op before ``run_id``."""
    t = ledger.t_ops
    out: dict[tuple[str, str], dict[str, Any]] = {}
    with ledger.engine.connect() as conn:
        for kind in sorted({k for k, _ in keys}):
            ids = sorted({e for k, e in keys if k == kind})
            for start in range(0, len(ids), 500):
                rows = conn.execute(
                    select(t.c.external_id, t.c.payload)
                    .where(
                        and_(
                            t.c.kind == kind,
                            t.c.external_id.in_(ids[start : start + 500]),
                            t.c.run_id < run_id,
                            t.c.state == "done",
                        )
                    )
                    .order_by(t.c.id)
                )
                for key, payload in rows:
                    data = json.loads(payload)
                    if isinstance(data, dict) and isinstance(data.get("applied"), dict):
                        out[(kind, str(key))] = data["applied"]
    return out


def _issue_row(data: dict[str, Any], *, op: str, state: str) -> Row:
    return Row(
        kind=str(data.get("kind") or ""),
        key=str(data.get("externalId") or ""),
        op=op,
        line=data.get("line"),
        state=state,
        reason=str(data.get("reason") or ""),
        field=data.get("field"),
    )


def _plan_ops(path: Path) -> list[dict[str, Any]]:
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
    except (OSError, ValueError):
        return []
    ops = data.get("ops") if isinstance(data, dict) else None
    return [o for o in ops if isinstance(o, dict)] if isinstance(ops, list) else []


def plan_rows(path: Path) -> list[Row] | None:
    """The rows of a saved plan (approval page); None when the file is gone."""
    if not path.is_file():
        return None
    rows = []
    for op in _plan_ops(path):
        if op.get("op") == "unchanged" and not op.get("conflicts"):
            continue
        changes = list(op.get("changes") or [])
        if op.get("op") == "create":
            changes = [{"field": k, "from": None, "to": v} for k, v in (op.get("values") or {}).items()]
        rows.append(
            Row(
                kind=str(op.get("kind")),
                key=str(op.get("externalId")),
                op=str(op.get("op")),
                line=op.get("line"),
                genesys_id=op.get("genesysId"),
                changes=changes,
                conflicts=list(op.get("conflicts") or []),
            )
        )
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        rows.extend(_issue_row(i, op="invalid", state="invalid") for i in data.get("invalid") or [])
    except (OSError, ValueError):
        pass
    return rows


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # a cell starting with = + - @ is a formula to a spreadsheet: neutralise it
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


def rows_csv(rows: list[Row]) -> str:
    """Pure: one CSV line per changed field (an op without changes gets one line)."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(
        ["kind", "externalId", "op", "line", "genesysId", "state", "field", "before", "after", "reason"]
    )
    for r in rows:
        base = [r.kind, r.key, r.op, "" if r.line is None else r.line, r.genesys_id or "", r.state]
        if not r.changes:
            w.writerow(
                [_cell(x) if isinstance(x, str) else x for x in [*base, r.field or "", "", "", r.reason]]
            )
        for c in r.changes:
            w.writerow(
                [_cell(x) if isinstance(x, str) else x for x in base]
                + [_cell(str(c.get("field"))), _cell(c.get("from")), _cell(c.get("to")), _cell(r.reason)]
            )
    return buf.getvalue()


def rows_json(rows: list[Row]) -> list[dict[str, Any]]:
    return [
        {
            "kind": r.kind,
            "externalId": r.key,
            "op": r.op,
            "line": r.line,
            "genesysId": r.genesys_id,
            "state": r.state,
            "changes": r.changes,
            "conflicts": r.conflicts,
            "reason": r.reason or None,
            "field": r.field,
        }
        for r in rows
    ]
