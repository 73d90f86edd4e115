"""Client credentials: caching, renewal before expiry, single flight, 401 replay, token 429,
errors without secrets (httpx.MockTransport)."""

from __future__ import annotations

import asyncio
import base64
import threading

import httpx
import pytest

from gcx import AsyncClient, Client
from gcx.auth import ClientCredentialsAuth, StaticTokenAuth, Token, TokenCache
from gcx.errors import AuthError, TransportError, UnauthorizedError
from tests.client.conftest import BASE, CREDS, FakeApi, FakeClock
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET


def client(api: FakeApi, clock: FakeClock | None = None, **kw: object) -> AsyncClient:
    async def no_sleep(_: float) -> None:
        await asyncio.sleep(0)

    kw.setdefault("sleep", no_sleep)
    return AsyncClient(BASE, **CREDS, transport=api.transport(), rate_limit=0, clock=clock, **kw)  # type: ignore[arg-type]


def test_margin() -> None:
    cache = TokenCache()
    assert cache.margin(86400) == 8640
    assert cache.margin(300) == 60
    assert cache.margin(10) == 5  # at most half the lifetime


async def test_token_request_shape(api: FakeApi) -> None:
    async with client(api) as gc:
        await gc.me()
    (req,) = api.calls("POST", "/oauth/token")
    assert req.headers["content-type"] == "application/x-www-form-urlencoded"
    assert req.content == b"grant_type=client_credentials"
    scheme, value = req.headers["authorization"].split(" ")
    assert scheme == "Basic"
    assert base64.b64decode(value).decode() == f"{CANARY_CLIENT_ID}:{CANARY_SECRET}"


async def test_token_cached_then_renewed_before_expiry(api: FakeApi, clock: FakeClock) -> None:
    api.token_ttl = 300  # margin 60 s
    async with client(api, clock) as gc:
        await gc.me()
        clock.advance(230)
        await gc.me()
        assert api.tokens_issued == 1
        clock.advance(15)  # 245 s: inside the margin, renew early
        await gc.me()
        assert api.tokens_issued == 2
        assert gc.stats.token_requests == 2


async def test_storm_of_500_calls_at_expiry_makes_one_token_request(api: FakeApi, clock: FakeClock) -> None:
    api.token_ttl = 300
    api.token_delay = 0.01  # the token request takes a while: everybody piles up behind it
    async with client(api, clock) as gc:
        await asyncio.gather(*(gc.me() for _ in range(500)))
        assert api.tokens_issued == 1
        clock.advance(299)
        results = await asyncio.gather(*(gc.me() for _ in range(500)))
        assert all(r.id == "org-me" for r in results)
        assert api.tokens_issued == 2
        assert gc.stats.token_requests == 2
        assert gc.stats.by_status == {200: 1000}


def test_storm_through_threads_of_the_sync_facade(api: FakeApi, clock: FakeClock) -> None:
    api.token_ttl = 300
    api.token_delay = 0.01
    errors: list[BaseException] = []
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0, clock=clock) as gc:
        gc.me()
        clock.advance(299)
        barrier = threading.Barrier(20)

        def worker() -> None:
            try:
                barrier.wait()
                for _ in range(10):
                    gc.me()
            except BaseException as exc:  # pragma: no cover - reported below
                errors.append(exc)

        threads = [threading.Thread(target=worker) for _ in range(20)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert errors == []
        assert api.tokens_issued == 2
        assert gc.stats.token_requests == 2
        assert gc.stats.requests == 201


def test_plain_blocking_httpx_client_is_refused_not_sent_without_a_token() -> None:
    """The auth has no blocking flow (gcx.Client runs the async one): a plain httpx.Client
    gets a clear error instead of a request sent without credentials."""
    sent: list[httpx.Request] = []

    def handler(request: httpx.Request) -> httpx.Response:
        sent.append(request)
        return httpx.Response(200, json={"ok": True})

    auth = ClientCredentialsAuth(CANARY_CLIENT_ID, CANARY_SECRET, f"{BASE}/oauth/token")
    with (
        httpx.Client(transport=httpx.MockTransport(handler), base_url=BASE) as http,
        pytest.raises(AuthError, match=r"httpx\.AsyncClient only"),
    ):
        http.get("/x", auth=auth)
    assert sent == []


async def test_401_renews_once_and_replays_once(api: FakeApi) -> None:
    async with client(api) as gc:
        await gc.me()
        api.valid_tokens.clear()  # the server revoked every token
        org = await gc.me()
        assert org.id == "org-me"
        assert api.tokens_issued == 2
        me_calls = api.calls("GET", "/api/v2/organizations/me")
        assert len(me_calls) == 3  # ok, 401, replay


async def test_401_storm_renews_once(api: FakeApi) -> None:
    async with client(api) as gc:
        await gc.me()
        api.valid_tokens.clear()
        api.token_delay = 0.01
        await asyncio.gather(*(gc.me() for _ in range(100)))
        assert api.tokens_issued == 2


async def test_persistent_401_raises_unauthorized_after_one_replay(api: FakeApi) -> None:
    @api.route("GET", "/api/v2/externalcontacts/contacts/c1")
    def always_401(request: httpx.Request) -> httpx.Response:
        return httpx.Response(401, json={"message": "no", "code": "bad.credentials", "status": 401})

    async with client(api) as gc:
        with pytest.raises(UnauthorizedError) as info:
            await gc.contacts.get("c1")
    assert info.value.code == "bad.credentials"
    assert len(api.calls("GET", "/api/v2/externalcontacts/contacts/c1")) == 2
    assert api.tokens_issued == 2


async def test_401_replay_resends_the_body(api: FakeApi) -> None:
    bodies: list[bytes] = []

    @api.route("POST", "/api/v2/externalcontacts/organizations")
    def create(request: httpx.Request) -> httpx.Response:
        bodies.append(request.content)
        return httpx.Response(200, json={"id": "o1", "name": "Acme"})

    async with client(api) as gc:
        await gc.me()
        api.valid_tokens.clear()
        await gc.organizations.create({"name": "Acme"})
    assert bodies == [b'{"name":"Acme"}']  # the 401 attempt never reached the route
    posts = api.calls("POST", "/api/v2/externalcontacts/organizations")
    assert [p.content for p in posts] == [b'{"name":"Acme"}'] * 2


async def test_token_429_honours_retry_after(api: FakeApi) -> None:
    slept: list[float] = []

    async def record(seconds: float) -> None:
        slept.append(seconds)

    api.token_responses = [
        httpx.Response(429, headers={"Retry-After": "4"}, json={"error": "too_many_requests"}),
        httpx.Response(503),
    ]
    async with client(api, sleep=record) as gc:
        await gc.me()
    assert slept[0] >= 4.0
    assert len(slept) == 2
    assert gc.stats.token_requests == 3


@pytest.mark.parametrize("status", [400, 401])
async def test_refused_credentials_raise_auth_error_without_secret(api: FakeApi, status: int) -> None:
    api.token_responses = [
        httpx.Response(
            status,
            json={"error": "invalid_client", "error_description": f"client {CANARY_SECRET} unknown"},
        )
    ]
    async with client(api) as gc:
        with pytest.raises(AuthError) as info:
            await gc.me()
    text = str(info.value) + repr(info.value)
    assert "invalid_client" in text
    assert CANARY_SECRET not in text
    assert info.value.status == status
    assert api.calls("GET", "/api/v2/organizations/me") == []


async def test_unreachable_token_endpoint() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        raise httpx.ConnectError("connection refused", request=request)

    async def no_sleep(_: float) -> None:
        return None

    async with AsyncClient(
        BASE, **CREDS, transport=httpx.MockTransport(handler), rate_limit=0, sleep=no_sleep
    ) as gc:
        with pytest.raises(TransportError, match="token endpoint"):
            await gc.me()
    assert gc.stats.token_requests == 5


async def test_static_access_token(api: FakeApi) -> None:
    api.valid_tokens.add("static-token-123456")
    async with AsyncClient(
        BASE, access_token="static-token-123456", transport=api.transport(), rate_limit=0
    ) as gc:
        assert (await gc.me()).id == "org-me"
        assert isinstance(gc.auth, StaticTokenAuth)
        assert "static-token-123456" not in repr(gc.auth)
    assert api.tokens_issued == 0


def test_reprs_mask_secrets() -> None:
    auth = ClientCredentialsAuth(CANARY_CLIENT_ID, CANARY_SECRET, f"{BASE}/oauth/token")
    assert CANARY_SECRET not in repr(auth)
    assert CANARY_CLIENT_ID in repr(auth)
    token = Token(value="tok-very-secret-value", obtained_at=0, lifetime=10)
    assert "tok-very-secret-value" not in repr(token)
    assert "tok-very-secret-value" not in str(token)
    with pytest.raises(TypeError):
        import pickle

        pickle.dumps(auth)


def test_missing_credentials() -> None:
    with pytest.raises(AuthError, match="client secret"):
        ClientCredentialsAuth("id", "", f"{BASE}/oauth/token")


async def test_storm_with_refused_credentials_sends_one_token_request(api: FakeApi) -> None:
    api.token_delay = 0.01
    api.token_responses = [httpx.Response(401, json={"error": "invalid_client"})]
    async with client(api) as gc:
        outcomes = await asyncio.gather(*(gc.me() for _ in range(200)), return_exceptions=True)
        assert all(isinstance(o, AuthError) and o.status == 401 for o in outcomes)
        assert gc.stats.token_requests == 1
        # a later call tries again (the failure is not cached forever)
        assert (await gc.me()).id == "org-me"
        assert gc.stats.token_requests == 2


async def test_clients_sharing_a_cache_share_the_token_and_the_flight(api: FakeApi) -> None:
    api.token_delay = 0.01
    cache = TokenCache()
    async with client(api, token_cache=cache) as a, client(api, token_cache=cache) as b:
        await asyncio.gather(*(c.me() for _ in range(50) for c in (a, b)))
        assert api.tokens_issued == 1
        assert a.stats.token_requests + b.stats.token_requests == 1
