"""Every knob of a chaos run, and the canary credentials whose leaks it looks for."""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from typing import Any

from gcx.emulator import EmulatorSettings
from gcx.emulator.settings import KIND_IDENTITY

CANARY_CLIENT_ID = "gcx-chaos-client"
#: A canary client secret, made anew in each harness process (never a literal that a secret scanner
#: would flag): every output of a run is searched for it.
CANARY_SECRET = "chaos-canary-" + secrets.token_hex(8)


@dataclass
class ChaosConfig:
    """Every knob of a chaos run (defaults: the CI-sized run)."""

    contacts: int = 500
    orgs: int = 10
    seed: int = 7
    kills: int = 3
    fault_rate: float = 0.05
    drop_rate: float = 0.02
    drop_mode: str = "mixed"
    burst_429_rate: float = 0.005
    burst_429_length: int = 3
    bursts_per_run: int = 1
    drops_per_run: int = 1
    revokes_per_run: int = 1
    token_ttl: int = 3
    unique_external_ids: bool = False
    #: True: the emulator's earlier, kind identity rules (``KIND_IDENTITY``: identifiers from
    #: ``externalIds``, shown in scans). False (default): the documented, strict rules, where
    #: records made by hand are found only by adoption checks.
    kind_identity: bool = False
    on_conflict: str = "source-wins"
    preseed_fraction: float = 0.1
    edits: int = 0
    changed_fraction: float = 0.05
    dirty_fraction: float = 0.0
    batch_size: int = 50
    emulator_rate_limit: int = 0
    client_rate_limit: int = 0
    max_runs: int = 15
    run_timeout: float = 600.0
    deadline: float = 1800.0
    verbose: bool = True
    launcher: str = "subprocess"
    noop_check: bool = True
    client_id: str = CANARY_CLIENT_ID
    client_secret: str = field(default=CANARY_SECRET, repr=False)
    ledger_url: str | None = None

    def settings(self) -> EmulatorSettings:
        return EmulatorSettings(
            rate_limit=self.emulator_rate_limit,
            token_ttl=86400,
            unique_external_ids=self.unique_external_ids,
            seed=self.seed,
            credentials=((self.client_id, self.client_secret),),
            **(KIND_IDENTITY if self.kind_identity else {}),
        )

    def fault_settings(self) -> dict[str, Any]:
        return {
            "fault_rate": self.fault_rate,
            "drop_after_commit": self.drop_rate,
            "drop_mode": self.drop_mode,
            "burst_429_rate": self.burst_429_rate,
            "burst_429_length": self.burst_429_length,
            "token_ttl": self.token_ttl,
        }


OFF = {"fault_rate": 0.0, "drop_after_commit": 0.0, "burst_429_rate": 0.0, "token_ttl": 86400}
