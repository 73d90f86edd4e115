"""Concurrent edits: people change records on the Genesys side while a chaos sync runs.

A first sync completes; then the source changes for 5% of the contacts and the sync runs again
under the same faults and SIGKILLs while a person edits managed fields (title, city) and
unmanaged ones (a custom field, the salutation) of other contacts: at any moment for records
whose source did not change, between runs (after a kill) for records whose source changed.
With ``--on-conflict report`` every edited managed field stays as the person set it and is
reported as a conflict; with the default (source wins) the source value wins. In both, every
unmanaged edit survives and nothing is duplicated or lost.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gcx_testkit.chaos import ChaosConfig, run_chaos
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize(
    "policy",
    [
        # report: the emulator refuses duplicate ExternalIds, the ledger lives in PostgreSQL
        pytest.param("report", id="report-unique-postgresql"),
        # source wins: duplicates allowed, SQLite ledger
        pytest.param("source-wins", id="source-wins-duplicates-sqlite"),
    ],
)
def test_edits_during_a_chaos_sync(tmp_path: Path, pg_ledger_url: str, policy: str) -> None:
    report = policy == "report"
    cfg = ChaosConfig(
        contacts=300,
        orgs=6,
        seed=21 if report else 22,
        kills=2 if report else 1,
        burst_429_length=2,
        edits=12,
        changed_fraction=0.05,
        on_conflict=policy,
        unique_external_ids=report,
        ledger_url=pg_ledger_url if report else None,
        client_id=CANARY_CLIENT_ID,
        client_secret=CANARY_SECRET,
        noop_check=report,
        launcher="fork",
    )
    result = run_chaos(cfg, tmp_path)
    summary = result.summary()
    assert result.completed, summary
    assert result.kills >= cfg.kills, summary
    assert result.stats["edits"] == 12, summary
    v = result.verification
    assert v.ok, v.describe() + "\n" + summary
    assert not result.conflict_problems, result.conflict_problems
    assert not result.leaks, [str(x) for x in result.leaks]
    final = result.final_report or {}
    reported = {(c["externalId"], f["field"]) for c in final.get("conflicts", []) for f in c["fields"]}
    if policy == "report":
        # every edit's managed fields are standing conflicts: reported, left as the person set them
        assert len({key for key, _ in reported}) == 12, summary
        assert result.noop_writes == 0, summary
    assert v.unmanaged_checked >= 12 * 2
