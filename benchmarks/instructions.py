"""gcx's own work per record in a first sync, counted in instructions (callgrind), not seconds.

Timed CPU on a shared machine moves by a third from one hour to the next with the same code
(docs/benchmarks.md, session 5: 0.084 to 0.131 ms per record at 100k); an instruction count is
the same for the same code and inputs whatever else the machine does. So the code of two trees
is compared here by the instructions the gcx process executes in an unpaced first sync of
``--contacts`` contacts minus those of one of a third as many (the difference leaves out the
start-up: imports, the token, the first pages), divided by the contacts between the two. The
emulator runs in its own process, uninstrumented, a fresh one for each run.

With ``--emulator`` the roles swap: the emulator's process runs under callgrind and gcx runs
uninstrumented, so the figure is the emulator's instructions per stored contact (its goal: at most
0.1 ms of CPU per stored record, issue 12).

    python benchmarks/instructions.py --contacts 6000 --tree issue=/tmp/snap-issue
    python benchmarks/instructions.py --contacts 6000 --emulator

``valgrind`` (Debian's package) runs gcx about fifty times slower than usual: 6,000 contacts take
a few minutes per tree. ``PYTHONHASHSEED=0`` makes each count repeatable.
"""

from __future__ import annotations

import argparse
import shutil
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parent))

from scale import HERE, PER_ORG, Emulator, generate, tree_env


def instructions(out: Path) -> int:
    """The total instructions a callgrind output file counted (its ``totals:`` line)."""
    for line in out.read_text(encoding="utf-8", errors="replace").splitlines():
        if line.startswith(("totals:", "summary:")):
            return int(line.split()[1])
    raise ValueError(f"no totals in {out}")


#: Runs ``gcx`` with a client that waits an hour for an answer and drops a connection idle for a
#: second: under valgrind gcx runs ~50x slower, long enough for a 30 s timeout to fire, or for the
#: emulator to close a connection (uvicorn: 5 s idle) just as gcx sends on it. Both trees get it.
LAUNCHER = """
import runpy, sys
import httpx
import gcx.client
gcx.client.AsyncClient.__init__.__kwdefaults__["timeout"] = 3600.0
httpx.AsyncClient.__init__.__kwdefaults__["limits"] = httpx.Limits(keepalive_expiry=1.0)
sys.argv[0] = "gcx"
runpy.run_module("gcx.cli.main", run_name="__main__", alter_sys=True)
"""


def first_sync(
    tree: Path, source: Path, work: Path, label: str, *, emulator: bool = False, rate: int = 0
) -> int:
    """Instructions of gcx's process (or with ``emulator``, the emulator's) in a first sync of
    ``source`` into an empty org, unpaced unless ``rate`` (gcx's --rate-limit, per minute)."""
    env = {**tree_env(tree), "PYTHONHASHSEED": "0"}
    ledger = work / f"ledger-{label}.sqlite"
    for p in ledger.parent.glob(ledger.name + "*"):
        p.unlink()
    out = work / f"callgrind-{label}.out"
    valgrind = ("valgrind", "--tool=callgrind", f"--callgrind-out-file={out}")
    wrap = valgrind if emulator else ()
    with Emulator(env, 0, wrap=wrap, start_timeout=600 if emulator else 60) as emu:
        cmd = [
            *(() if emulator else valgrind),
            sys.executable,
            "-c",
            LAUNCHER,
            "--quiet",
            "--region",
            emu.url,
            "--rate-limit",
            str(rate),
            "sync",
            "apply",
            str(source),
            "--ledger",
            f"sqlite:///{ledger}",
            "--report",
            str(work / f"report-{label}.json"),
        ]
        done = subprocess.run(cmd, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, check=False)
        if done.returncode != 0:
            sys.stderr.write(done.stderr.decode(errors="replace")[-3000:])
            raise SystemExit(f"{label}: gcx sync apply failed with exit {done.returncode}")
    return instructions(out)  # the emulator has stopped and written its file by now


def main() -> None:
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--contacts", type=int, default=6000, help="the larger run (the smaller: a third)")
    ap.add_argument("--tree", action="append", default=[], help="LABEL=PATH of another checkout (repeatable)")
    ap.add_argument("--no-current", action="store_true", help="measure only the --tree checkouts")
    ap.add_argument("--workdir", help="keep the sources, ledgers and callgrind files here")
    ap.add_argument(
        "--emulator",
        action="store_true",
        help="count the emulator's instructions (per stored contact), not gcx's",
    )
    ap.add_argument(
        "--rate-limit",
        type=int,
        default=0,
        help="pace gcx at this many requests a minute (default 0: unpaced); slow enough that gcx "
        "waits between requests even under valgrind, it counts what pacing itself costs",
    )
    args = ap.parse_args()
    if shutil.which("valgrind") is None:
        raise SystemExit("valgrind is not installed (apt-get install valgrind)")
    trees = [(t.split("=", 1)[0], Path(t.split("=", 1)[1]).resolve()) for t in args.tree]
    if not args.no_current or not trees:
        trees.append(("current", HERE))
    big = args.contacts
    small = max(PER_ORG, big // 3)
    with tempfile.TemporaryDirectory(prefix="gcx-instr-") as tmp:
        work = Path(args.workdir) if args.workdir else Path(tmp)
        work.mkdir(parents=True, exist_ok=True)
        sources = {}
        for n in (small, big):
            sources[n] = work / f"contacts-{n}.jsonl"
            if not sources[n].exists():
                generate(sources[n], n)
        rows = []
        for label, tree in trees:
            t0 = time.monotonic()
            who = "emulator-" if args.emulator else ""
            counts = {
                n: first_sync(
                    tree, sources[n], work, f"{who}{label}-{n}", emulator=args.emulator, rate=args.rate_limit
                )
                for n in (small, big)
            }
            per = (counts[big] - counts[small]) / (big - small)
            rows.append((label, counts[small], counts[big], per))
            print(f"{label}: measured in {time.monotonic() - t0:.0f} s", flush=True)
        process = "the emulator's" if args.emulator else "gcx's"
        print(
            f"| code | {process} instructions, {small:,} contacts | {big:,} contacts | per contact between |"
        )
        print("|---|---|---|---|")
        for label, a, b, per in rows:
            print(f"| {label} | {a / 1e9:.2f}G | {b / 1e9:.2f}G | {per / 1e3:.1f}k |")
        if len(rows) > 1:
            base = rows[0][3]
            for label, _, _, per in rows[1:]:
                print(f"{rows[0][0]} / {label}: {base / per:.2f}x the instructions per contact")


if __name__ == "__main__":
    main()
