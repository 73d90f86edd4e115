"""One run of the sync engine for ``gcx sync plan|apply``: the ledger, the clients (one per
token), the permission check before any write, and the progress bar of each phase."""

from __future__ import annotations

import asyncio
import contextlib
import gc
from collections.abc import Callable, Iterator
from typing import TYPE_CHECKING

from gcx.cli.context import CliContext, CliError
from gcx.cli.output import Output

if TYPE_CHECKING:  # the engine (SQLAlchemy, the client) is imported when a sync command runs
    from gcx.client import AsyncClient
    from gcx.sync.ledger import Ledger
    from gcx.sync.options import SyncOptions
    from gcx.sync.plan import Op
    from gcx.sync.report import RunReport
    from gcx.sync.source import Source


#: Objects the collector tracks allocated (net) between collections of its youngest generation
#: during a sync (Python's default: 700).
YOUNG_THRESHOLD = 5000


@contextlib.contextmanager
def batch_gc() -> Iterator[None]:
    """For one command's run, what is loaded so far (modules, models, settings: most of the heap)
    is moved out of the collector's sight (``gc.freeze``): its full collections no longer scan it
    again and again while the run allocates millions of short-lived objects. The youngest
    generation is collected every :data:`YOUNG_THRESHOLD` new objects instead of 700: a batch's
    records (a few thousand objects that live until the batch is written) were scanned and
    promoted several times each. A 50,000-contact first sync, side by side, three runs each:
    6.40 -> 6.13 s of gcx CPU (-4%), peak RSS 94 -> 101 MiB (10,000: no better, 107 MiB)."""
    thresholds = gc.get_threshold()
    gc.set_threshold(YOUNG_THRESHOLD, *thresholds[1:])
    gc.freeze()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*thresholds)


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
                proofs = None
                if not options.trust_ledger:
                    proofs = await check_access(gc, ledger, options, dry_run=dry_run, out=out)
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
                if proofs is not None and not dry_run:
                    proofs.remember(report)
                return report, engine.exception

    with batch_gc():
        report, exc = asyncio.run(main())
    return report, exc, url


class Proofs:
    """The permissions the check saw granted, remembered in the ledger with what the run's
    writes proved (:mod:`gcx.sync.proven`), so that the next run within minutes probes none."""

    def __init__(self, ledger: Ledger, key: str, granted: tuple[str, ...]) -> None:
        self.ledger, self.key, self.granted = ledger, key, granted

    def remember(self, report: RunReport) -> None:
        from sqlalchemy.exc import SQLAlchemyError

        from gcx.sync.proven import ProvenAccess, proven_by_writes

        proved = {*self.granted, *proven_by_writes(report.applied)}
        with contextlib.suppress(SQLAlchemyError):  # a proof not kept costs a probe next time, no more
            ProvenAccess(self.ledger).save(self.key, proved)


async def check_access(
    gc: AsyncClient, ledger: Ledger, options: SyncOptions, *, dry_run: bool, out: Output
) -> Proofs:
    """Before anything is written: the permissions this run needs (harmless probes, gcx.access),
    less those this client proved on this ledger minutes ago. A plan warns (it writes nothing);
    an apply stops with nothing written."""
    from gcx.access import check_sync_access
    from gcx.sync.proven import ProvenAccess, client_key

    key = client_key(gc.settings.region.name, gc.settings.client_id or "")
    check = await check_sync_access(
        gc,
        source_name=options.external_source,
        prune=options.prune,
        dry_run=dry_run,
        proven=ProvenAccess(ledger).load(key),
        source_bound=ledger.binding() is not None,
    )
    if check.problem is not None:
        if not dry_run:
            raise CliError(f"nothing was written: {check.problem}")
        out.warn(f"apply would be refused: {check.problem}")
    return Proofs(ledger, key, check.granted)
