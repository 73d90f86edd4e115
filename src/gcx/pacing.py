"""Client-side pacing: one rate limiter shared by every request of a client.

Genesys Cloud allows about 300 requests per minute per token and answers 429 beyond. A
long job should run *near* that rate and rarely be rejected, so the limiter:

* spaces requests evenly at the current rate (a GCRA / virtual-scheduling token bucket,
  with a small burst allowance), reserving slots under a lock so that asyncio tasks and
  threads share it fairly;
* on a 429, cuts the current rate (multiplicative decrease, never below a floor) and holds
  every request until the server's ``Retry-After`` has passed;
* after each success, raises the rate again by a small step (additive increase) up to the
  configured maximum;
* keeps the moments requests actually went out (:meth:`RateLimiter.admit`) and never lets one
  go while the last minute, plus a small margin, already holds the ceiling's worth. Slots are
  reserved before a request waits its turn, and a busy event loop (or a server still busy with
  the previous request) can send one late while the next goes on time: evenly spaced slots
  alone then put 301 requests in some server-side minute and earn a 429. A 429 all the same
  means the way to the server's counter is slower by more than the margin at times (a loaded
  machine, the network): each such episode doubles the margin, up to ``max_margin``.

Decisions are pure arithmetic on an injected clock (:meth:`RateLimiter.reserve`); callers do
the waiting (:class:`gcx.transport.Requester` sleeps for what :meth:`~RateLimiter.reserve` says).
"""

from __future__ import annotations

import math
import threading
import time
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True)
class PacingSnapshot:
    max_rate: float
    current_rate: float
    decreases: int
    paused_until: float


class RateLimiter:
    """AIMD rate limiter.

    ``rate_per_minute``: the ceiling (0 or less disables pacing). ``burst``: how many
    requests may go back to back after an idle period (default 1: strictly even spacing,
    which never exceeds the rate in any sliding window, as Genesys Cloud counts it). ``decrease``: factor applied on a 429. ``min_fraction``: the floor, as a
    fraction of the ceiling. ``increase``: requests-per-minute regained per success
    (default: 2% of the ceiling). ``cooldown``: 429s within this many seconds of the last
    cut count as the same episode (requests already in flight when the first 429 came).
    ``window``/``margin``: the server's sliding window (Genesys counts requests per minute)
    and how much later than a full window's end :meth:`admit` lets the next request go;
    ``max_margin``: how far 429s may widen it (each episode doubles it).
    """

    def __init__(
        self,
        rate_per_minute: float,
        *,
        burst: float | None = None,
        decrease: float = 0.5,
        min_fraction: float = 0.1,
        increase: float | None = None,
        cooldown: float = 2.0,
        window: float = 60.0,
        margin: float = 0.25,
        max_margin: float = 2.0,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        if not 0 < decrease < 1:
            raise ValueError("decrease must be between 0 and 1")
        if not 0 < min_fraction <= 1:
            raise ValueError("min_fraction must be in (0, 1]")
        self.max_rate = float(max(0.0, rate_per_minute))
        self._clock = clock
        self._lock = threading.Lock()
        self._rate = self.max_rate
        self._burst = burst
        self._decrease = decrease
        self._floor = self.max_rate * min_fraction
        self._increase = increase if increase is not None else self.max_rate * 0.02
        self._cooldown = cooldown
        self._tat = clock()  # theoretical arrival time of the next request
        self._paused_until = float("-inf")
        self._last_cut = float("-inf")
        self.decreases = 0
        self._window = window
        self._margin = margin
        self._max_margin = max(margin, max_margin)
        # When the last `ceiling` requests went out (the ceiling: requests a window allows).
        ceiling = math.floor(self.max_rate * window / 60.0)
        self._sent: deque[float] = deque(maxlen=max(1, ceiling))
        self.window_waits = 0

    @property
    def enabled(self) -> bool:
        return self.max_rate > 0

    @property
    def current_rate(self) -> float:
        """Requests per minute allowed right now."""
        with self._lock:
            return self._rate

    def snapshot(self) -> PacingSnapshot:
        with self._lock:
            return PacingSnapshot(self.max_rate, self._rate, self.decreases, self._paused_until)

    @property
    def margin(self) -> float:
        """Seconds past a full window's end before :meth:`admit` lets the next request go."""
        with self._lock:
            return self._margin

    def _interval(self) -> float:
        return 60.0 / self._rate

    def _burst_size(self) -> float:
        return max(1.0, self._burst if self._burst is not None else 1.0)

    def reserve(self) -> float:
        """Reserve the next slot; return how many seconds the caller must wait before sending."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            interval = self._interval()
            tolerance = (self._burst_size() - 1.0) * interval
            start = max(self._tat, now, self._paused_until)
            # Allowed to go as early as `tolerance` before its theoretical time, never
            # before a pause ends.
            send_at = max(now, start - tolerance, self._paused_until)
            self._tat = start + interval
            return max(0.0, send_at - now)

    def admit(self) -> float:
        """Called when a request is about to go out (after :meth:`reserve`'s wait): the seconds
        it must still wait (0.0: none) so that no window (plus the margin) holds more requests
        than the ceiling allows, counted at the moments requests really go out. The request is
        recorded as sent after that wait."""
        if not self.enabled:
            return 0.0
        with self._lock:
            now = self._clock()
            sent = self._sent
            send_at = now
            if sent.maxlen is not None and len(sent) == sent.maxlen:
                send_at = max(now, sent[0] + self._window + self._margin)
            sent.append(send_at)
            if send_at > now:
                self.window_waits += 1
            return send_at - now

    def on_success(self) -> None:
        """A request got through: regain some rate."""
        if not self.enabled:
            return
        with self._lock:
            self._rate = min(self.max_rate, self._rate + self._increase)

    def on_rate_limited(self, retry_after: float | None = None) -> None:
        """A 429 came back: cut the rate (once per episode) and pause until ``Retry-After``."""
        if not self.enabled:
            return
        with self._lock:
            now = self._clock()
            if retry_after is not None and retry_after > 0:
                self._paused_until = max(self._paused_until, now + retry_after)
            if now - self._last_cut >= self._cooldown:
                self._rate = max(self._floor, self._rate * self._decrease)
                self._last_cut = now
                self.decreases += 1
                self._margin = min(self._max_margin, self._margin * 2)
            # Requests reserved before the cut keep their slots; new ones start after the pause.
            self._tat = max(self._tat, self._paused_until if retry_after else now)

    def __repr__(self) -> str:
        return f"RateLimiter(max_rate={self.max_rate:g}/min, current={self.current_rate:.1f}/min)"
