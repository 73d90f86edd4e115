"""Many rows into (or out of) one ledger table with little Python work per row.

SQLAlchemy's ``conn.execute(insert(t), [dict, ...])`` builds, for each row, a parameter dict
through the compiled statement and its bind processing: at a first sync's 3 rows per record
(its op, its op's pending values, its record) that was a tenth of gcx's CPU. :class:`RowInserter`
compiles the INSERT once for the dialect and converts each value with its column type's own
conversion, taken once (:func:`gcx.sync.ledger_codec.packer`: the very conversions of the
``TypeDecorator`` types, so the same stored bytes; the dialect's bind processor for other types),
and hands the driver's ``executemany`` plain tuples (or dicts for a named paramstyle) in the
caller's connection and transaction (to SQLite in the form it binds without adapting a value:
:mod:`gcx.sync.sqlite_binds`). Given the columns of a key (``replace``), a row whose key
is already held replaces it (``INSERT ... ON CONFLICT DO UPDATE``, the same SQL for SQLite and
PostgreSQL): no ``DELETE`` of the keys first.

:func:`among` selects rows by a list of ids as the few ranges they make (a batch's ops have
ascending ids, most often one range): SQLAlchemy renders and binds an ``IN`` list value by value,
which for a batch's few hundred ids cost more than the database's work.
"""

from __future__ import annotations

import importlib
from collections.abc import Callable, Iterable, Iterator, Sequence
from dataclasses import dataclass
from typing import Any

from sqlalchemy import ColumnElement, LargeBinary, Table, bindparam, func, insert, null, or_, select
from sqlalchemy.engine import Connection, Dialect
from sqlalchemy.types import TypeDecorator

from gcx.sync.ledger_codec import column_packer, packer
from gcx.sync.sqlite_binds import all_null, blobs


class RowInserter:
    """An INSERT of ``columns`` into ``table`` compiled for ``dialect``; :meth:`run` writes rows
    given as tuples in the order of ``columns``.

    For SQLite the values are handed to the driver as :mod:`gcx.sync.sqlite_binds` says (binary
    values as ``bytearray``; a nullable column ``None`` in every row of a batch written ``NULL``
    in the statement, compiled once per such set of columns). The values of the ``stored``
    columns are given already converted (what their column type's conversion gives)."""

    def __init__(
        self,
        table: Table,
        columns: Sequence[str],
        dialect: Dialect,
        *,
        replace: Sequence[str] = (),
        stored: Sequence[str] = (),
    ) -> None:
        self.table = table
        self.columns = tuple(columns)
        self.dialect = dialect
        self.replace = tuple(replace)
        self.stored = frozenset(stored)
        #: the places in a row of the columns a batch may hold ``None`` in every row of (SQLite)
        self.nullable: tuple[int, ...] = (
            tuple(i for i, c in enumerate(self.columns) if table.c[c].nullable and c not in self.replace)
            if dialect.name == "sqlite"
            else ()
        )
        self._shapes: dict[tuple[int, ...], _Shape] = {}
        self._shape(())  # compiled now: columns the INSERT does not bind raise here

    def run(self, conn: Connection, rows: Sequence[tuple[Any, ...]]) -> None:
        if not rows:
            return
        # column by column: a conversion runs over a column's values in one call (a map), not
        # value by value through a Python loop over each row
        columns: list[Sequence[Any]] = list(zip(*rows, strict=True))
        shape = self._shape(tuple(i for i in self.nullable if all_null(columns[i])))
        if shape.take is not None:
            columns = [columns[i] for i in shape.take]
        for at, convert in shape.convert:
            columns[at] = convert(columns[at])
        params: list[Any] = list(zip(*columns, strict=True))
        if shape.names is not None:
            names = shape.names
            params = [dict(zip(names, values, strict=True)) for values in params]
        conn.exec_driver_sql(shape.sql, params)

    def _shape(self, nulls: tuple[int, ...]) -> _Shape:
        """The statement writing ``NULL`` to the columns at ``nulls``, binding the others."""
        found = self._shapes.get(nulls)
        if found is not None:
            return found
        table, dialect = self.table, self.dialect
        null_columns = {self.columns[i] for i in nulls}
        bound = [c for c in self.columns if c not in null_columns]
        stmt = _upsert(table, self.columns, self.replace, dialect) if self.replace else insert(table)
        if null_columns:
            stmt = stmt.values({c: null() for c in null_columns})
        compiled = stmt.compile(dialect=dialect, column_keys=bound)
        names = list(compiled.positiontup or []) if compiled.positional else bound
        if sorted(names) != sorted(bound):
            raise ValueError(f"the INSERT into {table.name} binds {names}, not the columns {bound}")
        index = {c: i for i, c in enumerate(self.columns)}
        take = [index[n] for n in names]
        found = self._shapes[nulls] = _Shape(
            sql=compiled.string,
            names=None if compiled.positional else tuple(bound),
            take=None if take == list(range(len(self.columns))) else take,
            convert=[
                (at, fn)
                for at, n in enumerate(names)
                if (fn := _column_conversion(table, n, dialect, stored=n in self.stored)) is not None
            ],
        )
        return found


@dataclass(frozen=True)
class _Shape:
    """One compiled form of a :class:`RowInserter`'s INSERT."""

    sql: str
    #: the bound columns' names, for a named paramstyle (None: positional)
    names: tuple[str, ...] | None
    #: the place in a row of each bound value, in the statement's order (None: the row as it is)
    take: list[int] | None
    #: each converted bound value's place, with its column's conversion of a list of values
    convert: list[tuple[int, Callable[[Sequence[Any]], list[Any]]]]


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
        self._compiled: dict[int, tuple[str, tuple[str, ...], tuple[str, ...] | None]] = {}

    def run(self, conn: Connection, kind: str, keys: Sequence[str]) -> dict[tuple[str, str], int]:
        """``(key, op name) -> count`` of the ops of ``kind`` held for ``keys`` (none: absent)."""
        if not keys:
            return {}
        size = 1 << (len(keys) - 1).bit_length()
        sql, names, order = self._sql(size)
        values = [kind if self.kind is None else self.kind(kind), *keys]
        if size > len(keys):
            values += [keys[-1]] * (size - len(keys))
        params: Any
        if order is None:  # a named paramstyle
            params = dict(zip(names, values, strict=True))
        elif order == names:  # positional, in the order of the values: as they are
            params = tuple(values)
        else:
            named = dict(zip(names, values, strict=True))
            params = tuple(named[n] for n in order)
        op_name, dialect = self.op_name, self.dialect
        return {
            (str(e), str(o if op_name is None else op_name(o, dialect))): int(n)
            for e, o, n in conn.exec_driver_sql(sql, params)
        }

    def _sql(self, size: int) -> tuple[str, tuple[str, ...], tuple[str, ...] | None]:
        """The query for ``size`` keys, its parameters' names (``kind``, then ``k0``...) and,
        for a positional paramstyle, the order the statement binds them in."""
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
            order = tuple(compiled.positiontup or ()) if compiled.positional else None
            names = ("kind", *(f"k{i}" for i in range(size)))
            found = self._compiled[size] = (compiled.string, names, order)
        return found


def _conversion(table: Table, column: str, dialect: Dialect) -> Callable[[Any], Any] | None:
    column_type = table.c[column].type
    return packer(column_type) or column_type.dialect_impl(dialect).bind_processor(dialect)


def _column_conversion(
    table: Table, column: str, dialect: Dialect, *, stored: bool = False
) -> Callable[[Sequence[Any]], list[Any]] | None:
    """:func:`_conversion` of a column's values at once (``None`` stays ``None``; none when the
    values are ``stored``: converted already); for SQLite, a binary column's values then as
    ``bytearray`` (:func:`gcx.sync.sqlite_binds.blobs`)."""
    many = None if stored else _values_conversion(table, column, dialect)
    if dialect.name != "sqlite" or not _binary(table.c[column].type):
        return many
    if many is None:
        return blobs
    convert = many
    return lambda values: blobs(convert(values))


def _binary(column_type: Any) -> bool:
    """Whether the column stores bytes (itself or under a ``TypeDecorator``)."""
    impl = column_type.impl_instance if isinstance(column_type, TypeDecorator) else column_type
    return isinstance(impl, LargeBinary)


def _values_conversion(
    table: Table, column: str, dialect: Dialect
) -> Callable[[Sequence[Any]], list[Any]] | None:
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


def chunks(items: list[Any], size: int) -> Iterator[list[Any]]:
    """``items`` in consecutive lists of ``size`` (the last one shorter): one statement each."""
    for i in range(0, len(items), size):
        yield items[i : i + size]
