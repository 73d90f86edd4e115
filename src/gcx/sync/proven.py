"""Permissions a client proved on a ledger a short while ago, so that the next run does not probe them.

``gcx sync`` checks the permissions a run needs before it writes (:mod:`gcx.access`). A
permission that this OAuth client proved on this ledger less than :data:`PROVEN_FOR` ago, by a
write that succeeded (a create proves ``add``, an update, move or adoption ``edit``, a delete
``delete`` of its kind) or by a probe answered past the permission check, is not probed again.
A role changed within that window is found by the write itself: its 403 names the permission.

The proofs live in the ledger, in a table of their own, ``<prefix>access`` (client key,
permission, when), created when first written; the client key is a hash of the region and the
client id (no secret). A plan (``create=False`` ledger) reads them and writes none.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Iterable, Mapping
from typing import Any

from sqlalchemy import Column, Float, String, Table, delete, insert, inspect, select
from sqlalchemy.exc import SQLAlchemyError

from gcx import permissions as perm
from gcx.sync.ledger import Ledger

#: Seconds a proven permission is trusted without a probe.
PROVEN_FOR = 15 * 60.0

_BY_RESULT = {
    "organization": {
        "created": perm.ORG_ADD,
        "updated": perm.ORG_EDIT,
        "moved": perm.ORG_EDIT,
        "adopted": perm.ORG_EDIT,
        "deleted": perm.ORG_DELETE,
    },
    "contact": {
        "created": perm.CONTACT_ADD,
        "updated": perm.CONTACT_EDIT,
        "moved": perm.CONTACT_EDIT,
        "adopted": perm.CONTACT_EDIT,
        "deleted": perm.CONTACT_DELETE,
    },
}


def client_key(region: str, client_id: str) -> str:
    """Who proved it: the region and client id, hashed (the same client id in another region is
    another client)."""
    return hashlib.sha256(f"{region}\n{client_id}".encode()).hexdigest()[:32]


def proven_by_writes(applied: Mapping[str, Mapping[str, int]]) -> set[str]:
    """Pure: the permissions a run's successful writes proved (``RunReport.applied``)."""
    out: set[str] = set()
    for kind, counts in applied.items():
        for result, permission in _BY_RESULT.get(kind, {}).items():
            if int(counts.get(result, 0) or 0) > 0:
                out.add(permission)
    return out


def fresh(rows: Iterable[tuple[str, float]], now: float, ttl: float = PROVEN_FOR) -> set[str]:
    """Pure: the permissions of ``(permission, proven_at)`` rows proven less than ``ttl`` ago
    (a time in the future, a clock set back, does not count)."""
    return {p for p, at in rows if 0 <= now - at < ttl}


class ProvenAccess:
    """The ledger's ``access`` table."""

    def __init__(self, ledger: Ledger) -> None:
        self.ledger = ledger
        name = f"{ledger.prefix}access"
        known = ledger.metadata.tables.get(name)  # in the ledger's metadata: dropped with it (--reset)
        self.table = (
            known
            if known is not None
            else Table(
                name,
                ledger.metadata,
                Column("client_key", String(64), primary_key=True),
                Column("permission", String(128), primary_key=True),
                Column("proven_at", Float, nullable=False),
            )
        )

    def load(self, key: str, now: float | None = None) -> set[str]:
        """The permissions ``key`` proved on this ledger within :data:`PROVEN_FOR`."""
        if not self.ledger.exists:
            return set()
        t = self.table
        try:
            if not inspect(self.ledger.engine).has_table(t.name):
                return set()
            with self.ledger.engine.connect() as conn:
                rows: list[Any] = list(
                    conn.execute(select(t.c.permission, t.c.proven_at).where(t.c.client_key == key))
                )
        except SQLAlchemyError:
            return set()  # unreadable: everything is probed, as before
        return fresh(((str(p), float(at)) for p, at in rows), time.time() if now is None else now)

    def save(self, key: str, permissions: Iterable[str], now: float | None = None) -> None:
        """Record ``permissions`` as proven by ``key`` now (replacing older proofs)."""
        wanted = sorted(set(permissions))
        if not wanted or not self.ledger.exists:
            return
        t = self.table
        at = time.time() if now is None else now
        t.create(self.ledger.engine, checkfirst=True)
        with self.ledger.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.client_key == key, t.c.permission.in_(wanted)))
            conn.execute(insert(t), [{"client_key": key, "permission": p, "proven_at": at} for p in wanted])
