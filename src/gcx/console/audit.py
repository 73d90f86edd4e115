"""The audit trail: every change made through the console, who made it, when, and how it went.

Bounded: with ``keep`` set, recording an entry drops the oldest ones beyond the newest ``keep``
(the console keeps :data:`DEFAULT_KEEP_AUDIT` unless told otherwise; ``None`` keeps everything).
"""

from __future__ import annotations

import json
from dataclasses import dataclass
from typing import Any

from sqlalchemy import delete, insert, select

from gcx.console.db import USER_WIDTH, ConsoleDb, now_iso


@dataclass(frozen=True)
class AuditEntry:
    id: int
    at: str
    user: str
    action: str
    target: str
    detail: dict[str, Any]
    outcome: str


#: Entries a console keeps by default (``gcx console serve --keep-audit``).
DEFAULT_KEEP_AUDIT = 10_000


class AuditLog:
    def __init__(self, db: ConsoleDb, *, keep: int | None = None) -> None:
        self.db = db
        self.keep = keep

    def record(
        self, user: str, action: str, target: str, detail: dict[str, Any], outcome: str = "ok"
    ) -> None:
        with self.db.engine.begin() as conn:
            conn.execute(
                insert(self.db.audit).values(
                    at=now_iso(),
                    # a name typed at the login form may be any length: keep what fits
                    user=user if len(user) <= USER_WIDTH else user[: USER_WIDTH - 1] + "\u2026",
                    action=action,
                    target=target,
                    detail=json.dumps(detail, ensure_ascii=False, default=str, sort_keys=True),
                    outcome=outcome,
                )
            )
            if self.keep is not None:
                t = self.db.audit
                # the newest entry beyond the bound (the primary key's order is the entries'),
                # and every older one with it
                edge = conn.execute(
                    select(t.c.id).order_by(t.c.id.desc()).offset(self.keep).limit(1)
                ).scalar()
                if edge is not None:
                    conn.execute(delete(t).where(t.c.id <= edge))

    def latest(self, limit: int = 100, *, target: str | None = None) -> list[AuditEntry]:
        t = self.db.audit
        stmt = select(t).order_by(t.c.id.desc()).limit(limit)
        if target is not None:
            stmt = stmt.where(t.c.target == target)
        with self.db.engine.connect() as conn:
            rows = conn.execute(stmt).mappings().all()
        return [
            AuditEntry(
                id=int(r["id"]),
                at=r["at"],
                user=r["user"],
                action=r["action"],
                target=r["target"],
                detail=json.loads(r["detail"]),
                outcome=r["outcome"],
            )
            for r in rows
        ]
