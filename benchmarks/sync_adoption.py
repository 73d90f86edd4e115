"""Adoption of hand-made records under both identity combinations of the emulator, side by side.

* **strict** (the emulator's defaults, Genesys' documented rules): scans and bulk answers show no
  identifiers, ``externalIds`` make none, a body's ``identifiers`` are ignored;
* **kind** (the emulator's earlier rules, ``KIND_IDENTITY``): identifiers in every answer, claimed
  from ``externalIds`` and from bodies.

Figures (requests counted by the emulator, checks by gcx's report):

1. N contacts (default 10,000 in 100 organizations) into an empty org: requests, adoption checks;
2. an org holding H contacts made by hand (default 1,000), P of which (default 100) a person
   tagged with an ExternalId of the source (``PATCH .../identifiers``), then a sync of S source
   contacts (default 2,000) that include those P keys: duplicates, adopted, unmanaged fields kept,
   adoption checks and their time at 300 requests/minute; then a no-op rerun: checks and writes.

    python benchmarks/sync_adoption.py [--contacts 10000] [--hand-made 1000] [--tagged 100] [--source 2000]
"""

from __future__ import annotations

import argparse
import asyncio
import sys
import tempfile
from pathlib import Path
from typing import Any

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from gcx.sync.engine import SyncEngine
from gcx.sync.ledger import Ledger
from gcx.sync.options import SyncOptions
from gcx.sync.records import Record, build_record
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.source import RecordsSource

REGION = "http://bench.local"
MODES: dict[str, dict[str, Any]] = {"strict": {}, "kind": KIND_IDENTITY}


def contacts(n: int, *, orgs: int = 0) -> list[Record]:
    out: list[Record] = []
    for o in range(orgs):
        built = build_record("organization", f"org-{o}", {"name": f"Org {o}"}, line=o + 1)
        assert built.record is not None
        out.append(built.record)
    for c in range(n):
        values = {"firstName": f"First{c}", "lastName": f"Last{c}", "workEmail": f"user{c}@example.com"}
        built = build_record(
            "contact",
            f"c-{c}",
            values,
            line=orgs + c + 1,
            org_key=f"org-{c % orgs}" if orgs else None,
            manages_org=bool(orgs),
        )
        assert built.record is not None
        out.append(built.record)
    return out


async def sync(emu: Emulator, ledger: Ledger, records: list[Record]) -> tuple[RunReport, int, int]:
    """The run's report, the API requests it made and the writes among them."""
    before = emu.stats()
    async with AsyncClient(
        REGION, client_id="id", client_secret="secret", transport=emu.transport(), rate_limit=0
    ) as gc:
        engine = SyncEngine(
            ledger=ledger,
            source=RecordsSource(records),
            remote=Remote(gc),
            region=REGION,
            options=SyncOptions(),
        )
        report = await engine.run()
    if engine.exception is not None:
        raise engine.exception
    after = emu.stats()
    return report, int(after["apiCalls"]) - int(before["apiCalls"]), writes(after) - writes(before)


def writes(stats: dict[str, Any]) -> int:
    reads = ("/bulk/contacts", "/bulk/organizations", "identifierlookup")
    n = 0
    for r in stats["routes"]:
        route, method = r["route"], r["method"]
        if not route.startswith("/api/v2") or method == "GET" or int(r.get("status") or 0) >= 400:
            continue
        if method == "POST" and (route.endswith(reads[0]) or route.endswith(reads[1]) or reads[2] in route):
            continue
        n += int(r["count"])
    return n


def hand_made(emu: Emulator, n: int, tagged: int) -> dict[str, dict[str, Any]]:
    """``n`` contacts made by a person; the first ``tagged`` hold ExternalId ``c-<i>``. By id."""
    backend = emu.backend
    made: dict[str, dict[str, Any]] = {}
    for i in range(n):
        body = {"firstName": f"Hand{i}", "title": f"kept-{i}", "personalEmail": f"hand{i}@example.org"}
        created = backend.create("contacts", body)
        if i < tagged:
            claim = {"operation": "Claim", "identifier": {"type": "ExternalId", "value": f"c-{i * 7}"}}
            backend.patch_identifiers("contacts", created["id"], claim)
        made[created["id"]] = {"i": i, "key": f"c-{i * 7}" if i < tagged else None}
    return made


async def run_mode(mode: str, args: argparse.Namespace, tmp: Path) -> list[tuple[str, str]]:
    rows: list[tuple[str, str]] = []
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1, **MODES[mode]))
    with Ledger(f"sqlite:///{tmp / f'{mode}-empty.sqlite'}") as ledger:
        report, n, _ = await sync(emu, ledger, contacts(args.contacts, orgs=args.orgs))
        rows.append(
            (
                f"{args.contacts:,} contacts into an empty org",
                f"{n} requests, {report.adoption.get('checks', 0)} adoption checks",
            )
        )

    emu = Emulator(EmulatorSettings(rate_limit=0, seed=2, **MODES[mode]))
    made = hand_made(emu, args.hand_made, args.tagged)
    source = contacts(args.source)
    with Ledger(f"sqlite:///{tmp / f'{mode}-hand.sqlite'}") as ledger:
        report, n, _ = await sync(emu, ledger, source)
        state = emu.dump()["contacts"]
        holders: dict[str, set[str]] = {}  # a key's records: by externalIds, or tagged by hand
        for c in state:
            for e in c.get("externalIds") or []:
                holders.setdefault(e["value"], set()).add(c["id"])
        for rid, info in made.items():
            if info["key"] is not None:
                holders.setdefault(info["key"], set()).add(rid)
        duplicates = sum(len(ids) - 1 for ids in holders.values())
        expected_total = args.hand_made + args.source - args.tagged
        adopted_ok = kept = 0
        for c in state:
            info = made.get(c["id"])
            if info is None or info["key"] is None:
                continue
            if any(e["value"] == info["key"] for e in c.get("externalIds") or []):
                adopted_ok += 1
                if (
                    c.get("title") == f"kept-{info['i']}"
                    and c.get("personalEmail") == f"hand{info['i']}@example.org"
                ):
                    kept += 1
        a = report.adoption
        rows.append(
            (
                f"{args.hand_made:,} by hand ({args.tagged} tagged), source of {args.source:,}",
                f"{n} requests; {len(state):,} contacts (expected {expected_total:,}), {duplicates} duplicates; "
                f"{adopted_ok} adopted, unmanaged fields kept on {kept}; "
                f"{a.get('checks', 0)} adoption checks ({a.get('strategy', {}).get('contact')}), "
                f"{a.get('checks', 0) * 60 / 300:.0f} s of them at 300/min",
            )
        )
        report, n, w = await sync(emu, ledger, source)
        rows.append(
            ("no-op rerun", f"{n} requests, {report.adoption.get('checks', 0)} adoption checks, {w} writes")
        )
    return rows


async def main(args: argparse.Namespace) -> None:
    with tempfile.TemporaryDirectory() as tmp:
        results = {mode: await run_mode(mode, args, Path(tmp)) for mode in MODES}
    width = max(len(r[0]) for rows in results.values() for r in rows)
    print("gcx sync adoption, emulator identity combinations side by side (requests counted by the emulator)")
    for mode, rows in results.items():
        print(f"\n[{mode}]")
        for name, value in rows:
            print(f"{name:<{width}}  {value}")
    print(
        "\ntargets: empty org <= 120 requests and 0 checks; hand-made: 0 duplicates, all tagged adopted "
        "with unmanaged fields kept, checks <= hand-made count; no-op rerun 0 checks, 0 writes"
    )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--contacts", type=int, default=10_000)
    parser.add_argument("--orgs", type=int, default=100)
    parser.add_argument("--hand-made", type=int, default=1_000)
    parser.add_argument("--tagged", type=int, default=100)
    parser.add_argument("--source", type=int, default=2_000)
    sys.exit(asyncio.run(main(parser.parse_args())))
