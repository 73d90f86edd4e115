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
4. **Organizations** (first pass over the source): every row is validated (bad rows are
   reported once, with line, field and reason), organizations are planned and written in
   bulk batches (add, update).
5. **Contacts** (second pass): planned against the organizations now known, written in bulk
   (creates, updates, moves).
6. **Prune** (``--prune``): records gcx created that the source no longer has, contacts first,
   refused above the threshold without ``--force``.

Each batch is written ``started`` in the ledger before its bulk call, and its outcome with
the resulting ledger records in one transaction right after. Memory: the ledger index, the
remote index and the set of keys seen in the source (for duplicates and pruning) are held;
source rows are streamed.
"""

from __future__ import annotations

import math
import time
import uuid
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from typing import Any

from gcx.errors import GcxError
from gcx.sync.errors import PruneRefusedError, SyncError
from gcx.sync.fields import ORG_REF, Kind, remote_value, same
from gcx.sync.ledger import Binding, Ledger, LedgerEntry, NewOp, OpRow, Outcome, check_binding, safe_url
from gcx.sync.plan import (
    ConflictPolicy,
    Op,
    RemoteIndex,
    applied_after,
    applied_hash,
    create_body,
    decide,
    has_identity,
    key_of,
    prune_candidates,
    remote_org_ref,
    update_body,
)
from gcx.sync.records import Issue, Record
from gcx.sync.remote import ItemResult, Remote
from gcx.sync.report import RunReport
from gcx.sync.source import Source

DEFAULT_EXTERNAL_SOURCE = "gcx"
SCAN_PAGE = 200


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
        }


Progress = Callable[[str, int], None]
OnOp = Callable[[Op], None]

_NEW = "(new)"  # placeholder id of an organization a plan would create


class SyncEngine:
    """One run. Create, then ``await run()``; the :class:`RunReport` comes back (also on error)."""

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
    ) -> None:
        self.ledger = ledger
        self.source = source
        self.remote = remote
        self.region = region
        self.opts = options or SyncOptions()
        self.opts.check()
        self.dry_run = dry_run
        self.on_op = on_op
        self.progress = progress
        self.report = RunReport(
            command="plan" if dry_run else "apply",
            source=source.description,
            ledger=safe_url(ledger.url),
            dry_run=dry_run,
            options=self.opts.to_json(),
        )
        self.run_id = 0
        self.source_id: str | None = None
        self.entries: dict[tuple[str, str], LedgerEntry] = {}
        self.index: dict[str, RemoteIndex | None] = {"organization": None, "contact": None}
        self.org_ids: dict[str, str] = {}
        self.org_key_by_id: dict[str, str] = {}
        # keys present in the source (valid or not): duplicates and prune safety
        self.first_line: dict[str, dict[str, int | None]] = {"organization": {}, "contact": {}}
        self.org_hash: dict[str, str] = {}
        self.invalid_keys: dict[str, set[str]] = {"organization": set(), "contact": set()}
        self.unkeyed_issues = 0
        self.structural: Issue | None = None  # the first place the source could not be parsed
        self.failed_orgs: set[str] = set()
        self.org_misses: set[str] = set()
        self.pending_creates: dict[str, list[Op]] = {"organization": [], "contact": []}
        self.pending_updates: dict[str, list[tuple[Op, dict[str, Any]]]] = {"organization": [], "contact": []}
        self.pending_refresh: list[LedgerEntry] = []
        self.retried: set[tuple[str, str]] = set()
        self.skipped: set[tuple[str, str]] = set()
        self.lookups = 0
        self.processed = {"organization": 0, "contact": 0}
        self.exception: BaseException | None = None

    # ------------------------------------------------------------------ run

    async def run(self) -> RunReport:
        t0 = time.monotonic()
        start_requests = self.remote.requests
        rep = self.report
        if not self.dry_run:
            try:
                self.ledger.acquire()
            except SyncError as exc:
                rep.status, rep.error, self.exception = "error", str(exc), exc
                return rep
            self.run_id = self.ledger.start_run(rep.command, self.source.description)
            rep.run_id = self.run_id
        try:
            await self._bind()
            self.entries = self.ledger.entries()
            self._rebuild_org_maps()
            if not self.opts.trust_ledger or not self.entries:
                await self._load_snapshot()
            await self._reconcile_open_ops()
            await self._process("organization")
            await self._flush_all("organization")
            await self._process("contact")
            await self._flush_all("contact")
            if self.opts.prune:
                await self._prune()
            self._flush_refresh()
            rep.status = "ok" if not rep.failed_rows else "partial"
        except PruneRefusedError as exc:
            rep.status = "error"
            rep.error = str(exc)
            self._flush_refresh()
        except (GcxError, OSError) as exc:
            rep.status = "error"
            rep.error = str(exc) or type(exc).__name__
            self.exception = exc
        finally:
            if rep.status == "running":
                rep.status = "interrupted"
            rep.seconds = time.monotonic() - t0
            rep.requests = self.remote.requests - start_requests
            rep.request_stats = self.remote.stats()
            rep.finished = rep.finished or _now()
            if not self.dry_run:
                self.ledger.finish_run(
                    self.run_id, rep.status, {"planned": rep.planned.to_json(), "applied": rep.applied}, None
                )
                self.ledger.release()
        return rep

    # ------------------------------------------------------------------ binding and snapshot

    async def _bind(self) -> None:
        current = self.ledger.binding()
        rep = self.report
        if self.opts.trust_ledger and current is not None:
            check_binding(current, org_id=None, region=self.region)
            if current.external_source_name != self.opts.external_source:
                raise SyncError(
                    f"the ledger's External Source is {current.external_source_name!r}, not "
                    f"{self.opts.external_source!r}: run once without --trust-ledger to rebind"
                )
            self.source_id = current.external_source_id
            rep.org_id = current.org_id
            rep.external_source_id = self.source_id
            return
        org_id, org_name = await self.remote.me()
        rep.org_id = org_id
        if current is not None:
            check_binding(current, org_id=org_id, region=self.region)
        if self.dry_run:
            self.source_id = await self.remote.find_source(self.opts.external_source)
            if self.source_id is None:
                rep.warnings.append(
                    f"External Source {self.opts.external_source!r} does not exist yet: apply will create it"
                )
        else:
            self.source_id = await self.remote.ensure_source(self.opts.external_source)
            self.ledger.bind(
                Binding(org_id, org_name, self.region, self.source_id, self.opts.external_source)
            )
        rep.external_source_id = self.source_id

    async def _scan_index(self, kind: Kind) -> RemoteIndex:
        preferred = {e.key: e.genesys_id for e in self.entries.values() if e.kind == kind}
        idx = RemoteIndex(kind)
        async for body in self.remote.scan(kind):
            idx.add(body, self.source_id or "", preferred)
        for key, ids in idx.duplicates.items():
            kept = idx.by_key[key].get("id")
            self.report.warnings.append(
                f"{kind} {key!r} is held by {len(ids)} records in Genesys ({', '.join(ids)}); "
                f"gcx uses {kept} and leaves the others alone"
            )
        return idx

    async def _load_snapshot(self) -> None:
        for kind in ("organization", "contact"):
            k: Kind = "organization" if kind == "organization" else "contact"
            self.index[kind] = await self._scan_index(k)
        self._rebuild_org_maps()

    def _rebuild_org_maps(self) -> None:
        for e in self.entries.values():
            if e.kind == "organization":
                self.org_ids[e.key] = e.genesys_id
                self.org_key_by_id[e.genesys_id] = e.key
        idx = self.index["organization"]
        if idx is not None:
            for key, body in idx.by_key.items():
                rid = str(body.get("id"))
                self.org_ids[key] = rid
                self.org_key_by_id[rid] = key

    # ------------------------------------------------------------------ reconciliation

    def _lookup_budget(self, kind: Kind) -> int:
        held = sum(1 for e in self.entries.values() if e.kind == kind)
        return max(10, math.ceil(held / SCAN_PAGE) + 1)

    async def _find(self, kind: Kind, keys: Sequence[str]) -> dict[str, dict[str, Any] | None]:
        """Remote records by ExternalId: from a fresh lookup each, or one scan when cheaper."""
        out: dict[str, dict[str, Any] | None] = {}
        if not keys:
            return out
        if len(keys) > self._lookup_budget(kind):
            idx = await self._scan_index(kind)
            return {k: idx.get(k) for k in keys}
        for key in keys:
            self.lookups += 1
            found = await self.remote.lookup(kind, key, self.source_id)
            if found is None:
                # a record a person made holds the ExternalId without our External Source
                self.lookups += 1
                found = await self.remote.lookup(kind, key, None)
                if found is not None and key_of(found, self.source_id or "") != key:
                    found = None  # that value belongs to another system's source
            out[key] = found
        return out

    def _remote_matches(self, kind: Kind, applied: dict[str, Any], remote: dict[str, Any]) -> bool:
        for path, value in applied.items():
            if path == ORG_REF:
                rid = remote_org_ref(remote)
                have = self.org_key_by_id.get(rid) if rid else None
                if (have or None) != (value or None):
                    return False
            elif not same(kind, path, remote_value(kind, path, remote), value):
                return False
        return True

    async def _reconcile_open_ops(self) -> None:
        open_ops = self.ledger.open_ops()
        if not open_ops:
            return
        if self.dry_run:
            self.report.warnings.append(
                f"{len(open_ops)} operation(s) of an interrupted run are not reconciled yet: "
                "the next apply resolves them first"
            )
            return
        await self._reconcile(open_ops, from_snapshot=True)
        self._rebuild_org_maps()

    async def _reconcile(self, rows: Sequence[OpRow], *, from_snapshot: bool) -> dict[int, bool]:
        """Resolve ops whose outcome is unknown. Returns op id -> applied (found in Genesys)."""
        found_map: dict[tuple[str, str], dict[str, Any] | None] = {}
        for kind in ("organization", "contact"):
            k: Kind = "organization" if kind == "organization" else "contact"
            keys = sorted({r.key for r in rows if r.kind == kind})
            idx = self.index[kind]
            if from_snapshot and idx is not None:
                for key in keys:
                    found_map[(kind, key)] = idx.get(key)
            else:
                for key, body in (await self._find(k, keys)).items():
                    found_map[(kind, key)] = body
        outcomes: list[Outcome] = []
        records: list[LedgerEntry] = []
        forget: list[tuple[str, str]] = []
        for row in rows:
            remote = found_map.get((row.kind, row.key))
            applied = dict(row.payload.get("applied") or {})
            if row.op == "delete":
                if remote is None:
                    outcomes.append(Outcome(row.id, True, row.genesys_id))
                    forget.append((row.kind, row.key))
                    self.entries.pop((row.kind, row.key), None)
                else:
                    outcomes.append(Outcome(row.id, False, error={"reason": "the delete did not happen"}))
                continue
            if remote is None or (row.op != "create" and not self._remote_matches(row.kind, applied, remote)):
                outcomes.append(
                    Outcome(
                        row.id, False, error={"reason": "not applied (checked after the outcome was unknown)"}
                    )
                )
                continue
            gid = str(remote.get("id"))
            prev = self.entries.get((row.kind, row.key))
            matched = self._remote_matches(row.kind, applied, remote)
            entry = LedgerEntry(
                kind=row.kind,
                key=row.key,
                genesys_id=gid,
                hash=str(row.payload.get("hash")) if matched else "reconciled",
                applied=applied if matched else (prev.applied if prev else {}),
                org_key=row.payload.get("org_key"),
                created_by_gcx=row.op == "create" or bool(prev and prev.created_by_gcx),
            )
            outcomes.append(Outcome(row.id, True, gid))
            records.append(entry)
            self.entries[(row.kind, row.key)] = entry
            if row.kind == "organization":
                self.org_ids[row.key] = gid
                self.org_key_by_id[gid] = row.key
            idx = self.index[row.kind]
            if idx is not None and idx.get(row.key) is None:
                idx.add(remote, self.source_id or "", {row.key: gid})
        self.ledger.finish_batch(outcomes, records=records, forget=forget, reconcile=True)
        n_found = sum(1 for o in outcomes if o.ok)
        self.report.reconciled["found"] += n_found
        self.report.reconciled["absent"] += len(outcomes) - n_found
        return {o.op_id: o.ok for o in outcomes}

    # ------------------------------------------------------------------ passes over the source

    def _records(self, kind: Kind) -> Iterator[Record]:
        """One pass over the source, yielding the valid, first-seen records of ``kind``.

        Only records of ``kind`` are validated in a pass. Issues of rows that could not be read
        at all (no kind) are reported by the first pass (organizations) only.
        """
        first = kind == "organization"
        for item in self.source.items((kind,)):
            if isinstance(item, Issue):
                if item.kind is not None or first:
                    self._issue(item)
                continue
            if item.kind != kind:
                continue
            if kind == "organization":
                if self._first_org(item):
                    yield item
                continue
            seen = self.first_line["contact"]
            if item.key in seen:
                self._issue(
                    Issue(
                        item.line,
                        f"duplicate ExternalId {item.key!r} (first at line {seen[item.key]}): row skipped",
                        field="externalId",
                        key=item.key,
                        kind="contact",
                    )
                )
                continue
            seen[item.key] = item.line
            yield item

    def _first_org(self, rec: Record) -> bool:
        seen = self.first_line["organization"]
        if rec.key not in seen:
            seen[rec.key] = rec.line
            self.org_hash[rec.key] = rec.hash
            return True
        if self.org_hash[rec.key] != rec.hash:
            self._issue(
                Issue(
                    rec.line,
                    f"duplicate ExternalId {rec.key!r} with different values (first at line "
                    f"{seen[rec.key]}, which is kept)",
                    field="externalId",
                    key=rec.key,
                    kind="organization",
                )
            )
        return False

    def _issue(self, issue: Issue) -> None:
        self.report.add_invalid(issue)
        if issue.key and issue.kind:
            self.invalid_keys[issue.kind].add(issue.key)
        elif not issue.key:
            self.unkeyed_issues += 1
        if issue.structural and self.structural is None:
            self.structural = issue

    async def _check_org_ref(self, rec: Record) -> bool:
        if rec.kind != "contact" or not rec.manages_org or rec.org_key is None:
            return True
        if rec.org_key in self.org_ids:
            return True
        if self.index["organization"] is None and rec.org_key not in self.org_misses:
            # --trust-ledger: an organization the ledger does not know may still exist in Genesys.
            # One scan page covers 200 organizations: cheaper than two lookups per unknown reference.
            held = sum(1 for e in self.entries.values() if e.kind == "organization")
            if math.ceil((held + 1) / SCAN_PAGE) + 1 <= 2:
                self.index["organization"] = await self._scan_index("organization")
                self._rebuild_org_maps()
                return await self._check_org_ref(rec)
            found = (await self._find("organization", [rec.org_key]))[rec.org_key]
            if found is not None and found.get("id"):
                gid = str(found["id"])
                self.org_ids[rec.org_key] = gid
                self.org_key_by_id[gid] = rec.org_key
                return True
            self.org_misses.add(rec.org_key)
        if rec.org_key in self.failed_orgs:
            self.report.add_failure(
                kind="contact",
                key=rec.key,
                op="create",
                line=rec.line,
                field=ORG_REF,
                reason=f"its organization {rec.org_key!r} could not be written (see that failure)",
            )
            return False
        if rec.org_key in self.invalid_keys["organization"]:
            reason = f"its organization {rec.org_key!r} is invalid in the source"
        else:
            reason = (
                f"missing organization reference: no organization with ExternalId {rec.org_key!r} "
                "in the source, the ledger or Genesys"
            )
        self._issue(Issue(rec.line, reason, field=ORG_REF, key=rec.key, kind="contact"))
        return False

    async def _process(self, kind: Kind) -> None:
        batch: list[Record] = []
        for rec in self._records(kind):
            if not await self._check_org_ref(rec):
                continue
            entry = self.entries.get((kind, rec.key))
            if (
                self.opts.trust_ledger
                and self.index[kind] is None
                and entry is not None
                and entry.hash == rec.hash
            ):
                self._handle(
                    Op("unchanged", kind, rec.key, record=rec, genesys_id=entry.genesys_id, line=rec.line)
                )
                continue
            batch.append(rec)
            if len(batch) >= self.opts.batch_size:
                await self._decide_batch(kind, batch)
                batch = []
        if batch:
            await self._decide_batch(kind, batch)

    async def _remotes_for(self, kind: Kind, recs: Sequence[Record]) -> dict[str, dict[str, Any] | None]:
        idx = self.index[kind]
        out: dict[str, dict[str, Any] | None] = {}
        if idx is not None:
            for rec in recs:
                body = idx.get(rec.key)
                if body is None:
                    entry = self.entries.get((kind, rec.key))
                    if entry is not None:
                        body = idx.by_id.get(entry.genesys_id)
                out[rec.key] = body
            return out
        # --trust-ledger: fetch only what the ledger cannot vouch for
        known = [(rec, self.entries[(kind, rec.key)]) for rec in recs if (kind, rec.key) in self.entries]
        unknown = [rec.key for rec in recs if (kind, rec.key) not in self.entries]
        if known:
            results = await self.remote.bulk_get(kind, [e.genesys_id for _, e in known])
            for (rec, _), res in zip(known, results, strict=True):
                if res.ok or (res.error or {}).get("status") == 404:
                    out[rec.key] = res.entity if res.ok else None
                else:  # cannot tell whether it exists: never risk a duplicate
                    self.skipped.add((kind, rec.key))
                    self._fail(Op("update", kind, rec.key, record=rec, line=rec.line), res)
        if unknown:
            if self.lookups + len(unknown) > self._lookup_budget(kind):
                self.index[kind] = await self._scan_index(kind)
                if kind == "organization":
                    self._rebuild_org_maps()
                return {**out, **{k: self.index[kind].get(k) for k in unknown}}  # type: ignore[union-attr]
            out.update(await self._find(kind, unknown))
        return out

    def _decide(self, rec: Record, entry: LedgerEntry | None, remote: dict[str, Any] | None) -> Op:
        org_key: str | None = None
        if remote is not None and rec.kind == "contact":
            rid = remote_org_ref(remote)
            org_key = self.org_key_by_id.get(rid, f"(genesys id {rid})") if rid else None
        return decide(
            rec,
            entry,
            remote,
            remote_org_key=org_key,
            has_identity=remote is None or has_identity(remote, rec.key, self.source_id or ""),
            policy=self.opts.on_conflict,
        )

    async def _decide_batch(self, kind: Kind, recs: Sequence[Record]) -> None:
        remotes = await self._remotes_for(kind, recs)
        for rec in recs:
            if (kind, rec.key) in self.skipped:
                continue
            remote = remotes.get(rec.key)
            entry = self.entries.get((kind, rec.key))
            op = self._decide(rec, entry, remote)
            if self.source_id is None and op.needs_identity and not op.changes:
                op.op = "unchanged"  # plan without an External Source yet: apply will add it
            self._handle(op, remote)
        self.processed[kind] += len(recs)
        if self.progress is not None:
            self.progress(kind, self.processed[kind])

    def _handle(self, op: Op, remote: dict[str, Any] | None = None) -> None:
        rep = self.report
        rep.planned.add(op)
        if op.conflicts:
            rep.conflicts.append(
                {
                    "kind": op.kind,
                    "externalId": op.key,
                    "line": op.line,
                    "policy": self.opts.on_conflict,
                    "fields": [c.to_json() for c in op.conflicts],
                }
            )
        if self.on_op is not None:
            self.on_op(op)
        if op.kind == "organization" and op.op == "create" and self.dry_run:
            self.org_ids.setdefault(op.key, _NEW)
        if self.dry_run:
            return
        if op.op == "unchanged":
            self._refresh(op)
        elif op.op == "create":
            self.pending_creates[op.kind].append(op)
        elif op.op in ("update", "move"):
            assert remote is not None
            self.pending_updates[op.kind].append((op, remote))

    def _entry_for(self, op: Op, genesys_id: str, *, created: bool) -> LedgerEntry:
        assert op.record is not None
        applied = applied_after(op)
        prev = self.entries.get((op.kind, op.key))
        org_key = op.record.org_key if op.record.manages_org else (prev.org_key if prev else None)
        return LedgerEntry(
            kind=op.kind,
            key=op.key,
            genesys_id=genesys_id,
            hash=applied_hash(op, applied),
            applied=applied,
            org_key=org_key,
            created_by_gcx=created or bool(prev and prev.created_by_gcx and prev.genesys_id == genesys_id),
        )

    def _refresh(self, op: Op) -> None:
        """An unchanged record whose ledger row is missing or stale (adoption): no API call."""
        if op.genesys_id is None or op.record is None:
            return
        prev = self.entries.get((op.kind, op.key))
        entry = self._entry_for(op, op.genesys_id, created=False)
        if prev is not None and (prev.genesys_id, prev.hash, prev.applied, prev.org_key) == (
            entry.genesys_id,
            entry.hash,
            entry.applied,
            entry.org_key,
        ):
            return
        if prev is None:
            self.report.applied[op.kind]["adopted"] += 1
        self.entries[(op.kind, op.key)] = entry
        self.pending_refresh.append(entry)
        if len(self.pending_refresh) >= 500:
            self._flush_refresh()

    def _flush_refresh(self) -> None:
        if self.pending_refresh and not self.dry_run:
            self.ledger.save_records(self.pending_refresh)
        self.pending_refresh = []

    # ------------------------------------------------------------------ writing

    async def _flush_all(self, kind: Kind) -> None:
        while self.pending_creates[kind] or self.pending_updates[kind]:
            if self.pending_creates[kind]:
                await self._flush_creates(kind)
            if self.pending_updates[kind]:
                await self._flush_updates(kind)
        self._flush_refresh()

    def _payload(self, op: Op) -> dict[str, Any]:
        assert op.record is not None
        applied = applied_after(op)
        return {
            "applied": applied,
            "hash": applied_hash(op, applied),
            "org_key": op.record.org_key if op.record.manages_org else None,
        }

    def _org_id_for(self, op: Op) -> tuple[bool, str | None]:
        """(ok, Genesys id of the contact's organization). Not ok: the org is not written."""
        rec = op.record
        if op.kind != "contact" or rec is None or not rec.manages_org or rec.org_key is None:
            return True, None
        gid = self.org_ids.get(rec.org_key)
        if gid is None or gid == _NEW:
            self.report.add_failure(
                kind=op.kind,
                key=op.key,
                op=op.op,
                line=op.line,
                field=ORG_REF,
                reason=f"its organization {rec.org_key!r} could not be written (see that failure)",
            )
            return False, None
        return True, gid

    def _fail(self, op: Op, res: ItemResult | None, reason: str | None = None) -> dict[str, Any]:
        err = dict(res.error or {}) if res is not None else {}
        if reason:
            err["reason"] = reason
        self.report.add_failure(
            kind=op.kind,
            key=op.key,
            op=op.op,
            line=op.line,
            reason=str(err.get("reason") or "the item failed"),
            field=err.get("field"),
            status=err.get("status"),
            code=err.get("code"),
        )
        if op.kind == "organization":
            self.failed_orgs.add(op.key)
        return err

    async def _flush_creates(self, kind: Kind) -> None:
        ops = self.pending_creates[kind][: self.opts.batch_size]
        del self.pending_creates[kind][: self.opts.batch_size]
        sendable: list[tuple[Op, dict[str, Any]]] = []
        for op in ops:
            ok, org_id = self._org_id_for(op)
            if ok:
                assert op.record is not None
                sendable.append((op, create_body(op.record, self.source_id or "", org_id)))
        if not sendable:
            return
        new_ops = [NewOp(kind, op.key, "create", self._payload(op), line=op.line) for op, _ in sendable]
        ids = self.ledger.start_batch(self.run_id, uuid.uuid4().hex, new_ops)
        results = await self.remote.bulk_add(kind, [body for _, body in sendable])
        outcomes: list[Outcome] = []
        entries: list[LedgerEntry] = []
        unknown: list[int] = []
        for op_id, (op, _), res in zip(ids, sendable, results, strict=True):
            if res.ok and res.id:
                entry = self._entry_for(op, res.id, created=True)
                outcomes.append(Outcome(op_id, True, res.id))
                entries.append(entry)
                self._written(op, entry, "created")
            elif res.unknown:
                unknown.append(op_id)
            else:
                outcomes.append(Outcome(op_id, False, error=self._fail(op, res)))
        self.ledger.finish_batch(outcomes, records=entries)
        if unknown:
            await self._settle_unknown(unknown, {i: op for i, (op, _) in zip(ids, sendable, strict=True)})

    def _written(self, op: Op, entry: LedgerEntry, what: str) -> None:
        self.entries[(op.kind, op.key)] = entry
        self.report.applied[op.kind][what] += 1
        if op.adopted and what != "created":
            self.report.applied[op.kind]["adopted"] += 1
        if op.kind == "organization":
            self.org_ids[op.key] = entry.genesys_id
            self.org_key_by_id[entry.genesys_id] = op.key
            self.failed_orgs.discard(op.key)

    async def _settle_unknown(self, op_ids: list[int], ops: dict[int, Op]) -> None:
        """No answer for these items: mark them unknown, look them up, retry absent creates once."""
        self.ledger.mark_unknown(op_ids)
        wanted = set(op_ids)
        rows = [r for r in self.ledger.open_ops() if r.id in wanted]
        found = await self._reconcile(rows, from_snapshot=False)
        for row in rows:
            op = ops[row.id]
            if found.get(row.id):
                what = {"create": "created", "move": "moved"}.get(op.op, "updated")
                self._written(op, self.entries[(row.kind, row.key)], what)
            elif op.op == "create" and (op.kind, op.key) not in self.retried:
                self.retried.add((op.kind, op.key))
                self.pending_creates[op.kind].append(op)
            else:
                self._fail(op, None, "no answer from Genesys and the change is not visible there: run again")

    async def _reread(
        self, kind: Kind, items: list[tuple[Op, dict[str, Any]]]
    ) -> list[tuple[Op, dict[str, Any]]]:
        """Re-read records right before their bulk update (one bulk fetch per batch) and re-decide.

        An update is a full replacement built from the record as read; the scan may be minutes
        old, and a body built from it would put back what a person changed since (unmanaged
        fields included). Re-reading shrinks that window to one round trip (the API has no
        version or If-Match to close it). With --trust-ledger the records were fetched moments ago.
        """
        if self.index[kind] is None or not items:
            return items
        results = await self.remote.bulk_get(kind, [str(op.genesys_id) for op, _ in items])
        out: list[tuple[Op, dict[str, Any]]] = []
        for (op, old), res in zip(items, results, strict=True):
            if not res.ok or res.entity is None or op.record is None:
                if (res.error or {}).get("status") == 404:
                    self._fail(op, res, "deleted in Genesys during the run: the next run creates it again")
                else:  # could not re-read it: write from the snapshot, as planned
                    out.append((op, old))
                continue
            fresh = res.entity
            again = self._decide(op.record, self.entries.get((kind, op.key)), fresh)
            again.adopted = op.adopted
            seen = {c.path for c in op.conflicts}
            new_conflicts = [c for c in again.conflicts if c.path not in seen]
            if new_conflicts:
                self.report.conflicts.append(
                    {
                        "kind": kind,
                        "externalId": op.key,
                        "line": op.line,
                        "policy": self.opts.on_conflict,
                        "fields": [c.to_json() for c in new_conflicts],
                    }
                )
            if again.op == "unchanged":
                self._refresh(again)
                continue
            out.append((again, fresh))
        return out

    async def _flush_updates(self, kind: Kind) -> None:
        items = self.pending_updates[kind][: self.opts.batch_size]
        del self.pending_updates[kind][: self.opts.batch_size]
        items = await self._reread(kind, items)
        sendable: list[tuple[Op, dict[str, Any]]] = []
        for op, remote in items:
            org_id: str | None = None
            if any(c.path == ORG_REF for c in op.changes):
                ok, org_id = self._org_id_for(op)
                if not ok:
                    continue
            sendable.append((op, update_body(op, remote, self.source_id or "", org_id)))
        if not sendable:
            return
        new_ops = [
            NewOp(kind, op.key, op.op, self._payload(op), genesys_id=op.genesys_id, line=op.line)
            for op, _ in sendable
        ]
        ids = self.ledger.start_batch(self.run_id, uuid.uuid4().hex, new_ops)
        results = await self.remote.bulk_update(kind, [body for _, body in sendable])
        outcomes: list[Outcome] = []
        entries: list[LedgerEntry] = []
        unknown: list[int] = []
        for op_id, (op, _), res in zip(ids, sendable, results, strict=True):
            if res.ok:
                assert op.genesys_id is not None
                entry = self._entry_for(op, op.genesys_id, created=False)
                outcomes.append(Outcome(op_id, True, op.genesys_id))
                entries.append(entry)
                self._written(op, entry, "moved" if op.op == "move" else "updated")
            elif res.unknown:
                unknown.append(op_id)
            else:
                outcomes.append(Outcome(op_id, False, error=self._fail(op, res)))
        self.ledger.finish_batch(outcomes, records=entries)
        if unknown:
            await self._settle_unknown(unknown, {i: op for i, (op, _) in zip(ids, sendable, strict=True)})

    # ------------------------------------------------------------------ prune

    async def _prune(self) -> None:
        if self.structural is not None:
            self.report.warnings.append(
                f"prune skipped: the source could not be parsed at line {self.structural.line}, so it "
                "may hide rows and gcx cannot tell which records it holds; fix the file (no option "
                "prunes on such a source)"
            )
            return
        if self.unkeyed_issues and not self.opts.accept_unreadable:
            self.report.warnings.append(
                f"prune skipped: {self.unkeyed_issues} source row(s) could not be read at all, so gcx "
                "cannot tell which records they hold; fix them, or pass --accept-unreadable to prune "
                "anyway (the records those rows hold would be deleted)"
            )
            return
        seen: dict[Kind, set[str]] = {
            "organization": set(self.first_line["organization"]) | self.invalid_keys["organization"],
            "contact": set(self.first_line["contact"]) | self.invalid_keys["contact"],
        }
        candidates = prune_candidates(
            list(self.entries.values()),
            seen,
            held=len(self.entries),
            threshold=self.opts.prune_threshold,
            force=self.opts.force,
        )
        for cand in candidates:
            self._handle(Op("delete", cand.kind, cand.key, genesys_id=cand.genesys_id))
        if self.dry_run:
            return
        for kind in ("contact", "organization"):
            k: Kind = "organization" if kind == "organization" else "contact"
            todo = [c for c in candidates if c.kind == kind]
            if k == "organization":
                todo = await self._orgs_free_to_delete(todo)
            for start in range(0, len(todo), self.opts.batch_size):
                await self._delete_batch(k, todo[start : start + self.opts.batch_size])

    async def _orgs_free_to_delete(self, orgs: Sequence[LedgerEntry]) -> list[LedgerEntry]:
        """The organizations no contact belongs to any more (gcx's own were deleted just before).

        What the server does to the contacts of a deleted organization is unknown (refuse, unlink
        or cascade): an organization that still holds a contact gcx does not own (made by a person,
        or by another tool) is kept and reported, so that a prune never deletes or detaches it.
        """
        free: list[LedgerEntry] = []
        for entry in orgs:
            if await self.remote.org_has_contacts(entry.genesys_id):
                self.report.warnings.append(
                    f"organization {entry.key} not pruned: contacts that gcx does not manage still "
                    "belong to it (move or delete them first)"
                )
                continue
            free.append(entry)
        return free

    async def _delete_batch(self, kind: Kind, batch: Sequence[LedgerEntry]) -> None:
        new_ops = [
            NewOp(kind, e.key, "delete", {"applied": {}, "hash": ""}, genesys_id=e.genesys_id) for e in batch
        ]
        ids = self.ledger.start_batch(self.run_id, uuid.uuid4().hex, new_ops)
        results = await self.remote.bulk_remove(kind, [e.genesys_id for e in batch])
        outcomes: list[Outcome] = []
        forget: list[tuple[str, str]] = []
        unknown: list[int] = []
        for op_id, e, res in zip(ids, batch, results, strict=True):
            gone = res.ok or (res.error or {}).get("status") == 404
            if gone:
                outcomes.append(Outcome(op_id, True, e.genesys_id))
                forget.append((e.kind, e.key))
                self.entries.pop((e.kind, e.key), None)
                self.report.applied[kind]["deleted"] += 1
            elif res.unknown:
                unknown.append(op_id)
            else:
                op = Op("delete", kind, e.key, genesys_id=e.genesys_id)
                outcomes.append(Outcome(op_id, False, error=self._fail(op, res)))
        self.ledger.finish_batch(outcomes, forget=forget)
        if unknown:
            self.ledger.mark_unknown(unknown)
            rows = [r for r in self.ledger.open_ops() if r.id in set(unknown)]
            await self._reconcile(rows, from_snapshot=False)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")
