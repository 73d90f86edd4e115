"""Planning glue: source rows -> decided operations, batch by batch.

One pass over the source per kind (organizations first, so that contacts can refer to them):
rows are validated and de-duplicated (each bad row reported once, with line, field and
reason), checked for a known organization, matched with their Genesys record and ledger entry,
and decided by the pure :func:`gcx.sync.plan.decide`. Each decided operation is reported and,
in an apply, queued for :mod:`gcx.sync.apply`.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Iterator, Mapping, Sequence
from typing import Any

from gcx.sync.errors import RunStopped
from gcx.sync.fields import ORG_REF, Kind
from gcx.sync.lookup import Finder
from gcx.sync.plan import Change, Op, decide, has_identity, remote_org_ref
from gcx.sync.records import Issue, Record
from gcx.sync.rows import LedgerEntry
from gcx.sync.source import Source
from gcx.sync.spill import Seen
from gcx.sync.state import NEW_ORG, RunState


class Planner:
    def __init__(self, run: RunState, source: Source, finder: Finder) -> None:
        self.run = run
        self.source = source
        self.finder = finder
        #: Called after each decided batch in an apply: the applier starts the batches now full.
        self.after_batch: Callable[[Kind], Awaitable[None]] | None = None
        self._none_held = False

    # ------------------------------------------------------------------ source rows

    def records(self, kind: Kind) -> Iterator[Record]:
        """One pass over the source, yielding the valid, first-seen records of ``kind``.

        Only records of ``kind`` are validated in a pass. Issues of rows that could not be read
        at all (no kind) are reported by the first pass (organizations) only. Rows are read a
        chunk at a time: each chunk's first rows go into the scratch database
        (:meth:`~gcx.sync.spill.SeenKeys.claim`), which answers with the keys an earlier chunk had.
        """
        first = kind == "organization"
        chunk: list[Record | Issue] = []
        size = max(self.run.opts.batch_size, 1)
        n = 0
        for item in self.source.items((kind,)):
            if isinstance(item, Issue):
                if item.kind is not None or first:
                    chunk.append(item)
                continue
            if item.kind != kind:
                continue
            chunk.append(item)
            n += 1
            if n >= size:
                yield from self._first_seen(kind, chunk)
                chunk, n = [], 0
        yield from self._first_seen(kind, chunk)

    def _first_seen(self, kind: Kind, chunk: Sequence[Record | Issue]) -> Iterator[Record]:
        """The chunk's records seen for the first time (duplicates reported), in source order."""
        new: dict[str, Record] = {}  # first rows of this chunk (a record has its line and hash)
        rows: list[tuple[str, int | None, str | None, str | None, bool]] = []
        for item in chunk:
            if isinstance(item, Issue) or item.key in new:
                continue
            new[item.key] = item
            manages = item.kind == "contact" and item.manages_org
            digest = item.hash if kind == "organization" else None  # compared for organizations only
            rows.append((item.key, item.line, digest, item.org_key if manages else None, manages))
        # before the chunk is yielded: the next chunk sees these keys; a key of an earlier chunk
        # keeps its first row
        earlier = self.run.seen.claim(kind, rows)
        out: list[Record | Issue] = []
        for item in chunk:
            if isinstance(item, Issue):
                out.append(item)
                continue
            prior: Seen | Record | None = earlier.get(item.key)
            if prior is None:
                prior = new[item.key]
                if prior is item:
                    out.append(item)
                    continue
            if kind == "contact":
                out.append(
                    Issue(
                        item.line,
                        f"duplicate ExternalId {item.key!r} (first at line {prior.line}): row skipped",
                        field="externalId",
                        key=item.key,
                        kind="contact",
                    )
                )
            elif prior.hash != item.hash:
                out.append(
                    Issue(
                        item.line,
                        f"duplicate ExternalId {item.key!r} with different values (first at line "
                        f"{prior.line}, which is kept)",
                        field="externalId",
                        key=item.key,
                        kind="organization",
                    )
                )
        for item in out:
            if isinstance(item, Issue):
                self.issue(item)
            else:
                yield item

    def issue(self, issue: Issue) -> None:
        run = self.run
        run.report.add_invalid(issue)
        if issue.key and issue.kind:
            run.invalid_keys[issue.kind].add(issue.key)
        elif not issue.key:
            run.unkeyed_issues += 1
        if issue.structural and run.structural is None:
            run.structural = issue

    def _org_ref_known(self, rec: Record) -> bool:
        """Whether the record names no organization, or one already known (no lookup needed)."""
        return (
            rec.kind != "contact"
            or not rec.manages_org
            or rec.org_key is None
            or rec.org_key in self.run.org_ids
        )

    async def _check_org_ref(self, rec: Record) -> bool:
        """Whether the organization a contact names, one not known yet (:meth:`_org_ref_known`),
        exists (looked up); if not, the record is reported."""
        run = self.run
        assert rec.org_key is not None  # a contact naming an organization gcx does not know yet
        if run.opts.trust_ledger and rec.org_key not in run.org_misses:
            # --trust-ledger: an organization the ledger does not know may still exist in Genesys.
            # One scan page covers 200 organizations: cheaper than two lookups per unknown reference.
            if run.index["organization"] is None and self.finder.one_page_covers_orgs():
                run.index["organization"] = await self.finder.scan_index("organization")
                run.rebuild_org_maps()
                if rec.org_key in run.org_ids:
                    return True
            # made by hand, it shows its ExternalId to a lookup only (never in a scan)
            found = (await self.finder.find("organization", [rec.org_key]))[rec.org_key]
            if found is not None and found.get("id"):
                run.note_org(rec.org_key, str(found["id"]))
                return True
            run.org_misses.add(rec.org_key)
        if rec.org_key in run.failed_orgs:
            run.org_failure(key=rec.key, op_name="create", line=rec.line, org_key=rec.org_key)
            return False
        if rec.org_key in run.invalid_keys["organization"]:
            reason = f"its organization {rec.org_key!r} is invalid in the source"
        else:
            reason = (
                f"missing organization reference: no organization with ExternalId {rec.org_key!r} "
                "in the source, the ledger or Genesys"
            )
        self.issue(Issue(rec.line, reason, field=ORG_REF, key=rec.key, kind="contact"))
        return False

    # ------------------------------------------------------------------ deciding

    async def process(self, kind: Kind) -> None:
        """Plan every record of ``kind`` in the source (and queue its write in an apply).

        The ledger's records are read per chunk of source records (one query), never all at once.
        """
        run = self.run
        size = max(run.opts.batch_size, 1)
        # A ledger with no record of ``kind`` now has none for any key still to plan (what the
        # run writes from here on is of keys already planned): no lookup at all (a first sync).
        self._none_held = not run.records.holds(kind)
        chunk: list[Record] = []
        batch: list[Record] = []
        entries: dict[str, LedgerEntry] = {}  # the ledger's records of the records not decided yet
        for rec in self.records(kind):
            if not self._org_ref_known(rec) and not await self._check_org_ref(rec):
                continue
            chunk.append(rec)
            if len(chunk) < size:
                continue
            batch = await self._sort_chunk(kind, chunk, batch, entries)
            chunk = []
        batch = await self._sort_chunk(kind, chunk, batch, entries)
        if batch:
            await self._decide_batch(kind, batch, entries)

    async def _sort_chunk(
        self, kind: Kind, chunk: Sequence[Record], batch: list[Record], entries: dict[str, LedgerEntry]
    ) -> list[Record]:
        """Read the chunk's ledger records; handle what the ledger vouches for (--trust-ledger),
        queue the rest for deciding, deciding each full batch. Returns the batch still open."""
        run = self.run
        if not chunk:
            return batch
        found = {} if self._none_held else run.records.get_many(kind, [rec.key for rec in chunk])
        for rec in chunk:
            entry = found.get(rec.key)
            if (
                run.opts.trust_ledger
                and run.index[kind] is None
                and entry is not None
                and entry.hash == rec.hash
            ):
                op = Op("unchanged", kind, rec.key, record=rec, genesys_id=entry.genesys_id, line=rec.line)
                self.handle(op, entry=entry)
                continue
            if entry is not None:
                entries[rec.key] = entry
            batch.append(rec)
            if len(batch) >= run.opts.batch_size:
                await self._decide_batch(kind, batch, entries)
                for done in batch:
                    entries.pop(done.key, None)
                batch = []
        return batch

    def decide(self, rec: Record, entry: LedgerEntry | None, remote: dict[str, Any] | None) -> Op:
        run = self.run
        org_key: str | None = None
        if remote is not None and rec.kind == "contact":
            rid = remote_org_ref(remote)
            org_key = run.org_key_by_id.get(rid, f"(genesys id {rid})") if rid else None
        return decide(
            rec,
            entry,
            remote,
            remote_org_key=org_key,
            has_identity=remote is None or has_identity(remote, rec.key, run.sid),
            policy=run.opts.on_conflict,
        )

    async def _decide_batch(
        self, kind: Kind, recs: Sequence[Record], entries: Mapping[str, LedgerEntry]
    ) -> None:
        run = self.run
        remotes = await self.finder.remotes_for(kind, recs, entries)
        for rec in recs:
            if (kind, rec.key) in run.skipped:
                continue
            remote = remotes.get(rec.key)
            entry = entries.get(rec.key)
            op = self.decide(rec, entry, remote)
            if run.source_id is None and op.needs_identity and not op.changes:
                op.op = "unchanged"  # plan without an External Source yet: apply will add it
            self.handle(op, remote, entry=entry)
        run.processed[kind] += len(recs)
        if run.progress is not None:
            run.progress(kind, run.processed[kind])
        if run.should_stop is not None and run.should_stop():
            raise RunStopped("stopped on request after the batches in flight")
        if self.after_batch is not None and not run.dry_run:
            await self.after_batch(kind)

    def report_conflicts(self, op: Op, conflicts: Sequence[Change]) -> None:
        self.run.report.conflicts.append(
            {
                "kind": op.kind,
                "externalId": op.key,
                "line": op.line,
                "policy": self.run.opts.on_conflict,
                "fields": [c.to_json() for c in conflicts],
            }
        )

    def handle(
        self, op: Op, remote: dict[str, Any] | None = None, *, entry: LedgerEntry | None = None
    ) -> None:
        """Report a decided operation and, in an apply, queue it (or refresh its ledger record,
        ``entry``)."""
        run = self.run
        run.report.planned.add(op)
        if op.conflicts:
            self.report_conflicts(op, op.conflicts)
        if run.on_op is not None:
            run.on_op(op)
        if op.kind == "organization" and op.op == "create" and run.dry_run:
            run.org_ids.setdefault(op.key, NEW_ORG)
        if run.dry_run:
            return
        if op.op == "unchanged":
            run.refresh(op, entry)
            return
        if entry is not None:
            run.queued_entries[(op.kind, op.key)] = entry
        if op.op == "create":
            run.pending_creates[op.kind].append(op)
        elif op.op in ("update", "move"):
            assert remote is not None
            run.pending_updates[op.kind].append((op, remote))
