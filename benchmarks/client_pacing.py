"""How close does the client run to the allowed rate, and how often is it rejected?

Runs concurrent workers against the emulator (real loopback HTTP by default) for a fixed time,
with the emulator enforcing ``--server-rate`` requests per minute per token and the client
pacing itself at ``--client-rate``. Prints the achieved rate as a fraction of the allowed one
and the number of 429s.

    .venv/bin/python benchmarks/client_pacing.py                      # 600 rpm, 20 s
    .venv/bin/python benchmarks/client_pacing.py --client-rate 900    # client set too high: AIMD
    .venv/bin/python benchmarks/client_pacing.py --in-process --seconds 10
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import time
from collections.abc import Iterator

from gcx import AsyncClient, RetryPolicy
from gcx.emulator import Emulator, EmulatorSettings

CLIENT_ID = "bench-client"
CLIENT_SECRET = "bench-secret-value"  # the emulator accepts any credentials


async def run(args: argparse.Namespace, base_url: str, emu: Emulator) -> None:
    transport = emu.transport() if args.in_process else None
    async with AsyncClient(
        base_url,
        CLIENT_ID,
        CLIENT_SECRET,
        transport=transport,
        rate_limit=args.client_rate,
        retry=RetryPolicy(max_attempts=20, deadline=None),
    ) as gc:
        await gc.me()  # token + warm connection
        gc.stats.reset()
        start = time.monotonic()
        deadline = start + args.seconds

        async def worker() -> None:
            while time.monotonic() < deadline:
                await gc.me()

        await asyncio.gather(*(worker() for _ in range(args.concurrency)))
        elapsed = time.monotonic() - start
        stats = gc.stats.snapshot()
    ok = stats["by_status"].get(200, 0)
    achieved = ok / elapsed * 60
    print(f"transport            : {'in-process ASGI' if args.in_process else 'loopback HTTP'}")
    print(f"server limit         : {args.server_rate} requests/min per token")
    print(f"client pacing        : {args.client_rate} requests/min, {args.concurrency} concurrent workers")
    print(f"duration             : {elapsed:.1f} s")
    print(f"successful requests  : {ok}")
    print(
        f"achieved rate        : {achieved:.1f} requests/min = {achieved / args.server_rate:.1%} of the allowed rate"
    )
    print(
        f"429 responses        : {stats['rate_limited']} ({stats['rate_limited'] / max(1, stats['requests']):.2%} of attempts)"
    )
    print(f"retries              : {stats['retries']}")
    print(f"limiter              : {gc.limiter!r}, {gc.limiter.snapshot().decreases} rate cuts")


@contextlib.contextmanager
def server(emu: Emulator, in_process: bool) -> Iterator[str]:
    if in_process:
        yield "http://emulator.bench"
    else:
        with emu.serve() as url:
            yield url


def main() -> None:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--server-rate", type=int, default=600, help="emulator limit, requests/min per token")
    parser.add_argument(
        "--client-rate", type=float, default=None, help="client pacing (default: the server rate)"
    )
    parser.add_argument("--seconds", type=float, default=20.0)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--in-process", action="store_true", help="ASGI transport instead of loopback HTTP")
    args = parser.parse_args()
    if args.client_rate is None:
        args.client_rate = args.server_rate
    emu = Emulator(EmulatorSettings(rate_limit=args.server_rate, seed=1))
    with server(emu, args.in_process) as url:
        asyncio.run(run(args, url, emu))


if __name__ == "__main__":
    main()
