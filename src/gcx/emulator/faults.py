"""Rate limiting and fault injection: pure decisions, seeded randomness, injected clock.

The ASGI layer (``app.py``) asks these objects what to do with each request; nothing here
touches sockets, so every rule is testable with a fake clock and a fixed seed.
"""

from __future__ import annotations

import math
import random
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass

from gcx.emulator.settings import EmulatorSettings

Clock = Callable[[], float]

WINDOW_SECONDS = 60.0


class RateLimiter:
    """Sliding one-minute window per key (a bearer token, a client id).

    :meth:`hit` records a request and returns ``None`` when it is allowed, else the whole
    number of seconds after which a retry will be allowed (at least 1). Rejected requests do
    not consume the budget.
    """

    def __init__(self, per_minute: int, clock: Clock, window: float = WINDOW_SECONDS) -> None:
        self.per_minute = per_minute
        self.clock = clock
        self.window = window
        self._hits: dict[str, deque[float]] = {}

    def hit(self, key: str) -> int | None:
        return self._admit(key, record=True)

    def wait(self, key: str) -> int | None:
        """What :meth:`hit` would answer, without recording anything."""
        return self._admit(key, record=False)

    def _admit(self, key: str, *, record: bool) -> int | None:
        if self.per_minute <= 0:
            return None
        now = self.clock()
        hits = self._hits.get(key)
        if hits is None:
            hits = self._hits[key] = deque()
        horizon = now - self.window
        while hits and hits[0] <= horizon:
            hits.popleft()
        if len(hits) >= self.per_minute:
            wait = hits[0] + self.window - now
            return max(1, math.ceil(wait))
        if not record:
            return None
        hits.append(now)
        if len(self._hits) > 10_000:
            self._forget_idle(horizon)
        return None

    def _forget_idle(self, horizon: float) -> None:
        for key in [k for k, v in self._hits.items() if not v or v[-1] <= horizon]:
            del self._hits[key]

    def reset(self) -> None:
        self._hits.clear()


@dataclass(frozen=True)
class Fault:
    """An injected failure: answer ``status`` (with ``retry_after`` for 429) instead of the call."""

    status: int
    code: str
    message: str
    retry_after: int | None = None


_FAULT_TEXT = {
    500: ("internal.server.error", "The server encountered an unexpected condition (injected fault)."),
    502: ("bad.gateway", "Bad gateway (injected fault)."),
    503: ("service.unavailable", "The service is temporarily unavailable (injected fault)."),
    504: ("gateway.timeout", "The gateway timed out waiting for the service (injected fault)."),
}


def server_fault(status: int) -> Fault:
    code, message = _FAULT_TEXT.get(status, ("server.error", f"Server error {status} (injected fault)."))
    return Fault(status=status, code=code, message=message)


def rate_limited_message(seconds: int) -> str:
    return f"Rate limit exceeded the maximum. Retry the request in [{seconds}] seconds"


class FaultInjector:
    """Decides, with a seeded :class:`random.Random`, which requests fail and how."""

    def __init__(self, settings: EmulatorSettings, rng: random.Random | None = None) -> None:
        self.settings = settings
        self.rng = rng or random.Random(settings.seed)
        self.burst_remaining = 0
        self.forced: deque[Fault] = deque()
        self.forced_drops: deque[str] = deque()

    def inject_429_burst(self, count: int, retry_after: int = 1) -> None:
        """The next ``count`` API calls get 429 (on demand, for chaos suites)."""
        for _ in range(count):
            self.forced.append(
                Fault(429, "too.many.requests.retry.after", rate_limited_message(retry_after), retry_after)
            )

    def inject(self, status: int, count: int = 1) -> None:
        """The next ``count`` API calls fail with ``status`` (5xx or 429)."""
        for _ in range(count):
            if status == 429:
                self.inject_429_burst(1)
            else:
                self.forced.append(server_fault(status))

    def drop_next_writes(self, count: int = 1, mode: str = "disconnect") -> None:
        """The next ``count`` successful writes are applied, then their answers lost."""
        if mode not in ("disconnect", "504"):
            raise ValueError("mode must be 'disconnect' or '504'")
        self.forced_drops.extend([mode] * count)

    def clear_forced(self) -> None:
        self.forced.clear()
        self.forced_drops.clear()
        self.burst_remaining = 0

    def before_call(self) -> Fault | None:
        """The fault to answer with instead of handling this API call, if any."""
        if self.forced:
            return self.forced.popleft()
        s = self.settings
        if self.burst_remaining > 0:
            self.burst_remaining -= 1
            return Fault(429, "too.many.requests.retry.after", rate_limited_message(1), 1)
        if s.burst_429_rate > 0 and self.rng.random() < s.burst_429_rate:
            self.burst_remaining = s.burst_429_length - 1
            return Fault(429, "too.many.requests.retry.after", rate_limited_message(1), 1)
        if s.fault_rate > 0 and self.rng.random() < s.fault_rate:
            return server_fault(self.rng.choice(s.fault_statuses))
        return None

    def before_token(self) -> Fault | None:
        s = self.settings
        if s.token_fault_rate > 0 and self.rng.random() < s.token_fault_rate:
            return server_fault(self.rng.choice(s.fault_statuses))
        return None

    def latency(self) -> float:
        """Seconds to wait before handling an API call."""
        s = self.settings
        extra = self.rng.uniform(0.0, s.latency_jitter) if s.latency_jitter > 0 else 0.0
        return s.latency + extra

    def drop_after_commit(self) -> str | None:
        """After a successful write: ``'disconnect'``, ``'504'`` or None (answer normally)."""
        if self.forced_drops:
            return self.forced_drops.popleft()
        s = self.settings
        if s.drop_after_commit <= 0 or self.rng.random() >= s.drop_after_commit:
            return None
        if s.drop_mode == "mixed":
            return self.rng.choice(("disconnect", "504"))
        return s.drop_mode
