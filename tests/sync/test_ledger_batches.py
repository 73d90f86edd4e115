"""Schema 4: open ops' values kept one row per batch (``batches``), and the migration of a ledger
of schema 3 (one ``pending`` row per open op) left mid-run with ops still open, SQLite and
PostgreSQL."""

from __future__ import annotations

import json
import uuid
from pathlib import Path
from typing import Any

import pytest
from hypothesis import given
from hypothesis import strategies as st
from sqlalchemy import insert, inspect, select, update

from gcx import jsonfast
from gcx.emulator import Emulator, EmulatorSettings
from gcx.sync.ledger import Ledger
from gcx.sync.ledger_migrate import batch_lines
from gcx.sync.ledger_tables import ledger_tables, pending_v3
from gcx.sync.rows import Binding, LedgerEntry, NewOp, OpState, Outcome

from .conftest import PG_URL, _pg_available
from .helpers import dataset, state, sync


def _entry(key: str, gid: str, **applied: str) -> LedgerEntry:
    return LedgerEntry("contact", key, gid, "a" * 32, applied, None, True)


def _values(name: str) -> dict[str, object]:
    return {"applied": {"firstName": name}, "hash": "b" * 32, "org_key": "o-1"}


def _batch_rows(led: Ledger) -> list[tuple[int, int, str | None]]:
    assert led.t_batches is not None
    b = led.t_batches
    with led.engine.connect() as conn:
        return [
            tuple(r)
            for r in conn.execute(select(b.c.first_id, b.c.last_id, b.c.batch_id).order_by(b.c.first_id))
        ]


_json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(), inner, max_size=3),
    max_leaves=8,
)


@given(st.lists(st.dictionaries(st.text(), _json_values, max_size=4), min_size=1, max_size=5))
def test_a_batch_row_gives_back_each_ops_values_as_written(payloads: list[dict[str, object]]) -> None:
    texts = [jsonfast.dumps_sorted(p) for p in payloads]
    ids = list(range(7, 7 + len(texts)))
    lines = batch_lines(ids, texts)
    got = {}
    for line in lines.split("\n"):
        op_id, _, text = line.partition("\t")
        got[int(op_id)] = text
    assert got == dict(zip(ids, texts, strict=True))
    assert [json.loads(got[i]) for i in ids] == payloads


def test_a_batch_is_one_row_kept_until_its_last_op_closes(ledger: Ledger) -> None:
    run = ledger.start_run("apply", "test")
    ids = ledger.start_batch(
        run, "b1", [NewOp("contact", f"c-{i}", "create", _values(f"N{i}"), line=i) for i in range(4)]
    )
    assert _batch_rows(ledger) == [(ids[0], ids[-1], "b1")]
    ledger.mark_unknown(ids[2:])  # no answer for two of them
    ledger.finish_batch(
        [Outcome(ids[0], True, str(uuid.uuid4())), Outcome(ids[1], False, error={"reason": "bad"})],
        records=[_entry("c-0", str(uuid.uuid4()), firstName="N0")],
    )
    assert _batch_rows(ledger) == [(ids[0], ids[-1], "b1")]  # two ops still open
    open_ops = ledger.open_ops()
    assert [(o.id, o.state, o.payload, o.batch_id) for o in open_ops] == [
        (ids[2], OpState.UNKNOWN, _values("N2"), "b1"),
        (ids[3], OpState.UNKNOWN, _values("N3"), "b1"),
    ]
    # a done or failed op of the batch does not take the values of the batch's row
    by_id = {o.id: o for o in ledger.ops(run)}
    assert (by_id[ids[0]].payload, by_id[ids[0]].batch_id) == ({}, None)
    assert (by_id[ids[1]].payload, by_id[ids[1]].error) == ({}, {"reason": "bad"})
    # a second batch while the first is open; then the first's last ops close
    more = ledger.start_batch(run, "b2", [NewOp("contact", "c-9", "create", _values("N9"))])
    assert [o.id for o in ledger.open_ops()] == [ids[2], ids[3], more[0]]
    ledger.finish_batch([Outcome(ids[2], True, str(uuid.uuid4()))], records=[], reconcile=True)
    assert _batch_rows(ledger) == [(ids[0], ids[-1], "b1"), (more[0], more[0], "b2")]
    ledger.transition([ids[3], more[0]], "reconcile_absent")  # two batches at once
    assert _batch_rows(ledger) == []
    assert ledger.open_ops() == []


# ------------------------------------------------------------------ migration from schema 3


def _as_schema_3(led: Ledger) -> None:
    """Turn a ledger of this schema into what schema 3 left: each open op's values in a
    ``pending`` row of its own (packed as schema 3 packed them), no ``batches`` table."""
    assert led.t_batches is not None
    pending = pending_v3(led.prefix)
    with led.engine.begin() as conn:
        pending.create(conn)
        rows = [(o.id, o.batch_id, jsonfast.dumps_sorted(o.payload)) for o in led.open_ops()]
        if rows:
            conn.execute(insert(pending), [{"op_id": i, "batch_id": b, "payload": p} for i, b, p in rows])
        led.t_batches.drop(conn)
        conn.execute(update(led.t_binding).values(schema_version=3))


def _schema_3_mid_run(url: str, prefix: str) -> tuple[list[int], str]:
    """A ledger of schema 3 left by a run killed with a batch sent: c-0 done before, then a
    batch of three (c-1 answered, c-2 and c-3 still ``started``) and one op ``unknown``."""
    gid = str(uuid.uuid4())
    with Ledger(url, prefix=prefix) as led:
        led.bind(Binding("org", "Org", "mypurecloud.com", "src", "gcx"))
        run = led.start_run("apply", "test")
        (first,) = led.start_batch(run, "b0", [NewOp("contact", "c-0", "create", _values("A"))])
        led.finish_batch([Outcome(first, True, gid)], records=[_entry("c-0", gid, firstName="A")])
        ids = led.start_batch(
            run,
            "b1",
            [
                NewOp("contact", "c-1", "create", _values("B")),
                NewOp("contact", "c-2", "create", _values("C\tc\nc")),
                NewOp("contact", "c-0", "update", _values("A2"), genesys_id=gid),
            ],
        )
        led.finish_batch(
            [Outcome(ids[0], True, str(uuid.uuid4()))], records=[_entry("c-1", "g", firstName="B")]
        )
        lost = led.start_batch(run, "b2", [NewOp("contact", "c-3", "create", _values("D"))])
        led.mark_unknown(lost)
        _as_schema_3(led)
    return [ids[1], ids[2], lost[0]], gid


@pytest.fixture(params=["sqlite", "postgres"])
def v3_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        yield f"sqlite:///{tmp_path / 'v3.sqlite'}", "gcx_"
        return
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    try:
        yield PG_URL, prefix
    finally:
        with Ledger(PG_URL, prefix=prefix) as led:
            led.drop()
            pending = pending_v3(prefix)
            pending.drop(led.engine, checkfirst=True)


def test_a_schema_3_ledger_left_mid_run_is_read_then_migrated_and_reconciled(v3_url: tuple[str, str]) -> None:
    url, prefix = v3_url
    open_ids, gid = _schema_3_mid_run(url, prefix)
    expected = [
        (open_ids[0], "c-2", OpState.STARTED, _values("C\tc\nc"), "b1"),
        (open_ids[1], "c-0", OpState.STARTED, _values("A2"), "b1"),
        (open_ids[2], "c-3", OpState.UNKNOWN, _values("D"), "b2"),
    ]
    # read-only (sync plan, status): schema 3 read as it is, nothing written
    with Ledger(url, prefix=prefix, create=False) as led:
        assert led.t_batches is None
        assert [(o.id, o.key, o.state, o.payload, o.batch_id) for o in led.open_ops()] == expected
        assert not inspect(led.engine).has_table(f"{prefix}batches")
    with Ledger(url, prefix=prefix) as led:
        with led.engine.connect() as conn:
            assert conn.execute(select(led.t_binding.c.schema_version)).scalar() == 4
        assert not inspect(led.engine).has_table(f"{prefix}pending")
        assert [(o.id, o.key, o.state, o.payload, o.batch_id) for o in led.open_ops()] == expected
        # reconciled as before: c-2 found, the update of c-0 not applied, c-3 found
        led.finish_batch(
            [
                Outcome(open_ids[0], True, str(uuid.uuid4())),
                Outcome(open_ids[1], False, error={"reason": "not applied"}),
                Outcome(open_ids[2], True, str(uuid.uuid4())),
            ],
            records=[_entry("c-2", "g2", firstName="C\tc\nc"), _entry("c-3", "g3", firstName="D")],
            reconcile=True,
        )
        assert led.open_ops() == []
        assert _batch_rows(led) == []
        ops = {o.id: o for o in led.ops()}
        assert ops[open_ids[1]].state is OpState.FAILED and ops[open_ids[1]].payload == {}
        assert {k[1] for k in led.entries()} == {"c-0", "c-1", "c-2", "c-3"}
        assert led.entries()[("contact", "c-0")].genesys_id == gid
        # new batches go on after the migrated ops
        run = led.start_run("apply", "test")
        (new_id,) = led.start_batch(run, "b3", [NewOp("contact", "c-5", "create", _values("E"))])
        assert new_id == max(ops) + 1
        assert [o.id for o in led.open_ops()] == [new_id]
    with Ledger(url, prefix=prefix) as led:  # opened again: nothing more to migrate
        assert [o.id for o in led.open_ops()] == [new_id]


def test_a_new_ledger_has_no_pending_table(tmp_path: Path) -> None:
    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}") as led:
        names = set(inspect(led.engine).get_table_names())
    tables = ledger_tables("gcx_")
    assert tables.batches is not None and tables.pending is not None
    assert tables.batches.name in names and tables.pending.name not in names


async def test_a_schema_3_ledger_left_by_a_killed_run_reconciles_on_the_next_apply(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A run killed once its contacts' batch was sent, before the outcome was recorded, by a gcx
    of schema 3: the next apply migrates the ledger and records what Genesys shows (no duplicate)."""
    emu = Emulator(EmulatorSettings(rate_limit=0, seed=3))
    url = f"sqlite:///{tmp_path / 'l.sqlite'}"
    data = dataset(2, 30)
    finish = Ledger.finish_batch
    calls: list[int] = []

    def killed(self: Ledger, outcomes: Any, **kwargs: Any) -> None:
        calls.append(1)
        if len(calls) == 2:  # the organizations' outcome is recorded, the contacts' is not
            raise RuntimeError("killed")
        finish(self, outcomes, **kwargs)

    with Ledger(url) as led:
        monkeypatch.setattr(Ledger, "finish_batch", killed)
        with pytest.raises(RuntimeError, match="killed"):
            await sync(emu, led, data)
        monkeypatch.setattr(Ledger, "finish_batch", finish)
        assert [o.state for o in led.open_ops()] == [OpState.STARTED] * 30
        _as_schema_3(led)
    assert len(state(emu)["contacts"]) == 30
    with Ledger(url) as led:
        report = await sync(emu, led, data)
        assert report.reconciled["found"] == 30
        assert led.open_ops() == [] and _batch_rows(led) == []
        assert len(led.entries()) == 32
    assert len(state(emu)["contacts"]) == 30
    with Ledger(url) as led:
        again = await sync(emu, led, data)
    assert again.applied["contact"]["created"] == 0 and again.applied["contact"]["updated"] == 0
