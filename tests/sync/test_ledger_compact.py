"""The compact ledger (schema 3): its encodings, a done op's undo, history pruning, and the
migration of a ledger written by schema 2 (built here from schema 2's DDL), SQLite and PostgreSQL."""

from __future__ import annotations

import hashlib
import json
import threading
import uuid
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import create_engine, select

from gcx import jsonfast
from gcx.sync.fields import FIELDS, ORG_REF
from gcx.sync.ledger import Ledger
from gcx.sync.ledger_codec import KindCode, OpCode
from gcx.sync.packing import (
    PATHS,
    epoch,
    iso,
    pack_digest,
    pack_id,
    pack_json,
    pack_json_stored,
    pack_texts,
    pack_values,
    unpack_digest,
    unpack_id,
    unpack_json,
)
from gcx.sync.rows import (
    JsonObject,
    LedgerEntry,
    NewOp,
    OpState,
    Outcome,
    PackedObject,
    done_payload,
    json_text,
    undo,
    values_around,
)

from .conftest import PG_URL, _pg_available

# ------------------------------------------------------------------ encodings


def test_packed_json_reads_back_and_is_smaller() -> None:
    text = json.dumps(
        {
            "address.city": "Paris",
            "cellPhone": "+12000000000",
            "firstName": "Zoë",
            "lastName": "Thompson0",
            "organization": "org-0",
            "title": None,
            "workEmail": "zoe.thompson0@example.com",
        },
        ensure_ascii=False,
        separators=(",", ":"),
    )
    packed = pack_json(text)
    assert unpack_json(packed) == text
    assert len(packed) < len(text.encode()) * 0.7
    assert unpack_json(text) == text  # a legacy ledger's text passes through
    with pytest.raises(ValueError, match="unknown format"):
        unpack_json(b"\x07abc")


def test_every_managed_path_has_a_place_in_the_stored_formats() -> None:
    """PATHS is part of the stored format: a path gcx manages and PATHS lacks is stored in
    format 1 only (append it, never reorder); the dictionary of format 1 never changes."""
    managed = {p for kind in FIELDS.values() for p in kind} | {ORG_REF}
    assert managed <= set(PATHS) and len(PATHS) == len(set(PATHS)) <= 32
    dictionary = (
        "".join(f'"{p}":' for p in PATHS[:30])
        + '"applied":"before":"added":"hash":"org_key":null,true,false,'
    )
    assert hashlib.sha256(dictionary.encode()).hexdigest() == (
        "ac622fab8e3f5758c6a641daed3249ff9b1c0afd5ca1b96ab31116f42306b350"
    )


def test_text_values_of_known_paths_are_stored_without_compression() -> None:
    """Format 2: a record's text values, their paths as a mask, no deflate to pay for."""
    values = {
        "workEmail": "alan.thompson0@example.com",
        "address.city": "Paris",
        "cellPhone": "+12000000000",
        "firstName": "Zoë 漢字 🙂",
        "lastName": "",
        "organization": "org-0",
    }
    text = jsonfast.dumps_sorted(values)
    packed = pack_json(text)
    assert packed[0] == 2 and len(packed) == 5 + len("\x00".join(values.values()).encode())
    assert unpack_json(packed) == text
    assert unpack_json(bytearray(packed)) == text


@pytest.mark.parametrize(
    "text",
    [
        "null",
        "{}",
        '{"firstName":null}',
        '{"employeeCount":12,"name":"Acme"}',
        '{"tags":["a","b"]}',
        '{"firstName":"a\\u0000b"}',  # NUL in a value: format 1
        '{"firstName":"a\\"b"}',  # an escape
        '{"customFields.tier":"gold"}',  # a path not in PATHS
        '{"firstName": "a"}',  # not the compact form
        '{"lastName":"b","firstName":"a"}',  # keys not sorted
        '{"before":{"title":"x"},"added":["cellPhone"]}',  # an op's undo
        '{"firstName":"a","firstName":"b"}',
    ],
)
def test_other_json_is_stored_deflated_and_reads_back_as_written(text: str) -> None:
    packed = pack_json(text)
    assert packed[0] == 1
    assert unpack_json(packed) == text


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])  # a busy machine
@given(
    st.dictionaries(
        st.sampled_from(PATHS),
        st.one_of(st.text(), st.none(), st.booleans(), st.integers(), st.lists(st.text(), max_size=3)),
        max_size=8,
    )
)
def test_any_values_read_back_as_the_ledger_wrote_them(values: dict[str, object]) -> None:
    text = jsonfast.dumps_sorted(values)
    try:
        text.encode()
    except UnicodeEncodeError:  # a lone surrogate: no format stores it
        return
    packed = pack_json(text)
    assert unpack_json(packed) == text
    # text values written as they are (nothing JSON escapes: a quote, a backslash, a control)
    plain = bool(values) and all(
        type(v) is str and not any(c in '"\\' or c < " " for c in v) for v in values.values()
    )
    assert packed[0] == (2 if plain else 1)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(st.text(), st.text(alphabet='{}":,[]\\ 0123456789nulabc\x00\x1f', max_size=40)))
def test_any_text_reads_back_as_it_was_written(text: str) -> None:
    """The column is given JSON text, but whatever text it is given it gives back."""
    try:
        text.encode()
    except UnicodeEncodeError:
        return
    assert unpack_json(pack_json(text)) == text


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.lists(
        st.sampled_from(
            ['{"', '"}', '":"', '","', '":', ',"', "firstName", "lastName", "x", "1", "null", " "]
        ),
        max_size=12,
    )
)
def test_text_near_the_shape_of_format_2_reads_back(pieces: list[str]) -> None:
    text = "".join(pieces)
    assert unpack_json(pack_json(text)) == text


_VALUE = st.one_of(
    st.text(),
    st.text(alphabet='ab"\\\x00\x1f\x7fé🙂 ', max_size=6),
    st.sampled_from(["\ud800", "a\udfff"]),  # a lone surrogate: no format holds it
    st.none(),
    st.booleans(),
    st.integers(),
    st.integers(min_value=2**64),  # past orjson: written by json
    st.lists(st.text(), max_size=2),
)


@settings(deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(
    st.dictionaries(st.sampled_from(PATHS), _VALUE, max_size=8).flatmap(
        lambda d: st.permutations(list(d.items()))
    )
)
def test_pack_values_stores_what_parsing_the_text_stores(items: list[tuple[str, object]]) -> None:
    """From the values (in any order) and their text: format 2 exactly when packing the text
    makes it, the same bytes; otherwise None (the text is packed as before)."""
    values = dict(items)
    text = json_text(values)
    try:
        raw = text.encode("utf-8")
    except UnicodeEncodeError:  # the text itself cannot be stored: no values' bytes either
        assert pack_values(values, text) is None
        return
    assert pack_values(values, text) == pack_texts(raw)
    if pack_values(values, text) is not None:
        assert pack_values(values, text) == pack_json(text)


@pytest.mark.parametrize(
    "values",
    [{"firstName": "a", "customFields.tier": "b"}, {"firstName": 1}, {}, {"firstName": 'a"b'}],
)
def test_pack_values_leaves_other_values_to_the_text(values: dict[str, object]) -> None:
    assert pack_values(values, json_text(values)) is None
    assert pack_values({"firstName": "a"}, '{"firstName": "a"}') is None  # not the compact text


@pytest.mark.parametrize("packed", [b"\x02\x01\x00\x00\x00a\x00b", b"\x02\x00\x00\x00\x00"])
def test_a_damaged_format_2_value_is_refused(packed: bytes) -> None:
    with pytest.raises(ValueError, match="format 2"):
        unpack_json(packed)


@pytest.mark.parametrize("text", ["", "{}", '{"firstName":"Zoë","n":1}', '{"x":"' + "é" * 70_000 + '"}'])
def test_loose_packed_json_is_the_same_format_uncompressed(text: str) -> None:
    """The pending values' form: format byte 1 and deflate's stored blocks (one per 65,535
    bytes), read by the one inflate every gcx of schema 3 reads values with."""
    stored = pack_json_stored(text)
    raw = text.encode()
    assert stored[0] == 1 and len(stored) == 1 + len(raw) + 5 * max(1, -(-len(raw) // 0xFFFF))
    assert unpack_json(stored) == text == unpack_json(pack_json(text))


def _stored_blocks(text: str) -> bytes:
    """pack_json_stored as it was written first: one loop over 65,535-byte blocks."""
    raw = text.encode("utf-8")
    out = bytearray((1,))
    for at in range(0, len(raw) or 1, 0xFFFF):
        block = raw[at : at + 0xFFFF]
        out.append(1 if at + 0xFFFF >= len(raw) else 0)
        out += len(block).to_bytes(2, "little") + (len(block) ^ 0xFFFF).to_bytes(2, "little")
        out += block
    return bytes(out)


@pytest.mark.parametrize(
    "text",
    [
        "",
        "{}",
        '{"applied":{"firstName":"Zoë","lastName":"Ñandú 漢字 🙂"},"hash":"x","org_key":null}',
        "a" * 0xFFFE,
        "a" * 0xFFFF,
        "a" * 0x10000,
        "é" * 0x8000,  # 65,536 bytes: one byte past a block
        '{"x":"' + "é" * 70_000 + '"}',
        "🙂" * 50_000,
    ],
)
def test_loose_packed_json_one_block_fast_path_is_byte_identical(text: str) -> None:
    assert pack_json_stored(text) == _stored_blocks(text)


def test_letter_codes_of_a_column_are_those_of_each_value() -> None:
    for column_type in (KindCode(), OpCode()):
        values = ["contact", "organization", "create", "update", "move", "delete", None, "other", ""]
        assert column_type.pack_many(values) == [None if v is None else column_type.pack(v) for v in values]


@pytest.mark.parametrize(
    "value",
    ["0123456789abcdef0123456789abcdef", "conflict:0123456789abcdef0123456", "reconciled", "", "x" * 15],
)
def test_digests_read_back(value: str) -> None:
    packed = pack_digest(value)
    assert unpack_digest(packed) == value
    assert (len(packed) == 16) == (len(value) == 32 and value != "conflict:0123456789abcdef0123456")


@pytest.mark.parametrize("value", [str(uuid.uuid4()), "dup-id", "g-1", "x" * 15, str(uuid.uuid4()).upper()])
def test_genesys_ids_read_back(value: str) -> None:
    packed = pack_id(value)
    assert unpack_id(packed) == value
    assert (len(packed) == 16) == (value == value.lower() and len(value) == 36)


def test_timestamps_read_back() -> None:
    assert iso(epoch("2026-11-30T21:05:35+00:00")) == "2026-11-30T21:05:35+00:00"
    assert iso("2026-11-30T21:05:35+00:00") == "2026-11-30T21:05:35+00:00"


# ------------------------------------------------------------------ a done op's undo


def test_undo_gives_back_the_values_before_an_op() -> None:
    before = {"firstName": "Ada", "lastName": "L", "title": "CTO"}
    after = {"firstName": "Ada2", "lastName": "L", "city": "Paris"}
    payload = done_payload(before, after)
    assert payload == {"before": {"firstName": "Ada", "title": "CTO"}, "added": ["city"]}
    assert undo(after, payload) == before
    assert done_payload(None, after) is None  # a create: the record holds all it wrote
    assert undo(after, {}) is None
    deleted = done_payload(before, None)
    assert deleted == {"before": before} and undo(None, deleted) == before


def test_values_around_an_op_rebuild_the_history() -> None:
    v1 = {"firstName": "A1", "lastName": "L"}
    v2 = {"firstName": "A2", "lastName": "L"}
    v3 = {"firstName": "A2", "lastName": "L3"}
    create, upd2, upd3 = {}, done_payload(v1, v2), done_payload(v2, v3)
    assert upd2 is not None and upd3 is not None
    assert values_around(v3, [upd3, upd2], create) == (None, v1)
    assert values_around(v3, [upd3], upd2) == (v1, v2)
    assert values_around(v3, [], upd3) == (v2, v3)


# ------------------------------------------------------------------ the ledger


def _entry(key: str, gid: str, **values: str) -> LedgerEntry:
    return LedgerEntry("contact", key, gid, "a" * 32, values, "o-1", True)


def test_a_done_op_keeps_its_undo_and_nothing_stays_pending(ledger: Ledger) -> None:
    gid = str(uuid.uuid4())
    run = ledger.start_run("apply", "test")
    ids = ledger.start_batch(run, "b1", [NewOp("contact", "c-1", "create", {"applied": {"firstName": "A"}})])
    assert [o.payload for o in ledger.open_ops()] == [{"applied": {"firstName": "A"}}]
    assert ledger.open_ops()[0].batch_id == "b1"
    ledger.finish_batch([Outcome(ids[0], True, gid)], records=[_entry("c-1", gid, firstName="A")])
    run2 = ledger.start_run("apply", "test")
    ids2 = ledger.start_batch(
        run2, "b2", [NewOp("contact", "c-1", "update", {"applied": {"firstName": "B"}}, genesys_id=gid)]
    )
    ledger.finish_batch([Outcome(ids2[0], True, gid)], records=[_entry("c-1", gid, firstName="B")])
    ops = ledger.ops()
    assert [(o.op, o.state, o.payload, o.batch_id) for o in ops] == [
        ("create", OpState.DONE, {}, None),
        ("update", OpState.DONE, {"before": {"firstName": "A"}}, None),
    ]
    assert ops[1].attempt == 1 and ops[1].genesys_id == gid
    entry = ledger.entries()[("contact", "c-1")]
    assert (entry.genesys_id, entry.hash, dict(entry.applied)) == (gid, "a" * 32, {"firstName": "B"})
    assert ledger.t_batches is not None
    with ledger.engine.connect() as conn:
        assert conn.execute(select(ledger.t_batches)).all() == []
        # as stored: one letter for the kind and the op name, the Genesys id as 16 bytes
        raw = conn.exec_driver_sql(f"SELECT kind, op, genesys_id FROM {ledger.t_ops.name} ORDER BY id").all()
        assert [(k, o) for k, o, _ in raw] == [("c", "c"), ("c", "u")]
        assert raw[0][2] is None and bytes(raw[1][2]) == uuid.UUID(gid).bytes
    assert ledger.prune_history(keep_runs=1) == 1
    assert [o.run_id for o in ledger.ops()] == [run2]


# ------------------------------------------------------------------ migration from schema 2

OLD_DDL = """
CREATE TABLE {p}records (
    kind VARCHAR(16) NOT NULL, external_id VARCHAR(255) NOT NULL, genesys_id VARCHAR(64) NOT NULL,
    hash VARCHAR(64) NOT NULL, applied TEXT NOT NULL, org_key VARCHAR(255),
    created_by_gcx BOOLEAN NOT NULL, updated_at VARCHAR(40) NOT NULL,
    PRIMARY KEY (kind, external_id));
CREATE INDEX ix_{p}records_genesys_id ON {p}records (genesys_id);
CREATE TABLE {p}ops (
    id {serial} NOT NULL, run_id INTEGER NOT NULL, kind VARCHAR(16) NOT NULL,
    external_id VARCHAR(255) NOT NULL, op VARCHAR(16) NOT NULL, state VARCHAR(16) NOT NULL,
    attempt INTEGER NOT NULL, batch_id VARCHAR(64), genesys_id VARCHAR(64), payload TEXT NOT NULL,
    error TEXT, line INTEGER, updated_at VARCHAR(40) NOT NULL, PRIMARY KEY (id));
CREATE INDEX ix_{p}ops_run_id ON {p}ops (run_id);
CREATE INDEX {p}ops_key ON {p}ops (kind, external_id);
CREATE INDEX ix_{p}ops_state ON {p}ops (state);
CREATE TABLE {p}binding (
    id INTEGER NOT NULL, schema_version INTEGER NOT NULL, org_id VARCHAR(64) NOT NULL, org_name TEXT,
    region TEXT NOT NULL, external_source_id VARCHAR(64) NOT NULL, external_source_name TEXT NOT NULL,
    created_at VARCHAR(40) NOT NULL, PRIMARY KEY (id));
CREATE TABLE {p}runs (
    id {serial} NOT NULL, command VARCHAR(32) NOT NULL, source TEXT, started_at VARCHAR(40) NOT NULL,
    finished_at VARCHAR(40), status VARCHAR(16) NOT NULL, counts TEXT, report_path TEXT, PRIMARY KEY (id));
"""

G1, G2, GO = str(uuid.uuid4()), str(uuid.uuid4()), str(uuid.uuid4())
V1 = {"firstName": "Ada", "lastName": "Lovelace", "organization": "o-1"}
V2 = {"firstName": "Ada2", "lastName": "Lovelace", "organization": "o-1"}
C2 = {"firstName": "Grace", "organization": "o-1"}
T = "2026-11-30T20:00:00+00:00"


def _payload(applied: dict[str, str], h: str = "b" * 32) -> str:
    return json.dumps({"applied": applied, "hash": h, "org_key": "o-1"}, sort_keys=True)


def _old_ledger(url: str, prefix: str) -> None:
    """A ledger as schema 2 left it: two runs, a create and an update of c-1, c-2 created then
    deleted, a failed create, and a create still open (a crash)."""
    engine = create_engine(url)
    serial = "SERIAL" if engine.dialect.name == "postgresql" else "INTEGER"
    ops = [
        (
            1,
            "organization",
            "o-1",
            "create",
            "done",
            GO,
            json.dumps({"applied": {"name": "O"}, "hash": "c" * 32}),
        ),
        (1, "contact", "c-1", "create", "done", G1, _payload(V1)),
        (1, "contact", "c-2", "create", "done", G2, _payload(C2)),
        (1, "contact", "c-3", "create", "failed", None, _payload(C2)),
        (2, "contact", "c-1", "update", "done", G1, _payload(V2)),
        (2, "contact", "c-2", "delete", "done", G2, json.dumps({"applied": {}, "hash": ""})),
        (2, "contact", "c-4", "create", "started", None, _payload(C2)),
    ]
    with engine.begin() as conn:
        for stmt in OLD_DDL.format(p=prefix, serial=serial).split(";"):
            if stmt.strip():
                conn.exec_driver_sql(stmt)
        conn.exec_driver_sql(
            f"INSERT INTO {prefix}binding VALUES (1, 2, 'org', 'Org', 'mypurecloud.com', 'src', 'gcx', '{T}')"
        )
        for _run in (1, 2):
            conn.exec_driver_sql(
                f"INSERT INTO {prefix}runs (command, started_at, status) VALUES ('apply', '{T}', 'ok')"
            )
        for i, (run, kind, key, op, state, gid, payload) in enumerate(ops, start=1):
            conn.exec_driver_sql(
                f"INSERT INTO {prefix}ops (id, run_id, kind, external_id, op, state, attempt, batch_id, "
                "genesys_id, payload, error, line, updated_at) VALUES (%s)"
                % ", ".join(["?" if engine.dialect.name == "sqlite" else "%s"] * 13),
                (
                    i,
                    run,
                    kind,
                    key,
                    op,
                    state,
                    1,
                    f"batch-{run}",
                    gid,
                    payload,
                    '{"reason": "bad"}' if state == "failed" else None,
                    i,
                    T,
                ),
            )
        for kind, key, gid, applied, org_key in (
            ("organization", "o-1", GO, {"name": "O"}, None),
            ("contact", "c-1", G1, V2, "o-1"),
        ):
            conn.exec_driver_sql(
                f"INSERT INTO {prefix}records VALUES (%s)"
                % ", ".join(["?" if engine.dialect.name == "sqlite" else "%s"] * 8),
                (kind, key, gid, "b" * 32, json.dumps(applied, sort_keys=True), org_key, True, T),
            )
        if engine.dialect.name == "postgresql":
            conn.exec_driver_sql(f"SELECT setval('{prefix}ops_id_seq', 7)")
    engine.dispose()


@pytest.fixture(params=["sqlite", "postgres"])
def old_url(request: pytest.FixtureRequest, tmp_path: Path):  # type: ignore[no-untyped-def]
    if request.param == "sqlite":
        url = f"sqlite:///{tmp_path / 'old.sqlite'}"
        _old_ledger(url, "gcx_")
        yield url, "gcx_"
        return
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    _old_ledger(PG_URL, prefix)
    try:
        yield PG_URL, prefix
    finally:
        with Ledger(PG_URL, prefix=prefix) as led:
            led.drop()


def test_a_schema_2_ledger_is_read_as_it_is_then_migrated_in_place(old_url: tuple[str, str]) -> None:
    url, prefix = old_url
    # read-only (sync plan, status): read as it is, nothing written
    with Ledger(url, prefix=prefix, create=False) as led:
        assert led.t_batches is None
        assert dict(led.entries()[("contact", "c-1")].applied) == V2
        assert [(o.key, o.payload["applied"]) for o in led.open_ops()] == [("c-4", C2)]
        assert led.entries()[("contact", "c-1")].genesys_id == G1
    with Ledger(url, prefix=prefix) as led:
        with led.engine.connect() as conn:
            assert conn.execute(select(led.t_binding.c.schema_version)).scalar() == 4
        entries = led.entries()
        assert {k: dict(e.applied) for k, e in entries.items()} == {
            ("organization", "o-1"): {"name": "O"},
            ("contact", "c-1"): V2,
        }
        c1 = entries[("contact", "c-1")]
        assert (c1.genesys_id, c1.hash, c1.org_key, c1.created_by_gcx) == (G1, "b" * 32, "o-1", True)
        ops = {o.id: o for o in led.ops()}
        assert [o.id for o in ops.values()] == list(range(1, 8))
        assert ops[2].payload == {} and ops[2].state is OpState.DONE  # c-1 created
        assert ops[5].payload == {"before": {"firstName": "Ada"}}  # c-1 updated
        assert ops[6].payload == {"before": C2}  # c-2 deleted
        assert ops[4].state is OpState.FAILED and ops[4].error == {"reason": "bad"}
        assert [(o.id, o.key, o.payload["applied"], o.batch_id) for o in led.open_ops()] == [
            (7, "c-4", C2, "batch-2")
        ]
        assert [o.key for o in led.failed_ops()] == ["c-3"]
        # the run pages' history: c-1 as run 1 left it, c-2 before its delete
        assert values_around(dict(c1.applied), [ops[5].payload], ops[2].payload) == (None, V1)
        # new ops continue after the copied ids; the open op still reconciles
        run = led.start_run("apply", "test")
        (new_id,) = led.start_batch(run, "b3", [NewOp("contact", "c-5", "create", {"applied": C2})])
        assert new_id == 8
        led.finish_batch([Outcome(7, True, str(uuid.uuid4()))], records=[], reconcile=True)
        assert [o.id for o in led.open_ops()] == [8]
    with Ledger(url, prefix=prefix) as led:  # opened again: nothing more to migrate
        assert len(led.ops()) == 8


def test_two_processes_opening_an_old_postgresql_ledger_at_once_migrate_it_once() -> None:
    if not _pg_available():
        pytest.skip("PostgreSQL is not reachable at 127.0.0.1:5432")
    prefix = f"t{uuid.uuid4().hex[:10]}_"
    _old_ledger(PG_URL, prefix)
    barrier = threading.Barrier(3)
    errors: list[BaseException] = []

    def open_it() -> None:
        barrier.wait()
        try:
            with Ledger(PG_URL, prefix=prefix):
                pass
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=open_it) for _ in range(3)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    try:
        assert errors == []
        with Ledger(PG_URL, prefix=prefix) as led:
            assert dict(led.entries()[("contact", "c-1")].applied) == V2
            assert [o.id for o in led.ops()] == list(range(1, 8))
            assert [o.key for o in led.open_ops()] == ["c-4"]
    finally:
        with Ledger(PG_URL, prefix=prefix) as led:
            led.drop()


@pytest.mark.parametrize(
    "values",
    [
        {"lastName": "Ñandú 漢字 🙂", "firstName": "Zoë", "workEmail": "z@example.com"},  # format 2
        {"firstName": 'a"b', "tags": ["x"]},  # format 1
    ],
)
def test_a_record_stores_the_same_bytes_from_its_packed_values(
    ledger: Ledger, values: dict[str, object]
) -> None:
    """A record whose values bring their stored bytes (a write's PackedObject) is stored as the
    same values given as a dict, or as the text read back from a ledger, are."""
    text = json_text(values)
    forms: list[Mapping[str, Any]] = [values, JsonObject(text), PackedObject(text, pack_values(values, text))]
    ledger.save_records(
        [
            LedgerEntry("contact", f"c-{i}", str(uuid.uuid4()), "a" * 32, v, None, True)
            for i, v in enumerate(forms)
        ]
    )
    with ledger.engine.connect() as conn:
        stored = conn.exec_driver_sql(
            f"SELECT applied FROM {ledger.t_records.name} ORDER BY external_id"
        ).all()
    assert len({bytes(r[0]) for r in stored}) == 1
    assert bytes(stored[0][0]) == pack_json(text)
    assert all(dict(e.applied) == values for e in ledger.entries().values())
