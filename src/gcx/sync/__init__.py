"""gcx.sync: an idempotent, resumable bulk sync from a source of truth (docs/sync.md).

The Python API (:mod:`gcx.sync.api`)::

    from gcx.sync import SyncOptions, load_mapping, open_source, plan_sync, run_sync

``open_source(path, mapping)`` reads a CSV (with a mapping), a JSONL file of canonical records or
a SQL query; ``run_sync(client, source, ledger=..., options=SyncOptions(...))`` returns a
:class:`RunReport`. Imports are lazy: ``import gcx.sync`` loads nothing heavy.
"""

from __future__ import annotations

import importlib
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from gcx.sync.api import plan_sync, run_sync
    from gcx.sync.errors import SyncError
    from gcx.sync.mapping import SourceMapping, load_mapping
    from gcx.sync.options import SyncOptions
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport
    from gcx.sync.source import Source, open_source

_LAZY = {
    "Op": "gcx.sync.plan",
    "RunReport": "gcx.sync.report",
    "Source": "gcx.sync.source",
    "SourceMapping": "gcx.sync.mapping",
    "SyncError": "gcx.sync.errors",
    "SyncOptions": "gcx.sync.options",
    "load_mapping": "gcx.sync.mapping",
    "open_source": "gcx.sync.source",
    "plan_sync": "gcx.sync.api",
    "run_sync": "gcx.sync.api",
}

__all__ = [
    "Op",
    "RunReport",
    "Source",
    "SourceMapping",
    "SyncError",
    "SyncOptions",
    "load_mapping",
    "open_source",
    "plan_sync",
    "run_sync",
]


def __getattr__(name: str) -> Any:
    if name in _LAZY:
        value = getattr(importlib.import_module(_LAZY[name]), name)
        globals()[name] = value
        return value
    raise AttributeError(f"module 'gcx.sync' has no attribute {name!r}")
