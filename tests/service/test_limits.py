"""One token and one rate budget for the fleet, kept in PostgreSQL."""

from __future__ import annotations

import asyncio
import itertools
import time

import pytest

from gcx.client import AsyncClient
from gcx.emulator import Emulator, EmulatorSettings
from gcx.service.limits import SharedPacer, SharedTokenCache, client_key

from .helpers import query

pytestmark = pytest.mark.postgres


async def test_clients_sharing_the_row_get_one_token_between_them(pg_url: str) -> None:
    emu = Emulator(EmulatorSettings(rate_limit=0, latency=0.05))
    key = client_key("emu", "svc")
    with emu.serve() as base:
        caches = [SharedTokenCache(pg_url, key) for _ in range(3)]  # as three processes would
        clients = [
            AsyncClient(
                region=base, client_id="svc", client_secret="svc-secret-0123", token_cache=c, rate_limit=0
            )
            for c in caches
        ]
        try:
            await asyncio.gather(*(c.me() for c in clients for _ in range(5)))
            assert emu.stats()["tokensIssued"] == 1
            assert sum(c.stats.token_requests for c in clients) == 1
            assert caches[0].fetches_total() == 1
            # a token the server rejects is dropped for everybody, and one new token replaces it
            emu.revoke_tokens()
            await asyncio.gather(*(c.me() for c in clients))
            assert emu.stats()["tokensIssued"] == 2
            value = query(pg_url, "SELECT value FROM gcx_svc_tokens WHERE client_key = %s", (key,))[0][0]
            assert value and all(c.peek() is not None and c.peek().value == value for c in caches)  # type: ignore[union-attr]
        finally:
            for c in clients:
                await c.aclose()
            for cache in caches:
                cache.close()


def test_a_dead_lease_holder_does_not_block_the_fleet(pg_url: str) -> None:
    key = client_key("emu", "dead")
    a, b = SharedTokenCache(pg_url, key, lease=0.5), SharedTokenCache(pg_url, key, lease=0.5)
    try:
        assert a.take_lease()  # ... and dies without a token
        assert not b.take_lease()
        time.sleep(0.7)
        assert b.take_lease()
    finally:
        a.close()
        b.close()


def test_pacers_share_one_schedule(pg_url: str) -> None:
    key = client_key("emu", "pace")
    pacers = [SharedPacer(pg_url, key, 600) for _ in range(3)]  # 600/min: one slot every 0.1 s
    try:
        waits = [pacers[i % 3].reserve() for i in range(30)]
        # the slots are handed out in turn, 0.1 s apart, whichever process asks
        assert waits[0] < 0.05
        assert 2.5 < waits[-1] < 3.0
        assert all(b > a for a, b in itertools.pairwise(waits))
        reserved = query(
            pg_url, "SELECT reserved, max_rate FROM gcx_svc_pacing WHERE client_key = %s", (key,)
        )
        assert reserved == [(30, 600.0)]
    finally:
        for p in pacers:
            p.close()


def test_a_429_pauses_and_slows_the_whole_fleet(pg_url: str) -> None:
    key = client_key("emu", "cut")
    a, b = SharedPacer(pg_url, key, 600), SharedPacer(pg_url, key, 600)
    try:
        a.reserve()
        a.on_rate_limited(2.0)
        assert b.reserve() > 1.5  # b waits for a's Retry-After
        assert b.current_rate == 300.0
        a.on_rate_limited(2.0)  # same episode: no second cut
        assert a.current_rate == 300.0
        for _ in range(5):
            b.on_success()
        assert 300.0 < b.current_rate <= 600.0
        assert query(pg_url, "SELECT rate_limited FROM gcx_svc_pacing WHERE client_key = %s", (key,)) == [
            (2,)
        ]
    finally:
        a.close()
        b.close()
