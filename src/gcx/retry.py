"""The retry policy: pure decisions, no I/O, injected clock and random.

One layer decides, for every failed attempt, whether to try again and after how long:

* **429** (rate limited) and **503** (unavailable): the server did not apply the request;
  retry anything, waiting at least ``Retry-After`` (seconds or an HTTP date).
* **408** (request timeout): the server gave up reading the request: retry anything.
* **500 / 502 / 504** and network failures *after the request was sent* (read errors, read
  timeouts, cut connections): the request may have been applied. Retry only an idempotent
  request; for any other the answer is :attr:`Action.OUTCOME_UNKNOWN`, never a blind retry.
* network failures *before the request was sent* (connect errors, connect and pool
  timeouts): nothing reached the server, retry anything.
* any other status (4xx): never retried.

Backoff is exponential with full jitter: ``rand() * min(cap, base * 2**(attempt-1))``, raised
to ``Retry-After`` when the server names a wait, and the whole sequence of attempts stays
within ``deadline`` seconds.
"""

from __future__ import annotations

import enum
import math
import random
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from email.utils import parsedate_to_datetime

import httpx

#: Methods whose repetition has the same effect as a single call (RFC 9110 9.2.2).
IDEMPOTENT_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "PUT", "DELETE"})

#: Statuses meaning the server did not apply the request, and asks to come back later.
NOT_APPLIED_RETRYABLE = frozenset({408, 429, 503})
#: Statuses meaning the server may or may not have applied the request.
MAYBE_APPLIED_RETRYABLE = frozenset({500, 502, 504})

#: Network failures raised before a single byte of the request left: always safe to retry.
_NOT_SENT: tuple[type[BaseException], ...] = (
    httpx.ConnectError,
    httpx.ConnectTimeout,
    httpx.PoolTimeout,
    httpx.UnsupportedProtocol,
)
#: Network failures after (part of) the request was sent: the server may have applied it.
_MAYBE_SENT: tuple[type[BaseException], ...] = (
    httpx.ReadError,
    httpx.ReadTimeout,
    httpx.WriteError,
    httpx.WriteTimeout,
    httpx.RemoteProtocolError,
    httpx.CloseError,
)


class Action(enum.Enum):
    RETRY = "retry"
    RAISE = "raise"
    OUTCOME_UNKNOWN = "outcome_unknown"


@dataclass(frozen=True)
class Decision:
    """What to do about a failed attempt, and why (for logs and errors)."""

    action: Action
    reason: str
    delay: float = 0.0

    @property
    def retry(self) -> bool:
        return self.action is Action.RETRY


def is_idempotent_method(method: str) -> bool:
    return method.upper() in IDEMPOTENT_METHODS


def request_was_sent(exc: BaseException) -> bool | None:
    """``False`` when ``exc`` proves the request never left, ``True`` when it may have been
    received, ``None`` when ``exc`` is not a network failure at all."""
    if isinstance(exc, _NOT_SENT):
        return False
    if isinstance(exc, _MAYBE_SENT):
        return True
    if isinstance(exc, httpx.TransportError):
        # Unknown transport failures: assume the worst.
        return True
    return None


def parse_retry_after(value: str | None, *, now: float | None = None) -> float | None:
    """``Retry-After`` in seconds from now: delta-seconds or an HTTP date. ``None`` if absent
    or unparseable; never negative."""
    if value is None:
        return None
    text = value.strip()
    if not text:
        return None
    try:
        seconds = float(text)
    except ValueError:
        try:
            when = parsedate_to_datetime(text)
        except (TypeError, ValueError, IndexError):
            return None
        if when is None:
            return None
        current = time.time() if now is None else now
        seconds = when.timestamp() - current
    if math.isnan(seconds) or math.isinf(seconds):
        return None
    return max(0.0, seconds)


@dataclass(frozen=True)
class RetryPolicy:
    """How often and how long to retry.

    ``max_attempts`` counts every attempt, the first included (1 = never retry).
    ``base`` and ``cap`` shape the exponential backoff (seconds); ``deadline`` bounds the
    whole call, waits included (seconds, ``None`` = unbounded). ``max_retry_after`` is the
    longest ``Retry-After`` honoured before giving up (a server asking for an hour is a
    failure to report, not a wait).
    """

    max_attempts: int = 6
    base: float = 0.5
    cap: float = 30.0
    deadline: float | None = 300.0
    max_retry_after: float = 300.0
    #: Attempts allowed when the server keeps answering 429. A 429 proves the request was not
    #: applied and names its wait, so waiting again is always safe: the deadline, not the
    #: attempt count, is what bounds a long job that shares its rate limit with others.
    max_rate_limited_attempts: int = 30

    def __post_init__(self) -> None:
        if self.max_attempts < 1:
            raise ValueError("RetryPolicy.max_attempts must be at least 1")
        if self.max_rate_limited_attempts < 1:
            raise ValueError("RetryPolicy.max_rate_limited_attempts must be at least 1")
        if self.base < 0 or self.cap < 0:
            raise ValueError("RetryPolicy.base and cap must not be negative")
        if self.deadline is not None and self.deadline < 0:
            raise ValueError("RetryPolicy.deadline must not be negative")

    # -- the two pure primitives -------------------------------------------------

    def should_retry(
        self,
        attempt: int,
        method: str,
        outcome: int | BaseException,
        idempotent: bool | None = None,
    ) -> Decision:
        """Whether attempt number ``attempt`` (1-based) that ended with ``outcome`` (an HTTP
        status or an exception) may be tried again. Ignores time (see :meth:`decide`)."""
        if idempotent is None:
            idempotent = is_idempotent_method(method)
        verb = method.upper()
        if isinstance(outcome, int):
            status = outcome
            if status < 400:
                return Decision(Action.RAISE, f"status {status} is not a failure")
            if status == 429 and self.max_attempts > 1:
                return self._budget(
                    attempt, "status 429", limit=max(self.max_attempts, self.max_rate_limited_attempts)
                )
            if status in NOT_APPLIED_RETRYABLE:
                return self._budget(attempt, f"status {status}")
            if status in MAYBE_APPLIED_RETRYABLE:
                if not idempotent:
                    return Decision(
                        Action.OUTCOME_UNKNOWN,
                        f"status {status} to a non-idempotent {verb}: it may have been applied",
                    )
                return self._budget(attempt, f"status {status}")
            return Decision(Action.RAISE, f"status {status} is not retryable")
        sent = request_was_sent(outcome)
        name = type(outcome).__name__
        if sent is None:
            if not idempotent and isinstance(outcome, httpx.HTTPError):
                # httpx raises its other errors (an undecodable body...) once the server has answered.
                return Decision(
                    Action.OUTCOME_UNKNOWN,
                    f"{name} after the server answered a non-idempotent {verb}: it may have been applied",
                )
            return Decision(Action.RAISE, f"{name} is not a network failure")
        if sent and not idempotent:
            return Decision(
                Action.OUTCOME_UNKNOWN,
                f"{name} after sending a non-idempotent {verb}: it may have been applied",
            )
        return self._budget(attempt, name)

    def delay(
        self,
        attempt: int,
        headers: Mapping[str, str] | None = None,
        rand: Callable[[], float] | None = None,
        *,
        now: float | None = None,
    ) -> float:
        """Seconds to wait before attempt ``attempt + 1``: full jitter, ``Retry-After`` as a floor."""
        draw = (rand or random.random)()
        exp = min(self.cap, self.base * float(2 ** max(0, attempt - 1)))
        wait: float = max(0.0, min(1.0, float(draw))) * exp
        retry_after = retry_after_from(headers, now=now)
        if retry_after is not None:
            wait = max(wait, retry_after)
        return wait

    # -- combined, with the deadline -------------------------------------------------

    def decide(
        self,
        attempt: int,
        method: str,
        outcome: int | BaseException,
        *,
        idempotent: bool | None = None,
        headers: Mapping[str, str] | None = None,
        elapsed: float = 0.0,
        rand: Callable[[], float] | None = None,
        now: float | None = None,
    ) -> Decision:
        """:meth:`should_retry` plus :meth:`delay`, within the deadline.

        ``elapsed`` is the time spent on this call so far. A wait that would end past the
        deadline, or a ``Retry-After`` beyond ``max_retry_after``, turns into ``RAISE``.
        """
        decision = self.should_retry(attempt, method, outcome, idempotent)
        if not decision.retry:
            return decision
        retry_after = retry_after_from(headers, now=now)
        if retry_after is not None and retry_after > self.max_retry_after:
            return Decision(
                Action.RAISE, f"{decision.reason}: Retry-After {retry_after:.0f}s is beyond the limit"
            )
        wait = self.delay(attempt, headers, rand, now=now)
        if self.deadline is not None:
            remaining = self.deadline - elapsed
            if retry_after is not None and retry_after > remaining:
                return Decision(
                    Action.RAISE, f"{decision.reason}: Retry-After {retry_after:.1f}s exceeds the deadline"
                )
            if remaining <= 0:
                return Decision(Action.RAISE, f"{decision.reason}: deadline of {self.deadline}s reached")
            wait = min(wait, remaining)
        return Decision(Action.RETRY, decision.reason, wait)

    def _budget(self, attempt: int, reason: str, *, limit: int | None = None) -> Decision:
        if attempt >= (self.max_attempts if limit is None else limit):
            return Decision(Action.RAISE, f"{reason}: gave up after {attempt} attempts")
        return Decision(Action.RETRY, reason)


def retry_after_from(headers: Mapping[str, str] | None, *, now: float | None = None) -> float | None:
    if not headers:
        return None
    value = headers.get("retry-after")
    if value is None:
        value = headers.get("Retry-After")
    return parse_retry_after(value, now=now)


#: A policy that never retries (for tests and for callers doing their own retries).
NO_RETRY = RetryPolicy(max_attempts=1)
