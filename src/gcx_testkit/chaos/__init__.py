"""The chaos harness: ``gcx sync apply`` against the emulator under faults, kills and edits.

Test tooling, not part of the shipped ``gcx`` package: ``tests/chaos`` and
``benchmarks/chaos.py`` (its command line) use it. One concern a module:

* :mod:`~gcx_testkit.chaos.config`   every knob of a run (:class:`ChaosConfig`), canary credentials;
* :mod:`~gcx_testkit.chaos.source`   the deterministic source (JSONL, or a dirty CSV + mapping);
* :mod:`~gcx_testkit.chaos.gate`     the ASGI gate in front of the emulator that fires actions;
* :mod:`~gcx_testkit.chaos.launch`   running gcx as a process that can be SIGKILLed
  (with :mod:`~gcx_testkit.chaos.fork_server`);
* :mod:`~gcx_testkit.chaos.results`  what a run found, and the checks of its last report;
* :mod:`~gcx_testkit.chaos.harness`  :class:`Harness` and :func:`run_chaos`, which tie them together.
"""

from gcx_testkit.chaos.config import CANARY_CLIENT_ID, CANARY_SECRET, OFF, ChaosConfig
from gcx_testkit.chaos.gate import Action, ChaosGate, Edit
from gcx_testkit.chaos.harness import Harness, ledger_dump, run_chaos, served
from gcx_testkit.chaos.launch import ForkLauncher, Launcher, SubprocessLauncher
from gcx_testkit.chaos.results import ChaosResult, RunInfo, check_conflicts, check_invalid
from gcx_testkit.chaos.source import (
    BAD_KINDS,
    CSV_MAPPING,
    Source,
    change_source,
    make_dirty_csv,
    make_records,
    write_jsonl,
)

__all__ = [
    "BAD_KINDS",
    "CANARY_CLIENT_ID",
    "CANARY_SECRET",
    "CSV_MAPPING",
    "OFF",
    "Action",
    "ChaosConfig",
    "ChaosGate",
    "ChaosResult",
    "Edit",
    "ForkLauncher",
    "Harness",
    "Launcher",
    "RunInfo",
    "Source",
    "SubprocessLauncher",
    "change_source",
    "check_conflicts",
    "check_invalid",
    "ledger_dump",
    "make_dirty_csv",
    "make_records",
    "run_chaos",
    "served",
    "write_jsonl",
]
