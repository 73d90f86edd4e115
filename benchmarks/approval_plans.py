"""Plans waiting for approval are kept in the database: their size, and the time and peak memory
of storing one (the worker, when a plan must wait) and of reading it back into a private
temporary file (the approval page, the worker applying it). Both stream: their memory is the
compressed document and a 1 MiB chunk.

A plan document holds every source record (so applying it needs neither the source nor the
mapping): the plan here is N contact creates with the fields of a CRM extract, as the sync's
plan writer would stream them. Stored gzipped (level 6) with its SHA-256.

    python benchmarks/approval_plans.py [--sizes 10000,100000] [--db postgresql+psycopg://...]

Without ``--db``: PostgreSQL at 127.0.0.1:5432/test when it answers (tables prefixed with a
random name, dropped afterwards), else a SQLite file in a temporary directory.
"""

from __future__ import annotations

import argparse
import json
import os
import tempfile
import time
import tracemalloc
import uuid
from pathlib import Path

from sqlalchemy import text

from gcx.console.approvals import ApprovalStore
from gcx.console.db import ConsoleDb

PG = "postgresql+psycopg://postgres@127.0.0.1:5432/test"


def write_plan(path: Path, n: int) -> None:
    with path.open("w", encoding="utf-8") as fh:
        fh.write(
            '{"gcxPlan": 1, "created": "2026-01-01T00:00:00+00:00", "source": "crm.csv", "options": {}, "ops": [\n'
        )
        for i in range(n):
            values = {
                "firstName": f"First{i}",
                "lastName": f"Last{i}",
                "workEmail": f"person{i}@example.com",
                "workPhone": {"e164": f"+1212555{i % 10000:04d}"},
                "title": "Account manager",
                "address": {
                    "address1": f"{i} Main Street",
                    "city": "Springfield",
                    "postalCode": f"{i % 99999:05d}",
                },
                "organization": f"org-{i % 500}",
            }
            op = {"op": "create", "kind": "contact", "externalId": f"c-{i}", "genesysId": None, "line": i + 2,
                  "values": values, "record": {"kind": "contact", "externalId": f"c-{i}", **values}}  # fmt: skip
            fh.write(("" if i == 0 else ",\n") + json.dumps(op))
        fh.write('\n], "invalid": [], "summary": {}}\n')


def url_for(arg: str | None, tmp: Path) -> str:
    if arg:
        return arg
    try:
        import psycopg

        psycopg.connect("postgresql://postgres@127.0.0.1:5432/test", connect_timeout=2).close()
        return PG
    except Exception:
        return f"sqlite:///{tmp / 'console.sqlite'}"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", default="10000,100000")
    ap.add_argument("--db")
    args = ap.parse_args()
    with tempfile.TemporaryDirectory() as d:
        tmp = Path(d)
        url = url_for(args.db, tmp)
        prefix = f"bench_{uuid.uuid4().hex[:8]}_"
        db = ConsoleDb(url, prefix=prefix)
        store = ApprovalStore(db)
        print(f"database: {url.split('@')[-1]}  load average: {os.getloadavg()[0]:.2f}")
        print(f"{'records':>8} {'plan MB':>8} {'stored MB':>9} {'submit s':>8} {'submit peak MB':>14} "
              f"{'read s':>7} {'read peak MB':>12}")  # fmt: skip
        try:
            for n in (int(x) for x in args.sizes.split(",")):
                plan = tmp / f"plan-{n}.json"
                write_plan(plan, n)
                tracemalloc.start()
                t0 = time.perf_counter()
                approval = store.submit("crm", plan, ["benchmark"], {"planned": {}})
                submit_s = time.perf_counter() - t0
                submit_peak = tracemalloc.get_traced_memory()[1]
                tracemalloc.stop()
                with db.engine.connect() as conn:
                    stored = conn.execute(
                        text(f"SELECT length(document) FROM {prefix}plans WHERE approval_id = :i"),
                        {"i": approval.id},
                    ).scalar_one()
                tracemalloc.start()
                t0 = time.perf_counter()
                with store.plan_file(approval.id) as path:  # what the worker and the page read
                    read_s = time.perf_counter() - t0
                    read_peak = tracemalloc.get_traced_memory()[1]
                    tracemalloc.stop()
                    assert path is not None and path.stat().st_size == plan.stat().st_size
                mb = 1024 * 1024
                print(f"{n:>8} {plan.stat().st_size / mb:>8.1f} {stored / mb:>9.1f} {submit_s:>8.2f} "
                      f"{submit_peak / mb:>14.1f} {read_s:>7.2f} {read_peak / mb:>12.1f}")  # fmt: skip
        finally:
            db.metadata.drop_all(db.engine)
            db.close()


if __name__ == "__main__":
    main()
