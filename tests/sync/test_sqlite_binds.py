"""Values handed to sqlite3 in the form it binds without adapting them (gcx.sync.sqlite_binds) store
exactly what the values as they were stored: the same bytes, the same NULLs, the same SQLite types,
in batches of all-None, mixed and no-None columns; the ledger's rows on SQLite and PostgreSQL, the
scratch database's seen keys and snapshot."""

from __future__ import annotations

from pathlib import Path
from typing import Any

from sqlalchemy import Table, delete, insert

from gcx.sync.ledger import _OP_COLUMNS, _RECORD_COLUMNS, Ledger
from gcx.sync.ledger_bulk import RowInserter
from gcx.sync.snapshot import Snapshot
from gcx.sync.spill import SeenKeys, Spill
from gcx.sync.sqlite_binds import all_null, blobs

UUID = "0f8fad5b-d9cb-469f-a165-70867728950e"
T0 = "2026-11-30T22:00:00+00:00"


def test_blobs_and_all_null() -> None:
    assert blobs([b"a", b""]) == [bytearray(b"a"), bytearray()]
    assert all(type(v) is bytearray for v in blobs([b"a", b"\x00"]))
    assert blobs([None, b"\x01", None]) == [None, bytearray(b"\x01"), None]
    assert all_null([None]) and all_null((None, None))
    assert not all_null([None, 0]) and not all_null(["", None]) and not all_null([False])


def _stored(ledger: Ledger, table: Table, columns: tuple[str, ...], order: str) -> list[tuple[Any, ...]]:
    """Every row's stored values (bytes as bytes) and, on SQLite, each value's storage class."""
    typed = ledger.engine.dialect.name == "sqlite"
    listed = ", ".join([*columns, *(f"typeof({c})" for c in columns if typed)])
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(f"SELECT {listed} FROM {table.name} ORDER BY {order}").all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def _same_as_sqlalchemy(
    ledger: Ledger, table: Table, columns: tuple[str, ...], batches: list[list[tuple[Any, ...]]], order: str
) -> list[tuple[Any, ...]]:
    """Write ``batches`` with SQLAlchemy's own insert(t), then with RowInserter: the same rows."""
    with ledger.engine.begin() as conn:
        for rows in batches:
            conn.execute(insert(table), [dict(zip(columns, r, strict=True)) for r in rows])
    expected = _stored(ledger, table, columns, order)
    with ledger.engine.begin() as conn:
        conn.execute(delete(table))
    inserter = RowInserter(table, columns, ledger.engine.dialect)
    for rows in batches:
        with ledger.engine.begin() as conn:
            inserter.run(conn, rows)
    got = _stored(ledger, table, columns, order)
    assert got == expected
    return got


def _op(i: int, gid: str | None, line: int | None, kind: str = "contact") -> tuple[Any, ...]:
    return (i, 1, kind, f"k{i}", "create" if gid is None else "update", "started", 1, gid, line, T0)


def test_ops_of_all_null_mixed_and_full_columns_store_the_same(ledger: Ledger) -> None:
    batches = [
        [_op(1, None, 2), _op(2, None, 3, "organization")],  # creates: no Genesys id at all
        [_op(3, UUID, None), _op(4, "not-a-uuid", None)],  # no lines
        [_op(5, None, 7), _op(6, UUID, None), _op(7, "x" * 15, 9)],  # mixed
        [_op(8, None, None)],
    ]
    got = _same_as_sqlalchemy(ledger, ledger.t_ops, _OP_COLUMNS, batches, "id")
    gid = _OP_COLUMNS.index("genesys_id")
    assert [r[gid] for r in got] == [
        None,
        None,
        bytes.fromhex(UUID.replace("-", "")),
        b"\x00not-a-uuid",
        None,
        bytes.fromhex(UUID.replace("-", "")),
        b"\x00" + b"x" * 15 + b"\x00",  # padded: 16 bytes would read as a digest
        None,
    ]
    if ledger.engine.dialect.name == "sqlite":
        width = len(_OP_COLUMNS)
        types = {_OP_COLUMNS[i]: {r[width + i] for r in got} for i in range(width)}
        assert types["genesys_id"] == {"null", "blob"} and types["line"] == {"null", "integer"}
        assert types["id"] == {"integer"} and types["kind"] == {"text"}
    assert [(o.id, o.genesys_id) for o in ledger.ops(run_id=1)] == [
        (1, None),
        (2, None),
        (3, UUID),
        (4, "not-a-uuid"),
        (5, None),
        (6, UUID),
        (7, "x" * 15),
        (8, None),
    ]


def _record(key: str, org_key: str | None, created: bool, kind: str = "contact") -> tuple[Any, ...]:
    return (kind, key, UUID, "a" * 32, '{"firstName":"Zoë"}', org_key, created, T0)


def test_records_of_all_null_and_mixed_columns_store_the_same(ledger: Ledger) -> None:
    batches = [
        [_record("k1", None, True, "organization"), _record("k2", None, False, "organization")],
        [_record("k3", "o1", True), _record("k4", None, False), _record("k5", "", True)],
        [_record("k6", "o2", False)],
    ]
    got = _same_as_sqlalchemy(ledger, ledger.t_records, _RECORD_COLUMNS, batches, "external_id")
    at = _RECORD_COLUMNS.index
    assert [(r[at("org_key")], r[at("created_by_gcx")]) for r in got] == [
        (None, True),
        (None, False),
        ("o1", True),
        (None, False),
        ("", True),
        ("o2", False),
    ]  # SQLite: 1 and 0
    if ledger.engine.dialect.name == "sqlite":
        width = len(_RECORD_COLUMNS)
        assert {r[width + at("created_by_gcx")] for r in got} == {"integer"}
        assert {r[at("created_by_gcx")] for r in got} == {0, 1}
        for column in ("genesys_id", "hash", "applied"):
            assert {r[width + at(column)] for r in got} == {"blob"}
    entries = ledger.records_for("contact", ["k3", "k4", "k5", "k6"])
    assert {k: (e.org_key, e.created_by_gcx, e.genesys_id) for k, e in entries.items()} == {
        "k3": ("o1", True, UUID),
        "k4": (None, False, UUID),
        "k5": ("", True, UUID),
        "k6": ("o2", False, UUID),
    }


def test_replacing_with_a_batch_of_null_columns_clears_them(ledger: Ledger) -> None:
    """A held row replaced in a batch whose organization keys are all None loses its own."""
    t = ledger.t_records
    replacing = RowInserter(t, _RECORD_COLUMNS, ledger.engine.dialect, replace=("kind", "external_id"))
    with ledger.engine.begin() as conn:
        replacing.run(conn, [_record("k1", "o1", True), _record("k2", "o2", True)])
    with ledger.engine.begin() as conn:
        replacing.run(conn, [_record("k1", None, False)])
    entries = ledger.records_for("contact", ["k1", "k2"])
    assert {k: (e.org_key, e.created_by_gcx) for k, e in entries.items()} == {
        "k1": (None, False),
        "k2": ("o2", True),
    }


def test_batch_rows_store_the_same(ledger: Ledger) -> None:
    batches_table = ledger.t_batches
    assert batches_table is not None
    batches: list[list[tuple[Any, ...]]] = [
        [(1, 2, "b-1", '1\t{"applied":{"firstName":"Zoë"}}\n2\tnull')],
        [(3, 3, None, "3\t{}")],
    ]
    got = _same_as_sqlalchemy(
        ledger, batches_table, ("first_id", "last_id", "batch_id", "ops"), batches, "first_id"
    )
    assert [r[2] for r in got] == ["b-1", None]
    if ledger.engine.dialect.name == "sqlite":
        assert [r[4:] for r in got] == [
            ("integer", "integer", "text", "text"),
            ("integer", "integer", "null", "text"),
        ]


_OLD_SEEN = "INSERT INTO seen (kind, key, line, hash, org_key, manages, claim) VALUES (?, ?, ?, ?, ?, ?, 0)"
_ALL_SEEN = "SELECT kind, key, line, hash, org_key, manages, typeof(line), typeof(hash), typeof(org_key), "
_ALL_SEEN += "typeof(manages) FROM seen ORDER BY kind, key"


def test_seen_keys_store_what_binding_every_value_stored(tmp_path: Path) -> None:
    batches: list[tuple[str, list[tuple[str, int | None, str | None, str | None, bool]]]] = [
        ("contact", [("c-1", 4, None, "org-1", True), ("c-2", 5, None, None, False)]),
        ("contact", [("c-3", None, None, None, False)]),
        ("organization", [("o-1", 2, "h1", None, False), ("o-2", None, "h2", None, False)]),
        ("contact", [("c-4", 9, "h", "org-2", True), ("c-5", None, None, "org-2", True)]),
    ]
    old, new = Spill(tmp_path), Spill(tmp_path)
    try:
        for kind, rows in batches:
            old.many(_OLD_SEEN, [(kind, *row) for row in rows])
            assert SeenKeys(new).claim(kind, rows) == {}
        assert SeenKeys(new).claim("contact", []) == {}
        assert new.query(_ALL_SEEN) == old.query(_ALL_SEEN)
        seen = SeenKeys(new)
        assert seen.first("organization", ["o-1", "o-2"])["o-2"].hash == "h2"
        assert seen.first("contact", ["c-3"])["c-3"].line is None
        assert seen.managed(["c-1", "c-2", "c-4", "c-5"]) == {"c-1", "c-4", "c-5"}
        assert seen.members("org-2") == ["c-5", "c-4"]  # no line first, as before
    finally:
        old.close()
        new.close()


def test_snapshot_bodies_are_blobs_read_back_as_before(tmp_path: Path) -> None:
    spill = Spill(tmp_path)
    try:
        idx = Snapshot(spill, "contact")
        body = {"id": "a", "firstName": "Zoë", "externalIds": [{"externalSource": {"id": "s"}, "value": "k"}]}
        idx.add_page([body], "s")
        assert spill.query("SELECT typeof(body) FROM remote") == [("blob",)]
        assert idx.get("k") == body and idx.by_id("a") == body
    finally:
        spill.close()
