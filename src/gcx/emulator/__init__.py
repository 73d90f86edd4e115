"""An emulator of the Genesys Cloud External Contacts API.

::

    from gcx.emulator import Emulator, EmulatorSettings

    emu = Emulator(EmulatorSettings(rate_limit=0, seed=7))
    transport = emu.transport()          # in-process httpx transport
    with emu.serve() as base_url:        # real loopback HTTP (uvicorn in a thread)
        ...

See ``docs/emulator.md`` for the settings and the choices made for the spec's unknowns.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

from gcx import extras
from gcx.errors import MissingDependencyError

if TYPE_CHECKING:
    from gcx.emulator.backend import Backend
    from gcx.emulator.core import Emulator, EmulatorTransport
    from gcx.emulator.errors import EmulatorError
    from gcx.emulator.gate import ConnectionDropped
    from gcx.emulator.settings import EmulatorSettings
    from gcx.emulator.stats import Stats
    from gcx.emulator.store import MemoryStore, Store

# Imported on first use, so that ``gcx`` commands that do not serve the emulator start fast.
_LAZY = {
    "Backend": "gcx.emulator.backend",
    "ConnectionDropped": "gcx.emulator.gate",
    "Emulator": "gcx.emulator.core",
    "EmulatorError": "gcx.emulator.errors",
    "EmulatorSettings": "gcx.emulator.settings",
    "EmulatorTransport": "gcx.emulator.core",
    "MemoryStore": "gcx.emulator.store",
    "Stats": "gcx.emulator.stats",
    "Store": "gcx.emulator.store",
}

__all__ = [
    "Backend",
    "ConnectionDropped",
    "Emulator",
    "EmulatorError",
    "EmulatorSettings",
    "EmulatorTransport",
    "MemoryStore",
    "Stats",
    "Store",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        try:
            module = importlib.import_module(_LAZY[name])
        except ImportError as exc:
            if isinstance(exc, MissingDependencyError):
                raise
            raise extras.missing(exc, "The gcx emulator") from exc
        value = getattr(module, name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gcx.emulator' has no attribute {name!r}")
