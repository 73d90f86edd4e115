"""Bad input at scale, under chaos: a CSV where 5% of the rows are invalid, of every kind.

Invalid email, unreadable phone, over-long field, missing organization reference, duplicate
ExternalId, malformed CSV row, bad encoding (each in turn). The valid 95% must sync exactly
(the first of two rows sharing an ExternalId is the valid one), every invalid row must be
reported exactly once with its line, field and a reason, none of them written, and the run
ends with exit code 3 (partial success), all despite faults and a SIGKILL. This test runs
each gcx in a fresh interpreter (``python -m gcx.cli.main``), the others through the
harness's fork server.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gcx_testkit.chaos import BAD_KINDS, ChaosConfig, run_chaos
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


def test_dirty_csv_syncs_the_valid_rows_and_reports_each_invalid_row_once(tmp_path: Path) -> None:
    cfg = ChaosConfig(
        contacts=500,
        orgs=10,
        seed=31,
        kills=1,
        burst_429_length=2,
        dirty_fraction=0.05,
        client_id=CANARY_CLIENT_ID,
        client_secret=CANARY_SECRET,
        noop_check=False,
    )
    result = run_chaos(cfg, tmp_path)
    summary = result.summary()
    assert result.completed, summary
    final = result.final_report or {}
    assert result.runs[-1].exit_code == 3
    assert result.stats["invalid"] == 25
    assert len(final["invalid"]) == 25, final["invalid"]
    assert not result.invalid_problems, result.invalid_problems
    assert final["failures"] == []
    fields = {i["field"] for i in final["invalid"]}
    assert fields == {"workEmail", "cellPhone", "address.city", "organization", "externalId", None}
    assert len(BAD_KINDS) == 7  # the two row-level kinds (malformed, encoding) carry no field
    assert all(isinstance(i["line"], int) and i["reason"] for i in final["invalid"])
    v = result.verification
    assert v.ok, v.describe() + "\n" + summary
    assert v.present["contact"] == 500 - 25
    assert not result.leaks
