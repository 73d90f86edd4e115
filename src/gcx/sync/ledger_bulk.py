"""Many rows into one ledger table with little Python work per row.

SQLAlchemy's ``conn.execute(insert(t), [dict, ...])`` builds, for each row, a parameter dict
through the compiled statement and its bind processing: at a first sync's 2 rows per record
(its record, its op's pending values) that was a tenth of gcx's CPU. :class:`RowInserter`
compiles the INSERT once for the dialect, takes each column's bind processor once (the very
``TypeDecorator`` conversions of :mod:`gcx.sync.ledger_codec`, so the same stored bytes), and
hands the driver's ``executemany`` plain tuples (or dicts for a named paramstyle) in the
caller's connection and transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect


class RowInserter:
    """An INSERT of ``columns`` into ``table`` compiled for ``dialect``; :meth:`run` writes rows
    given as tuples in the order of ``columns``."""

    def __init__(self, table: Table, columns: Sequence[str], dialect: Dialect) -> None:
        compiled = insert(table).compile(dialect=dialect, column_keys=list(columns))
        self.sql = compiled.string
        self.columns = tuple(columns)
        names = list(compiled.positiontup or []) if compiled.positional else list(self.columns)
        if sorted(names) != sorted(self.columns):
            raise ValueError(f"the INSERT into {table.name} binds {names}, not the columns {self.columns}")
        self.positional = bool(compiled.positional)
        self.names = names
        index = {c: i for i, c in enumerate(self.columns)}
        self.order = [index[n] for n in names]
        self.procs: list[Callable[[Any], Any] | None] = [
            table.c[n].type.dialect_impl(dialect).bind_processor(dialect) for n in names
        ]

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        steps = list(zip(self.order, self.procs, strict=True))
        if self.positional:
            params: list[Any] = [
                tuple(v if (v := row[i]) is None or p is None else p(v) for i, p in steps) for row in rows
            ]
        else:
            params = [
                {
                    n: v if (v := row[i]) is None or p is None else p(v)
                    for n, (i, p) in zip(self.names, steps, strict=True)
                }
                for row in rows
            ]
        conn.exec_driver_sql(self.sql, params)
