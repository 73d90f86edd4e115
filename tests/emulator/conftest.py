"""Fixtures for the emulator tests: an emulator, a fake clock, an authorised API client."""

from __future__ import annotations

from collections.abc import AsyncIterator

import httpx
import pytest

from gcx.emulator import Emulator, EmulatorSettings
from tests.emulator.openapi_check import validating_hook

BASE = "http://emulator.test"
API = "/api/v2/externalcontacts"


class FakeClock:
    """A clock tests move by hand (no sleeping, no timing assertions)."""

    def __init__(self, start: float = 1_000_000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


@pytest.fixture
def emu(clock: FakeClock) -> Emulator:
    return Emulator(EmulatorSettings(seed=7, rate_limit=0), clock=clock)


def client_for(emu: Emulator, token: str | None = None, validate: bool = True) -> httpx.AsyncClient:
    headers = {"Authorization": f"Bearer {token}"} if token else {}
    hooks = {"response": [validating_hook]} if validate else {}
    return httpx.AsyncClient(transport=emu.transport(), base_url=BASE, headers=headers, event_hooks=hooks)


@pytest.fixture
async def api(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """An authorised client whose every /api/v2 response is checked against the OpenAPI file."""
    async with client_for(emu, emu.issue_token()) as client:
        yield client


@pytest.fixture
async def anon(emu: Emulator) -> AsyncIterator[httpx.AsyncClient]:
    """A client without a token (for the OAuth and admin endpoints)."""
    async with client_for(emu) as client:
        yield client
