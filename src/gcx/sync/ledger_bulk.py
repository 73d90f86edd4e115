"""Many rows into (or out of) one ledger table with little Python work per row.

SQLAlchemy's ``conn.execute(insert(t), [dict, ...])`` builds, for each row, a parameter dict
through the compiled statement and its bind processing: at a first sync's 3 rows per record
(its op, its op's pending values, its record) that was a tenth of gcx's CPU. :class:`RowInserter`
compiles the INSERT once for the dialect and converts each value with its column type's own
conversion, taken once (:func:`gcx.sync.ledger_codec.packer`: the very conversions of the
``TypeDecorator`` types, so the same stored bytes; the dialect's bind processor for other types),
and hands the driver's ``executemany`` plain tuples (or dicts for a named paramstyle) in the
caller's connection and transaction. Given the columns of a key (``replace``), a row whose key
is already held replaces it (``INSERT ... ON CONFLICT DO UPDATE``, the same SQL for SQLite and
PostgreSQL): no ``DELETE`` of the keys first.

:func:`among` selects rows by a list of ids as the few ranges they make (a batch's ops have
ascending ids, most often one range): SQLAlchemy renders and binds an ``IN`` list value by value,
which for a batch's few hundred ids cost more than the database's work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Sequence
from typing import Any

from sqlalchemy import ColumnElement, Table, bindparam, func, insert, or_, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

from gcx.sync.ledger_codec import column_packer, packer


class RowInserter:
    """An INSERT of ``columns`` into ``table`` compiled for ``dialect``; :meth:`run` writes rows
    given as tuples in the order of ``columns``."""

    def __init__(
        self, table: Table, columns: Sequence[str], dialect: Dialect, *, replace: Sequence[str] = ()
    ) -> None:
        stmt = _upsert(table, columns, replace, dialect) if replace else insert(table)
        compiled = stmt.compile(dialect=dialect, column_keys=list(columns))
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
        #: each converted bound value's place, with its column's conversion of a list of values
        self.convert: list[tuple[int, Callable[[Sequence[Any]], list[Any]]]] = [
            (at, fn)
            for at, n in enumerate(names)
            if (fn := _column_conversion(table, n, dialect)) is not None
        ]

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        # column by column: a conversion runs over a column's values in one call (a map), not
        # value by value through a Python loop over each row
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        if self.order is not None:
            columns = [columns[i] for i in self.order]
        for at, convert in self.convert:
            columns[at] = convert(columns[at])
        params: list[Any] = list(zip(*columns, strict=True))
        if self.names is not None:
            names = self.names
            params = [dict(zip(names, values, strict=True)) for values in params]
        conn.exec_driver_sql(self.sql, params)


class OpCounts:
    """How many ops each of some keys of one kind already has, by op name: ``SELECT external_id,
    op, count(*) FROM ops WHERE kind = ? AND external_id IN (?, ...) GROUP BY external_id, op``,
    compiled once per size of key list (a power of two: the last key repeats, which selects the
    same rows) and run through the driver. SQLAlchemy binds an ``IN`` list value by value: for a
    batch's few hundred keys that cost three times the database's own work."""

    def __init__(self, ops: Table, dialect: Dialect) -> None:
        self.ops = ops
        self.dialect = dialect
        self.kind = _conversion(ops, "kind", dialect)
        op_type = ops.c.op.type
        self.op_name = op_type.process_result_value if isinstance(op_type, TypeDecorator) else None
        self._compiled: dict[int, tuple[str, list[str] | None]] = {}

    def run(self, conn: Connection, kind: str, keys: Sequence[str]) -> dict[tuple[str, str], int]:
        """``(key, op name) -> count`` of the ops of ``kind`` held for ``keys`` (none: absent)."""
        if not keys:
            return {}
        size = 1 << (len(keys) - 1).bit_length()
        sql, order = self._sql(size)
        named = {"kind": kind if self.kind is None else self.kind(kind)}
        named.update((f"k{i}", keys[min(i, len(keys) - 1)]) for i in range(size))
        params: Any = named if order is None else tuple(named[n] for n in order)
        op_name, dialect = self.op_name, self.dialect
        return {
            (str(e), str(o if op_name is None else op_name(o, dialect))): int(n)
            for e, o, n in conn.exec_driver_sql(sql, params)
        }

    def _sql(self, size: int) -> tuple[str, list[str] | None]:
        found = self._compiled.get(size)
        if found is None:
            t = self.ops
            stmt = (
                select(t.c.external_id, t.c.op, func.count())
                .where(t.c.kind == bindparam("kind"))
                .where(t.c.external_id.in_([bindparam(f"k{i}") for i in range(size)]))
                .group_by(t.c.external_id, t.c.op)
            )
            compiled = stmt.compile(dialect=self.dialect)
            order = list(compiled.positiontup or []) if compiled.positional else None
            found = self._compiled[size] = (compiled.string, order)
        return found


def _conversion(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    column_type = table.c[column].type
    return packer(column_type) or column_type.dialect_impl(dialect).bind_processor(dialect)


def _column_conversion(
    table: Table, column: str, dialect: Dialect
) -> Callable[[Sequence[Any]], list[Any]] | None:
    """:func:`_conversion` of a column's values at once (``None`` stays ``None``)."""
    many = column_packer(table.c[column].type)
    if many is not None:
        return many
    fn = _conversion(table, column, dialect)
    if fn is None:
        return None

    def convert(values: Sequence[Any]) -> list[Any]:
        if None not in values:
            return list(map(fn, values))
        return [None if v is None else fn(v) for v in values]

    return convert


#: The dialects whose ``insert`` has ``on_conflict_do_update``, by module: only the one in use is
#: imported (SQLAlchemy's PostgreSQL dialect alone costs a SQLite run ~100M instructions at start-up).
_UPSERTS: dict[str, str] = {
    "sqlite": "sqlalchemy.dialects.sqlite",
    "postgresql": "sqlalchemy.dialects.postgresql",
}


def _upsert(table: Table, columns: Sequence[str], key: Sequence[str], dialect: Dialect) -> Any:
    module = _UPSERTS.get(dialect.name)
    if module is None:
        raise ValueError(f"the ledger writes to SQLite or PostgreSQL, not {dialect.name}")
    stmt = importlib.import_module(module).insert(table)
    return stmt.on_conflict_do_update(
        index_elements=[table.c[k] for k in key],
        set_={c: stmt.excluded[c] for c in columns if c not in key},
    )


def id_ranges(ids: Iterable[int]) -> list[tuple[int, int]]:
    """The ids as ascending ranges ``(first, last)``, each as long as the ids run on."""
    out: list[tuple[int, int]] = []
    for i in sorted(set(ids)):
        if out and out[-1][1] == i - 1:
            out[-1] = (out[-1][0], i)
        else:
            out.append((i, i))
    return out


def among(column: Any, ids: Iterable[int]) -> ColumnElement[bool]:
    """``column`` is one of ``ids`` (at least one), as ``BETWEEN`` ranges."""
    ranges = id_ranges(ids)
    if not ranges:
        raise ValueError("no ids to select")
    return or_(*(column == lo if lo == hi else column.between(lo, hi) for lo, hi in ranges))
