"""The CI-sized chaos run: ``gcx sync apply`` subprocesses over loopback under every fault kind.

500 contacts in 10 organizations, seeded, the emulator allowing two records to hold one
ExternalId (so nothing but gcx stands between a lost answer and a duplicate): 5% of API
calls answered 500/503/504, 2% of writes committed then their answer lost (plus one forced per run: a cut connection or a 504), 429
bursts (random and one forced per run), a 3-second token lifetime, every token revoked once
per run, and the gcx process SIGKILLed at seeded call numbers (before a call is handled or
after a write committed), then started again until a run completes. Records created by a
person beforehand (tagged with an ExternalId by ``PATCH .../identifiers``) carry unmanaged values
that must survive. Run under the emulator's documented, strict identity rules (identifiers never
in scans: those records are found by adoption checks) and under the earlier, kind ones. Asserted: 0 duplicates, nothing
missing, every managed field equal, 0 unmanaged fields lost, the ledger consistent with the
remote state, a following run writes nothing, and neither the canary secret nor any token
issued appears in any output, report, log or ledger.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from gcx_testkit.chaos import ChaosConfig, run_chaos
from tests.conftest import CANARY_CLIENT_ID, CANARY_SECRET

pytestmark = [pytest.mark.slow, pytest.mark.timeout(600)]


@pytest.mark.parametrize("identity", ["strict", "kind"])
def test_chaos_first_sync_is_exact(tmp_path: Path, identity: str) -> None:
    kills = 3
    cfg = ChaosConfig(
        contacts=500,
        orgs=10,
        seed=11,
        kills=kills,
        burst_429_length=2,
        unique_external_ids=False,  # the harder mode: the emulator would accept a duplicate
        client_id=CANARY_CLIENT_ID,
        client_secret=CANARY_SECRET,
        launcher="fork",
        kind_identity=identity == "kind",
    )
    result = run_chaos(cfg, tmp_path)
    summary = result.summary()
    assert result.completed, summary
    assert result.kills >= kills, summary
    v = result.verification
    assert v.ok, v.describe() + "\n" + summary
    assert v.duplicate_records == 0 and not v.lost and not v.mismatches and not v.missing
    assert v.present == {"organization": 10, "contact": 500}
    assert v.unmanaged_checked >= 50 * 6  # the pre-seeded records' unmanaged values were all checked
    assert not result.leaks, [str(x) for x in result.leaks]
    assert result.noop_writes == 0, summary
    # the faults really happened
    emu = result.emulator_stats
    assert emu["droppedAfterCommit"] >= 1 and emu["faultsInjected"] >= 1 and emu["rateLimited"] >= 1, summary
    assert result.stats["revocations"] >= 1 and result.stats["tokens"] > len(result.runs), summary
    # the harness did see the secret's and tokens' carriers: the logs are verbose and non-empty
    assert any(name.endswith(".err") and data for name, data in _outputs(tmp_path).items())


def _outputs(workdir: Path) -> dict[str, bytes]:
    return {str(p.relative_to(workdir)): p.read_bytes() for p in workdir.rglob("*") if p.is_file()}
