"""Pure planning: (source record, ledger entry, remote record) -> an operation.

Nothing here does I/O. The engine feeds records one by one; what is held in memory is
the ledger index and the remote index (both O(records) by nature), never the source.

Three-way rule for each managed path, with ``s`` the source value, ``l`` the value gcx
last applied (from the ledger; *unknown* for a record gcx has never written) and ``r`` the
value in Genesys:

* ``s == r``: nothing to do.
* ``s`` empty: the field is removed only if gcx applied a value before (``l`` not empty);
  a value gcx never wrote is not gcx's to erase.
* ``l`` known and ``r != l`` (someone changed the field in Genesys since the last sync) and
  ``s != r``: a **conflict**. ``source-wins`` (default) writes ``s`` and reports it;
  ``report`` leaves ``r`` and reports it.
* otherwise: write ``s``.

A contact's organization link is the managed path ``organization`` (value: the
organization's ExternalId); a change of it is a **move** (same id, all data kept).
"""

from __future__ import annotations

import copy
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from gcx.sync.errors import PruneRefusedError
from gcx.sync.fields import FIELDS, ORG_REF, Kind, normal_key, remote_value, same, set_path
from gcx.sync.packing import pack_values
from gcx.sync.quickinit import quick_init
from gcx.sync.records import Record, values_hash
from gcx.sync.rows import JsonObject, LedgerEntry, PackedObject, json_text

OpKind = Literal["create", "update", "move", "unchanged", "delete"]
ConflictPolicy = Literal["source-wins", "report"]
CONFLICT_POLICIES: tuple[ConflictPolicy, ...] = ("source-wins", "report")

_MISSING: Any = object()

#: Fields the server owns: never sent back in a PUT body.
READ_ONLY = ("selfUri", "modifyDate", "createDate", "type", "externalDataSources")


@dataclass(frozen=True)
class Change:
    path: str
    old: Any  # remote value
    new: Any  # source value
    last: Any = None  # ledger's last applied value (None if unknown or empty)

    def to_json(self) -> dict[str, Any]:
        return {"field": self.path, "from": self.old, "to": self.new, "lastApplied": self.last}


@dataclass
class Op:
    """What to do with one record. ``genesys_id`` is known for everything but creates."""

    op: OpKind
    kind: Kind
    key: str
    record: Record | None = None
    genesys_id: str | None = None
    changes: list[Change] = field(default_factory=list)
    conflicts: list[Change] = field(default_factory=list)
    adopted: bool = False
    needs_identity: bool = False
    line: int | None = None

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "op": self.op,
            "kind": self.kind,
            "externalId": self.key,
            "genesysId": self.genesys_id,
            "line": self.line,
        }
        if self.changes:
            out["changes"] = [c.to_json() for c in self.changes]
        if self.conflicts:
            out["conflicts"] = [c.to_json() for c in self.conflicts]
        if self.adopted:
            out["adopted"] = True
        if self.record is not None and self.op == "create":
            out["values"] = self.record.applied_values()
        return out


def _org_key_value(v: Any) -> Any:
    return v if v else None


def diff_record(
    record: Record,
    entry: LedgerEntry | None,
    remote: Mapping[str, Any],
    *,
    remote_org_key: str | None = None,
    policy: ConflictPolicy = "source-wins",
) -> tuple[list[Change], list[Change]]:
    """Pure three-way diff. Returns (changes to write, conflicts seen).

    With ``source-wins`` conflicting changes are in both lists; with ``report`` only in
    the second.
    """
    changes: list[Change] = []
    conflicts: list[Change] = []
    applied = dict(entry.applied.items()) if entry is not None else None  # one decode of the ledger's JSON
    paths: list[tuple[str, Any, Any]] = [
        (path, value, remote_value(record.kind, path, remote)) for path, value in record.values.items()
    ]
    if record.manages_org:
        paths.append((ORG_REF, record.org_key, _org_key_value(remote_org_key)))
    for path, s, r in paths:
        last_v = applied.get(path, _MISSING) if applied is not None else _MISSING
        eq = (lambda a, b: a == b) if path == ORG_REF else (lambda a, b, p=path: same(record.kind, p, a, b))
        if eq(s, r):
            continue
        last = None if last_v is _MISSING else last_v
        if s is None and last is None:
            continue  # gcx never wrote a value here: not gcx's to erase
        change = Change(path, r, s, last)
        if last_v is not _MISSING and not eq(r, last_v):
            conflicts.append(change)
            if policy == "report":
                continue
        changes.append(change)
    return changes, conflicts


def decide(
    record: Record,
    entry: LedgerEntry | None,
    remote: Mapping[str, Any] | None,
    *,
    remote_org_key: str | None = None,
    has_identity: bool = True,
    policy: ConflictPolicy = "source-wins",
) -> Op:
    """Pure: the operation for one source record.

    ``remote`` is the Genesys record found for the key (``None``: none exists);
    ``remote_org_key`` the ExternalId of the organization the remote contact belongs to;
    ``has_identity`` whether the remote record already carries gcx's ExternalId.
    """
    if remote is None:
        return Op("create", record.kind, record.key, record=record, line=record.line)
    genesys_id = str(remote.get("id")) if remote.get("id") else (entry.genesys_id if entry else None)
    adopted = entry is None or entry.genesys_id != genesys_id
    changes, conflicts = diff_record(record, entry, remote, remote_org_key=remote_org_key, policy=policy)
    if any(c.path == ORG_REF for c in changes):
        kind: OpKind = "move"
    elif changes or not has_identity:
        kind = "update"
    else:
        kind = "unchanged"
    return Op(
        kind,
        record.kind,
        record.key,
        record=record,
        genesys_id=genesys_id,
        changes=changes,
        conflicts=conflicts,
        adopted=adopted,
        needs_identity=not has_identity,
        line=record.line,
    )


def applied_after(op: Op) -> dict[str, Any]:
    """The managed values the ledger records once ``op`` is applied.

    Written or already-equal paths record the source value; a conflict left in place
    (``--on-conflict report``) keeps the previous last-applied value, so it is reported
    again next run instead of being silently taken over.
    """
    assert op.record is not None
    values = op.record.applied_values()
    if op.conflicts:
        written = {c.path for c in op.changes}
        for c in op.conflicts:
            if c.path not in written:
                values[c.path] = c.last
    return values


def applied_hash(op: Op, applied: Mapping[str, Any]) -> str:
    """The ledger hash: the source's hash when Genesys now matches the source, else of ``applied``.

    A record whose conflict was left in place keeps a hash different from the source, so
    ``--trust-ledger`` looks at it again next time.
    """
    assert op.record is not None
    if op.conflicts and any(c not in op.changes for c in op.conflicts):
        return "conflict:" + values_hash(op.kind, applied)[:23]
    return op.record.hash


@quick_init  # made once per write
@dataclass(frozen=True)
class After:
    """What the ledger keeps once an op is applied, worked out once per write (the op's payload
    and the record it leaves both hold it): the applied values as the ledger's JSON text (with
    the bytes its record stores, made from the values: :class:`PackedObject`), and the ledger
    hash."""

    applied: JsonObject
    hash: str

    @classmethod
    def of(cls, op: Op) -> After:
        applied = applied_after(op)
        text = json_text(applied)
        return cls(PackedObject(text, pack_values(applied, text)), applied_hash(op, applied))


# --------------------------------------------------------------------------- bodies


def identity_fields(key: str, source_id: str) -> tuple[dict[str, Any], dict[str, Any]]:
    """The ``externalIds`` entry and the ExternalId identifier gcx puts on every record."""
    return (
        {"externalSource": {"id": source_id}, "value": key},
        {"type": "ExternalId", "value": key, "externalSource": {"id": source_id}},
    )


def _ensure_identity(body: dict[str, Any], key: str, source_id: str) -> None:
    ext, ident = identity_fields(key, source_id)
    ext_ids = [e for e in body.get("externalIds") or [] if isinstance(e, dict)]
    if not any(_ext_source(e) == source_id and normal_key(str(e.get("value", ""))) == key for e in ext_ids):
        ext_ids = [e for e in ext_ids if _ext_source(e) != source_id]  # our source holds one key
        ext_ids.append(ext)
    body["externalIds"] = ext_ids
    idents = [i for i in body.get("identifiers") or [] if isinstance(i, dict)]
    if not any(i.get("type") == "ExternalId" and normal_key(str(i.get("value", ""))) == key for i in idents):
        idents.append(ident)
    body["identifiers"] = idents


def _ext_source(e: Mapping[str, Any]) -> str | None:
    src = e.get("externalSource")
    return str(src.get("id")) if isinstance(src, Mapping) and src.get("id") else None


#: The fields of each kind that :func:`set_path` writes into a new body as the value itself (at
#: the top, not a phone; a list it copies), and the phones at the top (``{"display": value}``:
#: in a new body there is no phone to keep the extension of).
_PLAIN_TOP = {
    kind: frozenset(p for p, spec in specs.items() if "." not in p and spec.type != "phone")
    for kind, specs in FIELDS.items()
}
_PHONES_TOP = {
    kind: frozenset(p for p, spec in specs.items() if "." not in p and spec.type == "phone")
    for kind, specs in FIELDS.items()
}
#: The fields of each kind one level down (``address.city``: parent and member), none a phone:
#: :func:`set_path` writes the value itself in the parent, made at the first member written.
_PLAIN_NESTED = {
    kind: {
        p: (p.split(".")[0], p.split(".")[1])
        for p, spec in specs.items()
        if p.count(".") == 1 and spec.type != "phone"
    }
    for kind, specs in FIELDS.items()
}


def create_body(record: Record, source_id: str, org_id: str | None) -> dict[str, Any]:
    """The body of a create: managed values (empty ones left out) and gcx's identity."""
    body: dict[str, Any] = {}
    plain, phones, nested = _PLAIN_TOP[record.kind], _PHONES_TOP[record.kind], _PLAIN_NESTED[record.kind]
    for path, value in record.values.items():  # what set_path writes, without finding the place
        if value is None:
            continue
        if path in plain and type(value) is not list:
            body[path] = value
        elif path in phones:
            body[path] = {"display": value}
        elif path in nested and type(value) is not list:
            parent, member = nested[path]
            body.setdefault(parent, {})[member] = value
        else:
            set_path(body, record.kind, path, value)
    if record.kind == "contact" and org_id:
        body["externalOrganization"] = {"id": org_id}
    ext, ident = identity_fields(record.key, source_id)  # what _ensure_identity adds to a new body
    body["externalIds"] = [ext]
    body["identifiers"] = [ident]
    return body


def update_body(op: Op, remote: Mapping[str, Any], source_id: str, org_id: str | None) -> dict[str, Any]:
    """A PUT body: the remote record as read (unknown fields included) with only the changes applied."""
    assert op.record is not None
    body = copy.deepcopy(dict(remote))
    for name in READ_ONLY:
        body.pop(name, None)
    for change in op.changes:
        if change.path == ORG_REF:
            if change.new is None:
                body.pop("externalOrganization", None)
            else:
                body["externalOrganization"] = {"id": org_id}
            continue
        set_path(body, op.kind, change.path, change.new)
    _ensure_identity(body, op.key, source_id)
    return body


# --------------------------------------------------------------------------- remote index


def key_of(body: Mapping[str, Any], source_id: str) -> str | None:
    """The ExternalId gcx knows a remote record by (our External Source first)."""
    for e in body.get("externalIds") or []:
        if isinstance(e, Mapping) and _ext_source(e) == source_id and e.get("value"):
            return normal_key(str(e["value"]))
    for i in body.get("identifiers") or []:
        if not isinstance(i, Mapping) or i.get("type") != "ExternalId" or not i.get("value"):
            continue
        src = _ext_source(i)
        if src is None or src == source_id:
            return normal_key(str(i["value"]))
    return None


def external_id_values(identifiers: Iterable[Mapping[str, Any]], source_id: str) -> tuple[str, ...]:
    """Pure: the ExternalId values a record holds for gcx's External Source (or for no source)."""
    out: list[str] = []
    for i in identifiers:
        if i.get("type") != "ExternalId" or not i.get("value"):
            continue
        src = i.get("externalSource")
        sid = str(src.get("id")) if isinstance(src, Mapping) and src.get("id") else None
        if sid is None or sid == source_id:
            value = normal_key(str(i["value"]))
            if value not in out:
                out.append(value)
    return tuple(out)


def has_identity(body: Mapping[str, Any], key: str, source_id: str) -> bool:
    return any(
        isinstance(e, Mapping) and _ext_source(e) == source_id and normal_key(str(e.get("value", ""))) == key
        for e in body.get("externalIds") or []
    )


def remote_org_ref(contact: Mapping[str, Any]) -> str | None:
    org = contact.get("externalOrganization")
    if isinstance(org, Mapping) and org.get("id"):
        return str(org["id"])
    return None


# --------------------------------------------------------------------------- pruning


def prune_candidates(
    entries: Iterable[LedgerEntry],
    seen: Mapping[Kind, set[str]],
    *,
    held: int,
    threshold: float,
    force: bool,
) -> list[LedgerEntry]:
    """Ledger records gcx created that the source no longer has (contacts first).

    Raises :class:`PruneRefusedError` when they exceed ``threshold`` of the records the
    ledger holds and ``force`` is not set: an empty or truncated source must not wipe an org.
    """
    out = [e for e in entries if e.created_by_gcx and e.key not in seen.get(e.kind, set())]
    out.sort(key=lambda e: (0 if e.kind == "contact" else 1, e.key))
    if out and not force and len(out) > threshold * held:
        raise PruneRefusedError(
            f"prune refused: it would delete {len(out)} of the {held} records in the ledger "
            f"({len(out) / max(held, 1):.0%} > {threshold:.0%}); check the source, or pass --force "
            "(or a higher --prune-threshold)",
            deletes=len(out),
            held=held,
            threshold=threshold,
        )
    return out


@dataclass
class PlanCounts:
    """Counts per kind and op, plus invalid rows."""

    counts: dict[str, dict[str, int]] = field(
        default_factory=lambda: {
            k: {"create": 0, "update": 0, "move": 0, "unchanged": 0, "delete": 0, "conflict": 0}
            for k in ("organization", "contact")
        }
    )
    invalid: int = 0

    def add(self, op: Op) -> None:
        self.counts[op.kind][op.op] += 1
        if op.conflicts:
            self.counts[op.kind]["conflict"] += 1

    def total(self, op: str) -> int:
        return sum(c[op] for c in self.counts.values())

    def to_json(self) -> dict[str, Any]:
        return {**{k: dict(v) for k, v in self.counts.items()}, "invalid": self.invalid}
