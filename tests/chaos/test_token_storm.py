"""The token storm against the loopback emulator with faults on.

500 concurrent requests through one ``AsyncClient`` when its token is due for renewal make
exactly one token request; so do 200 concurrent requests right after every token was revoked
(each gets a 401, the client renews once and replays). API calls meanwhile fail 5% of the
time with 500/503/504 (retried: these are GETs). The client's clock is shifted instead of
sleeping until the token's renewal point.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from gcx import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

pytestmark = pytest.mark.timeout(300)

STORM = 500


class ShiftedClock:
    """The monotonic clock, plus a shift the test moves forward."""

    def __init__(self) -> None:
        self.shift = 0.0

    def __call__(self) -> float:
        return time.monotonic() + self.shift


async def _storm(gc: AsyncClient, size: int = STORM) -> None:
    results = await asyncio.gather(*(gc.me() for _ in range(size)), return_exceptions=True)
    failures = [r for r in results if isinstance(r, BaseException)]
    assert not failures, failures[:3]
    assert {r.id for r in results if not isinstance(r, BaseException)} == {EmulatorSettings().org_id}


async def test_500_concurrent_requests_at_token_expiry_make_one_token_request() -> None:
    emu = Emulator(
        EmulatorSettings(
            rate_limit=0,
            token_ttl=300,
            seed=41,
            fault_rate=0.05,
            credentials=((CANARY_CLIENT_ID, CANARY_SECRET),),
        )
    )
    clock = ShiftedClock()
    with emu.serve() as url:
        async with AsyncClient(
            region=url, client_id=CANARY_CLIENT_ID, client_secret=CANARY_SECRET, rate_limit=0, clock=clock
        ) as gc:
            await gc.me()
            assert emu.stats()["tokensIssued"] == 1

            clock.shift = 300 - 60 + 1  # inside the renewal margin: every request needs a new token
            await _storm(gc)
            assert emu.stats()["tokensIssued"] == 2

            emu.revoke_tokens()  # the server forgets the token: 200 requests get 401 at once
            await _storm(gc, 200)
            stats = emu.stats()
            assert stats["tokensIssued"] == 3
            assert stats["faultsInjected"] > 0  # the storms ran through injected faults
            unauthorized = sum(r["count"] for r in stats["routes"] if r["status"] == 401)
            assert 1 <= unauthorized <= 200
