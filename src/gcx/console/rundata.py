"""What the run pages show, read from a job's ledger and its run files (no writes).

A run's rows come from ``run-<id>.ops.json`` (every op with its per-field value in Genesys
just before the run -> the value written, :mod:`gcx.sync.runfiles`) when the console or the
service ran it; for a run made elsewhere (``gcx sync apply``) the values each done op wrote and
those gcx wrote before are rebuilt from the ledger's records and the undos its done ops keep, and
when the ledger no longer holds them (a failed op) the rows say so. The
report (``run-<id>.json``, or the CLI's ``*-run<id>.json``) adds invalid rows, failures,
conflicts and request counts. Rows are produced as streams (a run may have 100k ops):
:mod:`gcx.console.runindex` pages, filters and searches them.
"""

from __future__ import annotations

import csv
import io
import json
from collections.abc import Callable, Iterable, Iterator
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any

from sqlalchemy import and_, func, select

from gcx.sync.ledger import Ledger
from gcx.sync.rows import values_around

FILTERS = ("all", "create", "update", "move", "delete", "conflict", "failed", "invalid")
NOT_KEPT = "values not kept: the ledger no longer holds them and this run left no run file"


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
        return not q or q.lower() in row_hay(self)


def row_hay(r: Row) -> str:
    """Pure: what a search looks in (lower case): key, op, reason, field, id and every value."""
    return " ".join(
        [r.kind, r.key, r.op, r.reason, r.field or "", r.genesys_id or ""]
        + [f"{c.get('field')} {c.get('from')} {c.get('to')}" for c in r.changes]
    ).lower()


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


def find_run(ledger: Ledger, run_id: int) -> dict[str, Any] | None:
    t = ledger.t_runs
    with ledger.engine.connect() as conn:
        row = conn.execute(t.select().where(t.c.id == run_id)).mappings().first()
    if row is None:
        return None
    run = dict(row)
    run["counts"] = json.loads(run["counts"]) if run.get("counts") else {}
    return run


def neighbours(ledger: Ledger, run_id: int) -> tuple[int | None, int | None]:
    """The ids of the runs just before and just after ``run_id``."""
    t = ledger.t_runs
    with ledger.engine.connect() as conn:
        before = conn.execute(select(func.max(t.c.id)).where(t.c.id < run_id)).scalar()
        after = conn.execute(select(func.min(t.c.id)).where(t.c.id > run_id)).scalar()
    return before, after


def _op_rows(ops: Iterable[dict[str, Any]]) -> Iterator[Row]:
    """Pure: the rows of a run file's (or a plan's) ops; unchanged records without a conflict
    are left out; a create's values are its changes (from nothing)."""
    for op in ops:
        if op.get("op") == "unchanged" and not op.get("conflicts"):
            continue
        changes = list(op.get("changes") or [])
        if op.get("op") == "create":
            changes = [{"field": k, "from": None, "to": v} for k, v in (op.get("values") or {}).items()]
        yield Row(
            kind=str(op.get("kind")),
            key=str(op.get("externalId")),
            op=str(op.get("op")),
            line=op.get("line"),
            genesys_id=op.get("genesysId"),
            changes=changes,
            conflicts=list(op.get("conflicts") or []),
        )


def file_rows(path: Path) -> Iterator[Row]:
    """The rows of a run file, read op by op."""
    return _op_rows(iter_plan_ops(path))


def _ledger_chunks(ledger: Ledger, run_id: int, chunk: int = 500) -> Iterator[list[Any]]:
    """A run's ledger ops in id order, ``chunk`` at a time (never all of them in memory)."""
    t = ledger.t_ops
    cols = (t.c.id, t.c.kind, t.c.external_id, t.c.op, t.c.state, t.c.genesys_id, t.c.line, t.c.payload)
    last = 0
    while True:
        with ledger.engine.connect() as conn:
            got = list(
                conn.execute(
                    select(*cols)
                    .where(and_(t.c.run_id == run_id, t.c.id > last))
                    .order_by(t.c.id)
                    .limit(chunk)
                )
            )
        if not got:
            return
        last = int(got[-1][0])
        yield got


def ledger_states(ledger: Ledger, run_id: int) -> Iterator[tuple[str, str, str, str, str | None]]:
    """(kind, key, op, state, genesys_id) of each of a run's ops, streamed."""
    for got in _ledger_chunks(ledger, run_id, 2000):
        for _id, kind, key, op, st, gid, _line, _payload in got:
            yield str(kind), str(key), str(op), str(st), gid


def ledger_rows(ledger: Ledger, run_id: int) -> Iterator[Row]:
    """A run's rows from the ledger alone: the values written against those gcx wrote before
    (Genesys's own "before" is not known), rebuilt for done ops (:func:`values_of_ops`); an op
    not done keeps no values once it failed: the row says so (:data:`NOT_KEPT`)."""
    for got in _ledger_chunks(ledger, run_id):
        around = values_of_ops(
            ledger, [(int(r[0]), str(r[1]), str(r[2])) for r in got if str(r[4]) == "done"]
        )
        for op_id, kind, key, op, st, gid, line, payload in got:
            before, after, record_gid = around.get(int(op_id), (None, None, None))
            if str(st) != "done":  # a ledger of schema 2 read as it is kept what it meant to write
                try:
                    data = json.loads(payload) if payload else None
                except ValueError:
                    data = None
                got_applied = data.get("applied") if isinstance(data, dict) else None
                after = got_applied if isinstance(got_applied, dict) else None
            kept = after is not None or op == "delete"
            yield Row(
                kind=str(kind),
                key=str(key),
                op=str(op),
                line=line,
                genesys_id=gid or record_gid,
                state=str(st),
                changes=ledger_changes(before, after) if after is not None else [],
                reason="" if kept else NOT_KEPT,
            )


def report_rows(report: dict[str, Any], key: str, *, op: str, state: str) -> Iterator[Row]:
    """The rows of a report's ``failures`` or ``invalid`` list."""
    return (_issue_row(i, op=op or str(i.get("op") or ""), state=state) for i in report.get(key) or [])


def ledger_changes(before: dict[str, Any] | None, after: dict[str, Any]) -> list[dict[str, Any]]:
    """Pure: the fields whose value differs from what gcx wrote last time (all of them for a
    first write); "before" is gcx's last written value, not necessarily Genesys's."""
    before = before or {}
    return [
        {"field": k, "from": before.get(k), "to": v}
        for k, v in sorted(after.items())
        if k not in before or before[k] != v
    ]


def values_of_ops(
    ledger: Ledger, ops: list[tuple[int, str, str]]
) -> dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]]:
    """(values before, values after, the record's Genesys id) of each done op (id, kind, key):
    the ledger keeps a done op's undo only, so they are rebuilt from the record's values now
    and the undos of the record's later ops (:func:`gcx.sync.rows.values_around`). "before" is
    gcx's last written value, not necessarily Genesys's; a record refreshed since without a
    write (adoption, reconciliation) shows its values as refreshed."""
    t, r = ledger.t_ops, ledger.t_records
    out: dict[int, tuple[dict[str, Any] | None, dict[str, Any] | None, str | None]] = {}
    with ledger.engine.connect() as conn:
        for kind in sorted({k for _, k, _ in ops}):
            mine = {key: op_id for op_id, k, key in ops if k == kind}
            keys = sorted(mine)
            for start in range(0, len(keys), 500):
                chunk = keys[start : start + 500]
                first = min(mine[k] for k in chunk)
                undos: dict[str, list[tuple[int, dict[str, Any]]]] = {}
                for key, op_id, payload in conn.execute(
                    select(t.c.external_id, t.c.id, t.c.payload).where(
                        and_(
                            t.c.kind == kind, t.c.external_id.in_(chunk), t.c.id >= first, t.c.state == "done"
                        )
                    )
                ):
                    undos.setdefault(str(key), []).append(
                        (int(op_id), json.loads(payload) if payload else {})
                    )
                current = {
                    str(key): (json.loads(applied), str(gid))
                    for key, applied, gid in conn.execute(
                        select(r.c.external_id, r.c.applied, r.c.genesys_id).where(
                            and_(r.c.kind == kind, r.c.external_id.in_(chunk))
                        )
                    )
                }
                for key in chunk:
                    op_id = mine[key]
                    later = sorted(undos.get(key, []), key=lambda u: u[0], reverse=True)
                    own = next((u for i, u in later if i == op_id), {})
                    values, gid = current.get(key, (None, None))
                    before, after = values_around(values, [u for i, u in later if i > op_id], own)
                    out[op_id] = (before, after, gid)
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


def iter_plan_ops(path: Path) -> Iterator[dict[str, Any]]:
    """The ops of a run or plan file one by one: :class:`~gcx.sync.planfile.PlanWriter` writes
    one op a line, so a file of 100k ops is never parsed whole (another layout is)."""
    try:
        with path.open(encoding="utf-8") as fh:
            head = fh.readline()
            if not head.rstrip().endswith('"ops": ['):
                fh.seek(0)
                data = json.loads(fh.read())
                ops = data.get("ops") if isinstance(data, dict) else None
                yield from (o for o in ops if isinstance(o, dict)) if isinstance(ops, list) else ()
                return
            for line in fh:
                if line.startswith("]"):
                    return
                text = line.strip().rstrip(",")
                if text:
                    op = json.loads(text)
                    if isinstance(op, dict):
                        yield op
    except (OSError, ValueError):
        return


def plan_tail(path: Path) -> dict[str, Any]:
    """What follows the ops of a run or plan file (``invalid``, ``summary``), read line by line."""
    try:
        with path.open(encoding="utf-8") as fh:
            for line in fh:
                if line.startswith("], "):
                    data = json.loads("{" + line[3:])
                    return data if isinstance(data, dict) else {}
    except (OSError, ValueError):
        pass
    return {}


def _cell(value: Any) -> str:
    if value is None:
        return ""
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    # a cell starting with = + - @ is a formula to a spreadsheet: neutralise it
    return "'" + text if text[:1] in ("=", "+", "-", "@", "\t", "\r") else text


CSV_HEAD = ["kind", "externalId", "op", "line", "genesysId", "state", "field", "before", "after", "reason"]


def rows_csv(rows: Iterable[Row]) -> Iterator[str]:
    """Pure: CSV text, one line per changed field (an op without changes gets one line),
    yielded a few hundred lines at a time."""
    buf = io.StringIO()
    w = csv.writer(buf)
    w.writerow(CSV_HEAD)
    for n, r in enumerate(rows):
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
        if n % 500 == 499:
            yield buf.getvalue()
            buf.seek(0)
            buf.truncate()
    yield buf.getvalue()


def row_json(r: Row) -> dict[str, Any]:
    return {
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


def rows_json(head: dict[str, Any], rows: Iterable[Row]) -> Iterator[str]:
    """Pure: ``{...head, "rows": [...]}`` as JSON text, yielded a row at a time."""
    text = json.dumps(head, indent=2, ensure_ascii=False, default=str)
    yield text[:-2] + ',\n  "rows": [' if head else '{\n  "rows": ['
    for n, r in enumerate(rows):
        yield ("," if n else "") + "\n    " + json.dumps(row_json(r), ensure_ascii=False, default=str)
    yield "\n  ]\n}\n"
