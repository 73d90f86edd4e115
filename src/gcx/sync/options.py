"""The options of a sync run (``gcx sync plan|apply``), checked once."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from gcx.sync.errors import SyncError
from gcx.sync.plan import ConflictPolicy

DEFAULT_EXTERNAL_SOURCE = "gcx"


@dataclass(frozen=True)
class SyncOptions:
    prune: bool = False
    force: bool = False  # lifts the prune threshold, nothing else
    accept_unreadable: bool = False  # prune although some source rows could not be read
    prune_threshold: float = 0.1
    on_conflict: ConflictPolicy = "source-wins"
    trust_ledger: bool = False
    batch_size: int = 200
    external_source: str = DEFAULT_EXTERNAL_SOURCE
    adoption_checks: bool = True  # look for records a person made (gcx.sync.adoption)

    def check(self) -> None:
        if not 1 <= self.batch_size <= 200:
            raise SyncError(f"--batch-size must be between 1 and 200, got {self.batch_size}")
        if not 0 <= self.prune_threshold <= 1:
            raise SyncError(f"--prune-threshold must be between 0 and 1, got {self.prune_threshold}")
        if self.on_conflict not in ("source-wins", "report"):
            raise SyncError(f"--on-conflict must be source-wins or report, got {self.on_conflict!r}")
        if not self.external_source.strip():
            raise SyncError("--external-source must not be empty")

    def to_json(self) -> dict[str, Any]:
        return {
            "prune": self.prune,
            "force": self.force,
            "acceptUnreadable": self.accept_unreadable,
            "pruneThreshold": self.prune_threshold,
            "onConflict": self.on_conflict,
            "trustLedger": self.trust_ledger,
            "batchSize": self.batch_size,
            "externalSource": self.external_source,
            "adoptionChecks": self.adoption_checks,
        }
