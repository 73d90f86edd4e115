"""The ledger's tables (SQLAlchemy Core), one definition for SQLite and PostgreSQL.

Tables (names prefixed, default ``gcx_``):

``binding``
    the Genesys org (``GET /api/v2/organizations/me``), region and External Source this
    ledger belongs to. A ledger refuses to run against another org.
``records``
    one row per (kind, ExternalId): Genesys id, hash of the last applied managed values,
    those values (JSON), the organization key (contacts) and whether gcx created the record
    (only those may ever be pruned).
``ops``
    one row per write: run, kind, ExternalId, op (create/update/move/delete), state, attempt,
    batch id, Genesys id, intended values (JSON), error (JSON), source line.
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
)
from sqlalchemy.exc import SQLAlchemyError

from gcx import redact
from gcx.errors import ConfigError


@dataclass(frozen=True)
class LedgerTables:
    """The ledger's tables under one name prefix (default ``gcx_``)."""

    metadata: MetaData
    binding: Table
    records: Table
    ops: Table
    lock: Table
    checked: Table
    runs: Table


def ledger_tables(prefix: str) -> LedgerTables:
    """The table definitions, named ``<prefix><table>``."""
    md = MetaData()
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
        Column("kind", String(16), primary_key=True),
        Column("external_id", String(255), primary_key=True),
        Column("genesys_id", String(64), nullable=False, index=True),
        Column("hash", String(64), nullable=False),
        Column("applied", Text, nullable=False),
        Column("org_key", String(255)),
        Column("created_by_gcx", Boolean, nullable=False),
        Column("updated_at", String(40), nullable=False),
    )
    ops = Table(
        f"{prefix}ops",
        md,
        Column("id", Integer, primary_key=True, autoincrement=True),
        Column("run_id", Integer, nullable=False, index=True),
        Column("kind", String(16), nullable=False),
        Column("external_id", String(255), nullable=False),
        Column("op", String(16), nullable=False),
        Column("state", String(16), nullable=False, index=True),
        Column("attempt", Integer, nullable=False),
        Column("batch_id", String(64)),
        Column("genesys_id", String(64)),
        Column("payload", Text, nullable=False),
        Column("error", Text),
        Column("line", Integer),
        Column("updated_at", String(40), nullable=False),
        Index(f"{prefix}ops_key", "kind", "external_id"),
    )
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
    return LedgerTables(md, binding, records, ops, lock, checked, runs)


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


def sqlite_pragmas(dbapi_conn: Any, _record: Any) -> None:
    cur = dbapi_conn.cursor()
    cur.execute("PRAGMA journal_mode=WAL")
    cur.execute("PRAGMA synchronous=NORMAL")
    cur.close()
