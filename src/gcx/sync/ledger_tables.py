"""The ledger's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Tables (names prefixed, default ``gcx_``); schema 3 stores values compactly
(:mod:`gcx.sync.ledger_codec`: packed JSON, 16-byte hashes and Genesys ids, kinds and op names
as one letter, integer timestamps), read back as the text the rest of gcx uses:

``binding``
    the Genesys org (``GET /api/v2/organizations/me``), region and External Source this
    ledger belongs to, and the ledger's ``schema_version``. A ledger refuses to run against
    another org.
``records``
    one row per (kind, ExternalId), its primary key (SQLite: ``WITHOUT ROWID``, the rows are
    stored in key order): Genesys id (indexed: the console finds a record by it), hash of the
    last applied managed values (:class:`Digest`), those values (:class:`PackedJson`), the
    organization key (contacts), whether gcx created the record (only those may ever be
    pruned) and when the row was written (:class:`EpochTime`).
``ops``
    one row per write: run, kind, ExternalId, op (create/update/move/delete), state, attempt,
    batch id, Genesys id, payload (:class:`PackedJson`), error (JSON), source line, when.
    While an op can still be reconciled (``started``/``unknown``), what it means to leave
    (``applied`` values, ``hash``, ``org_key``) is in its batch's row of ``batches`` (ledgers
    of schema 3: in ``pending``, one row per op; before that: in the payload). A ``failed``
    op keeps its error and Genesys id, not those values:
    nothing of it was left in Genesys, and the next run plans the record again from the source
    (a service or console run's ``run-<id>.ops.json`` keeps what it meant to write). Once
    ``done`` those values live in the record: the payload shrinks to the op's *undo*
    (:func:`gcx.sync.rows.done_payload`): ``null`` for a create of a record the ledger did not
    hold, else ``{"before": {path: value it replaced}, "added": [paths it
    added]}`` (a delete: every value it removed), and the batch id is cleared. A run page
    rebuilds what any op wrote from the record and the later ops' undos
    (:func:`gcx.sync.rows.values_around`). The ops of a first sync cost about 70 bytes a
    record; each later run adds a row per record it *wrote* (nothing for unchanged records):
    ``Ledger.prune_history`` drops the done ops of old runs. Indexes: (kind, ExternalId), run,
    and a partial index on state for the ops not ``done``.
``batches``
    one row per batch that still has an op not done (``started``, ``unknown``): the range of its
    op ids (``first_id`` to ``last_id``), its batch id, and what each of its ops means to leave
    (``ops``: one line per op, its id, a tab and its JSON ``{"applied": ..., "hash": ...,
    "org_key": ...}``), written in the transaction that starts the batch (before its request)
    and deleted once none of its ops is open any more: one row written and one deleted per
    batch, not per op (schema 3 kept a ``pending`` row per op, migrated by
    :mod:`gcx.sync.ledger_migrate`). Only an op still open takes its values from here.
``checked``
    one row per record an adoption check has read (kind, Genesys id, its ``modifyDate`` then,
    and the values of the ExternalId identifiers it held), so later runs check only new or
    changed records.
``runs``
    one row per run: command, source, start/end, status, counts (JSON), report path.
``lock``
    the run lease (:mod:`gcx.sync.lease`): holder, token, heartbeat.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    MetaData,
    String,
    Table,
    Text,
    inspect,
    text,
)
from sqlalchemy.engine import Connection
from sqlalchemy.exc import SQLAlchemyError
from sqlalchemy.sql.schema import SchemaItem

from gcx import redact
from gcx.errors import ConfigError
from gcx.sync.ledger_codec import Digest, EpochTime, GenesysId, KindCode, LoosePackedJson, OpCode, PackedJson

#: The ops not done (open or failed): the condition of their partial index, which a query uses
#: only when it names this very condition among its terms (SQLite does not infer it from ``IN``).
NOT_DONE = "state <> 'done'"
#: Schema 3: values stored compactly (:mod:`gcx.sync.ledger_codec`), open ops' values apart.
COMPACT_VERSION = 3
#: Schema 4: open ops' values kept per batch (``batches``), not per op (``pending``).
BATCHES_VERSION = 4


@dataclass(frozen=True)
class LedgerTables:
    """The ledger's tables under one name prefix (default ``gcx_``).

    ``batches`` is ``None`` for a ledger of schema 2 or older read as it is (``legacy``): its
    ops keep their values in ``ops.payload`` and its columns hold text. ``pending`` is schema
    3's table of open ops' values (one row per op): not part of ``metadata`` (never created),
    read only to migrate it or from a ledger of schema 3 opened read-only.
    """

    metadata: MetaData
    binding: Table
    records: Table
    ops: Table
    lock: Table
    checked: Table
    runs: Table
    batches: Table | None
    pending: Table | None


#: The databases a ledger is kept in.
_DIALECTS = ("sqlite", "postgresql")


def ledger_tables(prefix: str, *, legacy: bool = False, dialect: str | None = None) -> LedgerTables:
    """The table definitions, named ``<prefix><table>`` (``legacy``: as schema 2 wrote them).

    ``dialect`` (``sqlite`` or ``postgresql``): the database they are for. Then only that
    dialect's options are given, so that SQLAlchemy does not load the other dialect to check
    them (its PostgreSQL dialect costs a SQLite run ~100M instructions); the DDL is the same.
    """
    md = MetaData()
    gid: Any = String(64) if legacy else GenesysId
    digest: Any = String(64) if legacy else Digest
    packed: Any = Text if legacy else PackedJson
    stamp: Any = String(40) if legacy else EpochTime
    kind: Any = String(16) if legacy else KindCode
    opname: Any = String(16) if legacy else OpCode
    binding = Table(
        f"{prefix}binding",
        md,
        Column("id", Integer, primary_key=True),
        Column("schema_version", Integer, nullable=False),
        Column("org_id", String(64), nullable=False),
        Column("org_name", Text),
        Column("region", Text, nullable=False),
        Column("external_source_id", String(64), nullable=False),
        Column("external_source_name", Text, nullable=False),
        Column("created_at", String(40), nullable=False),
    )
    records = Table(
        f"{prefix}records",
        md,
        Column("kind", kind, primary_key=True),
        Column("external_id", String(255), primary_key=True),
        Column("genesys_id", gid, nullable=False, index=True),
        Column("hash", digest, nullable=False),
        Column("applied", packed, nullable=False),
        Column("org_key", String(255)),
        Column("created_by_gcx", Boolean, nullable=False),
        Column("updated_at", stamp, nullable=False),
        sqlite_with_rowid=legacy,
    )
    op_columns: list[SchemaItem] = [
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, nullable=False, index=True),
        Column("kind", kind, nullable=False),
        Column("external_id", String(255), nullable=False),
        Column("op", opname, nullable=False),
        Column("state", String(16), nullable=False, index=legacy),
        Column("attempt", Integer, nullable=False),
    ]
    if legacy:
        op_columns.append(Column("batch_id", String(64)))
    op_columns += [
        Column("genesys_id", gid),
        Column("payload", packed, nullable=not legacy),
        Column("error", Text),
        Column("line", Integer),
        Column("updated_at", stamp, nullable=False),
        Index(f"{prefix}ops_key", "kind", "external_id"),
    ]
    if not legacy:
        partial: dict[str, Any] = {f"{d}_where": text(NOT_DONE) for d in _DIALECTS if dialect in (d, None)}
        op_columns.append(Index(f"{prefix}ops_open", "state", **partial))
    ops = Table(f"{prefix}ops", md, *op_columns)
    batches = (
        None
        if legacy
        else Table(
            f"{prefix}batches",
            md,
            Column("first_id", Integer, primary_key=True, autoincrement=False),
            Column("last_id", Integer, nullable=False),
            Column("batch_id", String(64)),
            Column("ops", Text, nullable=False),
        )
    )
    pending = None if legacy else pending_v3(prefix)
    lock = Table(
        f"{prefix}lock",
        md,
        Column("id", Integer, primary_key=True),
        Column("host", String(255), nullable=False),
        Column("pid", Integer, nullable=False),
        Column("token", String(64), nullable=False),
        Column("heartbeat", Float, nullable=False),
    )
    checked = Table(
        f"{prefix}checked",
        md,
        Column("kind", String(16), primary_key=True),
        Column("genesys_id", String(64), primary_key=True),
        Column("modify_date", String(40), nullable=False),
        Column("external_ids", Text, nullable=False),
        Column("checked_at", String(40), nullable=False),
    )
    runs = Table(
        f"{prefix}runs",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("command", String(32), nullable=False),
        Column("source", Text),
        Column("started_at", String(40), nullable=False),
        Column("finished_at", String(40)),
        Column("status", String(16), nullable=False),
        Column("counts", Text),
        Column("report_path", Text),
    )
    return LedgerTables(md, binding, records, ops, lock, checked, runs, batches, pending)


def pending_v3(prefix: str) -> Table:
    """Schema 3's ``pending`` table (one row per open op: its batch id and its values), in a
    metadata of its own: never created any more, read to migrate it (or read-only)."""
    return Table(
        f"{prefix}pending",
        MetaData(),
        Column("op_id", Integer, primary_key=True, autoincrement=False),
        Column("batch_id", String(64)),
        Column("payload", LoosePackedJson, nullable=False),
    )


def is_legacy(engine: Engine | Connection, prefix: str) -> bool:
    """Whether the ledger at ``engine`` has the tables of schema 2 or older (values as text)."""
    cols = {c["name"]: c for c in inspect(engine).get_columns(f"{prefix}records")}
    applied = cols.get("applied")
    return (
        applied is not None
        and "BLOB" not in str(applied["type"]).upper()
        and "BYTEA" not in str(applied["type"]).upper()
    )


def has_table(bind: Engine | Connection, table: str) -> bool:
    """Whether the database at ``bind`` holds ``table``."""
    return bool(inspect(bind).has_table(table))


def absent(engine: Engine, table: str) -> bool:
    """Whether the ledger at ``engine`` does not exist yet, found without writing anything."""
    if engine.dialect.name == "sqlite":
        db = engine.url.database
        if not db or db == ":memory:":
            return True
        if not db.startswith("file:"):
            path = Path(db)
            if not path.exists() or path.stat().st_size == 0:
                return True  # opening it would create (or turn it into) a database
    try:
        return table not in inspect(engine).get_table_names()
    except SQLAlchemyError as exc:
        raise ConfigError(f"cannot open ledger {redact.scrub(str(engine.url))}: {exc}") from None


# SQLite's page cache per connection, in KiB (a negative cache_size). The default, 2 MB, is far
# below a 1M-record ledger's indexes (about 280 MB in all): each batch's inserts into the random
# genesys_id and key indexes then read their pages back from the OS. 64 MB took a 1M unpaced
# first sync from 0.197 to 0.145 ms of gcx CPU per record (docs/benchmarks.md, session 4), but a
# cache this size fills only at 1M, so peak RSS grew 40% from 100k to 1M (the goal: a third).
# 16, 32 and 64 MB side by side at 1M: 0.126, 0.128 and 0.127 ms, peak RSS 115, 131 and 160 MiB
# (session 5).
SQLITE_CACHE_KIB = 16384


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.execute(f"PRAGMA cache_size=-{SQLITE_CACHE_KIB}")
    cur.close()
