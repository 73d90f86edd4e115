"""Chaos run of ``gcx sync apply`` against the emulator: prints what was injected and whether
the result is exact (0 duplicates, 0 fields lost, every managed field equal, ledger consistent,
no secret in any output).

    .venv/bin/python benchmarks/chaos.py --contacts 10000 --orgs 100 --kills 5
    .venv/bin/python benchmarks/chaos.py --contacts 2000 --edits 40 --on-conflict report
    .venv/bin/python benchmarks/chaos.py --contacts 2000 --dirty 0.05
    .venv/bin/python benchmarks/chaos.py --unique-external-ids --seed 3 --json result.json

The harness is :mod:`gcx_testkit.chaos` (shared with ``tests/chaos``). Exit code 0 when the
result is exact, 1 otherwise. Every run is bounded (``--deadline`` seconds in all).
"""

from __future__ import annotations

import argparse
import json
import sys
import tempfile
from datetime import UTC, datetime
from pathlib import Path

from gcx_testkit.chaos import ChaosConfig, run_chaos


def parse(argv: list[str] | None = None) -> tuple[ChaosConfig, argparse.Namespace]:
    d = ChaosConfig()
    p = argparse.ArgumentParser(
        description=__doc__.split("\n\n")[0], formatter_class=argparse.RawDescriptionHelpFormatter
    )
    p.add_argument("--contacts", type=int, default=d.contacts)
    p.add_argument("--orgs", type=int, default=d.orgs)
    p.add_argument("--seed", type=int, default=d.seed)
    p.add_argument("--kills", type=int, default=d.kills, help="SIGKILLs of the gcx process")
    p.add_argument("--fault-rate", type=float, default=d.fault_rate, help="500/503/504 per API call")
    p.add_argument("--drop-rate", type=float, default=d.drop_rate, help="commit-then-drop per write")
    p.add_argument(
        "--drops-per-run", type=int, default=d.drops_per_run, help="forced commit-then-drops per run"
    )
    p.add_argument("--burst-429-rate", type=float, default=d.burst_429_rate)
    p.add_argument("--burst-429-length", type=int, default=d.burst_429_length)
    p.add_argument("--bursts-per-run", type=int, default=d.bursts_per_run, help="forced 429 bursts per run")
    p.add_argument("--revokes-per-run", type=int, default=d.revokes_per_run, help="token revocations per run")
    p.add_argument("--token-ttl", type=int, default=d.token_ttl, help="token lifetime (s) during the chaos")
    p.add_argument("--unique-external-ids", action="store_true", help="the emulator refuses a second holder")
    p.add_argument(
        "--kind-identity",
        action="store_true",
        help="the emulator's earlier identity rules (identifiers in scans); default: the documented, strict ones",
    )
    p.add_argument("--on-conflict", choices=["source-wins", "report"], default=d.on_conflict)
    p.add_argument(
        "--preseed", type=float, default=d.preseed_fraction, help="fraction created by a person first"
    )
    p.add_argument("--edits", type=int, default=0, help="records a person edits during the sync")
    p.add_argument(
        "--changed", type=float, default=d.changed_fraction, help="source change before the edit run"
    )
    p.add_argument("--dirty", type=float, default=0.0, help="fraction of invalid rows (CSV source)")
    p.add_argument("--batch-size", type=int, default=d.batch_size)
    p.add_argument("--emulator-rate-limit", type=int, default=0, help="requests/minute per token (0 = off)")
    p.add_argument("--client-rate-limit", type=int, default=0, help="gcx --rate-limit (0 = off)")
    p.add_argument("--max-runs", type=int, default=d.max_runs)
    p.add_argument("--deadline", type=float, default=d.deadline, help="seconds for the whole run")
    p.add_argument("--ledger", default=None, help="ledger URL (default: SQLite in the work dir)")
    p.add_argument("--workdir", type=Path, default=None, help="keep source, ledger, reports and logs here")
    p.add_argument("--json", type=Path, default=None, help="write the result as JSON")
    p.add_argument("--quiet", action="store_true", help="no per-run lines")
    a = p.parse_args(argv)
    cfg = ChaosConfig(
        contacts=a.contacts,
        orgs=a.orgs,
        seed=a.seed,
        kills=a.kills,
        fault_rate=a.fault_rate,
        drop_rate=a.drop_rate,
        drops_per_run=a.drops_per_run,
        burst_429_rate=a.burst_429_rate,
        burst_429_length=a.burst_429_length,
        bursts_per_run=a.bursts_per_run,
        revokes_per_run=a.revokes_per_run,
        token_ttl=a.token_ttl,
        unique_external_ids=a.unique_external_ids,
        kind_identity=a.kind_identity,
        on_conflict=a.on_conflict,
        preseed_fraction=a.preseed,
        edits=a.edits,
        changed_fraction=a.changed,
        dirty_fraction=a.dirty,
        batch_size=a.batch_size,
        emulator_rate_limit=a.emulator_rate_limit,
        client_rate_limit=a.client_rate_limit,
        max_runs=a.max_runs,
        deadline=a.deadline,
        ledger_url=a.ledger,
    )
    return cfg, a


def main(argv: list[str] | None = None) -> int:
    cfg, a = parse(argv)
    log = (lambda _m: None) if a.quiet else (lambda m: print(m, flush=True))
    print(f"# gcx chaos run, {datetime.now(UTC):%Y-%m-%d %H:%M} UTC", flush=True)
    if a.workdir is not None:
        result = run_chaos(cfg, a.workdir, log)
    else:
        with tempfile.TemporaryDirectory(prefix="gcx-chaos-") as tmp:
            result = run_chaos(cfg, Path(tmp), log)
    print(result.summary())
    if not result.ok:
        print("\nproblems:\n" + result.problems(), file=sys.stderr)
    if a.json is not None:
        a.json.write_text(json.dumps(result.to_json(), indent=2, default=str), encoding="utf-8")
    return 0 if result.ok else 1


if __name__ == "__main__":
    sys.exit(main())
