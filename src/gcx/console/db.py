"""The console's own tables: users, sessions, the audit trail, plan approvals, the plans
themselves and the recent failed logins.

They live in one SQLAlchemy database (the service's PostgreSQL, or a SQLite file for a
standalone console), prefixed ``gcx_console_``. Created on first use; a column added since a
table was created is added to it then (nullable, so older rows stay valid).

A waiting plan is kept in ``gcx_console_plans`` (gzip of the plan document, with its SHA-256),
not on a disk: in the service, the web process that shows and approves it and the worker that
applies it may run on different hosts.
"""

from __future__ import annotations

from datetime import UTC, datetime

from sqlalchemy import (
    Boolean,
    Column,
    Engine,
    Float,
    Index,
    Integer,
    LargeBinary,
    MetaData,
    String,
    Table,
    Text,
    create_engine,
    event,
    false,
    inspect,
    text,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gcx.errors import ConfigError
from gcx.sync.ledger import safe_url


def now_iso() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


#: The widest user name the audit trail stores (a login typed longer is kept shortened).
USER_WIDTH = 64


class ConsoleDb:
    """The engine and the tables. Use as a context manager (disposes the engine)."""

    def __init__(self, url: str, *, prefix: str = "gcx_console_") -> None:
        self.url = url
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            raise ConfigError(f"cannot open console database {safe_url(url)}: {exc}") from None
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", _sqlite_pragmas)
        md = MetaData()
        self.users = Table(
            f"{prefix}users",
            md,
            Column("name", String(64), primary_key=True),
            Column("role", String(16), nullable=False),
            Column("password_hash", Text, nullable=False),
            Column("created_at", String(40), nullable=False),
            Column("disabled", Boolean, nullable=False, server_default=false()),
        )
        # one row per login; the cookie holds a random token, the table only its SHA-256
        self.sessions = Table(
            f"{prefix}sessions",
            md,
            Column("id", String(64), primary_key=True),
            Column("handle", String(16), nullable=False, unique=True),  # shown, revocable by
            Column("user", String(64), nullable=False, index=True),
            Column("created_at", String(40), nullable=False),
            Column("last_seen", String(40), nullable=False),
            Column("address", String(64), nullable=False),
            Column("agent", String(200), nullable=False),
            Column("ended_at", String(40), index=True),
            Column("ended_why", String(64)),
        )
        self.audit = Table(
            f"{prefix}audit",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("at", String(40), nullable=False, index=True),
            Column("user", String(USER_WIDTH), nullable=False),
            Column("action", String(32), nullable=False),
            Column("target", Text, nullable=False),
            Column("detail", Text, nullable=False),
            Column("outcome", String(16), nullable=False),
        )
        self.approvals = Table(
            f"{prefix}approvals",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("job", String(128), nullable=False, index=True),
            Column("plan_path", Text, nullable=False),
            Column("created_at", String(40), nullable=False),
            Column("reason", Text, nullable=False),
            Column("summary", Text, nullable=False),
            Column("state", String(16), nullable=False, index=True),
            Column("decided_by", String(64)),
            Column("decided_at", String(40)),
            Column("note", Text),
            Column("run_id", Integer),
            Column("replaced_by", Integer),
            Column("plan_digest", String(64)),  # SHA-256 of the plan document (gcx_console_plans)
            Column("service_run", Integer),  # gcx_svc_runs row of the run whose plan waits (service)
        )
        self.plans = Table(
            f"{prefix}plans",
            md,
            Column("approval_id", Integer, primary_key=True),
            Column("digest", String(64), nullable=False),
            Column("size", Integer, nullable=False),
            Column("document", LargeBinary, nullable=False),  # gzip of the plan file's bytes
        )
        # failed logins of the last window (gcx.console.security.LoginThrottle), so that every
        # web process counts the same ones and a restart forgets none: the name's SHA-256 and when
        self.login_failures = Table(
            f"{prefix}login_failures",
            md,
            Column("id", Integer, primary_key=True, autoincrement=True),
            Column("name_key", String(64), nullable=False),
            Column("at", Float, nullable=False, index=True),  # seconds since the epoch
            Index(f"ix_{prefix}login_failures_name_key_at", "name_key", "at"),
        )
        self.metadata = md
        try:
            md.create_all(self.engine)
            self._upgrade(prefix)
            _add_missing_columns(self.engine, self.approvals)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(f"cannot open console database {safe_url(url)}: {exc}") from None

    def _upgrade(self, prefix: str) -> None:
        """Columns added since a table was first created (``create_all`` adds tables only)."""
        have = {c["name"] for c in inspect(self.engine).get_columns(f"{prefix}users")}
        if "disabled" not in have:
            with self.engine.begin() as conn:
                conn.execute(
                    text(f"ALTER TABLE {prefix}users ADD COLUMN disabled BOOLEAN NOT NULL DEFAULT false")
                )

    def close(self) -> None:
        self.engine.dispose()

    def __enter__(self) -> ConsoleDb:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def _add_missing_columns(engine: Engine, table: Table) -> None:
    """Columns added to ``table`` since it was created (all nullable): ``ALTER TABLE ADD COLUMN``."""
    present = {c["name"] for c in inspect(engine).get_columns(table.name)}
    missing = [c for c in table.columns if c.name not in present]
    if not missing:
        return
    guard = "IF NOT EXISTS " if engine.dialect.name == "postgresql" else ""  # processes starting at once
    with engine.begin() as conn:
        for col in missing:
            kind = col.type.compile(dialect=engine.dialect)
            conn.execute(text(f'ALTER TABLE "{table.name}" ADD COLUMN {guard}"{col.name}" {kind}'))


def _sqlite_pragmas(dbapi_conn: object, _record: object) -> None:
    cur = dbapi_conn.cursor()  # type: ignore[attr-defined]
    cur.execute("PRAGMA journal_mode=WAL")
    cur.close()
