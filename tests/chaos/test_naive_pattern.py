"""The checks catch what goes wrong: the naive GET-before-POST pattern, under the same faults.

The naive pattern (look a record up by identifier, create it when absent, else PUT the
source's fields; retry 5xx and cut connections) makes a duplicate when a create is applied
but its answer is lost and the emulator allows two holders of one ExternalId, and its PUT
erases the values a person set on fields the source does not manage. The verifier that finds
nothing wrong after the gcx chaos runs reports both here.
"""

from __future__ import annotations

import time

from benchmarks.compare_naive import CLIENT_ID, SECRET, NaiveHttp
from gcx.emulator import Emulator, EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY
from gcx_testkit.chaos import ChaosConfig, Harness, make_records
from gcx_testkit.verify import verify


def _harness(tmp_path: object, unique: bool) -> Harness:
    cfg = ChaosConfig(contacts=20, orgs=2, seed=3, preseed_fraction=0.2)
    h = Harness(cfg, tmp_path)  # type: ignore[arg-type]
    h.emu = Emulator(
        EmulatorSettings(
            rate_limit=0,
            seed=3,
            unique_external_ids=unique,
            credentials=((CLIENT_ID, SECRET),),
            **KIND_IDENTITY,
        )
    )
    return h


def test_naive_pattern_duplicates_on_commit_then_drop_and_loses_unmanaged_fields(tmp_path: object) -> None:
    h = _harness(tmp_path, unique=False)
    records = make_records(h.cfg)
    with h.emu.serve() as url:
        h.preseed(records)
        h.emu.drop_next_writes(6, mode="disconnect")  # the first six writes: applied, answer lost
        naive = NaiveHttp(url, time.monotonic() + 120)
        try:
            naive.sync(records)
        finally:
            naive.close()
        report = verify(h.emu.dump(), records, h.expect)
    assert report.duplicate_records >= 1, report.describe()
    assert report.lost, "the naive PUT should have erased the pre-seeded unmanaged values"
    assert {m.field for m in report.lost} >= {"salutation", "customFields.agentNote"}


def test_unique_external_ids_turn_the_naive_duplicate_into_broken_links(tmp_path: object) -> None:
    """The retried create gets 409; the script never learns the organization's id, so its
    contacts are written without their organization."""
    h = _harness(tmp_path, unique=True)
    records = make_records(h.cfg)
    with h.emu.serve() as url:
        h.emu.drop_next_writes(1, mode="504")
        naive = NaiveHttp(url, time.monotonic() + 120)
        try:
            naive.sync(records)
        finally:
            naive.close()
        report = verify(h.emu.dump(), records)
    assert report.duplicate_records == 0
    assert naive.stats.errors == 0  # no give-up: the 409 is an answer the script accepts
    assert report.mismatches and {m.field for m in report.mismatches} == {"organization"}
