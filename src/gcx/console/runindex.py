"""A run's rows in a small SQLite file, so a run of 100k ops pages, filters and searches without
holding them (the run page shows 200 at a time; downloads stream from it).

The index is a cache: built once per run (streaming over the run file or the ledger, see
:mod:`gcx.console.rundata`), kept in a private temporary directory of the web process (0700,
files 0600: it holds contact data), the least recently used dropped past ``keep`` runs, and
removed when the console stops. A run still in progress is rebuilt at most every 10 seconds.
"""

from __future__ import annotations

import json
import os
import shutil
import sqlite3
import tempfile
import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable, Iterable, Iterator
from dataclasses import dataclass
from itertools import islice
from pathlib import Path
from typing import Any

from gcx.console.rundata import (
    FILTERS,
    NOT_KEPT,
    ReportLoader,
    Row,
    RunSummary,
    file_rows,
    find_run,
    ledger_rows,
    ledger_states,
    load_report,
    plan_tail,
    report_rows,
    row_hay,
    summarize,
)
from gcx.sync.ledger import Ledger
from gcx.sync.runfiles import ops_path

BATCH = 1000

_SCHEMA = """
CREATE TABLE rows (
  seq INTEGER PRIMARY KEY, kind TEXT, key TEXT, op TEXT, line INTEGER, genesys_id TEXT,
  state TEXT, conflict INTEGER, hay TEXT, data TEXT
);
CREATE INDEX rows_key ON rows (kind, key);
CREATE TABLE counts (what TEXT PRIMARY KEY, n INTEGER);
"""


def _where(what: str, q: str) -> tuple[str, list[Any]]:
    """Pure: the SQL condition of a filter and a search (lower-cased substring)."""
    sql, args = ["1=1"], []
    if what == "conflict":
        sql.append("conflict = 1")
    elif what == "failed":
        sql.append("state = 'failed'")
    elif what != "all":
        sql.append("op = ?")
        args.append(what)
    if q:
        sql.append("instr(hay, ?) > 0")
        args.append(q.lower())
    return " AND ".join(sql), args


def _row(r: tuple[Any, ...]) -> Row:
    data = json.loads(r[6])
    return Row(
        kind=r[0],
        key=r[1],
        op=r[2],
        line=r[3],
        genesys_id=r[4],
        state=r[5] or "",
        changes=data.get("changes") or [],
        conflicts=data.get("conflicts") or [],
        reason=data.get("reason") or "",
        field=data.get("field"),
    )


def _values(seq: int, r: Row) -> tuple[Any, ...]:
    data = {"changes": r.changes, "conflicts": r.conflicts, "reason": r.reason, "field": r.field}
    return (
        seq, r.kind, r.key, r.op, r.line, r.genesys_id, r.state, 1 if r.conflicts else 0, row_hay(r),
        json.dumps(data, ensure_ascii=False, default=str),
    )  # fmt: skip


class RunIndex:
    """One run's rows in SQLite: pages, counts per filter and a streaming iterator."""

    COLS = "kind, key, op, line, genesys_id, state, data"

    def __init__(self, path: Path) -> None:
        self.path = path
        self._conn = sqlite3.connect(path, check_same_thread=False)
        self._lock = threading.Lock()

    @classmethod
    def build(
        cls, path: Path, rows: Iterable[Row], amend: Callable[[RunIndex], None] | None = None
    ) -> RunIndex:
        """Write ``rows`` (in batches: never all in memory), let ``amend`` mark states and add
        rows (failures, invalid rows), then count every filter once."""
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
        os.close(fd)
        index = cls(path)
        conn = index._conn
        conn.executescript("PRAGMA journal_mode=OFF; PRAGMA synchronous=OFF;" + _SCHEMA)
        batch: list[tuple[Any, ...]] = []
        for seq, r in enumerate(rows):
            batch.append(_values(seq, r))
            if len(batch) >= BATCH:
                conn.executemany("INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
                batch.clear()
        conn.executemany("INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?)", batch)
        if amend is not None:
            amend(index)
        for what in FILTERS:
            where, args = _where(what, "")
            (n,) = conn.execute(f"SELECT count(*) FROM rows WHERE {where}", args).fetchone()
            conn.execute("INSERT INTO counts VALUES (?, ?)", (what, n))
        conn.commit()
        return index

    # -- amending (while building) ----------------------------------------------------------

    def set_states(self, states: Iterable[tuple[str, str, str, str, str | None]]) -> None:
        """(kind, key, op, state, genesys_id) from the ledger, matched to the rows."""
        conn = self._conn
        conn.execute("CREATE TEMP TABLE led (kind TEXT, key TEXT, op TEXT, state TEXT, gid TEXT)")
        batch: list[tuple[str, str, str, str, str | None]] = []
        for s in states:
            batch.append(s)
            if len(batch) >= BATCH:
                conn.executemany("INSERT INTO led VALUES (?,?,?,?,?)", batch)
                batch.clear()
        conn.executemany("INSERT INTO led VALUES (?,?,?,?,?)", batch)
        conn.execute("CREATE INDEX temp.led_key ON led (kind, key, op)")
        conn.execute(
            "UPDATE rows SET state = led.state, genesys_id = coalesce(led.gid, rows.genesys_id) "
            "FROM led WHERE led.kind = rows.kind AND led.key = rows.key AND led.op = rows.op"
        )
        conn.execute("DROP TABLE led")

    def mark_failed(self, kind: str, key: str, reason: str, field: str | None) -> bool:
        """The row of (kind, key) failed with ``reason``; False when the run has no such row."""
        conn = self._conn
        found = conn.execute(
            "SELECT seq, data, hay FROM rows WHERE kind = ? AND key = ?", (kind, key)
        ).fetchall()
        for seq, data, hay in found:
            d = json.loads(data)
            d.update(reason=reason, field=field)
            conn.execute(
                "UPDATE rows SET state = 'failed', data = ?, hay = ? WHERE seq = ?",
                (
                    json.dumps(d, ensure_ascii=False, default=str),
                    f"{hay} {reason} {field or ''}".lower(),
                    seq,
                ),
            )
        return bool(found)

    def add_conflicts(self, kind: str, key: str, fields: list[dict[str, Any]]) -> None:
        conn = self._conn
        for seq, data in conn.execute(
            "SELECT seq, data FROM rows WHERE kind = ? AND key = ? AND conflict = 0", (kind, key)
        ).fetchall():
            d = json.loads(data)
            d["conflicts"] = fields
            conn.execute(
                "UPDATE rows SET conflict = 1, data = ? WHERE seq = ?",
                (json.dumps(d, ensure_ascii=False, default=str), seq),
            )

    def append(self, rows: Iterable[Row]) -> None:
        conn = self._conn
        (last,) = conn.execute("SELECT coalesce(max(seq), -1) FROM rows").fetchone()
        conn.executemany(
            "INSERT INTO rows VALUES (?,?,?,?,?,?,?,?,?,?)",
            (_values(last + 1 + i, r) for i, r in enumerate(rows)),
        )

    # -- reading ----------------------------------------------------------------------------

    def counts(self) -> dict[str, int]:
        with self._lock:
            return {str(w): int(n) for w, n in self._conn.execute("SELECT what, n FROM counts")}

    def page(self, what: str, q: str, start: int, limit: int) -> tuple[list[Row], int]:
        """The rows ``start``..``start+limit`` of a filter and search, and how many match."""
        where, args = _where(what, q)
        with self._lock:
            rows = self._conn.execute(
                f"SELECT {self.COLS} FROM rows WHERE {where} ORDER BY seq LIMIT ? OFFSET ?",
                [*args, limit, start],
            ).fetchall()
            if not q and what in FILTERS:
                total = self.counts_unlocked().get(what, 0)
            else:
                (total,) = self._conn.execute(f"SELECT count(*) FROM rows WHERE {where}", args).fetchone()
        return [_row(r) for r in rows], int(total)

    def counts_unlocked(self) -> dict[str, int]:
        return {str(w): int(n) for w, n in self._conn.execute("SELECT what, n FROM counts")}

    def iter(self, what: str, q: str) -> Iterator[Row]:
        """Every matching row, read ``BATCH`` at a time (for downloads)."""
        where, args = _where(what, q)
        last = -1
        while True:
            with self._lock:
                got = self._conn.execute(
                    f"SELECT seq, {self.COLS} FROM rows WHERE {where} AND seq > ? ORDER BY seq LIMIT ?",
                    [*args, last, BATCH],
                ).fetchall()
            if not got:
                return
            last = got[-1][0]
            for r in got:
                yield _row(r[1:])

    def close(self) -> None:
        with self._lock:
            self._conn.close()


class RunIndexes:
    """The indexes of the runs looked at lately, in a private temporary directory."""

    def __init__(self, keep: int = 8) -> None:
        self.keep = keep
        self._dir: Path | None = None
        self._items: OrderedDict[Hashable, RunIndex] = OrderedDict()
        self._lock = threading.Lock()
        self._building: dict[Hashable, threading.Lock] = {}
        self._threads: dict[Hashable, threading.Thread] = {}
        self._failed: dict[Hashable, Exception] = {}
        self._count = 0

    def _root(self) -> Path:
        if self._dir is None:
            self._dir = Path(tempfile.mkdtemp(prefix="gcx-console-runs-"))  # 0700
        return self._dir

    def cached(self, key: Hashable) -> RunIndex | None:
        with self._lock:
            return self._items.get(key)

    def ready(
        self, key: Hashable, build: Callable[[Path], RunIndex], patience: float = 0.5
    ) -> RunIndex | None:
        """The index for ``key`` when it is built within ``patience`` seconds (a small run's
        is); else None, and it goes on being built in the background (a build that failed is
        raised here, once)."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
            failed = self._failed.pop(key, None)
            if failed is not None:
                raise failed
            if key not in self._threads:
                self._threads[key] = threading.Thread(target=self._background, args=(key, build), daemon=True)
                self._threads[key].start()
            thread = self._threads[key]
        thread.join(patience)
        with self._lock:
            found = self._items.get(key)
            failed = self._failed.pop(key, None)
        if failed is not None:
            raise failed
        return found

    def _background(self, key: Hashable, build: Callable[[Path], RunIndex]) -> None:
        try:
            self.get(key, build)
        except Exception as exc:  # shown to the next request for this run
            with self._lock:
                self._failed[key] = exc
        finally:
            with self._lock:
                self._threads.pop(key, None)

    def get(self, key: Hashable, build: Callable[[Path], RunIndex]) -> RunIndex:
        """The index for ``key`` (a run and what its data looked like), built once."""
        with self._lock:
            found = self._items.get(key)
            if found is not None:
                self._items.move_to_end(key)
                return found
            building = self._building.setdefault(key, threading.Lock())
        with building:  # two requests for the same new run build it once
            with self._lock:
                found = self._items.get(key)
                if found is not None:
                    return found
                self._count += 1
                path = self._root() / f"run-{self._count}.sqlite"
            index = build(path)
            with self._lock:
                self._items[key] = index
                self._building.pop(key, None)
                while len(self._items) > self.keep:
                    # a download may still be reading it: the open file outlives its name
                    _, old = self._items.popitem(last=False)
                    old.path.unlink(missing_ok=True)
            return index

    def close(self) -> None:
        with self._lock:
            threads = list(self._threads.values())
        for thread in threads:  # a build in progress finishes (it cannot be cut short)
            thread.join(60)
        with self._lock:
            for index in self._items.values():
                index.close()
            self._items.clear()
            if self._dir is not None:
                shutil.rmtree(self._dir, ignore_errors=True)
                self._dir = None


@dataclass
class RunDetail:
    """A run's summary and its rows: ``index`` once built; until then ``preview``, its first
    rows read straight from the run file or the ledger (states and failures not merged yet)."""

    summary: RunSummary
    report: dict[str, Any] | None
    index: RunIndex | None
    has_before: bool  # the rows come from the run file (Genesys's value just before the run)
    warnings: list[str]
    preview: list[Row]


def _amend(report: dict[str, Any] | None, ledger: Ledger | None, run_id: int) -> Callable[[RunIndex], None]:
    def amend(index: RunIndex) -> None:
        if ledger is not None:
            index.set_states(ledger_states(ledger, run_id))
        if report is None:
            return
        for f in report.get("failures") or []:
            reason, fld = str(f.get("reason") or ""), f.get("field")
            if not index.mark_failed(str(f.get("kind")), str(f.get("externalId")), reason, fld):
                index.append(report_rows({"failures": [f]}, "failures", op="", state="failed"))
        for c in report.get("conflicts") or []:
            index.add_conflicts(str(c.get("kind")), str(c.get("externalId")), list(c.get("fields") or []))
        index.append(report_rows(report, "invalid", op="invalid", state="invalid"))

    return amend


def open_run(
    ledger: Ledger,
    reports_dir: Path,
    run_id: int,
    indexes: RunIndexes,
    loader: ReportLoader | None = None,
    *,
    wait: bool = True,
    preview: int = 200,
) -> RunDetail | None:
    """A run's summary and its rows' index (built on first look), or None for no such run.
    The rows come from the run file when there is one, else from the ledger. ``wait=False``:
    when the index is not built yet, it is built in the background and the detail carries the
    first ``preview`` rows instead (a big run's first page shows at once)."""
    run = find_run(ledger, run_id)
    if run is None:
        return None
    report = load_report(reports_dir, run_id, loader)
    path = ops_path(reports_dir, run_id)
    finished = run.get("finished_at")
    fresh = finished or int(time.time() // 10)  # a run in progress: rebuilt at most every 10 s
    where = (str(ledger.engine.url), ledger.prefix, run_id, run.get("status"), fresh, report is not None)
    has_before = path.is_file()
    if has_before:
        st = path.stat()
        key: Hashable = ("file", str(path), st.st_size, st.st_mtime_ns, *where)

        def build(to: Path) -> RunIndex:
            return RunIndex.build(to, file_rows(path), _amend(report, ledger, run_id))
    else:
        key = ("ledger", *where)

        def build(to: Path) -> RunIndex:
            return RunIndex.build(to, ledger_rows(ledger, run_id), _amend(report, None, run_id))

    index = indexes.get(key, build) if wait else indexes.ready(key, build)
    first: list[Row] = []
    if index is None:
        first = list(islice(file_rows(path) if has_before else ledger_rows(ledger, run_id), preview))
    warnings = [str(w) for w in (report or {}).get("warnings") or []]
    not_kept = (
        index.page("all", NOT_KEPT.lower(), 0, 1)[1] if index else any(r.reason == NOT_KEPT for r in first)
    )
    if has_before and run.get("status") not in ("ok", "partial", "running"):
        warnings.append(
            f"This run did not finish ({run.get('status')}): the rows are the operations it had "
            "decided when it stopped. Those without a state were never sent; the next run resolves "
            "any left started or unknown."
        )
    if not has_before and not_kept:
        warnings.append(
            "Some rows show no values: this run left no run file and the ledger no longer keeps "
            "the values of finished operations."
        )
    return RunDetail(summarize(run, report), report, index, has_before, warnings, first)


def open_plan(path: Path, indexes: RunIndexes, key: Hashable | None = None) -> RunIndex | None:
    """The rows of a saved plan (the approval page), indexed like a run's (under ``key``, else
    the file's name, size and time); None when the file is gone."""
    try:
        st = path.stat()
    except OSError:
        return None

    def build(to: Path) -> RunIndex:
        def amend(index: RunIndex) -> None:
            index.append(report_rows(plan_tail(path), "invalid", op="invalid", state="invalid"))

        return RunIndex.build(to, file_rows(path), amend)

    return indexes.get(key if key is not None else ("plan", str(path), st.st_size, st.st_mtime_ns), build)
