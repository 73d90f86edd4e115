"""The ledger: what gcx has applied, where, and how far each operation got.

SQLAlchemy Core over SQLite (default: ``./gcx-ledger.sqlite``) or PostgreSQL (any URL).
Its tables (names prefixed, default ``gcx_``) are defined in :mod:`gcx.sync.ledger_tables`;
its reads of records (:mod:`~gcx.sync.ledger_reads`) and of ops (:mod:`~gcx.sync.ledger_op_reads`)
and its run lease (:mod:`~gcx.sync.ledger_lease`) are mixed in, and it is brought to this schema
on open by :mod:`gcx.sync.ledger_migrate`.

Operation states form a closed set changed only through named transitions
(:data:`TRANSITIONS`): ``planned -start-> started -succeed-> done``,
``started -fail-> failed``, ``started -lose-> unknown`` (no answer), and reconciliation
``started|unknown -reconcile_found-> done`` / ``-reconcile_absent-> failed``. Anything
else raises :class:`~gcx.sync.errors.IllegalTransitionError`. A batch is written
``started`` (one transaction) *before* its bulk call and its outcome (one transaction)
right after, so a crash at any point leaves ``started`` rows that the next run reconciles
before planning anything new.
"""

from __future__ import annotations

import contextlib
import json
from collections.abc import Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from sqlalchemy import (
    Engine,
    and_,
    bindparam,
    create_engine,
    delete,
    event,
    func,
    insert,
    or_,
    select,
    update,
)
from sqlalchemy.exc import ArgumentError, SQLAlchemyError

from gcx import extras, redact
from gcx.errors import ConfigError
from gcx.private import create_private
from gcx.sync.errors import IllegalTransitionError, LeaseLostError, LedgerVersionError
from gcx.sync.fields import Kind
from gcx.sync.lease import DEFAULT_LEASE_SECONDS, LeaseKeeper
from gcx.sync.ledger_bulk import OpCounts, RowInserter, among, chunks, id_ranges
from gcx.sync.ledger_codec import PackedJson
from gcx.sync.ledger_history import done_undos, held_records, prune_done
from gcx.sync.ledger_lease import RunLease
from gcx.sync.ledger_migrate import SCHEMA_VERSION as SCHEMA_VERSION  # part of this module's API
from gcx.sync.ledger_migrate import batch_lines, migrate, refuse_newer, serialize
from gcx.sync.ledger_op_reads import OpReads
from gcx.sync.ledger_reads import RecordReads
from gcx.sync.ledger_stats import StatsRefresh
from gcx.sync.ledger_tables import absent, has_table, is_legacy, ledger_tables, sqlite_pragmas
from gcx.sync.packing import pack_json
from gcx.sync.rows import (
    OPEN_STATES,
    TRANSITIONS,
    Binding,
    CheckedRecord,
    LedgerEntry,
    NewOp,
    OpState,
    Outcome,
    PackedObject,
    check_binding,
    json_text,
    next_state,
)

DEFAULT_LEDGER_FILE = "gcx-ledger.sqlite"


_RECORD_COLUMNS = (
    "kind",
    "external_id",
    "genesys_id",
    "hash",
    "applied",
    "org_key",
    "created_by_gcx",
    "updated_at",
)
#: The columns a batch's ops are inserted with (``payload``, ``error``: none yet).
_OP_COLUMNS = (
    "id",
    "run_id",
    "kind",
    "external_id",
    "op",
    "state",
    "attempt",
    "genesys_id",
    "line",
    "updated_at",
)


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def ledger_url(value: str | None, workdir: Path | None = None) -> str:
    """A ledger argument (URL or file path; ``None`` for the default file) -> SQLAlchemy URL."""
    if not value:
        base = workdir or Path.cwd()
        return f"sqlite:///{base / DEFAULT_LEDGER_FILE}"
    if "://" in value:
        return value
    return f"sqlite:///{Path(value).expanduser().resolve()}"


def safe_url(url: str) -> str:
    """The ledger URL as shown and reported: its password masked (:mod:`gcx.redact`)."""
    return redact.scrub(url)


class Ledger(RecordReads, OpReads, RunLease):
    """The ledger database. Use as a context manager (closes its connections)."""

    def __init__(
        self,
        url: str,
        *,
        prefix: str = "gcx_",
        lease_seconds: float = DEFAULT_LEASE_SECONDS,
        create: bool = True,
    ) -> None:
        """Open (and create, unless ``create`` is false) the ledger at ``url``.

        With ``create=False`` (``sync plan``, ``sync status``) nothing is written: a ledger that
        does not exist yet (no file, an empty file, no gcx tables) reads as empty, from memory,
        and :attr:`exists` is false.
        """
        self.url = url
        self.prefix = prefix
        self.exists = True
        try:
            self.engine: Engine = create_engine(url, future=True)
        except (ArgumentError, SQLAlchemyError, ImportError) as exc:
            hint = extras.install_hint(exc) if isinstance(exc, ImportError) else ""
            raise ConfigError(f"cannot open ledger {safe_url(url)}: {exc}{hint}") from None
        if not create and absent(self.engine, f"{prefix}binding"):
            self.engine.dispose()
            self.engine = create_engine("sqlite://", future=True)
            self.exists = False
        if self.engine.dialect.name == "sqlite":
            event.listen(self.engine, "connect", sqlite_pragmas)
            db = self.engine.url.database
            if create and db and db != ":memory:" and not db.startswith("file:"):
                # contact data: 0600 (SQLite gives its -wal and -shm files the same mode); if the
                # file cannot be made, SQLite says why in its words when the tables are created
                with contextlib.suppress(OSError):
                    create_private(Path(db))
        try:
            if self.exists and not (create and absent(self.engine, f"{prefix}binding")):
                refuse_newer(self.engine, prefix, safe_url(url))
            legacy = not create and self.exists and is_legacy(self.engine, f"{prefix}")
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(f"cannot open ledger {safe_url(url)}: {exc}") from None
        except LedgerVersionError:
            self.engine.dispose()
            raise
        tables = ledger_tables(prefix, legacy=legacy, dialect=self.engine.dialect.name)
        self.t_binding = tables.binding
        self.t_records = tables.records
        self.t_ops = tables.ops
        self.t_lock = tables.lock
        self.t_checked = tables.checked
        self.t_runs = tables.runs
        self.t_batches = tables.batches
        self._v3_pending = None
        if not create and self.exists and not legacy and tables.batches is not None:
            try:
                if not has_table(self.engine, tables.batches.name):
                    self.t_batches = None
                    assert tables.pending is not None
                    if has_table(self.engine, tables.pending.name):
                        self._v3_pending = tables.pending
            except SQLAlchemyError as exc:
                self.engine.dispose()
                raise ConfigError(f"cannot open ledger {safe_url(url)}: {exc}") from None
        md = tables.metadata
        self._lock_token: str | None = None
        self._keeper: LeaseKeeper | None = None
        self._inserters: dict[tuple[str, tuple[str, ...], tuple[str, ...], tuple[str, ...]], RowInserter] = {}
        self._counts: OpCounts | None = None
        self._range_statements: dict[str, Any] = {}
        self._settled_batches: Any | None = None
        self._settled_statements: dict[bool, Any] = {}
        self._held = held_records(self.t_ops, self.t_records)
        self._stats = StatsRefresh([t for t in (self.t_ops, self.t_batches, self.t_records) if t is not None])
        #: the highest op id (a new batch's ids follow it), built once
        self._top_id = select(func.max(self.t_ops.c.id))
        self.lease_seconds = lease_seconds
        self.metadata = md
        self.migration_warnings: list[str] = []
        try:
            if create or not self.exists:
                with self.engine.begin() as conn:
                    serialize(conn, prefix)  # several workers may create the same tables at once
                    md.create_all(conn)
            if create:
                self.migration_warnings = migrate(self.engine, prefix, tables)
        except SQLAlchemyError as exc:
            self.engine.dispose()
            raise ConfigError(
                f"cannot open ledger {safe_url(url)}: {exc.__class__.__name__}: {exc}"
            ) from None

    # ------------------------------------------------------------------ lifecycle

    def close(self) -> None:
        self.stop_keeper()  # closed without release: the lease goes stale
        self.engine.dispose()

    def __enter__(self) -> Ledger:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def drop(self) -> None:
        """Drop the ledger's tables (tests, ``--reset``)."""
        self.metadata.drop_all(self.engine)

    # ------------------------------------------------------------------ binding

    def binding(self) -> Binding | None:
        with self.engine.connect() as conn:
            row = conn.execute(select(self.t_binding).where(self.t_binding.c.id == 1)).mappings().first()
        if row is None:
            return None
        return Binding(
            org_id=row["org_id"],
            org_name=row["org_name"],
            region=row["region"],
            external_source_id=row["external_source_id"],
            external_source_name=row["external_source_name"],
        )

    def bind(self, binding: Binding) -> Binding:
        """Record the org this ledger belongs to, or check that it is the same one.

        Raises :class:`BindingError` when the ledger already belongs to another org or
        region. A changed External Source id (re-created by someone) is updated.
        """
        current = self.binding()
        if current is None:
            with self.engine.begin() as conn:
                conn.execute(
                    insert(self.t_binding).values(
                        id=1,
                        schema_version=SCHEMA_VERSION,
                        org_id=binding.org_id,
                        org_name=binding.org_name,
                        region=binding.region,
                        external_source_id=binding.external_source_id,
                        external_source_name=binding.external_source_name,
                        created_at=_now(),
                    )
                )
            return binding
        check_binding(current, org_id=binding.org_id, region=binding.region)
        if current.region != binding.region:  # the same region, spelt as shown now (no URL password)
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.t_binding).where(self.t_binding.c.id == 1).values(region=binding.region)
                )
        if (current.external_source_id, current.external_source_name) != (
            binding.external_source_id,
            binding.external_source_name,
        ):
            with self.engine.begin() as conn:
                conn.execute(
                    update(self.t_binding)
                    .where(self.t_binding.c.id == 1)
                    .values(
                        external_source_id=binding.external_source_id,
                        external_source_name=binding.external_source_name,
                    )
                )
        return binding

    # ------------------------------------------------------------------ records

    def _upsert_records(self, conn: Any, entries: Sequence[LedgerEntry]) -> None:
        if not entries:
            return
        now = _now()
        key = ("kind", "external_id")
        if type(self.t_records.c.applied.type) is not PackedJson:  # a legacy ledger's text
            self._inserter(self.t_records, _RECORD_COLUMNS, replace=key).run(
                conn,
                [
                    (
                        e.kind,
                        e.key,
                        e.genesys_id,
                        e.hash,
                        json_text(e.applied),
                        e.org_key,
                        e.created_by_gcx,
                        now,
                    )
                    for e in entries
                ],
            )
            return
        self._inserter(self.t_records, _RECORD_COLUMNS, replace=key, stored=("applied",)).run(
            conn,
            [
                (e.kind, e.key, e.genesys_id, e.hash, _stored(e.applied), e.org_key, e.created_by_gcx, now)
                for e in entries
            ],
        )

    def _inserter(
        self,
        table: Any,
        columns: tuple[str, ...],
        *,
        replace: tuple[str, ...] = (),
        stored: tuple[str, ...] = (),
    ) -> RowInserter:
        """The INSERT of ``columns`` into ``table`` (replacing a row of the same ``replace``
        key; the ``stored`` columns' values given converted), compiled once per ledger."""
        key = (table.name, columns, replace, stored)
        found = self._inserters.get(key)
        if found is None:
            found = self._inserters[key] = RowInserter(
                table, columns, self.engine.dialect, replace=replace, stored=stored
            )
        return found

    def _op_counts(self) -> OpCounts:
        """The count of ops held per key and op name (:class:`OpCounts`), compiled once per ledger."""
        if self._counts is None:
            self._counts = OpCounts(self.t_ops, self.engine.dialect)
        return self._counts

    def _delete_records(self, conn: Any, keys: Sequence[tuple[str, str]]) -> None:
        t = self.t_records
        for kind in {k for k, _ in keys}:
            ids = sorted({e for k, e in keys if k == kind})
            for chunk in chunks(ids, 500):
                conn.execute(delete(t).where(and_(t.c.kind == kind, t.c.external_id.in_(chunk))))

    def save_records(self, entries: Sequence[LedgerEntry]) -> None:
        """Write records outside an op (adoption of an unchanged record, reconciliation)."""
        with self.engine.begin() as conn:
            self._upsert_records(conn, entries)

    def forget_records(self, keys: Sequence[tuple[str, str]]) -> None:
        """Drop records whose Genesys record no longer exists."""
        with self.engine.begin() as conn:
            self._delete_records(conn, keys)

    # ------------------------------------------------------------------ adoption checks

    def checked(self, kind: Kind) -> dict[str, CheckedRecord]:
        """Records of ``kind`` whose identifiers an adoption check has read, by Genesys id."""
        t = self.t_checked
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).where(t.c.kind == kind)).mappings()
            return {
                str(r["genesys_id"]): CheckedRecord(
                    kind=r["kind"],
                    genesys_id=str(r["genesys_id"]),
                    modify_date=str(r["modify_date"]),
                    external_ids=tuple(json.loads(r["external_ids"])),
                )
                for r in rows
            }

    def forget_checked(self, kind: Kind, genesys_ids: Sequence[str]) -> None:
        """Drop remembered checks of records that are no longer candidates (adopted, deleted)."""
        t = self.t_checked
        with self.engine.begin() as conn:
            for chunk in chunks(sorted(set(genesys_ids)), 500):
                conn.execute(delete(t).where(and_(t.c.kind == kind, t.c.genesys_id.in_(chunk))))

    def save_checked(self, checked: Sequence[CheckedRecord]) -> None:
        """Remember adoption checks (a later run checks a record again only once it changed)."""
        if not checked:
            return
        t = self.t_checked
        now = _now()
        with self.engine.begin() as conn:
            for kind in {c.kind for c in checked}:
                ids = sorted({c.genesys_id for c in checked if c.kind == kind})
                for chunk in chunks(ids, 500):
                    conn.execute(delete(t).where(and_(t.c.kind == kind, t.c.genesys_id.in_(chunk))))
            for chunk in chunks(list({(c.kind, c.genesys_id): c for c in checked}.values()), 500):
                conn.execute(
                    insert(t),
                    [
                        {
                            "kind": c.kind,
                            "genesys_id": c.genesys_id,
                            "modify_date": c.modify_date,
                            "external_ids": json.dumps(list(c.external_ids), ensure_ascii=False),
                            "checked_at": now,
                        }
                        for c in chunk
                    ],
                )

    # ------------------------------------------------------------------ ops

    def start_batch(self, run_id: int, batch_id: str, ops: Sequence[NewOp]) -> list[int]:
        """Insert a batch's ops as ``started`` (``planned`` moved by ``start``, in the same
        transaction that inserts them: no one ever sees them planned) with what each means to leave
        (one row of ``batches`` for the batch).

        Returns the op ids in the order given. Call this *before* the bulk request.
        """
        t = self.t_ops
        now = _now()
        ids: list[int] = []
        with self.engine.begin() as conn:
            # Fencing: the lease is renewed in this very transaction, only if it is still ours
            # (the row stays locked until commit), so a run that lost it writes nothing more.
            if self._lock_token is not None and not self._renew_in(conn):
                raise LeaseLostError(
                    "this run lost the ledger's lease to another run (or gcx sync unlock): it stopped "
                    "before writing its next batch; run again to finish"
                )
            started = next_state(OpState.PLANNED, "start").value
            prev: dict[tuple[str, str, str], int] = {}
            for kind in {o.kind for o in ops}:
                keys = list({o.key for o in ops if o.kind == kind})  # any order: counted per key
                for chunk in chunks(keys, 512):
                    counts = self._op_counts().run(conn, kind, chunk)
                    prev.update({(kind, e, o): n for (e, o), n in counts.items()})
            if ops:
                ids = self._new_op_ids(conn, len(ops))
                self._inserter(t, _OP_COLUMNS).run(
                    conn,
                    [
                        (
                            op_id,
                            run_id,
                            op.kind,
                            op.key,
                            op.op,
                            started,
                            # its attempt: one more than the ops held (a first sync holds none)
                            (prev.get((op.kind, op.key, op.op), 0) + 1) if prev else 1,
                            op.genesys_id,
                            op.line,
                            now,
                        )
                        for op_id, op in zip(ids, ops, strict=True)
                    ],
                )
                # what each op means to leave, kept apart until none of the batch's ops is open (the
                # op rows keep their size: rows that shrank in place would leave their pages half
                # empty), in one row for the batch
                self._inserter(self._batches(), ("first_id", "last_id", "batch_id", "ops")).run(
                    conn,
                    [(ids[0], ids[-1], batch_id, batch_lines(ids, [json_text(op.payload) for op in ops]))],
                )
                self._stats.after_insert(conn, len(ops))  # PostgreSQL: plans fit for the tables' size
        return ids

    def _new_op_ids(self, conn: Any, n: int) -> list[int]:
        """Ids for ``n`` new ops, ascending: given by the ops' sequence (PostgreSQL), or the next
        ``n`` after the highest (SQLite, which would give the same: ``conn``'s transaction
        already holds the database's one write lock, taken by the lease's renewal)."""
        t = self.t_ops
        if conn.dialect.name == "postgresql":
            return sorted(
                int(i)
                for i in conn.exec_driver_sql(
                    "SELECT nextval(pg_get_serial_sequence(%(t)s, 'id')) FROM generate_series(1, %(n)s)",
                    {"t": t.name, "n": n},
                ).scalars()
            )
        top = int(conn.execute(self._top_id).scalar() or 0)
        return list(range(top + 1, top + n + 1))

    def _transition(self, conn: Any, ids: Sequence[int], event_name: str) -> None:
        if not ids:
            return
        allowed, target = TRANSITIONS[event_name]
        t = self.t_ops
        states = [s.value for s in allowed]
        for chunk in chunks(list(ids), 400):
            ranges = id_ranges(chunk)
            if len(ranges) == 1:  # a batch's ops: one run of ids, through a statement built once
                moved = self._range_transition(event_name)
                span = {"lo": ranges[0][0], "hi": ranges[0][1]}
            else:
                moved = self._transition_statements(event_name, chunk)
                span = {}
            res = conn.execute(moved, {**span, "now": _now()})
            if res.rowcount != len(chunk):
                found = {
                    int(r.id): r.state
                    for r in conn.execute(select(t.c.id, t.c.state).where(t.c.id.in_(chunk)))
                }
                bad = [(i, found.get(i, "missing")) for i in chunk if found.get(i) not in {target.value}]
                raise IllegalTransitionError(
                    f"transition {event_name!r} refused for op(s) "
                    + ", ".join(f"{i} ({s})" for i, s in bad[:5])
                    + f": allowed only from {', '.join(sorted(states))}"
                )
        if target not in OPEN_STATES:
            self._drop_settled(conn, ids)

    def _drop_settled(self, conn: Any, ids: Sequence[int]) -> None:
        """Delete the rows of ``batches`` around ``ids`` that no longer have an open op (their
        values are in the records now, or were never written)."""
        stmt = self._settled_batches
        if stmt is None:
            t, b = self.t_ops, self._batches()
            still_open = (
                select(t.c.id)
                .where(t.c.id.between(b.c.first_id, b.c.last_id))
                .where(or_(*(t.c.state == s.value for s in sorted(OPEN_STATES))))
                .exists()
            )
            stmt = self._settled_batches = delete(b).where(
                b.c.first_id <= bindparam("hi"), b.c.last_id >= bindparam("lo"), ~still_open
            )
        conn.execute(stmt, {"lo": min(ids), "hi": max(ids)})

    def _range_transition(self, event_name: str) -> Any:
        """:meth:`_transition_statements` for the ops of ids ``:lo`` to ``:hi``, built once per
        ledger: SQLAlchemy keeps a statement's cache key on it, so each batch finds them compiled
        instead of building and keying them again."""
        found = self._range_statements.get(event_name)
        if found is None:
            found = self._range_statements[event_name] = self._transition_statements(event_name, None)
        return found

    def _transition_statements(self, event_name: str, ids: list[int] | None) -> Any:
        """The UPDATE that moves the ops ``ids`` (None: those of ids ``:lo`` to ``:hi``) by
        ``event_name``, only those in a state it is allowed from (``:now``: their time)."""

        def chosen(column: Any) -> Any:
            return column.between(bindparam("lo"), bindparam("hi")) if ids is None else among(column, ids)

        allowed, target = TRANSITIONS[event_name]
        t = self.t_ops
        return (
            update(t)
            .where(chosen(t.c.id))
            .where(or_(*(t.c.state == s.value for s in sorted(allowed))))
            .values(state=target.value, updated_at=bindparam("now", type_=t.c.updated_at.type))
        )

    def transition(self, ids: Sequence[int], event_name: str) -> None:
        """Apply a named transition to ops (refuses illegal ones, all or nothing)."""
        if event_name not in TRANSITIONS:
            next_state(OpState.PLANNED, event_name)  # raises the unknown-transition error
        with self.engine.begin() as conn:
            self._transition(conn, ids, event_name)

    def finish_batch(
        self,
        outcomes: Sequence[Outcome],
        *,
        records: Sequence[LedgerEntry] = (),
        forget: Sequence[tuple[str, str]] = (),
        reconcile: bool = False,
    ) -> None:
        """Record a batch's outcomes and the resulting ledger records in one transaction."""
        ok_event, ko_event = ("reconcile_found", "reconcile_absent") if reconcile else ("succeed", "fail")
        ok_ids: list[int] = []
        ko: list[Outcome] = []
        for o in outcomes:
            if o.ok:
                ok_ids.append(o.op_id)
            else:
                ko.append(o)
        with self.engine.begin() as conn:
            undos = done_undos(conn, self._held, self.t_ops, ok_ids, records, forget)
            self._transition(conn, ok_ids, ok_event)
            self._transition(conn, [o.op_id for o in ko], ko_event)
            if undos:  # a create of a new record keeps none: its Genesys id is its record's
                done = [
                    {"b_id": o.op_id, "b_gid": o.genesys_id, "b_undo": undos[o.op_id]}
                    for o in outcomes
                    if o.ok and o.op_id in undos
                ]
                conn.execute(self._settled(payload=True), done)
            failed = [
                {
                    "b_id": o.op_id,
                    "b_gid": o.genesys_id,
                    "b_err": json.dumps(o.error, sort_keys=True, ensure_ascii=False) if o.error else None,
                }
                for o in ko
                if o.genesys_id or o.error is not None
            ]
            if failed:
                conn.execute(self._settled(payload=False), failed)
            self._upsert_records(conn, records)
            self._delete_records(conn, forget)

    def _settled(self, *, payload: bool) -> Any:
        """The UPDATE that gives settled ops (``:b_id``) their Genesys id (``:b_gid``, unless None)
        and their undo (``payload``: ``:b_undo``) or error (``:b_err``), built once per ledger."""
        found = self._settled_statements.get(payload)
        if found is None:
            t = self.t_ops
            kept = (
                {"payload": bindparam("b_undo", type_=t.c.payload.type)}
                if payload
                else {"error": bindparam("b_err")}
            )
            found = self._settled_statements[payload] = (
                update(t)
                .where(t.c.id == bindparam("b_id"))
                .values(
                    genesys_id=func.coalesce(bindparam("b_gid", type_=t.c.genesys_id.type), t.c.genesys_id),
                    **kept,
                )
            )
        return found

    def mark_unknown(self, ids: Sequence[int]) -> None:
        """The bulk call got no answer: its ops' outcome is unknown until reconciled."""
        self.transition(ids, "lose")

    def _batches(self) -> Any:
        if self.t_batches is None:
            raise ConfigError(
                "this ledger was opened read-only and is not migrated yet: nothing can be written"
            )
        return self.t_batches

    def prune_history(self, keep_runs: int) -> int:
        """Drop the done ops of all runs but the latest ``keep_runs``; returns how many went
        (:func:`gcx.sync.ledger_history.prune_done`)."""
        with self.engine.begin() as conn:
            return prune_done(conn, self.t_runs, self.t_ops, keep_runs)

    # ------------------------------------------------------------------ runs

    def start_run(self, command: str, source: str | None) -> int:
        with self.engine.begin() as conn:
            res = conn.execute(
                insert(self.t_runs).values(
                    command=command, source=source, started_at=_now(), status="running"
                )
            )
            pk = res.inserted_primary_key
            assert pk is not None
            return int(pk[0])

    def finish_run(
        self, run_id: int, status: str, counts: Mapping[str, Any], report_path: str | None
    ) -> None:
        with self.engine.begin() as conn:
            conn.execute(
                update(self.t_runs)
                .where(self.t_runs.c.id == run_id)
                .values(
                    finished_at=_now(),
                    status=status,
                    counts=json.dumps(counts, sort_keys=True),
                    report_path=report_path,
                )
            )

    def runs(self, limit: int = 10) -> list[dict[str, Any]]:
        t = self.t_runs
        with self.engine.connect() as conn:
            rows = conn.execute(select(t).order_by(t.c.id.desc()).limit(limit)).mappings().all()
        out = []
        for r in rows:
            d = dict(r)
            d["counts"] = json.loads(d["counts"]) if d.get("counts") else {}
            out.append(d)
        return out


def _stored(applied: Mapping[str, Any]) -> bytes:
    """What the records table stores for ``applied`` (its column's :func:`pack_json` of the
    JSON text), the bytes a :class:`PackedObject` brings when it has them."""
    if type(applied) is PackedObject and applied.packed is not None:
        return applied.packed
    return pack_json(json_text(applied))
