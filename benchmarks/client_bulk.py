"""Bulk throughput of the client against the in-process emulator, and the cost of mapping
unordered bulk results back to request order.

    .venv/bin/python benchmarks/client_bulk.py --records 5000
"""

from __future__ import annotations

import argparse
import asyncio
import random
import time

from gcx import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.resources.bulk_mapping import map_by_content


def mapping_cost(n: int, keyed: bool) -> float:
    rng = random.Random(1)
    records = []
    for i in range(n):
        rec = {"firstName": f"P{i}", "lastName": "X", "cellPhone": {"display": f"+44207946{i % 10000:04d}"}}
        if keyed:
            rec["externalIds"] = [{"externalSource": {"id": "src"}, "value": f"k{i}"}]
        records.append(rec)
    results = [
        {"success": True, "entity": {**r, "id": f"id{i}", "createDate": "x"}} for i, r in enumerate(records)
    ]
    rng.shuffle(results)
    start = time.perf_counter()
    assigned, unmatched = map_by_content(records, results)
    elapsed = time.perf_counter() - start
    assert all(a is not None for a in assigned) and not unmatched
    return elapsed


async def throughput(records: int, batch: int) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    async with AsyncClient(
        "http://emulator.bench", "bench", "bench-secret", transport=emu.transport(), rate_limit=0
    ) as gc:
        people = [{"firstName": f"Person {i}", "workEmail": f"p{i}@example.com"} for i in range(records)]
        start = time.perf_counter()
        added = await gc.contacts.bulk_add(people, batch_size=batch)
        add_s = time.perf_counter() - start
        assert added.ok
        start = time.perf_counter()
        n = sum([1 async for _ in gc.contacts.scan(limit=200)])
        scan_s = time.perf_counter() - start
        ids = [i.id for i in added if i.id]
        start = time.perf_counter()
        fetched = await gc.contacts.bulk_get(ids, batch_size=batch)
        get_s = time.perf_counter() - start
        assert fetched.ok and n == records
    print(
        f"bulk_add  {records} contacts in {added.requests} requests: {add_s:.2f} s ({records / add_s:.0f} records/s)"
    )
    print(f"scan      {n} contacts: {scan_s:.2f} s ({n / scan_s:.0f} records/s)")
    print(f"bulk_get  {records} contacts: {get_s:.2f} s ({records / get_s:.0f} records/s)")


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--records", type=int, default=5000)
    parser.add_argument("--batch", type=int, default=200)
    args = parser.parse_args()
    for keyed in (True, False):
        cost = mapping_cost(args.batch, keyed)
        label = "ExternalId keys" if keyed else "field comparison"
        print(f"mapping {args.batch} shuffled add results by {label}: {cost * 1000:.1f} ms")
    asyncio.run(throughput(args.records, args.batch))


if __name__ == "__main__":
    main()
