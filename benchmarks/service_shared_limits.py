"""Three ``gcx serve`` workers sharing one OAuth client against an emulator limited to 300/min.

Prints: token requests for the whole fleet, requests, 429s (share), and the share of the
allowed rate used over the measured window (after every job's first run).

    .venv/bin/python benchmarks/service_shared_limits.py --rate 300 --seconds 90

Needs PostgreSQL at 127.0.0.1:5432 (trust): a database is created for the run and dropped.
"""

from __future__ import annotations

import argparse
import json
import tempfile
import uuid
from pathlib import Path

import psycopg

from gcx.service.database import ensure_schema
from gcx_testkit.service_fleet import shared_limits


def main() -> int:
    p = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    p.add_argument(
        "--rate", type=int, default=300, help="requests per minute per token (emulator and budget)"
    )
    p.add_argument("--seconds", type=float, default=90.0, help="length of the measured window")
    p.add_argument("--contacts", type=int, default=2000, help="contacts per job (3 jobs)")
    p.add_argument("--workers", type=int, default=3)
    p.add_argument("--admin-url", default="postgresql://postgres@127.0.0.1:5432/test")
    args = p.parse_args()
    name = f"gcx_svc_bench_{uuid.uuid4().hex[:8]}"
    base = args.admin_url.rsplit("/", 1)[0]
    with psycopg.connect(args.admin_url, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"'.encode())
    url = f"{base}/{name}"
    try:
        ensure_schema(url)
        with tempfile.TemporaryDirectory() as tmp:
            figures = shared_limits(
                url,
                Path(tmp),
                rate=args.rate,
                seconds=args.seconds,
                contacts=args.contacts,
                workers=args.workers,
            )
    finally:
        with psycopg.connect(args.admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)'.encode())
    print(json.dumps(figures, indent=2))
    print(
        f"{figures['workers']} workers, {figures['rate_per_minute']}/min: {figures['token_requests']} token "
        f"request(s); {figures['api_requests']} API requests, {figures['rate_limited']} 429s "
        f"({figures['rate_limited_share']:.2%}); {figures['used_share']:.1%} of the allowed rate used over "
        f"{figures['window_seconds']} s"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
