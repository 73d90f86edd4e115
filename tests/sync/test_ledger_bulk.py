"""RowInserter stores exactly the bytes SQLAlchemy's own insert(t) stores (same column types)."""

from __future__ import annotations

from sqlalchemy import delete, insert, select

from gcx.sync.ledger import Ledger
from gcx.sync.ledger_bulk import RowInserter

COLUMNS = ("kind", "external_id", "genesys_id", "hash", "applied", "org_key", "created_by_gcx", "updated_at")


def _raw(ledger: Ledger) -> list[tuple[object, ...]]:
    t = ledger.t_records
    with ledger.engine.connect() as conn:
        rows = conn.exec_driver_sql(
            f"SELECT external_id, kind, genesys_id, hash, applied, org_key, created_by_gcx, updated_at "
            f"FROM {t.name} ORDER BY external_id"
        ).all()
    return [tuple(bytes(v) if isinstance(v, memoryview) else v for v in row) for row in rows]


def test_rows_match_sqlalchemy_insert(ledger: Ledger) -> None:
    t = ledger.t_records
    rows = [
        (
            "contact",
            "k1",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "a" * 32,
            '{"firstName":"Zoë"}',
            "o1",
            True,
            "2026-11-30T22:00:00+00:00",
        ),
        (
            "organization",
            "k2",
            "not-a-uuid",
            "conflict:x",
            '{"name":"Acme"}',
            None,
            False,
            "2026-11-30T22:00:01+00:00",
        ),
    ]
    with ledger.engine.begin() as conn:
        conn.execute(insert(t), [dict(zip(COLUMNS, r, strict=True)) for r in rows])
    expected = _raw(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(delete(t))
        RowInserter(t, COLUMNS, ledger.engine.dialect).run(conn, rows)
    assert _raw(ledger) == expected
    with ledger.engine.connect() as conn:
        back = conn.execute(
            select(t.c.external_id, t.c.applied, t.c.genesys_id).order_by(t.c.external_id)
        ).all()
    assert [tuple(r) for r in back] == [
        ("k1", '{"firstName":"Zoë"}', "0f8fad5b-d9cb-469f-a165-70867728950e"),
        ("k2", '{"name":"Acme"}', "not-a-uuid"),
    ]
