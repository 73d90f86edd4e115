"""The sync as a Python API: for a team that runs it from its own scheduler (Airflow, cron, a
Django command) instead of driving the CLI.

::

    import asyncio
    from gcx import AsyncClient
    from gcx.sync import SyncOptions, load_mapping, open_source, run_sync

    async def nightly() -> None:
        source = open_source("crm.csv", load_mapping("crm.toml"))
        async with AsyncClient(profile="prod") as gc:
            report = await run_sync(gc, source, ledger="postgresql+psycopg://sync@db/gcx",
                                    options=SyncOptions(prune=True))
        if report.exit_code:
            print(report.status, report.error)

    asyncio.run(nightly())

:func:`plan_sync` is the same run with nothing written (what ``gcx sync plan`` prints).
Everything the CLI does between reading the source and writing the report happens here: the
ledger (opened, locked and closed), the binding to the org and the External Source, the plan,
the writes. The report is returned on success and on failure (``report.status``,
``report.error``); the exception that stopped a run is re-raised unless ``raise_errors=False``.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING

from gcx.sync.options import SyncOptions
from gcx.sync.report import RunReport
from gcx.sync.source import Source, check_source
from gcx.sync.state import OnOp, OnWrite, Progress

if TYPE_CHECKING:
    from gcx.client import AsyncClient


async def run_sync(
    gc: AsyncClient,
    source: Source,
    *,
    ledger: str | Path | None = None,
    options: SyncOptions | None = None,
    dry_run: bool = False,
    on_op: OnOp | None = None,
    progress: Progress | None = None,
    on_write: OnWrite | None = None,
    raise_errors: bool = True,
) -> RunReport:
    """Make Genesys match ``source`` (``dry_run``: plan only) and return the run's report.

    ``ledger``: a SQLAlchemy URL (``sqlite:///...``, ``postgresql+psycopg://...``) or a SQLite
    file path; ``None`` = ``gcx-ledger.sqlite`` in the current directory, as the CLI.
    ``on_op`` sees each planned operation; ``progress(kind, n)`` the records read so far;
    ``on_write(kind, n, total)`` each batch written (``n`` items; ``total``: the writes of that
    kind planned so far, which grows while planning streams ahead of the writes).
    """
    from gcx.sync.engine import SyncEngine
    from gcx.sync.ledger import Ledger, ledger_url
    from gcx.sync.remote import Remote

    check_source(source)  # before any request: a CSV header against its mapping
    url = ledger_url(str(ledger) if ledger is not None else None)
    with Ledger(url) as opened:
        engine = SyncEngine(
            ledger=opened,
            source=source,
            remote=Remote(gc),
            region=gc.settings.region.name,
            options=options,
            dry_run=dry_run,
            on_op=on_op,
            progress=progress,
            on_write=on_write,
        )
        report = await engine.run()
    if raise_errors and engine.exception is not None:
        raise engine.exception
    return report


async def plan_sync(
    gc: AsyncClient,
    source: Source,
    *,
    ledger: str | Path | None = None,
    options: SyncOptions | None = None,
    on_op: OnOp | None = None,
    raise_errors: bool = True,
) -> RunReport:
    """What :func:`run_sync` would do, with nothing written (``report.dry_run`` is True)."""
    return await run_sync(
        gc, source, ledger=ledger, options=options, dry_run=True, on_op=on_op, raise_errors=raise_errors
    )
