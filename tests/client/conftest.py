"""Fixtures for the client tests: a scripted fake API on httpx.MockTransport, fake clocks."""

from __future__ import annotations

import asyncio
import json
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any

import httpx
import pytest

from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

BASE = "http://127.0.0.1:9"


class FakeClock:
    def __init__(self, start: float = 1000.0) -> None:
        self.now = start

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


@dataclass
class FakeApi:
    """A minimal scripted API: token endpoint + handlers by (method, path)."""

    token_ttl: int = 3600
    token_delay: float = 0.0
    tokens_issued: int = 0
    token_responses: list[httpx.Response] = field(default_factory=list)
    routes: dict[tuple[str, str], Callable[[httpx.Request], httpx.Response]] = field(default_factory=dict)
    log: list[httpx.Request] = field(default_factory=list)
    valid_tokens: set[str] = field(default_factory=set)

    def route(self, method: str, path: str) -> Callable[[Callable[[httpx.Request], httpx.Response]], Any]:
        def deco(fn: Callable[[httpx.Request], httpx.Response]) -> Callable[[httpx.Request], httpx.Response]:
            self.routes[(method, path)] = fn
            return fn

        return deco

    def calls(self, method: str, path: str) -> list[httpx.Request]:
        return [r for r in self.log if r.method == method and r.url.path == path]

    async def __call__(self, request: httpx.Request) -> httpx.Response:
        self.log.append(request)
        if request.url.path == "/oauth/token":
            if self.token_delay:
                await asyncio.sleep(self.token_delay)
            if self.token_responses:
                return self.token_responses.pop(0)
            self.tokens_issued += 1
            token = f"tok-{self.tokens_issued}-{'x' * 12}"
            self.valid_tokens.add(token)
            return httpx.Response(
                200, json={"access_token": token, "token_type": "bearer", "expires_in": self.token_ttl}
            )
        auth = request.headers.get("authorization", "")
        if not auth.startswith("Bearer ") or auth[7:] not in self.valid_tokens:
            return httpx.Response(
                401, json={"message": "bad token", "code": "bad.credentials", "status": 401}
            )
        handler = self.routes.get((request.method, request.url.path))
        if handler is None:
            return httpx.Response(404, json={"message": "no route", "code": "not.found", "status": 404})
        return handler(request)

    def transport(self) -> httpx.MockTransport:
        return httpx.MockTransport(self)


def json_of(request: httpx.Request) -> Any:
    return json.loads(request.content)


@pytest.fixture
def api() -> FakeApi:
    fake = FakeApi()

    @fake.route("GET", "/api/v2/organizations/me")
    def me(request: httpx.Request) -> httpx.Response:
        return httpx.Response(
            200, json={"id": "org-me", "name": "Test Org"}, headers={"ININ-Correlation-Id": "corr-1"}
        )

    return fake


@pytest.fixture
def clock() -> FakeClock:
    return FakeClock()


CREDS = {"client_id": CANARY_CLIENT_ID, "client_secret": CANARY_SECRET}
