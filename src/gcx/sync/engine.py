"""The sync engine: source -> plan -> apply, with the ledger, batch by batch.

Order of a run (``apply``; ``plan`` is the same without any write, to Genesys or the ledger):

1. **Binding**: ``GET /organizations/me`` and the External Source (found by name, created
   when missing); the ledger refuses another org. With ``--trust-ledger`` and a bound ledger,
   neither is requested (the ledger's binding is trusted).
2. **Remote snapshot** (not with ``--trust-ledger``): a scan of organizations and contacts
   (200 per page) indexed by ExternalId: this is how records created by an earlier run,
   another machine or a person are adopted instead of duplicated, and how edits made in
   Genesys are seen (three-way diff).
3. **Reconciliation**: operations an interrupted run left ``started`` (kill -9) or
   ``unknown`` (no answer) are resolved against Genesys before anything new is planned.
   **Adoption checks** (:mod:`gcx.sync.adoption`): scanned records without gcx's identity are
   checked for an ExternalId identifier holding a source key the scan did not match.
4. **Organizations** (first pass over the source): every row is validated (bad rows are
   reported once, with line, field and reason), organizations are planned and written in
   bulk batches (add, update).
5. **Contacts** (second pass): planned against the organizations now known, written in bulk
   (creates, updates, moves).
6. **Prune** (``--prune``): records gcx created that the source no longer has, contacts first,
   refused above the threshold without ``--force``.

Each batch is written ``started`` in the ledger before its bulk call, and its outcome with
the resulting ledger records in one transaction right after. Memory stays flat however many
records there are: source rows are streamed; the ledger's records are read a batch at a time
(:mod:`~gcx.sync.known`); the remote snapshot and the keys seen in the source (duplicates,
pruning) go to the run's private scratch database (:mod:`~gcx.sync.spill`,
:mod:`~gcx.sync.snapshot`), removed when the run ends.

This module only orchestrates. The run's state is one :class:`~gcx.sync.state.RunState`; the
steps live in :mod:`~gcx.sync.lookup` (snapshot, lookups), :mod:`~gcx.sync.reconcile`,
:mod:`~gcx.sync.planning`, :mod:`~gcx.sync.apply` (over the one
:class:`~gcx.sync.batch.BatchWriter`) and :mod:`~gcx.sync.prune`.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime

from gcx import redact
from gcx.errors import GcxError
from gcx.sync.adoption import Adopter
from gcx.sync.apply import Applier
from gcx.sync.batch import BatchWriter
from gcx.sync.errors import PruneRefusedError, RunStopped, SyncError
from gcx.sync.ledger import Ledger, safe_url
from gcx.sync.lookup import Finder
from gcx.sync.options import SyncOptions
from gcx.sync.planning import Planner
from gcx.sync.prune import Pruner
from gcx.sync.reconcile import Reconciler
from gcx.sync.remote import Remote
from gcx.sync.report import RunReport
from gcx.sync.rows import Binding, check_binding
from gcx.sync.runfiles import failure
from gcx.sync.source import Source
from gcx.sync.state import OnOp, OnWrite, Progress, RunState


class SyncEngine:
    """One run. Create, then ``await run()``; the :class:`RunReport` comes back (also on error;
    an exception that is no gcx error is raised again once the run is recorded ``error``)."""

    def __init__(
        self,
        *,
        ledger: Ledger,
        source: Source,
        remote: Remote,
        region: str,
        options: SyncOptions | None = None,
        dry_run: bool = False,
        on_op: OnOp | None = None,
        progress: Progress | None = None,
        on_write: OnWrite | None = None,
        should_stop: Callable[[], bool] | None = None,
    ) -> None:
        opts = options or SyncOptions()
        opts.check()
        self.source = source
        self.region = region
        self.report = RunReport(
            command="plan" if dry_run else "apply",
            source=source.description,
            ledger=safe_url(ledger.url),
            dry_run=dry_run,
            options=opts.to_json(),
        )
        self.state = RunState(
            ledger=ledger,
            remote=remote,
            opts=opts,
            report=self.report,
            dry_run=dry_run,
            on_op=on_op,
            progress=progress,
            on_write=on_write,
            should_stop=should_stop,
        )
        self.finder = Finder(self.state)
        self.reconciler = Reconciler(self.state, self.finder)
        self.adopter = Adopter(self.state, source)
        self.planner = Planner(self.state, source, self.finder)
        writer = BatchWriter(self.state, self.reconciler)
        self.applier = Applier(self.state, self.planner, writer)
        self.planner.after_batch = self.applier.pump
        self.pruner = Pruner(self.state, self.planner, writer)
        self.exception: BaseException | None = None

    # ------------------------------------------------------------------ run

    async def run(self) -> RunReport:
        st = self.state
        t0 = time.monotonic()
        start_requests = st.remote.requests
        rep = self.report
        rep.warnings.extend(st.ledger.migration_warnings)
        if not st.dry_run:
            try:
                st.ledger.acquire()
            except SyncError as exc:
                rep.status, rep.error, self.exception = "error", str(exc), exc
                return rep
            st.run_id = st.ledger.start_run(rep.command, self.source.description)
            rep.run_id = st.run_id
        try:
            await self._bind()
            st.records.load()
            st.rebuild_org_maps()
            if not st.opts.trust_ledger or not st.records.total:
                await self.finder.load_snapshot()
            await self.reconciler.open_ops()
            await self.adopter.check()
            await self.planner.process("organization")
            await self.applier.flush_all("organization")
            await self.planner.process("contact")
            await self.applier.flush_all("contact")
            if st.opts.prune:
                await self.pruner.prune()
            st.flush_refresh()
            rep.status = "ok" if not rep.failed_rows else "partial"
        except PruneRefusedError as exc:
            rep.status = "error"
            rep.error = str(exc)
            st.flush_refresh()
        except RunStopped as exc:  # a shutdown: write and record the batches in flight, start no other
            rep.status = "interrupted"
            rep.error = str(exc)
            self.exception = exc
            try:
                await self.applier.drain()
                st.flush_refresh()
            except (GcxError, OSError) as err:
                rep.error = f"{exc}; then: {err}"
        except (GcxError, OSError) as exc:
            rep.status = "error"
            rep.error = str(exc) or type(exc).__name__
            self.exception = exc
        except Exception as exc:
            # A bug, a source that broke, the database lost: the run failed (``error``, its one
            # line, secrets masked), it was not stopped. Raised again for the caller to keep its
            # run files; what it left started is reconciled by the next run, as after a stop.
            rep.status, rep.error, self.exception = "error", failure(exc), exc
            raise
        finally:
            await self.applier.cancel()
            st.close()
            if rep.status == "running":  # stopped from outside: a cancellation, a Ctrl-C
                rep.status = "interrupted"
            rep.seconds = time.monotonic() - t0
            rep.requests = st.remote.requests - start_requests
            rep.request_stats = st.remote.stats()
            rep.finished = rep.finished or _now()
            if rep.error:  # whatever ended the run, what is kept and shown of it holds no secret
                rep.error = redact.scrub(rep.error)
            if not st.dry_run:
                counts: dict[str, object] = {"planned": rep.planned.to_json(), "applied": rep.applied}
                if rep.error:
                    counts["error"] = rep.error  # sync status shows why a run stopped
                st.ledger.finish_run(st.run_id, rep.status, counts, None)
                st.ledger.release()
        return rep

    # ------------------------------------------------------------------ binding

    async def _bind(self) -> None:
        st = self.state
        current = st.ledger.binding()
        rep = self.report
        name = st.opts.external_source
        if current is not None and current.external_source_name != name:
            # Another source would add a second ExternalId to every record and rebind the ledger.
            raise SyncError(
                f"this ledger is bound to External Source {current.external_source_name!r}; "
                f"--external-source {name!r} would give every record a second ExternalId: keep "
                f"{current.external_source_name!r}, or use another --ledger for {name!r}"
            )
        if st.opts.trust_ledger and current is not None:
            check_binding(current, org_id=None, region=self.region)
            st.source_id = current.external_source_id
            rep.org_id = current.org_id
            rep.external_source_id = st.source_id
            return
        org_id, org_name = await st.remote.me()
        rep.org_id = org_id
        if current is not None:
            check_binding(current, org_id=org_id, region=self.region)
        if st.dry_run:
            st.source_id = await st.remote.find_source(name)
            if st.source_id is None:
                rep.warnings.append(f"External Source {name!r} does not exist yet: apply will create it")
        else:
            st.source_id = await st.remote.ensure_source(name)
            st.ledger.bind(Binding(org_id, org_name, self.region, st.source_id, name))
        rep.external_source_id = st.source_id


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
