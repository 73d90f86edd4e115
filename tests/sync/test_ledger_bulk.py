"""RowInserter stores exactly the bytes SQLAlchemy's own insert(t) stores (same column types), also
replacing rows of a key; ids as ranges select exactly those ids."""

from __future__ import annotations

from sqlalchemy import and_, delete, func, insert, select

from gcx.sync.ledger import Ledger
from gcx.sync.ledger_bulk import OpCounts, RowInserter, among, id_ranges

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


def test_replacing_rows_match_delete_then_insert(ledger: Ledger) -> None:
    """RowInserter(replace=key) leaves what deleting the held keys and inserting would."""
    t = ledger.t_records
    first = [
        (
            "contact",
            "k1",
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "a" * 32,
            '{"n":1}',
            "o1",
            True,
            "2026-11-30T22:00:00+00:00",
        ),
        ("contact", "k2", "g-2", "b" * 32, '{"n":2}', None, False, "2026-11-30T22:00:00+00:00"),
    ]
    second = [
        ("contact", "k2", "g-2b", "c" * 32, '{"n":22}', "o2", True, "2026-11-30T22:00:05+00:00"),
        ("organization", "k2", "g-3", "d" * 32, '{"name":"O"}', None, True, "2026-11-30T22:00:05+00:00"),
    ]
    with ledger.engine.begin() as conn:
        conn.execute(insert(t), [dict(zip(COLUMNS, r, strict=True)) for r in [first[0], *second]])
    expected = _raw(ledger)
    with ledger.engine.begin() as conn:
        conn.execute(delete(t))
    replacing = RowInserter(t, COLUMNS, ledger.engine.dialect, replace=("kind", "external_id"))
    for rows in (first, second):
        with ledger.engine.begin() as conn:
            replacing.run(conn, rows)
    assert sorted(_raw(ledger)) == sorted(expected)


def test_id_ranges_and_among(ledger: Ledger) -> None:
    assert id_ranges([9, 1, 2, 3, 5, 8, 8]) == [(1, 3), (5, 5), (8, 9)]
    assert id_ranges([]) == []
    t = ledger.t_runs
    with ledger.engine.begin() as conn:
        conn.execute(
            insert(t), [{"id": i, "command": "x", "started_at": "t", "status": "s"} for i in range(1, 13)]
        )
    for wanted in ([4], [1, 2, 3, 7, 9, 10, 12], list(range(1, 13))):
        with ledger.engine.connect() as conn:
            got = conn.execute(select(t.c.id).where(among(t.c.id, wanted)).order_by(t.c.id)).scalars().all()
        assert got == wanted


def test_op_counts_match_sqlalchemy_group_by(ledger: Ledger) -> None:
    """OpCounts (its IN list padded to a power of two, run through the driver) counts what
    SQLAlchemy's own select counts, for lists of any size and keys of any text."""
    t = ledger.t_ops
    keys = [f"k{i}" for i in range(300)] + ["Zoë", "漢字🙂", "a'b", ""]
    ops = ["create", "update", "move", "delete"]
    rows = [
        {
            "run_id": 1,
            "kind": "contact" if i % 5 else "organization",
            "external_id": keys[(i * 7) % 150 if i % 3 else (i * 7) % len(keys)],
            "op": ops[i % 4],
            "state": "done",
            "attempt": 1,
            "payload": "null",
            "updated_at": "2026-01-01T00:00:00+00:00",
        }
        for i in range(700)
    ]
    with ledger.engine.begin() as conn:
        conn.execute(insert(t), rows)
    counts = OpCounts(t, ledger.engine.dialect)
    wanted_keys = [*keys, "absent", "Zoe"]
    for kind in ("contact", "organization"):
        for size in (1, 2, 3, 64, 65, 200, 306):
            chunk = sorted(wanted_keys[:size]) if size % 2 else wanted_keys[-size:]
            with ledger.engine.connect() as conn:
                got = counts.run(conn, kind, chunk)
                want = {
                    (str(e), str(o)): int(n)
                    for e, o, n in conn.execute(
                        select(t.c.external_id, t.c.op, func.count())
                        .where(and_(t.c.kind == kind, t.c.external_id.in_(chunk)))
                        .group_by(t.c.external_id, t.c.op)
                    )
                }
            assert got == want
    assert any(n > 1 for n in got.values())
    with ledger.engine.connect() as conn:
        assert counts.run(conn, "contact", []) == {}
