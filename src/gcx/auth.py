"""OAuth client credentials for Genesys Cloud, done right.

* ``POST {login}/oauth/token`` with HTTP Basic ``client_id:client_secret`` and
  ``grant_type=client_credentials``;
* the token is cached and renewed *before* it expires: the margin is
  ``max(60 s, 10 % of its lifetime)`` (at most half of it), measured on a monotonic clock
  from the moment the token was requested, which also absorbs clock skew with the server;
* **single flight**: however many asyncio tasks need a token
  at once, exactly one token request goes out and the others wait for it;
* a 401 on an API call renews the token once (only if nobody renewed it meanwhile) and
  replays the request once;
* 429 from the token endpoint honours ``Retry-After``; 5xx and network failures are retried
  with backoff; 400/401/403 raise :class:`~gcx.errors.AuthError`, which never holds the secret.

The client secret and every token are registered with :mod:`gcx.redact` and masked in every
``repr``.
"""

from __future__ import annotations

import asyncio
import base64
import logging
import threading
import time
import weakref
from collections.abc import AsyncGenerator, Awaitable, Callable, Generator
from dataclasses import dataclass, field
from typing import Any

import httpx

from gcx import redact
from gcx.config import mask_secret
from gcx.errors import AuthError, GcxError, TransportError
from gcx.neterrors import network_reason
from gcx.retry import Action, RetryPolicy

log = logging.getLogger("gcx.auth")

AsyncSend = Callable[[httpx.Request], Awaitable[httpx.Response]]

#: Retries of the token request itself (it is safe to repeat: a token is not a write).
TOKEN_RETRY = RetryPolicy(max_attempts=5, base=0.5, cap=10.0, deadline=120.0, max_retry_after=120.0)


@dataclass(frozen=True)
class Token:
    """A bearer token and when it stops being usable (monotonic clock)."""

    value: str = field(repr=False)
    obtained_at: float
    lifetime: float

    @property
    def expires_at(self) -> float:
        return self.obtained_at + self.lifetime

    def __repr__(self) -> str:
        return f"Token(value='***', lifetime={self.lifetime:g}s)"


class TokenCache:
    """Holds the current token and decides when it needs renewing.

    ``margin(lifetime) = min(lifetime / 2, max(min_margin, fraction * lifetime))``: a token
    is renewed that many seconds before it expires.
    """

    def __init__(
        self,
        *,
        clock: Callable[[], float] = time.monotonic,
        min_margin: float = 60.0,
        margin_fraction: float = 0.1,
    ) -> None:
        self.clock = clock
        self.min_margin = min_margin
        self.margin_fraction = margin_fraction
        self._token: Token | None = None
        self._lock = threading.Lock()
        self.generation = 0
        # Single flight: whoever shares this cache (tasks, several clients) on one event loop
        # waits on that loop's lock while one of them fetches a token.
        self._async_locks: weakref.WeakKeyDictionary[asyncio.AbstractEventLoop, asyncio.Lock] = (
            weakref.WeakKeyDictionary()
        )
        # Callers that waited for a fetch that failed get its error instead of each sending a
        # token request of their own.
        self.fetches = 0
        self.last_error: GcxError | None = None

    def async_lock(self) -> asyncio.Lock:
        """The single-flight lock of the running event loop."""
        loop = asyncio.get_running_loop()
        with self._lock:
            lock = self._async_locks.get(loop)
            if lock is None:
                lock = asyncio.Lock()
                self._async_locks[loop] = lock
            return lock

    def margin(self, lifetime: float) -> float:
        return min(lifetime / 2.0, max(self.min_margin, self.margin_fraction * lifetime))

    def is_fresh(self, token: Token, now: float | None = None) -> bool:
        current = self.clock() if now is None else now
        return current < token.expires_at - self.margin(token.lifetime)

    def get(self) -> Token | None:
        """The cached token if it is still fresh, else ``None``."""
        with self._lock:
            token = self._token
        if token is not None and self.is_fresh(token):
            return token
        return None

    def peek(self) -> Token | None:
        with self._lock:
            return self._token

    def set(self, token: Token) -> None:
        # Registered before it is published: no log line can show it unmasked. Old values stay
        # registered (in-flight requests and logs may still carry them).
        redact.register_secret(token.value)
        with self._lock:
            self._token = token
            self.generation += 1

    def invalidate(self, value: str | None = None) -> bool:
        """Drop the cached token (only if it is ``value``, when given). True if dropped."""
        with self._lock:
            if self._token is None:
                return False
            if value is not None and self._token.value != value:
                return False
            self._token = None
            self.generation += 1
            return True

    def __repr__(self) -> str:
        token = self.peek()
        state = "empty" if token is None else ("fresh" if self.is_fresh(token) else "stale")
        return f"TokenCache({state})"


def parse_token_response(response: httpx.Response, *, obtained_at: float) -> Token:
    """Turn a 200 from ``/oauth/token`` into a :class:`Token`; raise :class:`AuthError` otherwise."""
    try:
        data = response.json()
    except (ValueError, RecursionError):
        raise AuthError(
            f"the token endpoint answered {response.status_code} with a body that is not JSON",
            status=response.status_code,
        ) from None
    if not isinstance(data, dict):
        raise AuthError("the token endpoint answered with unexpected JSON", status=response.status_code)
    if response.status_code != 200:
        error = str(data.get("error") or "") or None
        desc = str(data.get("error_description") or data.get("message") or "").strip()
        text = f"token request refused ({response.status_code}"
        text += f" {error})" if error else ")"
        if desc:
            text += f": {redact.scrub(desc)}"
        if response.status_code in (400, 401, 403):
            text += "; check the client id and secret (and that the OAuth client uses client credentials)"
        raise AuthError(text, status=response.status_code, error=error)
    value = data.get("access_token")
    if not isinstance(value, str) or not value:
        raise AuthError("the token endpoint answered 200 without an access_token", status=200)
    token_type = str(data.get("token_type") or "bearer")
    if token_type.lower() != "bearer":
        raise AuthError(f"unsupported token type {token_type!r} (expected bearer)", status=200)
    try:
        lifetime = float(data.get("expires_in", 86400))
    except (TypeError, ValueError):
        lifetime = 86400.0
    return Token(value=value, obtained_at=obtained_at, lifetime=max(1.0, lifetime))


class ClientCredentialsAuth(httpx.Auth):
    """:class:`httpx.Auth` for the client credentials grant (the async flow of
    :class:`httpx.AsyncClient`).

    ``async_send`` sends the token request (gcx's clients pass their own, so the
    token request uses the same transport, e.g. the in-process emulator); without it a
    short-lived :mod:`httpx` client is used. ``on_token_request`` is called once per HTTP
    token request (for statistics).
    """

    requires_request_body = True  # a 401 replay re-sends the body
    requires_response_body = True

    def __init__(
        self,
        client_id: str,
        client_secret: str,
        token_url: str,
        *,
        cache: TokenCache | None = None,
        async_send: AsyncSend | None = None,
        on_token_request: Callable[[], None] | None = None,
        retry: RetryPolicy = TOKEN_RETRY,
        sleep: Callable[[float], Awaitable[None]] | None = None,
        rand: Callable[[], float] | None = None,
    ) -> None:
        if not client_id:
            raise AuthError("no client id given for the client credentials grant")
        if not client_secret:
            raise AuthError("no client secret given for the client credentials grant")
        self.client_id = client_id
        self._secret = client_secret
        redact.register_secret(client_secret)
        self.token_url = token_url
        self.cache = cache or TokenCache()
        self._async_send = async_send
        self._on_token_request = on_token_request
        self._retry = retry
        self._sleep = sleep or asyncio.sleep
        self._rand = rand

    def __repr__(self) -> str:
        return (
            f"ClientCredentialsAuth(client_id={self.client_id!r}, "
            f"client_secret={mask_secret(self._secret)!r}, token_url={self.token_url!r})"
        )

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("ClientCredentialsAuth holds a secret and cannot be pickled")

    # -- building and reading the token request ---------------------------------------

    def build_token_request(self) -> httpx.Request:
        basic = base64.b64encode(f"{self.client_id}:{self._secret}".encode()).decode("ascii")
        return httpx.Request(
            "POST",
            self.token_url,
            headers={
                "Authorization": f"Basic {basic}",
                "Content-Type": "application/x-www-form-urlencoded",
                "Accept": "application/json",
            },
            content=b"grant_type=client_credentials",
        )

    def _token_steps(self) -> Generator[httpx.Request | float, httpx.Response | BaseException | None, Token]:
        """The token exchange as a generator: yields a request (send it back the response or
        the network exception) or a float (sleep that long), returns the :class:`Token`."""
        started = self.cache.clock()
        attempt = 0
        while True:
            attempt += 1
            obtained_at = self.cache.clock()
            if self._on_token_request is not None:
                self._on_token_request()
            log.debug("requesting an access token from %s (attempt %d)", self.token_url, attempt)
            outcome = yield self.build_token_request()
            if isinstance(outcome, httpx.Response):
                status = outcome.status_code
                if status == 200:
                    token = parse_token_response(outcome, obtained_at=obtained_at)
                    log.debug("access token obtained, valid for %.0f s", token.lifetime)
                    return token
                decision = self._retry.decide(
                    attempt,
                    "POST",
                    status,
                    idempotent=True,
                    headers=outcome.headers,
                    elapsed=self.cache.clock() - started,
                    rand=self._rand,
                )
                if decision.action is not Action.RETRY:
                    if status == 429 or status >= 500 or status == 408:
                        raise AuthError(f"the token endpoint kept failing ({decision.reason})", status=status)
                    parse_token_response(outcome, obtained_at=obtained_at)  # raises AuthError
                    raise AuthError(f"token request failed with status {status}", status=status)
                log.info("token endpoint answered %d; retrying in %.2f s", status, decision.delay)
            else:
                exc = outcome if outcome is not None else TransportError("no response")
                decision = self._retry.decide(
                    attempt,
                    "POST",
                    exc,
                    idempotent=True,
                    elapsed=self.cache.clock() - started,
                    rand=self._rand,
                )
                if decision.action is not Action.RETRY:
                    raise TransportError(
                        f"could not reach the token endpoint {self.token_url}: {network_reason(exc)}"
                        " (check the region and the network)"
                    ) from None
                log.info("token request failed (%s); retrying in %.2f s", type(exc).__name__, decision.delay)
            yield decision.delay

    # -- async ---------------------------------------------------------------------

    async def _send_async(self, request: httpx.Request) -> httpx.Response:
        if self._async_send is not None:
            return await self._async_send(request)
        async with httpx.AsyncClient() as client:
            response = await client.send(request)
            await response.aread()
            return response

    async def _fetch_async(self) -> Token:
        steps = self._token_steps()
        to_send: httpx.Response | BaseException | None = None
        while True:
            try:
                step = steps.send(to_send)
            except StopIteration as stop:
                token: Token = stop.value
                return token
            if isinstance(step, float):
                await self._sleep(step)
                to_send = None
                continue
            try:
                to_send = await self._send_async(step)
            except httpx.TransportError as exc:
                to_send = exc

    async def async_token(self, *, stale: str | None = None) -> Token:
        """A fresh token, fetching it (once, for all concurrent callers) if needed.

        ``stale``: a token value the caller saw rejected; it is dropped first unless someone
        already replaced it.
        """
        if stale is not None:
            self.cache.invalidate(stale)
        token = self.cache.get()
        if token is not None:
            return token
        seen = self.cache.fetches
        async with self.cache.async_lock():
            token = self.cache.get()
            if token is None:
                self._raise_shared_failure(seen)
                try:
                    token = await self._fetch_async()
                except GcxError as exc:
                    self._record_failure(exc)
                    raise
                self._record_success()
                self.cache.set(token)
            return token

    def _raise_shared_failure(self, seen: int) -> None:
        """Raise the error of a fetch that failed while this caller waited for it."""
        error = self.cache.last_error
        if self.cache.fetches != seen and error is not None:
            clone = (
                AuthError(str(error), status=error.status, error=error.error)
                if isinstance(error, AuthError)
                else type(error)(str(error))
            )
            raise clone from None

    def _record_failure(self, exc: GcxError) -> None:
        self.cache.last_error = exc
        self.cache.fetches += 1

    def _record_success(self) -> None:
        self.cache.last_error = None
        self.cache.fetches += 1

    async def async_auth_flow(self, request: httpx.Request) -> AsyncGenerator[httpx.Request, httpx.Response]:
        await request.aread()
        token = await self.async_token()
        request.headers["Authorization"] = f"Bearer {token.value}"
        response = yield request
        if response.status_code != 401:
            return
        await response.aread()
        log.info("401 on %s %s: renewing the token and replaying once", request.method, request.url.path)
        token = await self.async_token(stale=token.value)
        request.headers["Authorization"] = f"Bearer {token.value}"
        yield request

    def sync_auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        """Refused: a blocking httpx client would otherwise send the request without a token.
        gcx's blocking :class:`~gcx.blocking.Client` runs the async flow on its own loop."""
        raise AuthError(
            "ClientCredentialsAuth works with httpx.AsyncClient only; use gcx.Client for blocking calls"
        )
        yield request  # pragma: no cover - makes this a generator, as httpx expects


class StaticTokenAuth(httpx.Auth):
    """A bearer token given by the user (``GENESYSCLOUD_ACCESS_TOKEN``): never renewed."""

    def __init__(self, access_token: str) -> None:
        if not access_token:
            raise AuthError("empty access token")
        self._token = access_token
        redact.register_secret(access_token)

    def auth_flow(self, request: httpx.Request) -> Generator[httpx.Request, httpx.Response, None]:
        request.headers["Authorization"] = f"Bearer {self._token}"
        yield request

    def __repr__(self) -> str:
        return "StaticTokenAuth(access_token='***')"

    __str__ = __repr__

    def __getstate__(self) -> dict[str, Any]:
        raise TypeError("StaticTokenAuth holds a secret and cannot be pickled")
