"""Planning scale: time and peak memory of ``gcx sync plan`` at 10k, 50k and 100k records.

Sources are CRM extracts (CSV + the example mapping, clean rows) written by the generator of
``gcx demo``; the plan runs against an empty emulated org (so every record is planned as a
create: the most work per record: validation, normalisation, diff, create body) and an empty
ledger.

A second timed run plans the same extract with every phone number rewritten to a distinct
one (``+1 212 5xxxxxx``): the demo's generator repeats numbers a lot (``555-0nnn``), which
gcx's bounded phone cache turns into hits; distinct numbers show the cost without that help.

Two memory figures (tracemalloc peaks, separate runs from the timed one):

* **source**: reading and validating every record of the stream (what grows with the file
  if anything is held): it must stay flat (it includes gcx's validation caches, started cold,
  which are bounded: at most 16,384 phone verdicts and 8,192 email domains);
* **plan**: the whole plan, which also holds the set of ExternalIds seen (duplicates, prune)
  and, on a non-empty org, the ledger and remote indexes: O(records) by nature, small per key.

    python benchmarks/sync_plan_scale.py [--sizes 10000,50000,100000]
"""

from __future__ import annotations

import argparse
import asyncio
import csv
import tempfile
import time
import tracemalloc
from pathlib import Path

from gcx.client import AsyncClient
from gcx.demo import crm, mapping_text
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.engine import SyncEngine
from gcx.sync.fields import clear_caches
from gcx.sync.ledger import Ledger
from gcx.sync.mapping import load_mapping
from gcx.sync.remote import Remote
from gcx.sync.source import CsvSource


async def plan(source: CsvSource, ledger_path: Path) -> tuple[int, int]:
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=1))
    with Ledger(f"sqlite:///{ledger_path}") as ledger:
        async with AsyncClient(
            "http://plan.local", client_id="p", client_secret="p", transport=emu.transport(), rate_limit=0
        ) as gc:
            engine = SyncEngine(
                ledger=ledger, source=source, remote=Remote(gc), region="http://plan.local", dry_run=True
            )
            report = await engine.run()
    if engine.exception is not None:
        raise engine.exception
    return report.planned.total("create"), report.requests


def read_source(source: CsvSource) -> int:
    n = 0
    for _ in source.items():
        n += 1
    return n


def distinct_phones(src: Path, dst: Path) -> Path:
    """``src`` with every non-empty phone cell replaced by a number no other cell has."""
    n = 0
    with src.open(newline="", encoding="utf-8") as fin, dst.open("w", newline="", encoding="utf-8") as fout:
        reader = csv.DictReader(fin)
        assert reader.fieldnames is not None
        writer = csv.DictWriter(fout, reader.fieldnames)
        writer.writeheader()
        for row in reader:
            for col in ("mobile", "work_phone", "account_phone"):
                if row.get(col):
                    n += 1
                    row[col] = f"+1 212 5{n:06d}"
            writer.writerow(row)
    return dst


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--sizes", default="10000,50000,100000")
    args = parser.parse_args()
    sizes = [int(s) for s in args.sizes.split(",")]
    print(
        "records   plan time   records/s   distinct phones   peak KB (source stream)   peak MB (plan)"
        "   bytes/record (plan)"
    )
    with tempfile.TemporaryDirectory() as tmp:
        mapping_path = Path(tmp) / "mapping.toml"
        mapping_path.write_text(mapping_text(), encoding="utf-8")
        mapping = load_mapping(mapping_path)
        for size in sizes:
            csv_path = crm.write(Path(tmp) / f"crm-{size}.csv", size, max(2, size // 100), clean=True)
            source = CsvSource(csv_path, mapping)
            clear_caches()  # every timed run starts cold (no help from the previous size)
            t0 = time.monotonic()
            planned, _ = asyncio.run(plan(source, Path(tmp) / f"l-{size}-a.sqlite"))
            elapsed = time.monotonic() - t0

            unique = CsvSource(distinct_phones(csv_path, Path(tmp) / f"crm-{size}-u.csv"), mapping)
            clear_caches()
            t0 = time.monotonic()
            asyncio.run(plan(unique, Path(tmp) / f"l-{size}-u.sqlite"))
            elapsed_unique = time.monotonic() - t0

            clear_caches()  # the bounded validation caches count in the peaks: start them cold
            tracemalloc.start()
            read_source(source)
            _, peak_source = tracemalloc.get_traced_memory()
            tracemalloc.stop()

            clear_caches()
            tracemalloc.start()
            asyncio.run(plan(source, Path(tmp) / f"l-{size}-b.sqlite"))
            _, peak_plan = tracemalloc.get_traced_memory()
            tracemalloc.stop()
            print(
                f"{planned:>7,}   {elapsed:>7.1f} s   {planned / elapsed:>9,.0f}   {elapsed_unique:>13.1f} s   "
                f"{peak_source / 1e3:>23,.0f}   {peak_plan / 1e6:>14.1f}   {peak_plan / max(planned, 1):>19,.0f}"
            )


if __name__ == "__main__":
    main()
