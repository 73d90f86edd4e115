"""Proof: three workers sharing one OAuth client: one token request for the fleet, few 429s.

The figures (share of the allowed rate used, at 300/min) come from
``benchmarks/service_shared_limits.py``; this test asserts correctness only.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gcx_testkit.service_fleet import shared_limits

pytestmark = [pytest.mark.postgres, pytest.mark.slow]


def test_three_workers_one_token_and_one_budget(pg_url: str, tmp_path: Path) -> None:
    figures = shared_limits(pg_url, tmp_path, rate=600, seconds=12, contacts=1200)
    assert figures["token_requests"] == 1, figures
    assert figures["rate_limited_share"] < 0.02, figures
    assert figures["window_requests"] > 0, figures
    assert all(code == 0 for code in figures["exit_codes"].values()), figures
