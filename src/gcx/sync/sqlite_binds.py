"""Values handed to Python's ``sqlite3`` in the form it binds without "adapting" them.

CPython's ``sqlite3`` (3.11) passes every bound value that is not exactly an ``int``, ``float``,
``str`` or ``bytearray`` through its adaptation protocol: a miss in the adapter registry, then
``__adapt__`` looked up on its ``PrepareProtocol`` type (an ``AttributeError`` formatted, raised
and cleared) and ``__conform__`` on the value. ``bytes``, ``None`` and ``bool`` go through it all,
about a microsecond a value, to be bound as a BLOB, a NULL and an integer regardless. An unpaced
first sync binds several such values per contact (the ledger's ops, pending values and records,
the scratch database's seen keys): ~25k of its ~680k instructions per contact. So the rows gcx
writes many at a time to SQLite (:class:`gcx.sync.ledger_bulk.RowInserter`,
:class:`gcx.sync.spill.SeenKeys`, :class:`gcx.sync.snapshot.Snapshot`) hand the driver

* ``bytearray`` for ``bytes`` (:func:`blobs`): stored as the same BLOB, read back as ``bytes``;
* ``int`` for ``bool``: stored as the same ``0``/``1`` (SQLAlchemy's ``Boolean`` already does so);
* no value for a column that is ``None`` in every row of a batch (:func:`all_null`): the
  statement writes ``NULL`` there (or leaves the column out, where that is its default), one
  statement per such shape, compiled once. A ``None`` among other values is still bound.

Nothing is registered with ``sqlite3`` (``register_adapter`` would change the module for every
other user of it in the process), and PostgreSQL's driver gets its values as before.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any


def blobs(values: Sequence[bytes | None]) -> list[bytearray | None]:
    """``values`` as ``bytearray`` (``None`` stays ``None``), converted in C when none is ``None``."""
    if None in values:
        return [None if v is None else bytearray(v) for v in values]
    return list(map(bytearray, values))  # type: ignore[arg-type]  # no None: checked above


def all_null(values: Sequence[Any]) -> bool:
    """Whether each of ``values`` (at least one) is ``None``: most columns answer by their first
    value; a column of ``None`` is counted in C."""
    return values[0] is None and values.count(None) == len(values)
