"""The retry policy: pure decisions (statuses, network failures, idempotency) and delays."""

from __future__ import annotations

from datetime import UTC, datetime
from email.utils import format_datetime

import httpx
import pytest
from hypothesis import given
from hypothesis import strategies as st

from gcx.retry import NO_RETRY, Action, RetryPolicy, parse_retry_after, request_was_sent

POLICY = RetryPolicy(max_attempts=5, base=0.5, cap=8.0, deadline=60.0)
REQ = httpx.Request("POST", "http://127.0.0.1/x")


@pytest.mark.parametrize("status", [429, 503, 408])
@pytest.mark.parametrize("method,idempotent", [("POST", False), ("GET", True), ("PATCH", False)])
def test_not_applied_statuses_retry_anything(status: int, method: str, idempotent: bool) -> None:
    assert POLICY.should_retry(1, method, status, idempotent).action is Action.RETRY


@pytest.mark.parametrize("status", [500, 502, 504])
def test_maybe_applied_statuses_retry_only_idempotent(status: int) -> None:
    assert POLICY.should_retry(1, "GET", status, True).action is Action.RETRY
    assert POLICY.should_retry(1, "PUT", status, None).action is Action.RETRY
    decision = POLICY.should_retry(1, "POST", status, False)
    assert decision.action is Action.OUTCOME_UNKNOWN
    assert "may have been applied" in decision.reason


@pytest.mark.parametrize("status", [400, 401, 403, 404, 409, 413, 415, 422, 501])
def test_client_errors_are_never_retried(status: int) -> None:
    assert POLICY.should_retry(1, "GET", status, True).action is Action.RAISE


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ConnectError("refused", request=REQ),
        httpx.ConnectTimeout("t", request=REQ),
        httpx.PoolTimeout("p"),
    ],
)
def test_failures_before_sending_retry_even_a_create(exc: Exception) -> None:
    assert request_was_sent(exc) is False
    assert POLICY.should_retry(1, "POST", exc, False).action is Action.RETRY


@pytest.mark.parametrize(
    "exc",
    [
        httpx.ReadTimeout("t", request=REQ),
        httpx.ReadError("r", request=REQ),
        httpx.RemoteProtocolError("cut", request=REQ),
        httpx.WriteError("w", request=REQ),
    ],
)
def test_failures_after_sending(exc: Exception) -> None:
    assert request_was_sent(exc) is True
    assert POLICY.should_retry(1, "POST", exc, False).action is Action.OUTCOME_UNKNOWN
    assert POLICY.should_retry(1, "POST", exc, True).action is Action.RETRY  # identifier-keyed
    assert POLICY.should_retry(1, "GET", exc, None).action is Action.RETRY


def test_non_network_exception_is_raised() -> None:
    assert POLICY.should_retry(1, "GET", ValueError("x"), True).action is Action.RAISE


def test_unreadable_answer_to_a_write_is_outcome_unknown() -> None:
    # httpx raises a DecodingError once the server has answered: a POST went through.
    garbled = httpx.DecodingError("bad gzip")
    assert request_was_sent(garbled) is None
    decision = POLICY.should_retry(1, "POST", garbled, False)
    assert decision.action is Action.OUTCOME_UNKNOWN and "may have been applied" in decision.reason
    assert POLICY.should_retry(1, "GET", garbled, True).action is Action.RAISE
    assert POLICY.should_retry(1, "POST", ValueError("x"), False).action is Action.RAISE


def test_attempt_budget() -> None:
    assert POLICY.should_retry(4, "GET", 503, True).action is Action.RETRY
    last = POLICY.should_retry(5, "GET", 503, True)
    assert last.action is Action.RAISE
    assert "5 attempts" in last.reason


def test_full_jitter_bounds() -> None:
    assert POLICY.delay(1, None, lambda: 0.0) == 0.0
    assert POLICY.delay(1, None, lambda: 1.0) == 0.5
    assert POLICY.delay(3, None, lambda: 1.0) == 2.0
    assert POLICY.delay(10, None, lambda: 1.0) == 8.0  # capped
    assert POLICY.delay(2, None, lambda: 0.5) == 0.5


def test_retry_after_seconds_is_a_floor() -> None:
    assert POLICY.delay(1, {"Retry-After": "3"}, lambda: 1.0) == 3.0
    assert POLICY.delay(5, {"retry-after": "1"}, lambda: 1.0) == 8.0  # backoff larger than the floor


def test_retry_after_http_date() -> None:
    now = 1_800_000_000.0
    when = format_datetime(datetime.fromtimestamp(now + 7, tz=UTC), usegmt=True)
    assert parse_retry_after(when, now=now) == pytest.approx(7.0)
    assert POLICY.delay(1, {"Retry-After": when}, lambda: 0.0, now=now) == pytest.approx(7.0)
    past = format_datetime(datetime.fromtimestamp(now - 100, tz=UTC), usegmt=True)
    assert parse_retry_after(past, now=now) == 0.0


@pytest.mark.parametrize("value", [None, "", "soon", "nan", "inf", "-5"])
def test_bad_retry_after(value: str | None) -> None:
    parsed = parse_retry_after(value)
    assert parsed is None or parsed == 0.0


def test_decide_respects_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=10, base=1.0, cap=30.0, deadline=10.0)
    ok = policy.decide(1, "GET", 503, elapsed=2.0, rand=lambda: 1.0)
    assert ok.action is Action.RETRY and ok.delay == 1.0
    clipped = policy.decide(5, "GET", 503, elapsed=9.0, rand=lambda: 1.0)
    assert clipped.action is Action.RETRY and clipped.delay == pytest.approx(1.0)
    over = policy.decide(1, "GET", 429, headers={"Retry-After": "30"}, elapsed=0.0)
    assert over.action is Action.RAISE and "deadline" in over.reason
    done = policy.decide(2, "GET", 503, elapsed=10.0)
    assert done.action is Action.RAISE


def test_decide_refuses_absurd_retry_after() -> None:
    policy = RetryPolicy(deadline=None, max_retry_after=60)
    assert policy.decide(1, "GET", 429, headers={"Retry-After": "3600"}).action is Action.RAISE


def test_policy_validation() -> None:
    with pytest.raises(ValueError, match="max_attempts"):
        RetryPolicy(max_attempts=0)
    with pytest.raises(ValueError, match="deadline"):
        RetryPolicy(deadline=-1)


# -- properties ------------------------------------------------------------------------

policies = st.builds(
    RetryPolicy,
    max_attempts=st.integers(1, 10),
    base=st.floats(0, 5, allow_nan=False),
    cap=st.floats(0, 60, allow_nan=False),
    deadline=st.one_of(st.none(), st.floats(0, 600, allow_nan=False)),
)
statuses = st.integers(100, 599)
methods = st.sampled_from(["GET", "PUT", "DELETE", "POST", "PATCH"])


@given(policies, st.integers(1, 20), st.floats(0, 1), st.one_of(st.none(), st.integers(0, 120)))
def test_delay_is_bounded(policy: RetryPolicy, attempt: int, r: float, retry_after: int | None) -> None:
    headers = {"Retry-After": str(retry_after)} if retry_after is not None else None
    d = policy.delay(attempt, headers, lambda: r)
    assert d >= 0
    assert d <= max(policy.cap, retry_after or 0) + 1e-9
    if retry_after is not None:
        assert d >= retry_after


@given(policies, st.integers(1, 20), methods, statuses, st.floats(0, 700, allow_nan=False), st.floats(0, 1))
def test_decide_never_waits_past_the_deadline(
    policy: RetryPolicy, attempt: int, method: str, status: int, elapsed: float, r: float
) -> None:
    d = policy.decide(attempt, method, status, elapsed=elapsed, rand=lambda: r)
    if d.action is Action.RETRY:
        if status == 429:
            assert attempt < max(policy.max_attempts, policy.max_rate_limited_attempts)
        else:
            assert attempt < policy.max_attempts
        assert d.delay >= 0
        if policy.deadline is not None:
            assert elapsed + d.delay <= policy.deadline + 1e-9


@given(policies, st.integers(1, 20), statuses)
def test_non_idempotent_is_never_blindly_retried_after_maybe_applied(
    policy: RetryPolicy, attempt: int, status: int
) -> None:
    d = policy.should_retry(attempt, "POST", status, False)
    if status in (500, 502, 504):
        assert d.action is Action.OUTCOME_UNKNOWN
    if d.action is Action.RETRY:
        assert status in (408, 429, 503)


@given(policies, st.integers(1, 20), methods, statuses)
def test_decisions_are_deterministic(policy: RetryPolicy, attempt: int, method: str, status: int) -> None:
    a = policy.decide(attempt, method, status, rand=lambda: 0.3)
    b = policy.decide(attempt, method, status, rand=lambda: 0.3)
    assert a == b


def test_repeated_429s_are_bounded_by_their_own_budget_and_the_deadline() -> None:
    policy = RetryPolicy(max_attempts=3, max_rate_limited_attempts=10, deadline=100.0)
    # 503 and 5xx give up after max_attempts ...
    assert policy.should_retry(3, "GET", 503, True).action is Action.RAISE
    # ... while a 429 (not applied, wait named by the server) keeps its own, larger budget.
    assert policy.should_retry(3, "POST", 429, False).action is Action.RETRY
    assert policy.should_retry(9, "POST", 429, False).action is Action.RETRY
    assert policy.should_retry(10, "POST", 429, False).action is Action.RAISE
    # The deadline still bounds the whole call.
    late = policy.decide(5, "GET", 429, headers={"Retry-After": "30"}, elapsed=90.0)
    assert late.action is Action.RAISE
    # A policy that never retries never retries a 429 either.
    assert NO_RETRY.should_retry(1, "GET", 429, True).action is Action.RAISE
