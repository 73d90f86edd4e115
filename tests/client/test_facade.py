"""The sync facade: the same surface as AsyncClient, no leaked threads or loops."""

from __future__ import annotations

import inspect
import threading

import httpx
import pytest

from gcx import AsyncClient, Client
from gcx.errors import ConfigError, NotFoundError
from tests.client.conftest import BASE, CREDS, FakeApi


def public(obj: object) -> set[str]:
    return {n for n in dir(obj) if not n.startswith("_")}


def test_same_public_surface(api: FakeApi) -> None:
    sync = Client(BASE, **CREDS, transport=api.transport(), rate_limit=0)
    try:
        asyncc = sync.async_client
        assert public(asyncc) - {"aclose"} <= public(sync) | {"closed"}
        assert public(sync) - public(asyncc) <= {"close", "async_client"}
        assert (
            inspect.signature(Client.__init__).parameters.keys()
            == inspect.signature(AsyncClient.__init__).parameters.keys()
        )
        for name in ("organizations", "contacts", "external_sources"):
            a, s = getattr(asyncc, name), getattr(sync, name)
            a_methods = {n for n in public(a) if callable(getattr(a, n))}
            s_methods = {n for n in public(s) if callable(getattr(s, n))}
            assert a_methods - {"model", "identifier_model", "enrich_model", "claim_model"} == s_methods, name
            for method in s_methods:
                a_params = list(inspect.signature(getattr(a, method)).parameters)
                s_params = list(inspect.signature(getattr(s, method)).parameters)
                assert s_params == a_params, f"{name}.{method}"
            if hasattr(a, "identifiers"):
                assert public(a.identifiers) == public(s.identifiers)
    finally:
        sync.close()


def test_close_stops_the_thread_and_is_idempotent(api: FakeApi) -> None:
    before = set(threading.enumerate())
    gc = Client(BASE, **CREDS, transport=api.transport(), rate_limit=0)
    assert gc.me().id == "org-me"
    assert len(set(threading.enumerate()) - before) == 1
    gc.close()
    gc.close()
    assert set(threading.enumerate()) == before
    assert gc.closed
    with pytest.raises(RuntimeError, match="closed"):
        gc.me()


def test_context_manager_and_errors(api: FakeApi) -> None:
    before = set(threading.enumerate())
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        with pytest.raises(NotFoundError):
            gc.contacts.get("nope")
        assert gc.stats.by_status[404] == 1
    assert set(threading.enumerate()) == before


def test_bad_config_does_not_leak_a_thread() -> None:
    before = set(threading.enumerate())
    with pytest.raises(ConfigError, match="missing credentials"):
        Client(BASE)
    assert set(threading.enumerate()) == before


async def test_async_client_config_errors() -> None:
    with pytest.raises(ConfigError, match="no region"):
        AsyncClient(client_id="x", client_secret="y")
    with pytest.raises(ConfigError, match="bulk_batch_size"):
        AsyncClient(BASE, **CREDS, bulk_batch_size=0)
    with pytest.raises(ConfigError, match="AsyncBaseTransport"):
        AsyncClient(BASE, **CREDS, transport=httpx.HTTPTransport())  # type: ignore[arg-type]


async def test_settings_from_environment(monkeypatch: pytest.MonkeyPatch, api: FakeApi) -> None:
    monkeypatch.setenv("GENESYSCLOUD_REGION", BASE)
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_ID", CREDS["client_id"])
    monkeypatch.setenv("GENESYSCLOUD_OAUTHCLIENT_SECRET", CREDS["client_secret"])
    async with AsyncClient(transport=api.transport(), rate_limit=0) as gc:
        assert (await gc.me()).name == "Test Org"
        assert gc.settings.region.api_base == BASE


def test_mock_transport_with_sync_handler() -> None:
    def handler(request: httpx.Request) -> httpx.Response:
        if request.url.path == "/oauth/token":
            return httpx.Response(200, json={"access_token": "abcd-token", "expires_in": 600})
        return httpx.Response(200, json={"id": "x", "name": "n"})

    with Client(BASE, **CREDS, transport=httpx.MockTransport(handler), rate_limit=0) as gc:
        assert gc.organizations.get("x").name == "n"


def test_forgotten_client_is_closed_when_collected(api: FakeApi) -> None:
    import gc as garbage

    before = set(threading.enumerate())
    client = Client(BASE, **CREDS, transport=api.transport(), rate_limit=0)
    client.me()
    del client
    garbage.collect()
    assert set(threading.enumerate()) == before


def test_abandoned_iterator_then_close(api: FakeApi) -> None:
    @api.route("GET", "/api/v2/externalcontacts/scan/contacts")
    def scan(request: httpx.Request) -> httpx.Response:
        n = int(request.url.params.get("cursor") or 0)
        return httpx.Response(
            200, json={"entities": [{"id": f"c{n}"}] * 10, "cursors": {"after": str(n + 1)}}
        )

    before = set(threading.enumerate())
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        it = gc.contacts.scan(limit=10)
        assert next(it).id == "c0"
        assert next(it).id == "c0"
    assert set(threading.enumerate()) == before


def test_sync_calls_from_many_threads_share_one_client(api: FakeApi) -> None:
    results: list[str] = []
    with Client(BASE, **CREDS, transport=api.transport(), rate_limit=0) as gc:
        threads = [threading.Thread(target=lambda: results.append(gc.me().id or "")) for _ in range(8)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        assert gc.stats.token_requests == 1
    assert results == ["org-me"] * 8


def test_package_exports_are_lazy() -> None:
    import subprocess
    import sys

    code = (
        "import sys, gcx.config; assert 'gcx.client' not in sys.modules and 'gcx.models' not in sys.modules; "
        "from gcx import AsyncClient, Client, RetryPolicy, BulkResult, RequestStats, EnrichResult; "
        "import gcx.client; assert AsyncClient is gcx.client.AsyncClient"
    )
    subprocess.run([sys.executable, "-c", code], check=True, timeout=120)
