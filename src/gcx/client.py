"""The gcx client: :class:`AsyncClient` (async-first) and :class:`Client` (its blocking twin).

::

    async with AsyncClient(region="us-east-1", client_id="...", client_secret="...") as gc:
        org = await gc.organizations.create({"name": "Acme"})
        async for contact in gc.contacts.scan():
            ...

    with Client(region="us-east-1") as gc:          # credentials from env vars or a profile
        for org in gc.organizations.search(q="acme"):
            ...

:class:`Client` (:mod:`gcx.blocking`, also importable from here) runs an :class:`AsyncClient` on a
private event loop in a background thread and blocks on each call.
"""

from __future__ import annotations

import asyncio
import random
import time
from collections.abc import Awaitable, Callable, Mapping
from importlib import metadata
from typing import TYPE_CHECKING, Any

import httpx

from gcx.auth import ClientCredentialsAuth, StaticTokenAuth, TokenCache
from gcx.config import Settings
from gcx.errors import ConfigError
from gcx.models import Organization
from gcx.pacing import RateLimiter
from gcx.resources.children import Relationships
from gcx.resources.contacts import Contacts
from gcx.resources.core import Core
from gcx.resources.external_sources import ExternalSources
from gcx.resources.organizations import Organizations
from gcx.retry import RetryPolicy
from gcx.transport import QueryValue, Requester, RequestStats

if TYPE_CHECKING:
    from gcx.blocking import Client as Client

try:
    _VERSION = metadata.version("gcx")
except metadata.PackageNotFoundError:  # pragma: no cover - running from a source tree
    _VERSION = "0"
USER_AGENT = f"gcx/{_VERSION} (+httpx)"


class AsyncClient:
    """Async client for the External Contacts API.

    Settings come from ``settings=``, else from the arguments, the environment variables
    (``GENESYSCLOUD_REGION``, ``GENESYSCLOUD_OAUTHCLIENT_ID``/``_SECRET``,
    ``GENESYSCLOUD_ACCESS_TOKEN``) and the profile, in that order (see :mod:`gcx.config`).

    ``transport``: an :class:`httpx.AsyncBaseTransport` (e.g. the emulator's in-process
    transport). ``rate_limit``: requests per minute shared by all requests of this client
    (0 disables pacing). ``retry``: the :class:`~gcx.retry.RetryPolicy`. ``timeout``: seconds
    per request. ``bulk_batch_size``: items per bulk request. ``clock``, ``sleep`` and ``rand``
    replace time, waiting and randomness (tests, simulations).
    """

    def __init__(
        self,
        region: str | None = None,
        client_id: str | None = None,
        client_secret: str | None = None,
        *,
        access_token: str | None = None,
        profile: str | None = None,
        settings: Settings | None = None,
        transport: httpx.AsyncBaseTransport | None = None,
        rate_limit: float = 300,
        retry: RetryPolicy | None = None,
        timeout: float | httpx.Timeout = 30.0,
        bulk_batch_size: int = 200,
        token_cache: TokenCache | None = None,
        limiter: RateLimiter | None = None,
        clock: Callable[[], float] | None = None,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
        headers: Mapping[str, str] | None = None,
    ) -> None:
        if settings is None:
            settings = Settings.resolve(
                region=region,
                client_id=client_id,
                client_secret=client_secret,
                access_token=access_token,
                profile=profile,
            )
        else:
            settings.check_credentials()
        if transport is not None and not isinstance(transport, httpx.AsyncBaseTransport):
            raise ConfigError(
                f"transport must be an httpx.AsyncBaseTransport (e.g. httpx.AsyncHTTPTransport, "
                f"httpx.MockTransport or the emulator's), got {type(transport).__name__}"
            )
        if not isinstance(bulk_batch_size, int) or bulk_batch_size < 1:
            raise ConfigError(f"bulk_batch_size must be a positive integer, got {bulk_batch_size!r}")
        if rate_limit is None or rate_limit < 0:
            raise ConfigError(
                f"rate_limit must be 0 (off) or a positive number of requests per minute, got {rate_limit!r}"
            )
        self.settings = settings
        self.stats = RequestStats()
        clock = clock or time.monotonic
        do_sleep = sleep or asyncio.sleep
        self.retry_policy = retry or RetryPolicy()
        # ``limiter``: a shared pacer (e.g. one budget for a fleet of workers) instead of this
        # client's own; ``rate_limit`` is then ignored.
        self.limiter = limiter if limiter is not None else RateLimiter(rate_limit, clock=clock)
        auth: httpx.Auth
        if settings.access_token:
            auth = StaticTokenAuth(settings.access_token)
        else:
            assert settings.client_id and settings.client_secret  # check_credentials guarantees it
            auth = ClientCredentialsAuth(
                settings.client_id,
                settings.client_secret,
                f"{settings.region.login_base}/oauth/token",
                cache=token_cache or TokenCache(clock=clock),
                async_send=self._send_token_request,
                on_token_request=self.stats.count_token_request,
                sleep=do_sleep,
                rand=rand,
            )
        self.auth = auth
        all_headers = {"User-Agent": USER_AGENT, "Accept": "application/json"}
        all_headers.update(headers or {})
        self._http = httpx.AsyncClient(
            base_url=settings.region.api_base,
            transport=transport,
            timeout=timeout,
            auth=auth,
            headers=all_headers,
            follow_redirects=False,
        )
        self._requester = Requester(
            self._http,
            retry=self.retry_policy,
            limiter=self.limiter,
            stats=self.stats,
            clock=clock,
            sleep=do_sleep,
            rand=rand or random.random,
        )
        self._core = Core(
            requester=self._requester,
            bulk_batch_size=bulk_batch_size,
            retry=self.retry_policy,
            sleep=do_sleep,
        )
        self.organizations = Organizations(self._core)
        self.contacts = Contacts(self._core)
        self.external_sources = ExternalSources(self._core)
        self.relationships = Relationships(self._core)
        self._closed = False

    async def _send_token_request(self, request: httpx.Request) -> httpx.Response:
        response = await self._http.send(request, auth=None)
        await response.aread()
        return response

    def __repr__(self) -> str:
        return f"AsyncClient(region={self.settings.region.name!r}, client_id={self.settings.client_id!r})"

    @property
    def closed(self) -> bool:
        return self._closed

    async def me(self) -> Organization:
        """The Genesys Cloud organization the credentials belong to (a cheap credentials check)."""
        data = await self._core.json("GET", "/api/v2/organizations/me")
        return Organization.from_api(data)

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
    ) -> Any:
        """Any API call, with auth, pacing, retries and error mapping; returns the parsed JSON."""
        if not path.startswith("/"):
            raise ConfigError(f"request path must start with '/', got {path!r}")
        return await self._core.json(method, path, params=params, body=json, idempotent=idempotent)

    async def aclose(self) -> None:
        """Close the connections (idempotent)."""
        if not self._closed:
            self._closed = True
            await self._http.aclose()

    async def __aenter__(self) -> AsyncClient:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()


def __getattr__(name: str) -> Any:
    """``gcx.client.Client``: the blocking twin lives in :mod:`gcx.blocking` (it imports this module)."""
    if name == "Client":
        from gcx.blocking import Client

        return Client
    raise AttributeError(f"module 'gcx.client' has no attribute {name!r}")
