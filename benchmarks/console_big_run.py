"""The console's run page over a big run: how long the first look takes (the run's rows read
once into its index), a page anywhere, a search, a full CSV download, and the memory used.

    .venv/bin/python benchmarks/console_big_run.py --ops 100000

The run (a ledger in SQLite and its run file, as a service worker keeps it) is made without
Genesys. Figures only: nothing here asserts a time.
"""

from __future__ import annotations

import argparse
import json
import resource
import tempfile
import time
import tracemalloc
from pathlib import Path

from gcx.console.rundata import rows_csv
from gcx.console.runindex import RunIndexes, open_run
from gcx.sync.ledger import Ledger
from gcx.sync.plan import Change, Op
from gcx.sync.planfile import PlanWriter
from gcx.sync.report import RunReport
from gcx.sync.runfiles import ops_path


def make_run(url: str, reports: Path, n: int) -> int:
    with Ledger(url) as led:
        run_id = led.start_run("apply", "bench.csv")
        with led.engine.begin() as conn:
            for start in range(0, n, 5000):
                conn.execute(
                    led.t_ops.insert(),
                    [
                        {"run_id": run_id, "kind": "contact", "external_id": f"k-{i}", "op": "update",
                         "state": "done", "attempt": 1, "genesys_id": f"g-{i}", "line": i + 2,
                         "updated_at": "2026-01-01T00:00:00",
                         "payload": json.dumps({"applied": {"firstName": f"New{i}", "title": "Eng"}})}
                        for i in range(start, min(n, start + 5000))
                    ],
                )  # fmt: skip
        led.finish_run(run_id, "ok", {}, None)
    writer = PlanWriter(ops_path(reports, run_id), source="bench.csv", options={})
    for i in range(n):
        writer.op(
            Op("update", "contact", f"k-{i}", genesys_id=f"g-{i}", line=i + 2,
               changes=[Change("firstName", f"Old{i}", f"New{i}"), Change("title", None, "Eng")])
        )  # fmt: skip
    writer.close(RunReport(command="apply", source="bench.csv", ledger=url, run_id=run_id, status="ok"))
    return run_id


def main() -> None:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument("--ops", type=int, default=100_000)
    args = p.parse_args()
    with tempfile.TemporaryDirectory() as tmp:
        reports = Path(tmp) / "reports"
        url = f"sqlite:///{Path(tmp) / 'ledger.sqlite'}"
        t = time.perf_counter()
        run_id = make_run(url, reports, args.ops)
        size = ops_path(reports, run_id).stat().st_size
        print(f"run of {args.ops} ops made in {time.perf_counter() - t:.1f} s (run file {size / 1e6:.1f} MB)")
        indexes = RunIndexes()
        rss0 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
        with Ledger(url) as led:
            t = time.perf_counter()
            detail = open_run(led, reports, run_id, indexes, wait=False)
            assert detail is not None
            print(f"first page while the index is built: {(time.perf_counter() - t) * 1000:.0f} ms "
                  f"({len(detail.preview)} rows)")  # fmt: skip
            t = time.perf_counter()
            detail = open_run(led, reports, run_id, indexes)
            assert detail is not None and detail.index is not None
            _, total = detail.index.page("all", "", 0, 200)
            print(f"index built (every row read once, counted): {time.perf_counter() - t:.2f} s")
            t = time.perf_counter()
            open_run(led, reports, run_id, indexes)
            _, total = detail.index.page("all", "", args.ops - 200, 200)
            print(f"then a page (the last): {(time.perf_counter() - t) * 1000:.0f} ms ({total} rows)")
            t = time.perf_counter()
            _, total = detail.index.page("all", "new4242", 0, 200)
            print(f"search 'new4242': {(time.perf_counter() - t) * 1000:.0f} ms ({total} rows)")
            t = time.perf_counter()
            out = sum(len(chunk) for chunk in rows_csv(detail.index.iter("all", "")))
            print(f"CSV download streamed: {time.perf_counter() - t:.2f} s, {out / 1e6:.1f} MB")
            rss1 = resource.getrusage(resource.RUSAGE_SELF).ru_maxrss
            traced = RunIndexes()  # once more under tracemalloc (which slows it: not timed)
            tracemalloc.start()
            again = open_run(led, reports, run_id, traced)
            assert again is not None and again.index is not None
            again.index.page("all", "", 0, 200)
            _, peak = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            traced.close()
            print(f"traced Python memory peak while building and paging: {peak / 1e6:.1f} MB")
        print(f"max RSS {rss1 / 1024:.0f} MB (before the first look {rss0 / 1024:.0f} MB)")
        indexes.close()


if __name__ == "__main__":
    main()
