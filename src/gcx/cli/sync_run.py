"""One run of the sync engine for ``gcx sync plan|apply``: the ledger, the clients (one per
token), the permission check before any write, and the progress bar of each phase."""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import Callable
from typing import TYPE_CHECKING

from gcx.cli.context import CliContext, CliError
from gcx.cli.output import Output

if TYPE_CHECKING:  # the engine (SQLAlchemy, the client) is imported when a sync command runs
    from gcx.client import AsyncClient
    from gcx.sync.options import SyncOptions
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport
    from gcx.sync.source import Source


def run_sync(
    cli: CliContext,
    *,
    source: Source,
    ledger_arg: str | None,
    options: SyncOptions,
    dry_run: bool,
    on_op: Callable[[Op], None] | None,
    out: Output,
    tokens: int = 1,
) -> tuple[RunReport, BaseException | None, str]:
    from gcx.sync.engine import SyncEngine
    from gcx.sync.ledger import Ledger, ledger_url
    from gcx.sync.remote import Remote
    from gcx.sync.source import check_source

    check_source(source)  # a mapping naming a column the file lacks: said before any request
    url = ledger_url(ledger_arg)
    region = cli.settings().region.name

    async def main() -> tuple[RunReport, BaseException | None]:
        with Ledger(url, create=not dry_run) as ledger, out.progress("connecting", transient=True) as bar:
            # Phases, each with its own count, rate and (for writes) total and time left:
            # reading and planning organizations, writing them, then the same for contacts.
            counts = {"organization": 0, "contact": 0}
            phase: list[tuple[str, str]] = [("", "")]

            def enter(step: str, kind: str, total: int | None) -> None:
                if phase[0] != (step, kind):
                    phase[0] = (step, kind)
                    bar.restart(f"{step} {kind}s", total)

            def progress(kind: str, n: int) -> None:
                enter("reading", kind, None)
                bar.advance(n - counts[kind])
                counts[kind] = n

            def on_write(kind: str, n: int, total: int) -> None:
                enter("writing", kind, total)
                bar.set_total(total)  # planning streams ahead of the writes: the total may grow
                bar.advance(n)

            async with contextlib.AsyncExitStack() as stack:
                gc = await stack.enter_async_context(cli.async_client())
                if not options.trust_ledger:
                    await check_access(gc, options, dry_run=dry_run, out=out)
                writers = [await stack.enter_async_context(cli.async_client()) for _ in range(tokens - 1)]
                engine = SyncEngine(
                    ledger=ledger,
                    source=source,
                    remote=Remote(gc, writers=writers),
                    region=region,
                    options=options,
                    dry_run=dry_run,
                    on_op=on_op,
                    progress=progress,
                    on_write=on_write,
                )
                if not dry_run:  # what a Ctrl-C during the writes prints after "interrupted"
                    cli.resume_hint = (
                        "nothing is lost: run the same gcx sync apply again, it reconciles what was "
                        "sent and goes on (gcx sync status shows where it stopped)"
                    )
                report = await engine.run()  # a Ctrl-C escapes with the hint still set
                cli.resume_hint = None
                return report, engine.exception

    report, exc = asyncio.run(main())
    return report, exc, url


async def check_access(gc: AsyncClient, options: SyncOptions, *, dry_run: bool, out: Output) -> None:
    """Before anything is written: the permissions this run needs (harmless probes, gcx.access).
    A plan warns (it writes nothing); an apply stops with nothing written."""
    from gcx.access import check_sync_access

    problem = await check_sync_access(gc, source_name=options.external_source, prune=options.prune)
    if problem is None:
        return
    if dry_run:
        out.warn(f"apply would be refused: {problem}")
        return
    raise CliError(f"nothing was written: {problem}")
