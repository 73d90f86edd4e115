"""Ledger migration to schema 2: every ExternalId in NFC (:func:`gcx.sync.fields.normal_key`).

Ledgers written before schema 2 stored keys as the source spelt them, so ``NF-José`` in NFC and
in NFD were two keys: one record created and one deleted (or a duplicate). Opening such a
ledger for writing rewrites its keys (records, their organization references, operations) in
NFC, once, in one transaction. Two records whose keys differ only in form are one key: the
record already in NFC is kept, the other is dropped from the ledger (so no prune ever deletes
it) and named in a warning: it is the duplicate an earlier gcx made, for a person to check.
"""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import delete, select, update

from gcx.sync.fields import ORG_REF, normal_key
from gcx.sync.records import values_hash

KEYS_VERSION = 2


def _nfc(value: Any) -> Any:
    return normal_key(value) if isinstance(value, str) else value


def migrate_keys(conn: Any, t_records: Any, t_ops: Any) -> list[str]:
    """Rewrite the keys of a ledger in NFC inside ``conn``'s transaction; returns the warnings."""
    warnings: list[str] = []
    rows = conn.execute(select(t_records)).mappings().all()
    present = {(r["kind"], r["external_id"]): r for r in rows}
    for r in rows:
        kind, key = r["kind"], r["external_id"]
        applied = json.loads(r["applied"])
        new_applied = dict(applied)
        if ORG_REF in new_applied:
            new_applied[ORG_REF] = _nfc(new_applied[ORG_REF])
        target = normal_key(key)
        if target == key and new_applied == applied and _nfc(r["org_key"]) == r["org_key"]:
            continue
        where = (t_records.c.kind == kind) & (t_records.c.external_id == key)
        kept = present.get((kind, target)) if target != key else None
        if kept is not None:
            conn.execute(delete(t_records).where(where))
            del present[(kind, key)]
            warnings.append(
                f"ledger migration: {kind} {target!r} was held twice (two Unicode forms of one key): "
                f"kept Genesys record {kept['genesys_id']}; {r['genesys_id']} is no longer managed "
                "(a duplicate an earlier gcx made: check it and delete it by hand)"
            )
            continue
        values: dict[str, Any] = {"external_id": target, "org_key": _nfc(r["org_key"])}
        if new_applied != applied:
            values["applied"] = json.dumps(new_applied, sort_keys=True, ensure_ascii=False)
            if r["hash"] == values_hash(kind, applied):
                values["hash"] = values_hash(kind, new_applied)
        conn.execute(update(t_records).where(where).values(**values))
        present[(kind, target)] = present.pop((kind, key))
    for op in conn.execute(select(t_ops.c.id, t_ops.c.external_id)).all():
        if normal_key(op.external_id) != op.external_id:
            conn.execute(
                update(t_ops).where(t_ops.c.id == op.id).values(external_id=normal_key(op.external_id))
            )
    return warnings
