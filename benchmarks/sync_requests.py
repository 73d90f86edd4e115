"""API requests of ``gcx sync`` against the emulator, beside the naive GET-before-POST pattern.

Figures (counted by the emulator's statistics, same run):

* first sync of N contacts in M organizations (default 10,000 / 100);
* a second run with no change (scan), and with ``--trust-ledger`` (no request at all);
* a run where 100 contacts changed (scan + one bulk update), and the same with ``--trust-ledger``;
* the naive pattern of the usual guides: for each record, an identifier lookup then a create
  (first run) or an update (later runs). It is measured on a sample and extrapolated (said so);
* wall time of the first sync under a 300 requests/minute limit over real loopback HTTP
  (emulator limit 300 rpm, client pacing 300 rpm), the fraction of the allowed rate used and 429s.

    python benchmarks/sync_requests.py [--contacts 10000] [--orgs 100] [--naive-sample 500] [--no-realtime]
"""

from __future__ import annotations

import argparse
import asyncio
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path
from typing import Any

import httpx

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.errors import NotFoundError
from gcx.sync.engine import SyncEngine
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.records import Record, build_record
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.source import RecordsSource

REGION = "http://bench.local"


def dataset(n_orgs: int, n_contacts: int, *, changed: int = 0) -> list[Record]:
    out: list[Record] = []
    for o in range(n_orgs):
        built = build_record(
            "organization", f"org-{o}", {"name": f"Org {o}", "industry": "retail"}, line=o + 1
        )
        assert built.record is not None
        out.append(built.record)
    for c in range(n_contacts):
        values = {
            "firstName": f"First{c}" + ("-changed" if c < changed else ""),
            "lastName": f"Last{c}",
            "workEmail": f"user{c}@example.com",
            "cellPhone": f"+1415{c % 10_000_000:07d}",
            "address.city": "Boston",
        }
        built = build_record(
            "contact", f"c-{c}", values, line=n_orgs + c + 1, org_key=f"org-{c % n_orgs}", manages_org=True
        )
        assert built.record is not None
        out.append(built.record)
    return out


async def sync(
    emu: Emulator, ledger: Ledger, records: list[Record], *, base: str = REGION, rate: float = 0, **opts: Any
) -> tuple[RunReport, int, float]:
    before = int(emu.stats()["apiCalls"])
    t0 = time.monotonic()
    transport = None if base != REGION else emu.transport()
    async with AsyncClient(
        base, client_id="bench", client_secret="bench", transport=transport, rate_limit=rate
    ) as gc:
        engine = SyncEngine(
            ledger=ledger,
            source=RecordsSource(records),
            remote=Remote(gc),
            region=base,
            options=SyncOptions(**opts),
        )
        report = await engine.run()
    if engine.exception is not None:
        raise engine.exception
    return report, int(emu.stats()["apiCalls"]) - before, time.monotonic() - t0


async def naive(emu: Emulator, records: list[Record], source_id: str) -> tuple[int, int]:
    """GET-before-POST: look each record up by its ExternalId, then create or update it."""
    from gcx.sync.plan import create_body

    org_ids: dict[str, str] = {}
    before = int(emu.stats()["apiCalls"])
    async with AsyncClient(
        REGION, client_id="n", client_secret="n", transport=emu.transport(), rate_limit=0
    ) as gc:
        for rec in records:
            res = gc.organizations if rec.kind == "organization" else gc.contacts
            try:
                found = await res.lookup_external_id(rec.key, external_source_id=source_id)
            except NotFoundError:
                found = None
            body = create_body(rec, source_id, org_ids.get(rec.org_key or ""))
            if found is None:
                made = await res.create(body)
                rid = str(made.id)
            else:
                rid = str(found.id)
                merged = {**found.to_api(), **body}
                await res.update(merged, id=rid)
            if rec.kind == "organization":
                org_ids[rec.key] = rid
    return int(emu.stats()["apiCalls"]) - before, len(records)


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def realtime(records: list[Record], tmp: Path) -> tuple[str, str, str]:
    """The first sync under 300 requests/minute over loopback HTTP, the emulator in its own process
    (as Genesys would be: its CPU is not the client's)."""
    port = _free_port()
    cmd = [sys.executable, "-m", "gcx.cli.main", "emulator", "--port", str(port), "--rate-limit", "300"]
    proc = await asyncio.create_subprocess_exec(*cmd, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    url = f"http://127.0.0.1:{port}"
    try:
        async with httpx.AsyncClient(base_url=url) as http:
            for _ in range(600):
                try:
                    if (await http.get("/_emulator/stats")).status_code == 200:
                        break
                except httpx.TransportError:
                    await asyncio.sleep(0.1)
            with Ledger(f"sqlite:///{tmp / 'rt.sqlite'}") as ledger:
                t0 = time.monotonic()
                async with AsyncClient(url, client_id="bench", client_secret="bench", rate_limit=300) as gc:
                    engine = SyncEngine(
                        ledger=ledger, source=RecordsSource(records), remote=Remote(gc), region=url
                    )
                    report = await engine.run()
                elapsed = time.monotonic() - t0
            if engine.exception is not None:
                raise engine.exception
            stats = (await http.get("/_emulator/stats")).json()
    finally:
        proc.terminate()
        await proc.wait()
    n = int(stats["apiCalls"])
    allowed = 300 * elapsed / 60
    waited = report.request_stats.get("waited_pacing", 0)
    return (
        "first sync at 300 rpm, loopback HTTP",
        f"{n}",
        f"{elapsed:.1f} s wall; {n / max(allowed, 1):.0%} of the allowed rate; 429s: {stats['rateLimited']}; "
        f"client paced {waited:.1f} s (emulator in its own process)",
    )


async def main(args: argparse.Namespace) -> None:
    n_orgs, n_contacts = args.orgs, args.contacts
    rows: list[tuple[str, str, str]] = []
    with tempfile.TemporaryDirectory() as tmp:
        emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
        with Ledger(f"sqlite:///{Path(tmp) / 'ledger.sqlite'}") as ledger:
            base = dataset(n_orgs, n_contacts)
            first, n_first, t_first = await sync(emu, ledger, base)
            rows.append(("first sync", f"{n_first}", f"{t_first:.1f} s (in-process, no rate limit)"))
            noop, n_noop, t = await sync(emu, ledger, base)
            assert sum(sum(v.values()) for v in noop.applied.values()) == 0
            rows.append(("no-op run", f"{n_noop}", f"writes 0; {t:.1f} s"))
            _, n_trust, t = await sync(emu, ledger, base, trust_ledger=True)
            rows.append(("no-op run, --trust-ledger", f"{n_trust}", f"{t:.1f} s"))
            changed = dataset(n_orgs, n_contacts, changed=100)
            _, n_changed, t = await sync(emu, ledger, changed)
            rows.append(
                ("100 contacts changed", f"{n_changed}", f"+{n_changed - n_noop} vs no-op; {t:.1f} s")
            )
            changed2 = dataset(n_orgs, n_contacts, changed=200)
            _, n_changed_t, t = await sync(emu, ledger, changed2, trust_ledger=True)
            rows.append(("100 more changed, --trust-ledger", f"{n_changed_t}", f"{t:.1f} s"))
            source_id = first.external_source_id or ""

        # the naive pattern, on a sample, in a fresh org with the same External Source
        emu2 = Emulator(EmulatorSettings(rate_limit=0, seed=2))
        emu2.load(
            {
                "version": 1,
                "externalsources": emu.dump()["externalsources"],
                "organizations": [],
                "contacts": [],
            }
        )
        sample_orgs = max(1, n_orgs * args.naive_sample // max(n_contacts, 1))
        sample = dataset(sample_orgs, args.naive_sample)
        n1, k = await naive(emu2, sample, source_id)
        n2, _ = await naive(emu2, sample, source_id)
        scale = (n_orgs + n_contacts) / k
        rows.append(
            (
                "naive GET-before-POST, first run",
                f"~{round(n1 * scale):,}",
                f"measured {n1} for {k} records, extrapolated x{scale:.0f}",
            )
        )
        rows.append(
            (
                "naive, any later run",
                f"~{round(n2 * scale):,}",
                f"measured {n2} for {k} records (lookup + PUT each), extrapolated",
            )
        )

        if not args.no_realtime:
            rows.append(await realtime(base, Path(tmp)))

    width = max(len(r[0]) for r in rows)
    print(
        f"gcx sync, {n_contacts:,} contacts in {n_orgs} organizations (API requests counted by the emulator)"
    )
    print(f"{'run':<{width}}  {'requests':>9}  notes")
    for name, n, note in rows:
        print(f"{name:<{width}}  {n:>9}  {note}")
    print(
        "targets: first sync <= 120, no-op <= 60 (0 with --trust-ledger), 100 changed <= no-op + 5, "
        "first sync at 300 rpm < 60 s"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument(
        "--naive-sample", type=int, default=500, help="records the naive pattern is measured on"
    )
    parser.add_argument("--no-realtime", action="store_true", help="skip the 300 rpm loopback run")
    sys.exit(asyncio.run(main(parser.parse_args())))
