"""Ledger: records, op state machine (illegal transitions refused), binding, runs (SQLite and PostgreSQL)."""

from __future__ import annotations

from pathlib import Path

import pytest

from gcx.sync.errors import BindingError, IllegalTransitionError
from gcx.sync.ledger import Ledger, ledger_url
from gcx.sync.rows import Binding, LedgerEntry, NewOp, OpState, Outcome, next_state


@pytest.mark.parametrize(
    ("state", "event", "expected"),
    [
        ("planned", "start", "started"),
        ("started", "succeed", "done"),
        ("started", "fail", "failed"),
        ("started", "lose", "unknown"),
        ("unknown", "reconcile_found", "done"),
        ("started", "reconcile_absent", "failed"),
    ],
)
def test_legal_transitions(state: str, event: str, expected: str) -> None:
    assert next_state(state, event) == OpState(expected)


@pytest.mark.parametrize(
    ("state", "event"),
    [("done", "start"), ("done", "fail"), ("failed", "succeed"), ("planned", "succeed"), ("unknown", "lose")],
)
def test_illegal_transitions_are_refused(state: str, event: str) -> None:
    with pytest.raises(IllegalTransitionError, match="not allowed"):
        next_state(state, event)
    with pytest.raises(IllegalTransitionError, match="unknown transition"):
        next_state(state, "teleport")


def _entry(key: str, gid: str, kind: str = "contact") -> LedgerEntry:
    return LedgerEntry(kind, key, gid, "h-" + key, {"firstName": key}, "o-1", True)  # type: ignore[arg-type]


def test_transitions_of_one_range_and_of_several(ledger: Ledger) -> None:
    """A batch's ids (one range) and scattered ids (several) move alike; a refusal is all or
    nothing either way, and a closing transition drops the ops' pending values."""
    run = ledger.start_run("apply", "test")
    ids = ledger.start_batch(run, "b1", [NewOp("contact", f"c-{i}", "create", {"n": i}) for i in range(6)])
    ledger.transition(ids[:2], "fail")  # one range
    ledger.transition(ids[2::2], "lose")  # several: 3rd and 5th
    with pytest.raises(IllegalTransitionError, match=r"refused for op\(s\) " + str(ids[0])):
        ledger.transition([ids[0], ids[3]], "succeed")  # several, one of them failed already
    with pytest.raises(IllegalTransitionError, match="refused"):
        ledger.transition(ids[:4], "reconcile_found")  # one range, two of them failed already
    states = {o.id: o.state for o in ledger.ops(run)}
    assert [states[i] for i in ids] == [
        OpState.FAILED,
        OpState.FAILED,
        OpState.UNKNOWN,
        OpState.STARTED,
        OpState.UNKNOWN,
        OpState.STARTED,
    ]
    assert [o.payload for o in ledger.ops(run)] == [{}, {}, {"n": 2}, {"n": 3}, {"n": 4}, {"n": 5}]
    ledger.transition(ids[2:], "reconcile_absent")  # one range, from two states
    assert {o.state for o in ledger.ops(run)} == {OpState.FAILED}
    assert [o.payload for o in ledger.ops(run)] == [{}] * 6


def test_batch_lifecycle(ledger: Ledger) -> None:
    run = ledger.start_run("apply", "test")
    ids = ledger.start_batch(
        run,
        "b1",
        [
            NewOp("contact", "c-1", "create", {"firstName": "A"}),
            NewOp("contact", "c-2", "create", {"applied": {"firstName": "B"}}),
        ],
    )
    assert [o.state for o in ledger.open_ops()] == [OpState.STARTED, OpState.STARTED]
    assert ledger.open_ops()[1].payload == {"applied": {"firstName": "B"}}  # what it means to leave
    ledger.finish_batch(
        [Outcome(ids[0], True, "g-1"), Outcome(ids[1], False, error={"reason": "bad"})],
        records=[_entry("c-1", "g-1")],
    )
    assert ledger.open_ops() == []
    assert ledger.entries()[("contact", "c-1")].genesys_id == "g-1"
    assert ledger.entries()[("contact", "c-1")].applied == {"firstName": "c-1"}
    failed = ledger.failed_ops()
    assert [(o.key, o.error) for o in failed] == [("c-2", {"reason": "bad"})]
    assert failed[0].payload == {}  # a failed op keeps its error, not the values it meant to leave
    # a done op cannot be restarted or failed: all or nothing
    with pytest.raises(IllegalTransitionError):
        ledger.transition([ids[0]], "fail")
    assert ledger.ops(run)[0].state == OpState.DONE
    # retry of c-2 counts its attempt
    again = ledger.start_batch(run, "b2", [NewOp("contact", "c-2", "create", {})])
    assert ledger.ops(run)[-1].attempt == 2
    ledger.mark_unknown(again)
    assert [o.state for o in ledger.open_ops()] == [OpState.UNKNOWN]
    ledger.finish_batch([Outcome(again[0], True, "g-2")], records=[_entry("c-2", "g-2")], reconcile=True)
    assert ledger.failed_ops() == []
    ledger.finish_run(run, "ok", {"created": 2}, None)
    assert ledger.runs()[0]["counts"] == {"created": 2}
    assert ledger.count_records() == {"contact": 2}
    ledger.forget_records([("contact", "c-1")])
    assert ledger.count_records() == {"contact": 1}


def test_binding_refuses_another_org(ledger: Ledger) -> None:
    b = Binding("org-1", "Acme", "us-east-1", "src-1", "gcx")
    ledger.bind(b)
    ledger.bind(Binding("org-1", "Acme", "us_east_1", "src-2", "gcx"))  # same org: source id refreshed
    current = ledger.binding()
    assert current is not None and current.external_source_id == "src-2"
    with pytest.raises(BindingError, match="belongs to Genesys org"):
        ledger.bind(Binding("org-2", "Other", "us-east-1", "src-1", "gcx"))
    with pytest.raises(BindingError, match="region"):
        ledger.bind(Binding("org-1", "Acme", "eu-west-1", "src-1", "gcx"))


def test_a_ledger_of_a_newer_schema_is_refused_before_anything_is_read(tmp_path: Path) -> None:
    import hashlib

    import sqlalchemy as sa

    from gcx.sync.errors import LedgerVersionError
    from gcx.sync.ledger import SCHEMA_VERSION

    path = tmp_path / "ledger.sqlite"
    url = f"sqlite:///{path}"
    with Ledger(url) as led:
        led.bind(Binding("org-1", "Acme", "us-east-1", "src-1", "gcx"))
        led.save_records([_entry("c-1", "g-1")])
    engine = sa.create_engine(url)
    with engine.begin() as conn:  # as a newer gcx would leave it
        conn.execute(sa.text("UPDATE gcx_binding SET schema_version = :v"), {"v": SCHEMA_VERSION + 1})
        conn.execute(sa.text("DROP TABLE gcx_checked"))  # opening must not create it again
    engine.dispose()
    before = hashlib.sha256(path.read_bytes()).hexdigest()
    for create in (True, False):
        with pytest.raises(LedgerVersionError) as err:
            Ledger(url, create=create)
        message = str(err.value)
        assert f"schema {SCHEMA_VERSION + 1}" in message and f"up to schema {SCHEMA_VERSION}" in message
        assert "upgrade gcx" in message and str(path) in message
    assert hashlib.sha256(path.read_bytes()).hexdigest() == before
    assert "gcx_checked" not in sa.inspect(sa.create_engine(url)).get_table_names()


def test_a_ledger_of_this_schema_or_an_older_one_opens(tmp_path: Path) -> None:
    import sqlalchemy as sa

    from gcx.sync.ledger import SCHEMA_VERSION

    url = f"sqlite:///{tmp_path / 'ledger.sqlite'}"
    with Ledger(url) as led:
        led.bind(Binding("org-1", "Acme", "us-east-1", "src-1", "gcx"))
    with Ledger(url, create=False) as led:
        assert led.binding() is not None
    with Ledger(url) as led, led.engine.connect() as conn:
        assert conn.execute(sa.text("SELECT schema_version FROM gcx_binding")).scalar() == SCHEMA_VERSION


def test_ledger_url_forms(tmp_path) -> None:  # type: ignore[no-untyped-def]
    assert ledger_url(None, tmp_path) == f"sqlite:///{tmp_path / 'gcx-ledger.sqlite'}"
    assert ledger_url("postgresql+psycopg://u@h/db") == "postgresql+psycopg://u@h/db"
    assert ledger_url(str(tmp_path / "x.db")).startswith("sqlite:////")


def test_run_lock(ledger: Ledger, tmp_path) -> None:  # type: ignore[no-untyped-def]
    import os
    import socket

    from sqlalchemy import update

    from gcx.sync.errors import LedgerLockedError

    ledger.acquire()
    other = Ledger(ledger.url, prefix=ledger.prefix)
    try:
        with pytest.raises(LedgerLockedError, match=f"pid {os.getpid()}"):
            other.acquire()  # a live process on this host holds it
        ledger.release()
        other.acquire()
        other.release()
        # a lock left by a dead process on this host is taken over at once
        with other.engine.begin() as conn:
            conn.execute(
                other.t_lock.insert().values(
                    id=1, host=socket.gethostname(), pid=2**22 + 7, token="x", heartbeat=0
                )
            )
        other.acquire()
        other.release()
        # a lock held on another host: refused while fresh, taken over when stale
        with other.engine.begin() as conn:
            conn.execute(
                other.t_lock.insert().values(id=1, host="elsewhere", pid=1, token="y", heartbeat=1000.0)
            )
        with pytest.raises(LedgerLockedError, match="elsewhere"):
            other.acquire(now=1000.0 + 30)
        other.acquire(now=1000.0 + 500)
        with other.engine.begin() as conn:
            conn.execute(update(other.t_lock).values(heartbeat=5.0))
        other.heartbeat()
        with other.engine.connect() as conn:
            assert conn.execute(other.t_lock.select()).mappings().one()["heartbeat"] > 5.0
        other.release()
    finally:
        other.close()


def test_batch_ids_name_their_ops(ledger: Ledger) -> None:
    """start_batch returns each op's id, ascending in the order given, batch after batch."""
    run = ledger.start_run("apply", "test")
    first = ledger.start_batch(run, "b1", [NewOp("contact", f"c-{i}", "create", {"n": i}) for i in range(3)])
    second = ledger.start_batch(
        run,
        "b2",
        [
            NewOp("organization", "o-1", "create", {"name": "O"}),
            NewOp("contact", "c-9", "update", {"n": 9}, genesys_id="g-9", line=7),
        ],
    )
    assert first == sorted(first) and second == sorted(second) and first[-1] < second[0]
    ops = {o.id: o for o in ledger.open_ops()}
    assert [
        (ops[i].kind, ops[i].key, ops[i].op, ops[i].payload, ops[i].batch_id) for i in first + second
    ] == [
        ("contact", "c-0", "create", {"n": 0}, "b1"),
        ("contact", "c-1", "create", {"n": 1}, "b1"),
        ("contact", "c-2", "create", {"n": 2}, "b1"),
        ("organization", "o-1", "create", {"name": "O"}, "b2"),
        ("contact", "c-9", "update", {"n": 9}, "b2"),
    ]
    assert (ops[second[1]].genesys_id, ops[second[1]].line, ops[second[1]].attempt) == ("g-9", 7, 1)


def test_sqlite_ledger_connections_get_the_large_page_cache(tmp_path: Path) -> None:
    """A 1M-record ledger's indexes outgrow SQLite's 2 MB default cache; every connection the
    ledger opens asks for SQLITE_CACHE_KIB (a negative cache_size is KiB)."""
    from sqlalchemy import text

    from gcx.sync.ledger_tables import SQLITE_CACHE_KIB

    with Ledger(f"sqlite:///{tmp_path / 'l.sqlite'}", create=True) as ledger, ledger.engine.connect() as conn:
        assert conn.execute(text("PRAGMA cache_size")).scalar() == -SQLITE_CACHE_KIB
        assert conn.execute(text("PRAGMA journal_mode")).scalar() == "wal"


def test_a_postgresql_ledger_of_a_newer_schema_is_refused(pg_ledger: Ledger) -> None:
    import sqlalchemy as sa

    from gcx.sync.errors import LedgerVersionError
    from gcx.sync.ledger import SCHEMA_VERSION

    pg_ledger.bind(Binding("org-1", "Acme", "us-east-1", "src-1", "gcx"))
    with pg_ledger.engine.begin() as conn:
        conn.execute(sa.update(pg_ledger.t_binding).values(schema_version=SCHEMA_VERSION + 1))
    for create in (True, False):
        with pytest.raises(LedgerVersionError, match=f"has schema {SCHEMA_VERSION + 1}.*upgrade gcx"):
            Ledger(pg_ledger.url, prefix=pg_ledger.prefix, create=create)
