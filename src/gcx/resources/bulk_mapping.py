"""Matching bulk answers back to the request items (pure).

The bulk endpoints answer HTTP 200 with one result per item, **in no guaranteed order**.
gcx maps every result back to the item it answers:

* fetch / update / remove: by record id;
* add (and enrich): a failure by the item the server echoes in ``error.entity``; a success by
  the item's ExternalId identifier or ``externalIds`` value when it has one, else by comparing
  the created record with the fields the caller sent (phones by E.164, server-filled fields
  ignored). Identical items are interchangeable. An item whose answer cannot be told apart is
  reported as *unmapped*, never guessed.

  Genesys shows a record's identifiers only when asked (``expand=identifiers``), never in a bulk
  answer, and does not claim the ``identifiers`` a body sends: an answer without an
  ``identifiers`` array is compared with what the caller sent *but* its identifiers (its
  ``externalIds``, a plain field shown in every answer, still count as keys).
"""

from __future__ import annotations

import json
from collections.abc import Callable, Sequence
from typing import Any

from gcx.merge import contains


def _canonical(value: Any) -> str:
    return json.dumps(value, sort_keys=True, default=str)


def result_id(result: dict[str, Any]) -> str | None:
    """The record id a result names: its own, its entity's, or that of the item its error echoes."""
    rid = result.get("id")
    if isinstance(rid, str) and rid:
        return rid
    error = result.get("error")
    for source in (result.get("entity"), error.get("entity") if isinstance(error, dict) else None):
        if isinstance(source, dict) and isinstance(source.get("id"), str) and source["id"]:
            return str(source["id"])
    return None


def external_keys(record: dict[str, Any] | None, *, identifiers: bool = True) -> set[tuple[str, str]]:
    """The record's ExternalId keys: ``(external source id, value)`` from its ``identifiers`` of
    type ExternalId (unless ``identifiers`` is false) and its ``externalIds``."""
    keys: set[tuple[str, str]] = set()
    if not isinstance(record, dict):
        return keys
    if identifiers:
        for ident in record.get("identifiers") or ():
            if isinstance(ident, dict) and ident.get("type") == "ExternalId" and ident.get("value"):
                keys.add(_key(ident))
    for ext in record.get("externalIds") or ():
        # _key, inlined: read for every item of a create twice (its request, its answer)
        if isinstance(ext, dict) and (value := ext.get("value")):
            src = ext.get("externalSource")
            sid = src.get("id") if isinstance(src, dict) else None
            keys.add((str(sid or ""), str(value).strip()))
    return keys


def _key(entry: dict[str, Any]) -> tuple[str, str]:
    src = entry.get("externalSource")
    sid = src.get("id") if isinstance(src, dict) else None
    return (str(sid or ""), str(entry["value"]).strip())


def map_by_id(
    request_ids: Sequence[str | None], results: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign results to requests by record id (duplicated ids are assigned in order)."""
    assigned: list[dict[str, Any] | None] = [None] * len(request_ids)
    slots: dict[str, list[int]] = {}
    for i, rid in enumerate(request_ids):
        if rid:
            slots.setdefault(rid, []).append(i)
    unmatched: list[dict[str, Any]] = []
    for result in results:
        rid = result_id(result)
        free = slots.get(rid or "", [])
        if free:
            assigned[free.pop(0)] = result
        else:
            unmatched.append(result)
    return assigned, unmatched


def map_by_tracker(
    trackers: Sequence[Any], results: Sequence[dict[str, Any]]
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign bulk enrich results by the tracker ``id`` each operation carried (the result's
    ``id``, or the ``id`` of the operation a failure echoes). Trackers used twice are left out;
    results without a usable tracker are returned for the next mapping."""
    assigned: list[dict[str, Any] | None] = [None] * len(trackers)
    counts: dict[str, int] = {}
    for t in trackers:
        if isinstance(t, str) and t:
            counts[t] = counts.get(t, 0) + 1
    slot = {t: k for k, t in enumerate(trackers) if isinstance(t, str) and counts.get(t) == 1}
    rest: list[dict[str, Any]] = []
    for result in results:
        echoed = (result.get("error") or {}).get("entity") if isinstance(result.get("error"), dict) else None
        tracker = result.get("id") or (echoed.get("id") if isinstance(echoed, dict) else None)
        k = slot.get(tracker) if isinstance(tracker, str) else None
        if k is not None and assigned[k] is None:
            assigned[k] = without_tracker(result, tracker)
        else:
            rest.append(result)
    return assigned, rest


def without_tracker(result: dict[str, Any], tracker: Any) -> dict[str, Any]:
    """A copy of an enrich result where the tracker no longer poses as the record's id."""
    if not isinstance(tracker, str):
        return result
    clean = {k: v for k, v in result.items() if not (k == "id" and v == tracker)}
    error = clean.get("error")
    if (
        isinstance(error, dict)
        and isinstance(error.get("entity"), dict)
        and error["entity"].get("id") == tracker
    ):
        clean["error"] = {**error, "entity": {k: v for k, v in error["entity"].items() if k != "id"}}
    return clean


def _norm_scalar(value: Any) -> tuple[str, Any] | None:
    """A hashable form of a scalar such that ``same_value(a, b)`` implies equal forms."""
    if isinstance(value, str):
        return ("s", value.strip())
    if isinstance(value, bool | int | float):
        return ("n", float(value))
    return None


class _ContentIndex:
    """Narrows the requests a returned record may come from, before the exact comparison.

    Each request is filed under one of its scalar top-level fields (its *anchor*): a record
    containing the request must hold the same value there. Requests without a scalar field are
    always candidates. ExternalId keys are indexed too. The anchors are built on first use:
    results matched by ExternalId (the usual case) never need them.
    """

    def __init__(self, records: Sequence[dict[str, Any]]) -> None:
        self.records = records
        self._anchors: tuple[dict[tuple[str, tuple[str, Any]], list[int]], set[str], list[int]] | None = None
        # per kind of answer (plain: one that shows no identifiers), built on first use
        self._key_index: dict[bool, tuple[list[set[tuple[str, str]]], dict[tuple[str, str], list[int]]]] = {}
        self._plain_records: list[dict[str, Any]] | None = None

    def key_index(
        self, *, plain: bool
    ) -> tuple[list[set[tuple[str, str]]], dict[tuple[str, str], list[int]]]:
        """Each request's ExternalId keys and the requests holding each key; ``plain``: their
        ``externalIds`` keys only (all that an answer showing no identifiers can hold of them)."""
        index = self._key_index.get(plain)
        if index is None:
            keys = [external_keys(r, identifiers=not plain) for r in self.records]
            by_key: dict[tuple[str, str], list[int]] = {}
            for i, request_keys in enumerate(keys):
                for key in request_keys:
                    by_key.setdefault(key, []).append(i)
            index = self._key_index[plain] = (keys, by_key)
        return index

    def shown(self, *, plain: bool) -> Sequence[dict[str, Any]]:
        """The requests as an answer can show them: ``plain``, without their ``identifiers``."""
        if not plain:
            return self.records
        if self._plain_records is None:
            self._plain_records = [{k: v for k, v in r.items() if k != "identifiers"} for r in self.records]
        return self._plain_records

    def _anchored(self) -> tuple[dict[tuple[str, tuple[str, Any]], list[int]], set[str], list[int]]:
        if self._anchors is None:
            by_anchor: dict[tuple[str, tuple[str, Any]], list[int]] = {}
            fields: set[str] = set()
            unanchored: list[int] = []
            for i, record in enumerate(self.records):
                anchor = None
                for name in sorted(record):
                    norm = _norm_scalar(record[name])
                    if norm is not None:
                        anchor = (name, norm)
                        break
                if anchor is None:
                    unanchored.append(i)
                else:
                    by_anchor.setdefault(anchor, []).append(i)
                    fields.add(anchor[0])
            self._anchors = (by_anchor, fields, unanchored)
        return self._anchors

    def containing(self, whole: dict[str, Any], *, plain: bool = False) -> list[int]:
        """Requests every field of which ``whole`` holds (phones by E.164); ``plain``: every
        field but their identifiers."""
        by_anchor, fields, unanchored = self._anchored()
        found = set(unanchored)
        for name in fields:
            norm = _norm_scalar(whole.get(name))
            if norm is not None:
                found.update(by_anchor.get((name, norm), ()))
        records = self.shown(plain=plain)
        return [i for i in sorted(found) if contains(whole, records[i])]

    def keyed(self, whole: dict[str, Any], *, plain: bool = False) -> list[int]:
        """Requests with ExternalId keys, all of which ``whole`` holds; ``plain``: their
        ``externalIds`` keys only (an answer that shows no identifiers)."""
        keys, by_key = self.key_index(plain=plain)
        ekeys = external_keys(whole, identifiers=not plain)  # plain: it shows no identifiers
        if len(ekeys) == 1:  # the usual answer: by_key's list is already in order, without repeats
            (key,) = ekeys
            holders = by_key.get(key)
            if holders is None:
                return []
            if len(holders) == 1:
                return holders[:] if keys[holders[0]] <= ekeys else []
            return [i for i in holders if keys[i] <= ekeys]
        found: set[int] = set()
        for key in ekeys:
            found.update(by_key.get(key, ()))
        return [i for i in sorted(found) if keys[i] <= ekeys]

    def unkeyed(self, i: int, *, plain: bool = False) -> bool:
        return not self.key_index(plain=plain)[0][i]


def map_by_content(
    records: Sequence[dict[str, Any]],
    results: Sequence[dict[str, Any]],
    *,
    echoes: Sequence[dict[str, Any]] | None = None,
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Assign results of a create-like bulk call to the request records that produced them.

    ``records[i]`` is the record the caller sent for item ``i`` (the fields to compare);
    ``echoes[i]`` (default: the same) is what the server echoes back in ``error.entity``.
    Only unique answers are assigned; identical requests are interchangeable.
    """
    echoes = records if echoes is None else echoes
    n = len(records)
    assigned: list[dict[str, Any] | None] = [None] * n
    fingerprints: list[str | None] = [None] * n  # canonical JSON of each echo, made when needed
    exact: dict[str, list[int]] | None = None

    def fingerprint(i: int) -> str:
        fp = fingerprints[i]
        if fp is None:
            fp = fingerprints[i] = _canonical(echoes[i])
        return fp

    index = _ContentIndex(records)
    echo_index = index if echoes is records else _ContentIndex(echoes)
    candidates: list[tuple[dict[str, Any], list[int]]] = []
    unmatched: list[dict[str, Any]] = []
    for result in results:
        success = bool(result.get("success")) and not result.get("error")
        cands: list[int] = []
        if not success:
            echoed = (result.get("error") or {}).get("entity")
            if isinstance(echoed, dict):
                if exact is None:
                    exact = {}
                    for i in range(n):
                        exact.setdefault(fingerprint(i), []).append(i)
                cands = exact.get(_canonical(echoed)) or echo_index.containing(echoed)
        else:
            entity = result.get("entity")
            if isinstance(entity, dict):
                plain = not isinstance(entity.get("identifiers"), list)  # not shown: compare without
                keyed = index.keyed(entity, plain=plain)
                if len(keyed) > 1:
                    # Among the requests with its key, prefer those whose fields it also holds.
                    shown = index.shown(plain=plain)
                    cands = [i for i in keyed if contains(entity, shown[i])] or keyed
                elif keyed:
                    cands = keyed  # the only request with its key: comparing fields cannot change that
                else:
                    cands = [
                        i for i in index.containing(entity, plain=plain) if index.unkeyed(i, plain=plain)
                    ]
        candidates.append((result, cands))
    return _assign(candidates, assigned, unmatched, fingerprint)


def _assign(
    candidates: Sequence[tuple[dict[str, Any], Sequence[int]]],
    assigned: list[dict[str, Any] | None],
    unmatched: list[dict[str, Any]],
    fingerprint: Callable[[int], str],
) -> tuple[list[dict[str, Any] | None], list[dict[str, Any]]]:
    """Give each result the one free request among its candidates (requests with the same
    ``fingerprint`` are interchangeable), round after round while some result is settled; a
    result left without a free candidate is unmatched, and so is one still undecided at the end."""
    pending = list(range(len(candidates)))
    progress = True
    while pending and progress:
        progress = False
        still: list[int] = []
        for k in pending:
            result, cands = candidates[k]
            if len(cands) == 1:  # the usual case, as below without the list
                i = cands[0]
                if assigned[i] is None:
                    assigned[i] = result
                else:
                    unmatched.append(result)
                progress = True
                continue
            free = [i for i in cands if assigned[i] is None]
            if not free:
                unmatched.append(result)
                progress = True
                continue
            if len(free) == 1 or len({fingerprint(i) for i in free}) == 1:
                assigned[free[0]] = result
                progress = True
            else:
                still.append(k)
        pending = still
    unmatched.extend(candidates[k][0] for k in pending)
    return assigned, unmatched


# -- the chunk runner ---------------------------------------------------------------------
