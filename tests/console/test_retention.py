"""The console's approvals and audit trail are bounded: the oldest finished entries go first, a
plan waiting for a decision (or approved, or being applied) never goes."""

from __future__ import annotations

from pathlib import Path

import sqlalchemy as sa

from gcx.console.app import ConsoleState
from gcx.console.approvals import ApprovalStore
from gcx.console.audit import AuditLog
from gcx.console.backend import StaticJobs
from gcx.console.db import ConsoleDb


def _count(db: ConsoleDb, table: sa.Table) -> int:
    with db.engine.connect() as conn:
        return int(conn.execute(sa.select(sa.func.count()).select_from(table)).scalar_one())


def test_the_audit_trail_keeps_its_newest_entries(tmp_path: Path) -> None:
    with ConsoleDb(f"sqlite:///{tmp_path / 'c.sqlite'}") as db:
        log = AuditLog(db, keep=3)
        for n in range(7):
            log.record("olga", "edit", f"contact:{n}", {"n": n})
        assert [e.target for e in log.latest()] == ["contact:6", "contact:5", "contact:4"]
        assert _count(db, db.audit) == 3
        AuditLog(db, keep=None).record("olga", "edit", "contact:7", {})  # no bound: nothing goes
        assert _count(db, db.audit) == 4


def test_finished_approvals_go_oldest_first_and_waiting_ones_never(tmp_path: Path) -> None:
    plan = tmp_path / "plan.json"
    plan.write_text('{"plan": 1}', encoding="utf-8")
    with ConsoleDb(f"sqlite:///{tmp_path / 'c.sqlite'}") as db:
        store = ApprovalStore(db, keep=2)
        waiting = store.submit("a", plan, ["r"], {})  # the oldest of all, never decided
        in_flight = store.submit("b", plan, ["r"], {})
        assert store.approve(in_flight.id, "olga") and store.move(in_flight.id, "applying")
        done = []
        for n in range(5):
            a = store.submit(f"job{n}", plan, ["r"], {})
            if n % 2:
                assert store.move(a.id, "rejected", by="olga")
            else:
                assert store.approve(a.id, "olga") and store.move(a.id, "applied")
            done.append(a.id)
        store.submit("job9", plan, ["r"], {})  # a new plan: the bound is kept
        kept = {a.id: a.state for a in store.list(limit=100)}
        assert kept[waiting.id] == "pending" and kept[in_flight.id] == "applying"
        finished = sorted(i for i, s in kept.items() if s in ("applied", "rejected", "stale", "failed"))
        assert finished == done[-2:]  # the two newest finished ones
        assert len(kept) == 5
        for gone in done[:-2]:  # and their plan documents with them
            assert store.get(gone) is None and store.stored_digest(gone) is None
        assert store.plan_document(waiting.id) == b'{"plan": 1}'


def test_a_console_is_bounded_unless_told_otherwise(tmp_path: Path) -> None:
    state = ConsoleState(db=ConsoleDb(f"sqlite:///{tmp_path / 'c.sqlite'}"), jobs=StaticJobs([]))
    assert state.audit.keep == state.keep_audit and state.keep_audit is not None
    assert state.approvals.keep == state.keep_approvals and state.keep_approvals is not None
    unbounded = ConsoleState(
        db=ConsoleDb(f"sqlite:///{tmp_path / 'd.sqlite'}"),
        jobs=StaticJobs([]),
        keep_audit=None,
        keep_approvals=None,
    )
    assert unbounded.audit.keep is None and unbounded.approvals.keep is None
    state.close()
    unbounded.close()
