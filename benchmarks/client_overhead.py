"""Per-call cost of the client itself (auth, pacing off, retry layer, error mapping, model
parsing) over httpx.MockTransport, and the token storm: N concurrent calls at token expiry.

    .venv/bin/python benchmarks/client_overhead.py --calls 2000 --storm 500
"""

from __future__ import annotations

import argparse
import asyncio
import time

import httpx

from gcx import AsyncClient
from gcx.auth import TokenCache

BODY = {"id": "o1", "name": "Acme", "address": {"city": "Paris"}, "futureField": {"kept": True}}


class Clock:
    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


async def main(calls: int, storm: int) -> None:
    token_requests = 0

    async def handler(request: httpx.Request) -> httpx.Response:
        nonlocal token_requests
        if request.url.path == "/oauth/token":
            token_requests += 1
            await asyncio.sleep(0.02)  # a slow login service: everybody piles up behind it
            return httpx.Response(
                200, json={"access_token": f"token-{token_requests:08d}", "expires_in": 300}
            )
        return httpx.Response(200, json=BODY)

    clock = Clock()
    async with AsyncClient(
        "http://bench.test",
        "bench",
        "bench-secret",
        transport=httpx.MockTransport(handler),
        rate_limit=0,
        token_cache=TokenCache(clock=clock),
    ) as gc:
        await gc.organizations.get("o1")
        start = time.perf_counter()
        for _ in range(calls):
            await gc.organizations.get("o1")
        per_call = (time.perf_counter() - start) / calls
        print(f"sequential: {calls} calls, {per_call * 1000:.2f} ms per call of client overhead")
        clock.now += 299  # the token is about to expire
        before = token_requests
        start = time.perf_counter()
        await asyncio.gather(*(gc.organizations.get("o1") for _ in range(storm)))
        elapsed = time.perf_counter() - start
        print(
            f"token storm: {storm} concurrent calls at expiry -> {token_requests - before} token request(s), "
            f"{elapsed:.2f} s for the whole storm"
        )


if __name__ == "__main__":
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--calls", type=int, default=2000)
    parser.add_argument("--storm", type=int, default=500)
    args = parser.parse_args()
    asyncio.run(main(args.calls, args.storm))
