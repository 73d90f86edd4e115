"""Where a run learns what Genesys holds: the scan snapshot, lookups by ExternalId, re-reads.

The snapshot (a scan of every organization and contact, 200 per page, indexed by ExternalId)
is how records created by an earlier run, another machine or a person are found instead of
duplicated, and how edits made in Genesys are seen. Without it (``--trust-ledger``) records the
ledger knows are read by id, and the others are looked up by ExternalId, or scanned when a scan
is cheaper than the lookups.
"""

from __future__ import annotations

import math
from collections.abc import Mapping, Sequence
from typing import Any

from gcx.sync.fields import Kind
from gcx.sync.plan import Op, external_id_values, key_of
from gcx.sync.records import Record
from gcx.sync.rows import LedgerEntry
from gcx.sync.snapshot import Snapshot
from gcx.sync.state import RunState

#: Records per scan page.
SCAN_PAGE = 200

Found = dict[str, dict[str, Any] | None]


class Finder:
    def __init__(self, run: RunState) -> None:
        self.run = run

    def _preferred(self, kind: Kind, keys: Sequence[str]) -> dict[str, str]:
        """The ledger's Genesys id of each key (asked only for keys two records hold)."""
        return {k: e.genesys_id for k, e in self.run.records.get_many(kind, keys).items()}

    async def scan_index(self, kind: Kind) -> Snapshot:
        run = self.run
        idx = run.new_snapshot(kind)
        page: list[dict[str, Any]] = []
        async for body in run.remote.scan(kind):
            page.append(body)
            if len(page) >= SCAN_PAGE:
                idx.add_page(page, run.sid, lambda keys: self._preferred(kind, keys))
                page = []
        idx.add_page(page, run.sid, lambda keys: self._preferred(kind, keys))
        for key, ids in idx.duplicates.items():
            kept = idx.id_of(key)
            run.report.warnings.append(
                f"{kind} {key!r} is held by {len(ids)} records in Genesys ({', '.join(ids)}); "
                f"gcx uses {kept} and leaves the others alone"
            )
        return idx

    async def load_snapshot(self) -> None:
        for kind in ("organization", "contact"):
            k: Kind = "organization" if kind == "organization" else "contact"
            self.run.index[kind] = await self.scan_index(k)
        self.run.rebuild_org_maps()

    def lookup_budget(self, kind: Kind) -> int:
        """Lookups worth making before one scan of ``kind`` is cheaper."""
        held = self.run.records.held.get(kind, 0)
        return max(10, math.ceil(held / SCAN_PAGE) + 1)

    def one_page_covers_orgs(self) -> bool:
        """Whether a scan of the organizations takes no more requests than two lookups."""
        held = self.run.records.held.get("organization", 0)
        return math.ceil((held + 1) / SCAN_PAGE) + 1 <= 2

    async def find(self, kind: Kind, keys: Sequence[str]) -> Found:
        """Remote records by ExternalId: from a fresh lookup each, or one scan when cheaper."""
        run = self.run
        out: Found = {}
        if not keys:
            return out
        if len(keys) > self.lookup_budget(kind):
            idx = await self.scan_index(kind)
            got = idx.get_many(keys)
            idx.discard()
            return {k: got.get(k) for k in keys}
        for key in keys:
            run.lookups += 1
            found = await run.remote.lookup(kind, key, run.source_id)
            if found is None:
                # a record a person made holds the ExternalId without our External Source
                run.lookups += 1
                found = await run.remote.lookup(kind, key, None)
                if found is not None and key_of(found, run.sid) != key:
                    # the answer may not show identifiers: read them (another system's source?)
                    run.lookups += 1
                    held = await run.remote.identifiers(kind, str(found.get("id")))
                    if key not in external_id_values(held, run.sid):
                        found = None  # that value belongs to another system's source
            out[key] = found
        return out

    async def remotes_for(
        self, kind: Kind, recs: Sequence[Record], entries: Mapping[str, LedgerEntry]
    ) -> Found:
        """The Genesys record of each source record (None: there is none); ``entries``: the
        ledger's records of these keys."""
        run = self.run
        idx = run.index[kind]
        out: Found = {}
        if idx is not None:
            by_key = idx.get_many(rec.key for rec in recs)
            moved = [e.genesys_id for rec in recs if rec.key not in by_key and (e := entries.get(rec.key))]
            by_id = idx.by_ids(moved) if moved else {}
            for rec in recs:
                body = by_key.get(rec.key)
                if body is None and (entry := entries.get(rec.key)) is not None:
                    body = by_id.get(entry.genesys_id)
                out[rec.key] = body
            return out
        # --trust-ledger: fetch only what the ledger cannot vouch for
        known = [(rec, entries[rec.key]) for rec in recs if rec.key in entries]
        unknown = [rec.key for rec in recs if rec.key not in entries]
        if known:
            results = await run.remote.bulk_get(kind, [e.genesys_id for _, e in known])
            for (rec, _), res in zip(known, results, strict=True):
                if res.ok or (res.error or {}).get("status") == 404:
                    out[rec.key] = res.entity if res.ok else None
                else:  # cannot tell whether it exists: never risk a duplicate
                    run.skipped.add((kind, rec.key))
                    run.fail(Op("update", kind, rec.key, record=rec, line=rec.line), res)
        if unknown:
            if run.lookups + len(unknown) > self.lookup_budget(kind):
                scanned = await self.scan_index(kind)
                run.index[kind] = scanned
                if kind == "organization":
                    run.rebuild_org_maps()
                got = scanned.get_many(unknown)
                return {**out, **{k: got.get(k) for k in unknown}}
            out.update(await self.find(kind, unknown))
        return out
