"""The rate limiter on a fake clock: spacing, bursts, AIMD on 429, pauses, thread safety."""

from __future__ import annotations

import threading

import pytest

from gcx.pacing import RateLimiter


class FakeClock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now

    def advance(self, seconds: float) -> None:
        self.now += seconds


def run(limiter: RateLimiter, clock: FakeClock, n: int) -> list[float]:
    """Send n requests one after another, honouring the waits; return send times."""
    times = []
    for _ in range(n):
        wait = limiter.reserve()
        clock.advance(wait)
        times.append(clock.now)
        limiter.on_success()
    return times


def test_disabled_never_waits() -> None:
    limiter = RateLimiter(0)
    assert not limiter.enabled
    assert all(limiter.reserve() == 0 for _ in range(100))


def test_spaces_requests_at_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=1, clock=clock)  # one per second
    times = run(limiter, clock, 11)
    assert times[-1] - times[0] == pytest.approx(10.0)


def test_long_run_matches_the_rate() -> None:
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock)
    times = run(limiter, clock, 3001)
    achieved = 3000 / (times[-1] - times[0]) * 60
    assert achieved == pytest.approx(300)
    # never more than 300 in any sliding minute (the server's window is (now - 60, now])
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - 60:
            j += 1
        assert i - j + 1 <= 300


def test_burst_after_idle() -> None:
    clock = FakeClock()
    limiter = RateLimiter(600, burst=10, clock=clock)
    clock.advance(60)
    waits = [limiter.reserve() for _ in range(10)]
    assert waits == [0.0] * 10
    assert limiter.reserve() > 0


def test_reservations_are_cumulative_for_concurrent_callers() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=1, clock=clock)
    waits = [limiter.reserve() for _ in range(5)]  # five tasks at the same instant
    assert waits == pytest.approx([0, 1, 2, 3, 4])


def test_429_cuts_rate_and_pauses() -> None:
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock)
    limiter.on_rate_limited(retry_after=3)
    assert limiter.current_rate == pytest.approx(150)
    assert limiter.reserve() == pytest.approx(3.0)
    # more 429s from requests already in flight: same episode, no further cut
    limiter.on_rate_limited(retry_after=3)
    assert limiter.current_rate == pytest.approx(150)
    clock.advance(5)
    limiter.on_rate_limited(retry_after=1)
    assert limiter.current_rate == pytest.approx(75)
    assert limiter.snapshot().decreases == 2


def test_floor_and_recovery() -> None:
    clock = FakeClock()
    limiter = RateLimiter(300, min_fraction=0.2, clock=clock)
    for _ in range(10):
        clock.advance(10)
        limiter.on_rate_limited()
    assert limiter.current_rate == pytest.approx(60)
    for _ in range(40):
        limiter.on_success()
    assert limiter.current_rate == pytest.approx(300)  # 2% of 300 per success, capped


def test_thread_safe_reservations() -> None:
    clock = FakeClock()
    limiter = RateLimiter(60, burst=1, clock=clock)
    waits: list[float] = []
    lock = threading.Lock()

    def worker() -> None:
        for _ in range(50):
            w = limiter.reserve()
            with lock:
                waits.append(w)

    threads = [threading.Thread(target=worker) for _ in range(8)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    assert sorted(waits) == pytest.approx([float(i) for i in range(400)])


def test_invalid_arguments() -> None:
    with pytest.raises(ValueError):
        RateLimiter(300, decrease=1.5)
    with pytest.raises(ValueError):
        RateLimiter(300, min_fraction=0)


def test_late_sends_never_fill_a_server_minute() -> None:
    """Slots are reserved before the wait; a request that goes out late (a busy loop) must not
    let the requests after it crowd 301 into one sliding minute (the server counts sends)."""
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock, margin=0.25)
    times: list[float] = []
    for i in range(1200):
        clock.advance(limiter.reserve())
        if i % 300 == 0:
            clock.advance(0.15)  # this one is sent late; the next ones are on time again
        clock.advance(limiter.admit())
        times.append(clock.now)
    j = 0
    for i, t in enumerate(times):
        while times[j] <= t - 60:
            j += 1
        assert i - j + 1 <= 300, f"request {i} is the {i - j + 1}th in its minute"
    # the guard costs little: still at least 99% of the allowed rate
    assert 1199 / (times[-1] - times[0]) * 60 >= 297


def test_without_the_guard_late_sends_overfill_a_minute() -> None:
    """The case the guard exists for: evenly reserved slots alone, one send late."""
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock)
    times: list[float] = []
    for i in range(301):
        clock.advance(limiter.reserve())
        times.append(clock.now + (0.15 if i == 0 else 0.0))
    times.sort()
    assert times[300] - times[0] < 60  # 301 sends inside one minute


def test_admit_is_free_when_disabled_and_records_in_order() -> None:
    assert RateLimiter(0).admit() == 0.0
    clock = FakeClock()
    limiter = RateLimiter(2, clock=clock, margin=0.5)  # two a minute
    assert limiter.admit() == 0.0
    clock.advance(1)
    assert limiter.admit() == 0.0
    clock.advance(1)
    assert limiter.admit() == pytest.approx(58.5)  # first send + 60 s + margin
    assert limiter.admit() == pytest.approx(59.5)  # the next waits on the second send
    assert limiter.window_waits == 2


def test_a_429_despite_the_guard_widens_its_margin_once_per_episode() -> None:
    """A 429 although no window held the ceiling's worth: the way to the server's counter is
    slower than the margin at times. Each episode doubles it, up to max_margin."""
    clock = FakeClock()
    limiter = RateLimiter(300, clock=clock, margin=0.25, max_margin=1.0, cooldown=2.0)
    limiter.on_rate_limited(1)
    limiter.on_rate_limited(1)  # the same episode (requests already in flight)
    assert limiter.margin == 0.5 and limiter.decreases == 1
    for _ in range(3):
        clock.advance(5)
        limiter.on_rate_limited(1)
    assert limiter.margin == 1.0 and limiter.decreases == 4
    # the wider margin is what admit keeps: a full window waits 60 + 1.0 s from its first send
    clock = FakeClock()
    two = RateLimiter(2, clock=clock, margin=0.5, max_margin=4.0)
    assert two.admit() == 0.0 and two.admit() == 0.0
    two.on_rate_limited(None)
    assert two.admit() == pytest.approx(61.0)
