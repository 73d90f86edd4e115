"""The statistics PostgreSQL plans a ledger's statements from, kept fresh during a long run.

PostgreSQL chooses each statement's plan from its tables' statistics, which autovacuum refreshes
at most once a minute and only after a tenth of a table changed; psycopg prepares a statement
run five times, and the server keeps its generic plan until the statistics change. A ledger that
starts empty and gains a million operations in one run was therefore read with plans made for an
empty table: the attempt count of a batch's keys found its rows through the index on ``kind``
alone (every op of the kind read, for every batch), and the removal of settled batches scanned
the whole ``ops`` table. At 100k contacts the first sync took 17 times as long as on SQLite, the
time spent in PostgreSQL. So a run refreshes the statistics itself (``ANALYZE``, which also makes
the server plan those statements again) each time the operations it added double, from
:data:`FIRST_REFRESH`: about ten times in a run of a million, each a sample of the tables, not a
scan. SQLite plans from its indexes alone and needs none of it.
"""

from __future__ import annotations

from collections.abc import Sequence

from sqlalchemy import Connection, Table

#: The operations a run adds before it first refreshes the statistics.
FIRST_REFRESH = 1_000


class StatsRefresh:
    """When a run that keeps adding ops refreshes the statistics of ``tables`` (PostgreSQL)."""

    def __init__(self, tables: Sequence[Table], *, first: int = FIRST_REFRESH) -> None:
        self.tables = tuple(tables)
        self.added = 0
        self.next = first

    def due(self, added: int) -> bool:
        """Pure but for the count: ``added`` more ops; whether the statistics are due now."""
        self.added += added
        if self.added < self.next:
            return False
        while self.next <= self.added:
            self.next *= 2
        return True

    def after_insert(self, conn: Connection, added: int) -> None:
        """Count ``added`` ops inserted in ``conn``'s transaction; refresh when due."""
        if conn.dialect.name != "postgresql" or not self.due(added):
            return
        quote = conn.dialect.identifier_preparer.format_table
        conn.exec_driver_sql("ANALYZE " + ", ".join(quote(t) for t in self.tables))
