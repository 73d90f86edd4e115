"""Adoption checks: find the records a person made that hold a source key as an ExternalId.

Genesys shows identifiers only on request (``expand=identifiers``, an identifier lookup, or a
record's identifier list), never in a scan, and does not say that ``externalIds`` make an
identifier. So the snapshot (a scan) matches a source key only through gcx's ``externalIds``
entry; a contact a person made and tagged with ``PATCH .../identifiers`` (ExternalId = the
source key) looks like a stranger. Creating the source record again would duplicate it.

Requests go only where something can be found:

* **candidates**: scanned records that carry no ``externalIds`` entry of gcx's External
  Source, none of another External Source either (another job's or sync's records: they are
  its, see :func:`other_source`), and that the ledger does not know;
* **keys**: source keys that neither the scan nor the ledger matched.

With none of either, nothing is checked (a first sync into an empty org makes no check). Else
the smaller side is checked: the identifiers of each candidate are read (one request each), or
each key is looked up (up to two requests each: with gcx's External Source, then without,
plus one identifier read to check the owner of a hit without source). A candidate read is
remembered in the ledger with its ``modifyDate`` and its ExternalId values, so a later run reads
only new or changed candidates (a remembered value that is a key is adopted without a request).

An adopted record is planned as an update that adds gcx's ``externalIds`` entry (unmanaged
fields kept), so later scans match it directly. ``sync plan`` makes no check: it states how many
the apply would make and their time at the client's rate. ``--no-adoption-checks`` turns them
off (when you know no one made records by hand).
"""

from __future__ import annotations

import math
from collections.abc import Container, Iterable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any, Literal

from gcx.sync.fields import KINDS, Kind
from gcx.sync.plan import external_id_values
from gcx.sync.records import Record
from gcx.sync.rows import CheckedRecord
from gcx.sync.snapshot import Snapshot
from gcx.sync.source import Source
from gcx.sync.spill import KeySet
from gcx.sync.state import RunState

Strategy = Literal["off", "none", "candidates", "keys"]

#: Checked candidates are saved in groups of this many (a crash loses at most one group's reads).
SAVE_GROUP = 200
#: Source keys matched against the snapshot and the ledger per query.
CHUNK = 400


# --------------------------------------------------------------------------- pure rules


@dataclass(frozen=True)
class Choice:
    strategy: Strategy
    checks: int  # requests the checks take at most


def choose(candidates: int, keys: int, *, enabled: bool = True) -> Choice:
    """Pure: which side to check (the one that costs fewer requests)."""
    if not enabled:
        return Choice("off", 0)
    if candidates == 0 or keys == 0:
        return Choice("none", 0)
    if candidates <= 2 * keys:
        return Choice("candidates", candidates)
    return Choice("keys", 2 * keys)


def other_source(body: Mapping[str, Any], source_id: str) -> str | None:
    """Pure: the id of another External Source whose identity the record carries, as gcx writes
    it (an ``externalIds`` entry: ``{"externalSource": {"id": ...}, "value": key}``), or None.

    Such a record is managed by another job or sync (another External Source on the same org):
    it is never an adoption candidate of this one."""
    for e in body.get("externalIds") or []:
        if not isinstance(e, Mapping) or not e.get("value"):
            continue
        src = e.get("externalSource")
        sid = str(src.get("id")) if isinstance(src, Mapping) and src.get("id") else None
        if sid is not None and sid != source_id:
            return sid
    return None


def candidates_of(
    unkeyed: Iterable[dict[str, Any]], known_ids: Container[str], source_id: str
) -> list[dict[str, Any]]:
    """Pure: of the scanned records no key matched, those the ledger does not know and that no
    other External Source's ``externalIds`` entry claims (:func:`other_source`)."""
    return [
        body
        for body in unkeyed
        if str(body.get("id")) not in known_ids and other_source(body, source_id) is None
    ]


# --------------------------------------------------------------------------- the checks


class Adopter:
    def __init__(self, run: RunState, source: Source) -> None:
        self.run = run
        self.source = source
        self._adopted: set[str] = set()  # keys adopted by this run

    def _candidates(self, kind: Kind, idx: Snapshot) -> list[dict[str, Any]]:
        """The adoption candidates of the snapshot, read a chunk at a time (a record another
        External Source claims is dropped before the ledger is asked about it)."""
        run = self.run
        out: list[dict[str, Any]] = []
        chunk: list[dict[str, Any]] = []
        for body in idx.unkeyed():
            if other_source(body, run.sid) is None:
                chunk.append(body)
            if len(chunk) >= CHUNK:
                out += candidates_of(
                    chunk, run.records.keys_of_ids(kind, [str(b.get("id")) for b in chunk]), run.sid
                )
                chunk = []
        known = run.records.keys_of_ids(kind, [str(b.get("id")) for b in chunk])
        return out + candidates_of(chunk, known, run.sid)

    def _unmatched_keys(self, kind: Kind, idx: Snapshot) -> KeySet:
        """Source keys of ``kind`` that neither the scan nor the ledger matched (one source pass,
        checked a chunk of keys at a time), held in the run's scratch database: in a first sync
        into an org with a record made by hand, that is every key of the source."""
        keys = KeySet(self.run.spill)
        chunk: dict[str, None] = {}
        for item in self.source.items((kind,)):
            if not isinstance(item, Record) or item.kind != kind:
                continue
            chunk[item.key] = None
            if len(chunk) >= CHUNK:
                keys.add(self._unmatched(kind, idx, list(chunk)))
                chunk = {}
        keys.add(self._unmatched(kind, idx, list(chunk)))
        return keys

    def _unmatched(self, kind: Kind, idx: Snapshot, keys: list[str]) -> list[str]:
        """Those of ``keys`` that no scanned record holds, directly or through the ledger's id."""
        matched = set(idx.ids_of(keys))
        rest = [k for k in keys if k not in matched]
        entries = self.run.records.get_many(kind, rest)
        scanned = idx.has_ids(e.genesys_id for e in entries.values())
        return [k for k in rest if not ((e := entries.get(k)) is not None and e.genesys_id in scanned)]

    async def check(self) -> None:
        """Adopt what can be found, for organizations then contacts (after the snapshot)."""
        summary: dict[str, Any] = {"strategy": {}, "candidates": 0, "keys": 0, "checks": 0, "adopted": 0}
        for kind in KINDS:
            await self._check_kind(kind, summary)
        rate = self.run.remote.rate_per_minute
        summary["seconds"] = estimate_seconds(summary["checks"], rate)
        summary["ratePerMinute"] = rate
        self.run.report.adoption = summary

    async def _check_kind(self, kind: Kind, summary: dict[str, Any]) -> None:
        run = self.run
        if not run.opts.adoption_checks:
            summary["strategy"][kind] = "off"
            return
        idx = run.index[kind]
        if idx is None:
            return  # --trust-ledger: no scan, nothing to compare (lookups by key still adopt)
        cands = self._candidates(kind, idx)
        remembered = run.ledger.checked(kind)
        gone = set(remembered) - {str(b.get("id")) for b in cands}
        if gone and not run.dry_run:  # adopted or deleted since: the scan is complete
            run.ledger.forget_checked(kind, sorted(gone))
        if not cands:
            summary["strategy"][kind] = "none"
            return
        fresh: list[dict[str, Any]] = []
        held: dict[str, dict[str, Any]] = {}  # ExternalId value -> remembered candidate
        for body in cands:
            prev = remembered.get(str(body.get("id")))
            shown = body.get("identifiers")
            if isinstance(shown, list):  # the server showed them (not in Genesys' scans): no check
                values: Sequence[str] = external_id_values(
                    (i for i in shown if isinstance(i, Mapping)), run.sid
                )
            elif prev is not None and prev.modify_date == str(body.get("modifyDate") or ""):
                values = prev.external_ids
            else:
                fresh.append(body)
                continue
            for value in values:
                held.setdefault(value, body)
        if not fresh and not held:
            summary["strategy"][kind] = "none"
            return
        wanted = self._unmatched_keys(kind, idx)
        try:
            await self._check_against(kind, idx, fresh, held, wanted, summary)
        finally:
            wanted.clear()

    async def _check_against(
        self,
        kind: Kind,
        idx: Snapshot,
        fresh: Sequence[dict[str, Any]],
        held: Mapping[str, dict[str, Any]],
        wanted: KeySet,
        summary: dict[str, Any],
    ) -> None:
        """Adopt the remembered candidates holding a wanted key, then check the cheaper side."""
        run = self.run
        found = wanted.present(held)
        for value, body in held.items():
            if value in found:
                self._adopt(kind, idx, value, body, summary)
                wanted.discard(value)
        choice = choose(len(fresh), len(wanted), enabled=run.opts.adoption_checks)
        summary["strategy"][kind] = choice.strategy
        summary["candidates"] += len(fresh)
        summary["keys"] += len(wanted)
        if run.dry_run:
            summary["checks"] += choice.checks
            return
        if choice.strategy == "candidates":
            await self._by_candidate(kind, idx, fresh, wanted, summary)
        elif choice.strategy == "keys":  # fewer keys than half the candidates: they fit in memory
            await self._by_key(kind, idx, fresh, wanted.sorted(), summary)

    async def _by_candidate(
        self,
        kind: Kind,
        idx: Snapshot,
        fresh: Sequence[dict[str, Any]],
        wanted: KeySet,
        summary: dict[str, Any],
    ) -> None:
        run = self.run
        done: list[CheckedRecord] = []
        for body in fresh:
            rid = str(body.get("id"))
            summary["checks"] += 1
            values = external_id_values(await run.remote.identifiers(kind, rid), run.sid)
            done.append(CheckedRecord(kind, rid, str(body.get("modifyDate") or ""), values))
            found = wanted.present(values)
            for value in values:
                if value in found:
                    self._adopt(kind, idx, value, body, summary)
                    wanted.discard(value)
                    break
                held_by = idx.get(value)
                if held_by is not None and str(held_by.get("id")) != rid and value in self._adopted:
                    run.report.warnings.append(
                        f"{kind} {value!r} is also held by {rid} (an ExternalId identifier a person set); "
                        f"gcx adopted {held_by.get('id')} and leaves {rid} alone"
                    )
            if len(done) >= SAVE_GROUP:
                run.ledger.save_checked(done)
                done = []
        run.ledger.save_checked(done)

    async def _by_key(
        self,
        kind: Kind,
        idx: Snapshot,
        fresh: Sequence[dict[str, Any]],
        keys: Sequence[str],
        summary: dict[str, Any],
    ) -> None:
        run = self.run
        by_id = {str(b.get("id")): b for b in fresh}
        for key in keys:
            summary["checks"] += 1
            found = await run.remote.lookup(kind, key, run.source_id)
            if found is None:
                summary["checks"] += 1
                found = await run.remote.lookup(kind, key, None)
                if found is not None and str(found.get("id")) in by_id:
                    # held without a source, or under another system's External Source?
                    summary["checks"] += 1
                    values = external_id_values(await run.remote.identifiers(kind, str(found["id"])), run.sid)
                    if key not in values:
                        found = None
            body = by_id.get(str(found.get("id"))) if found is not None else None
            if body is not None:
                self._adopt(kind, idx, key, body, summary)
                del by_id[str(body.get("id"))]

    def _adopt(
        self, kind: Kind, idx: Snapshot, key: str, body: dict[str, Any], summary: dict[str, Any]
    ) -> None:
        """Match ``body`` to the source key: planning will add gcx's identity to it."""
        rid = str(body.get("id"))
        idx.bind(key, body)
        self._adopted.add(key)
        if kind == "organization":
            self.run.note_org(key, rid)
        summary["adopted"] += 1


def estimate_seconds(checks: int, rate_per_minute: float) -> float:
    """Pure: the time ``checks`` requests take at the client's rate (0 when not paced)."""
    return math.ceil(checks * 60 / rate_per_minute * 10) / 10 if rate_per_minute > 0 else 0.0
