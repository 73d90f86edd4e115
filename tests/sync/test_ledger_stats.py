"""A long run on a PostgreSQL ledger refreshes its tables' statistics as it grows (each time the
ops it added double), so the server does not keep reading a million-op ledger with plans made for
an empty one; SQLite needs none of it."""

from __future__ import annotations

from typing import Any

from sqlalchemy import event

from gcx.sync.ledger import Ledger
from gcx.sync.ledger_stats import FIRST_REFRESH, StatsRefresh
from gcx.sync.rows import NewOp


def test_refreshes_are_due_each_time_the_ops_added_double() -> None:
    stats = StatsRefresh([], first=1000)
    due = [n for n in range(1, 200) if stats.due(200 if n % 2 else 0)]
    # 200 ops every other call: 1,000 added at call 9, 2,000 at 19, 4,000 at 39, ...
    assert due == [9, 19, 39, 79, 159]
    big = StatsRefresh([], first=1000)
    assert big.due(5000) and big.next == 8000  # one refresh for a jump past several thresholds
    assert not big.due(2999) and big.due(1)
    assert FIRST_REFRESH == 1000


def _ops(start: int, n: int) -> list[NewOp]:
    values = {"applied": {"firstName": "A"}, "hash": "b" * 32, "org_key": None}
    return [NewOp("contact", f"c-{i}", "create", values) for i in range(start, start + n)]


def test_a_growing_postgresql_ledger_is_analyzed_and_a_sqlite_one_is_not(ledger: Ledger) -> None:
    seen: list[str] = []

    def statement(conn: Any, cursor: Any, sql: str, *args: Any) -> None:
        seen.append(sql)

    event.listen(ledger.engine, "before_cursor_execute", statement)
    run = ledger.start_run("apply", "src")
    for b in range(12):  # 2,400 ops in batches of 200: due at 1,000 and at 2,000
        ledger.start_batch(run, f"b{b}", _ops(b * 200, 200))
    analyzed = [s for s in seen if s.startswith("ANALYZE")]
    if ledger.engine.dialect.name == "postgresql":
        assert len(analyzed) == 2
        assert all(ledger.t_ops.name in s and ledger.t_records.name in s for s in analyzed)
    else:
        assert analyzed == []
