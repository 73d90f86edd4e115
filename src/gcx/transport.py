"""Request execution: pacing, retries, error mapping, statistics and the request log.

Every API call of a client goes through :meth:`Requester.request`:

1. wait for a slot from the shared :class:`~gcx.pacing.RateLimiter`;
2. send through :mod:`httpx` (authentication, token renewal and the 401 replay happen in
   :class:`~gcx.auth.ClientCredentialsAuth`);
3. on failure ask the :class:`~gcx.retry.RetryPolicy` what to do: retry after a delay, raise
   the mapped :class:`~gcx.errors.ApiError`, or raise :class:`~gcx.errors.OutcomeUnknownError`
   for a write that may have been applied;
4. log one line per attempt on the ``gcx.http`` logger (method, URL, status, elapsed,
   attempt, correlation id; never a header) and count it in :class:`RequestStats`.
"""

from __future__ import annotations

import asyncio
import enum
import logging
import random
import re
import threading
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import httpx

from gcx import jsonfast, permissions, redact
from gcx.errors import (
    ApiError,
    ForbiddenError,
    OutcomeUnknownError,
    RateLimitedError,
    TransportError,
    error_class_for,
)
from gcx.neterrors import network_reason
from gcx.pacing import RateLimiter
from gcx.retry import (
    MAYBE_APPLIED_RETRYABLE,
    Action,
    Decision,
    RetryPolicy,
    is_idempotent_method,
    request_was_sent,
    retry_after_from,
)

log = logging.getLogger("gcx.http")

CORRELATION_HEADER = "ININ-Correlation-Id"
#: ``response.extensions`` key: True when an earlier attempt of this call may have been applied
#: (its answer was lost and the call was retried): a 404 to a delete then means "deleted".
REPLAYED = "gcx.replayed_after_maybe_applied"

QueryValue = str | int | float | bool | None | list[str] | list[int] | tuple[str, ...]


@dataclass
class RequestStats:
    """Counters for one client (thread-safe). ``by_status`` counts final and retried answers."""

    requests: int = 0
    retries: int = 0
    token_requests: int = 0
    rate_limited: int = 0
    network_errors: int = 0
    outcome_unknown: int = 0
    by_status: dict[int, int] = field(default_factory=dict)
    waited_pacing: float = 0.0
    waited_retry: float = 0.0
    _lock: threading.Lock = field(default_factory=threading.Lock, repr=False, compare=False)

    def add(self, name: str, amount: float = 1) -> None:
        with self._lock:
            setattr(self, name, getattr(self, name) + amount)

    def count_status(self, status: int) -> None:
        with self._lock:
            self.by_status[status] = self.by_status.get(status, 0) + 1
            if status == 429:
                self.rate_limited += 1

    def count_token_request(self) -> None:
        self.add("token_requests")

    def snapshot(self) -> dict[str, Any]:
        with self._lock:
            return {
                "requests": self.requests,
                "retries": self.retries,
                "token_requests": self.token_requests,
                "rate_limited": self.rate_limited,
                "network_errors": self.network_errors,
                "outcome_unknown": self.outcome_unknown,
                "by_status": dict(sorted(self.by_status.items())),
                "waited_pacing": round(self.waited_pacing, 3),
                "waited_retry": round(self.waited_retry, 3),
            }

    def reset(self) -> None:
        with self._lock:
            self.requests = self.retries = self.token_requests = self.rate_limited = 0
            self.network_errors = self.outcome_unknown = 0
            self.by_status = {}
            self.waited_pacing = self.waited_retry = 0.0


def error_from_response(response: httpx.Response, *, method: str | None = None) -> ApiError:
    """The :class:`~gcx.errors.ApiError` subclass for an error response, with the ErrorBody parsed."""
    status = response.status_code
    body: dict[str, Any] = {}
    try:
        parsed = response.json()
        if isinstance(parsed, dict):
            body = scrub_json(parsed)
    except (ValueError, RecursionError):
        pass
    message = body.get("message") if isinstance(body.get("message"), str) else None
    if not message:
        text = response.text.strip() if response.content else ""
        message = text[:300] if text else (response.reason_phrase or f"HTTP {status}")
    message = redact.scrub(str(message))
    code = body.get("code") if isinstance(body.get("code"), str) else None
    correlation = response.headers.get(CORRELATION_HEADER) or (
        body.get("contextId") if isinstance(body.get("contextId"), str) else None
    )
    cls = error_class_for(status)
    url = _safe_url(response.request.url) if _has_request(response) else None
    kwargs: dict[str, Any] = {
        "status": status,
        "code": code,
        "correlation_id": correlation,
        "body": body,
        "method": method or (response.request.method if _has_request(response) else None),
        "url": url,
    }
    if issubclass(cls, RateLimitedError):
        return cls(message, retry_after=retry_after_from(retry_headers(response)), **kwargs)
    if issubclass(cls, ForbiddenError) and _has_request(response):
        needed = permissions.required(kwargs["method"] or "", response.request.url.path)
        return cls(message, required_permissions=needed, **kwargs)
    return cls(message, **kwargs)


_RETRY_IN = re.compile(r"retry the request in \[?(\d+(?:\.\d+)?)\]? seconds?", re.IGNORECASE)


def retry_headers(response: httpx.Response) -> Mapping[str, str]:
    """The headers the retry policy reads. A 429 without ``Retry-After`` (the API documents it
    as always present) falls back to the wait its message names ("Retry the request in [N]
    seconds")."""
    if response.status_code != 429 or "retry-after" in response.headers:
        return response.headers
    try:
        body = response.json()
    except (ValueError, RecursionError):
        return response.headers
    message = body.get("message") if isinstance(body, dict) else None
    match = _RETRY_IN.search(message) if isinstance(message, str) else None
    if match is None:
        return response.headers
    return {**dict(response.headers), "retry-after": match.group(1)}


def scrub_json(value: Any) -> Any:
    """A copy of parsed JSON with every string scrubbed (a server may echo a credential)."""
    if isinstance(value, str):
        return redact.scrub(value)
    if isinstance(value, dict):
        return {k: scrub_json(v) for k, v in value.items()}
    if isinstance(value, list):
        return [scrub_json(v) for v in value]
    return value


def _has_request(response: httpx.Response) -> bool:
    try:
        response.request  # noqa: B018 - raises RuntimeError when unset
    except RuntimeError:
        return False
    return True


def _safe_url(url: httpx.URL) -> str:
    """The URL without credentials (user info is dropped; query values are scrubbed)."""
    text = str(url.copy_with(username=None, password=None)) if url.userinfo else str(url)
    return redact.scrub(text)


Sleep = Callable[[float], Awaitable[None]]

#: What httpx's ``json=`` sets beside the body (the body is :func:`gcx.jsonfast.dumps`'s).
_JSON_HEADERS = {"Content-Type": "application/json"}


class Requester:
    """Sends API requests for one client: pacing + retry + error mapping + stats + log."""

    def __init__(
        self,
        http: httpx.AsyncClient,
        *,
        retry: RetryPolicy,
        limiter: RateLimiter,
        stats: RequestStats,
        clock: Callable[[], float] = time.monotonic,
        sleep: Sleep | None = None,
        rand: Callable[[], float] = random.random,
    ) -> None:
        self.http = http
        self.retry = retry
        self.limiter = limiter
        self.stats = stats
        self._clock = clock
        self._sleep: Sleep = sleep or asyncio.sleep
        self._rand = rand

    async def request(
        self,
        method: str,
        path: str,
        *,
        params: Mapping[str, QueryValue] | None = None,
        json: Any = None,
        idempotent: bool | None = None,
        ok_statuses: tuple[int, ...] = (),
    ) -> httpx.Response:
        """Send one API call with retries; return the 2xx response (or one in ``ok_statuses``).

        ``idempotent`` overrides the method's default (GET/PUT/DELETE yes, POST/PATCH no).
        """
        call = _Call(
            method=method.upper(),
            path=path,
            idempotent=is_idempotent_method(method) if idempotent is None else idempotent,
            started=self._clock(),
        )
        clean_params = _clean_params(params)
        # Encoded once for every attempt (orjson: the bulk bodies are the run's largest JSON).
        content = None if json is None else jsonfast.dumps(json)
        headers = _JSON_HEADERS if content is not None else None
        while True:
            call.attempt += 1
            await self._pace()
            call.sent_at = self._clock()
            self.stats.add("requests")
            try:
                response = await self.http.request(
                    call.method, path, params=clean_params, content=content, headers=headers
                )
            except httpx.HTTPError as exc:
                failed = self._raised(call, exc)
            else:
                judged = self._judge(call, response, ok_statuses)
                if isinstance(judged, httpx.Response):
                    return judged
                failed = judged
            call.maybe_applied = call.maybe_applied or failed.maybe_applied
            decision = failed.decision
            if decision.action is Action.OUTCOME_UNKNOWN:
                self.stats.add("outcome_unknown")
                raise OutcomeUnknownError(
                    f"{call.method} {failed.url}: {decision.reason}; the request was not retried, look the "
                    "record up before sending it again",
                    method=call.method,
                    url=failed.url,
                    cause=failed.cause(),
                ) from None
            if decision.action is Action.RAISE:
                raise failed.error() from None
            await self._wait_retry(decision.delay, call.method, failed.url, failed.retry_reason)

    def _raised(self, call: _Call, exc: httpx.HTTPError) -> _Failed:
        """An attempt that raised instead of answering: count, log and judge it."""
        url = _safe_url(self.http.base_url.join(call.path))
        sent = request_was_sent(exc)
        if sent is not None:  # a network failure (otherwise the answer came but could not be read)
            self.stats.add("network_errors")
            log.info(
                "%s %s -> %s after %.3fs (attempt %d)",
                call.method, url, type(exc).__name__, self._clock() - call.sent_at, call.attempt,
            )  # fmt: skip
        decision = self.retry.decide(
            call.attempt, call.method, exc, idempotent=call.idempotent,
            elapsed=self._clock() - call.started, rand=self._rand,
        )  # fmt: skip
        return _Failed(
            decision,
            url,
            retry_reason=decision.reason,
            maybe_applied=bool(sent),
            cause=lambda: _detached(exc),
            error=lambda: TransportError(_failure_text(call.method, url, exc, sent, decision.reason)),
        )

    def _judge(
        self, call: _Call, response: httpx.Response, ok_statuses: tuple[int, ...]
    ) -> httpx.Response | _Failed:
        """An answer: the response when it ends the call, else the failure judged."""
        status = response.status_code
        self.stats.count_status(status)
        url = _safe_url(response.request.url)
        log.debug(
            "%s %s -> %d in %.3fs (attempt %d, correlation id %s)",
            call.method, url, status, self._clock() - call.sent_at, call.attempt,
            response.headers.get(CORRELATION_HEADER) or "-",
        )  # fmt: skip
        response.extensions[REPLAYED] = call.maybe_applied
        ending = call_ends(status, call.method, maybe_applied=call.maybe_applied, ok_statuses=ok_statuses)
        if ending is not None:
            if ending is Ending.DELETED_EARLIER:
                log.info("%s %s -> 404 after a lost answer: the earlier attempt deleted it", call.method, url)
            self.limiter.on_success()
            return response
        headers = retry_headers(response)
        if status == 429:
            self.limiter.on_rate_limited(retry_after_from(headers))
        decision = self.retry.decide(
            call.attempt, call.method, status, idempotent=call.idempotent, headers=headers,
            elapsed=self._clock() - call.started, rand=self._rand,
        )  # fmt: skip

        def error() -> ApiError:
            return error_from_response(response, method=call.method)

        return _Failed(
            decision,
            url,
            retry_reason=f"status {status}",
            maybe_applied=status in MAYBE_APPLIED_RETRYABLE,
            cause=error,
            error=error,
        )

    async def _pace(self) -> None:
        """Wait for a slot from the shared rate limiter (when it is on)."""
        if self.limiter.enabled:
            waited = self.limiter.reserve()
            if waited > 0:
                self.stats.add("waited_pacing", waited)
                await self._sleep(waited)
            late = self.limiter.admit()
            if late > 0:
                self.stats.add("waited_pacing", late)
                await self._sleep(late)

    async def _wait_retry(self, delay: float, method: str, url: str, reason: str) -> None:
        self.stats.add("retries")
        self.stats.add("waited_retry", delay)
        log.info("retrying %s %s in %.2fs (%s)", method, url, delay, reason)
        if delay > 0:
            await self._sleep(delay)


@dataclass
class _Call:
    """One API call across its attempts."""

    method: str
    path: str
    idempotent: bool
    started: float
    attempt: int = 0
    sent_at: float = 0.0
    #: An earlier attempt may have reached the server and been applied.
    maybe_applied: bool = False


@dataclass(frozen=True)
class _Failed:
    """A failed attempt, judged: what to do, and the errors to raise when giving up."""

    decision: Decision
    url: str
    retry_reason: str
    #: This attempt may have reached the server and been applied.
    maybe_applied: bool
    #: The underlying failure, for :class:`OutcomeUnknownError` (built only when needed).
    cause: Callable[[], BaseException]
    #: The error raised when the policy says give up.
    error: Callable[[], Exception]


class Ending(enum.Enum):
    """Why an answer ends a call successfully."""

    OK = "ok"
    #: A 404 to a DELETE whose earlier attempt may have deleted the record (its answer was lost).
    DELETED_EARLIER = "deleted earlier"


def call_ends(
    status: int, method: str, *, maybe_applied: bool, ok_statuses: tuple[int, ...] = ()
) -> Ending | None:
    """Pure: whether an answer ends the call successfully, or ``None`` (a failure for the retry
    policy to judge)."""
    if 200 <= status < 300 or status in ok_statuses:
        return Ending.OK
    if status == 404 and method == "DELETE" and maybe_applied:
        return Ending.DELETED_EARLIER
    return None


def _failure_text(method: str, url: str, exc: BaseException, sent: bool | None, reason: str) -> str:
    """The message of the :class:`TransportError` raised when a failed request is given up."""
    if sent is None:  # the server answered, but its answer could not be read
        return f"{method} {url} failed: {type(exc).__name__}: {redact.scrub(str(exc))}"
    maybe_sent = " (request may have been sent)" if sent else ""
    return f"{method} {url} failed: {network_reason(exc)}{maybe_sent}; {reason}"


def _detached(exc: BaseException) -> BaseException:
    """A copy of an httpx exception without its request (whose headers hold the bearer token)."""
    try:
        return type(exc)(redact.scrub(str(exc)))
    except Exception:  # an exception type with another signature: keep its name and text only
        return RuntimeError(f"{type(exc).__name__}: {redact.scrub(str(exc))}")


def _clean_params(params: Mapping[str, QueryValue] | None) -> dict[str, Any] | None:
    """Drop ``None`` values; booleans as ``true``/``false``; lists repeat the parameter."""
    if not params:
        return None
    out: dict[str, Any] = {}
    for key, value in params.items():
        if value is None:
            continue
        if isinstance(value, bool):
            out[key] = "true" if value else "false"
        elif isinstance(value, list | tuple):
            if value:
                out[key] = [str(v) for v in value]
        else:
            out[key] = value
    return out or None
