"""Console edits and sync runs never overlap: an edit takes the ledger's run lock.

A sync run holds its ledger's lock from start to end, and between its last re-read of a batch
and that batch's bulk PUT there is a window in which a person's edit of the same record would
be overwritten (the API has no ETag). So the console writes a record only while holding the
same lock: during a run it waits a little, then refuses with a clear message (nothing is
saved, nothing is lost); a run that starts during an edit is refused by the lock like any
second run, and runs at its next turn.
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager

from gcx.sync.errors import LedgerLockedError
from gcx.sync.ledger import Ledger


class RunInProgress(Exception):
    """A sync run holds the ledger: the edit was not made."""


@asynccontextmanager
async def sync_paused(ledger_url: str, wait: float, prefix: str = "gcx_") -> AsyncIterator[None]:
    """Hold the ledger's run lock for the body; wait up to ``wait`` seconds for a run to end."""
    ledger = Ledger(ledger_url, prefix=prefix)
    deadline = time.monotonic() + wait
    try:
        while True:
            try:
                ledger.acquire()
                break
            except LedgerLockedError:
                if time.monotonic() >= deadline:
                    raise RunInProgress(
                        "a sync run of this job is writing to Genesys right now: nothing was saved, "
                        "try again when it has finished"
                    ) from None
                await asyncio.sleep(0.2)
        try:
            yield
        finally:
            ledger.release()
    finally:
        ledger.close()
