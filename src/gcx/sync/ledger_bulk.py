"""Many rows into one ledger table with little Python work per row.

SQLAlchemy's ``conn.execute(insert(t), [dict, ...])`` builds, for each row, a parameter dict
through the compiled statement and its bind processing: at a first sync's 3 rows per record
(its op, its op's pending values, its record) that was a tenth of gcx's CPU. :class:`RowInserter`
compiles the INSERT once for the dialect and converts each value with its column type's own
conversion, taken once (:func:`gcx.sync.ledger_codec.packer`: the very conversions of the
``TypeDecorator`` types, so the same stored bytes; the dialect's bind processor for other types),
and hands the driver's ``executemany`` plain tuples (or dicts for a named paramstyle) in the
caller's connection and transaction.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from typing import Any

from sqlalchemy import Table, insert
from sqlalchemy.engine import Connection, Dialect

from gcx.sync.ledger_codec import packer


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
        self.names: tuple[str, ...] | None = None if compiled.positional else self.columns
        index = {c: i for i, c in enumerate(self.columns)}
        order = [index[n] for n in names]
        #: where each bound value comes from in a row (None: in the row's own order)
        self.order: list[int] | None = None if order == sorted(order) else order
        self.convert: list[tuple[int, Callable[[Any], Any]]] = [
            (at, fn) for at, n in enumerate(names) if (fn := _conversion(table, n, dialect)) is not None
        ]

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        order, convert = self.order, self.convert
        params: list[Any] = []
        for row in rows:
            values = list(row) if order is None else [row[i] for i in order]
            for at, fn in convert:
                if (v := values[at]) is not None:
                    values[at] = fn(v)
            params.append(tuple(values))
        if self.names is not None:
            names = self.names
            params = [dict(zip(names, values, strict=True)) for values in params]
        conn.exec_driver_sql(self.sql, params)


def _conversion(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    column_type = table.c[column].type
    return packer(column_type) or column_type.dialect_impl(dialect).bind_processor(dialect)
