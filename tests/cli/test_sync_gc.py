"""batch_gc: during a sync the loaded heap is frozen and the youngest generation is collected
less often; both are put back afterwards, even when the run raises."""

from __future__ import annotations

import gc

import pytest

from gcx.cli.sync_run import YOUNG_THRESHOLD, batch_gc


def test_batch_gc_sets_the_young_threshold_and_puts_everything_back() -> None:
    before = gc.get_threshold()
    with batch_gc():
        assert gc.get_threshold() == (YOUNG_THRESHOLD, *before[1:])
        assert gc.get_freeze_count() > 0
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
    with pytest.raises(RuntimeError), batch_gc():
        raise RuntimeError("the run failed")
    assert gc.get_threshold() == before
    assert gc.get_freeze_count() == 0
