"""The web console (:mod:`gcx.console`) inside the service's web process, under ``/console``.

The service gives the console its jobs (:class:`ServiceJobs`: each job's ledger in the service
database, its Genesys client from the fleet (shared token and rate budget), its schedule and next
run, its pending webhook events, its run reports from ``gcx_svc_runs``) and its own tables in the
same database. An approved plan is not applied here: the decision is recorded and the plan
handed to a worker (:class:`gcx.service.approved.WorkerExecutor`), so the web process writes
nothing to Genesys. Sessions are signed with ``$GCX_CONSOLE_SECRET`` or a key kept (0600) in
the data directory; they end after ``[web] session_idle_minutes`` without a request and
``session_lifetime_minutes`` after login. Without the ``console`` extra the web process serves
no console and says so once.
"""

from __future__ import annotations

import json
import logging
import os
import secrets
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from starlette.routing import BaseRoute, Mount

from gcx.service.config import JobConfig, ServiceConfig
from gcx.service.database import ledger_url
from gcx.service.runner import Fleet, job_reports_dir, ledger_prefix, sync_options

if TYPE_CHECKING:
    from gcx.console.execute import JobTarget
    from gcx.service.tasks import Service

log = logging.getLogger("gcx.service.console")

ENV_SECRET = "GCX_CONSOLE_SECRET"  # noqa: S105 - the name of an environment variable
ENV_HTTPS = "GCX_CONSOLE_HTTPS"  # 1 behind an HTTPS proxy: the session cookie is Secure
MOUNT = "/console"


def session_secret(data_dir: Path, env: Mapping[str, str]) -> str:
    value = env.get(ENV_SECRET, "").strip()
    if value:
        return value
    path = data_dir / "console-session.key"
    if not path.exists():
        path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
        with os.fdopen(fd, "w") as fh:
            fh.write(secrets.token_urlsafe(48))
    return path.read_text().strip()


def next_run(schedule: str | None, now: datetime | None = None) -> str | None:
    if not schedule:
        return None
    from croniter import croniter

    start = now or datetime.now(UTC)
    nxt = croniter(schedule, start).get_next(datetime)
    return nxt.isoformat(timespec="seconds") if isinstance(nxt, datetime) else None


def job_target(
    cfg: ServiceConfig,
    job: JobConfig,
    fleet: Fleet,
    report_loader: Callable[[int], dict[str, Any] | None] | None = None,
) -> JobTarget:
    """How the console (and a worker running a job under approval) reaches ``job``: its ledger in
    the service database, its client from the fleet, its plans and reports in ``data_dir``."""
    from gcx.console.execute import JobTarget

    def client() -> Any:
        return fleet.client(job.profile)

    return JobTarget(
        name=job.name,
        ledger_url=ledger_url(fleet.url),
        ledger_prefix=ledger_prefix(job.name),
        region=_region(job.profile.region, fleet, job.profile),
        reports_dir=job_reports_dir(cfg.service.data_dir, job.name),
        client=client,
        options=sync_options(job),
        report_loader=report_loader,
    )


class ServiceJobs:
    """The service's jobs as the console sees them (a :class:`gcx.console.JobDirectory`)."""

    def __init__(self, cfg: ServiceConfig, fleet: Fleet, engine: Any) -> None:
        from gcx.console.approvals import ApprovalPolicy
        from gcx.console.backend import JobInfo

        self.engine = engine  # SQLAlchemy engine on the service database (the console's own)
        self._infos: dict[str, Any] = {}
        for job in cfg.jobs.values():

            def loader(run_id: int, name: str = job.name) -> dict[str, Any] | None:
                return self.report(name, run_id)

            target = job_target(cfg, job, fleet, report_loader=loader)
            src = job.source
            source = {
                "csv": f"CSV {src.path}" + (f" + {src.mapping}" if src.mapping else ""),
                "jsonl": f"JSONL {src.path}",
                "sql": f"SQL (${src.url_env})",
                "webhook": "webhooks",
            }[src.type]
            self._infos[job.name] = JobInfo(
                target=target,
                source=source,
                schedule=job.schedule,
                approval=job.approval or ApprovalPolicy(),
            )

    def jobs(self) -> Sequence[Any]:
        from dataclasses import replace

        pending = self.pending_events()
        return [
            replace(info, next_run=next_run(info.schedule), pending_events=pending.get(name, 0))
            for name, info in self._infos.items()
        ]

    def pending_events(self) -> dict[str, int]:
        from sqlalchemy import text

        try:
            with self.engine.connect() as conn:
                rows = conn.execute(
                    text("SELECT job, count(*) FROM gcx_svc_events WHERE applied_at IS NULL GROUP BY job")
                ).all()
        except Exception as exc:  # the page still shows; the count is unknown
            log.warning("pending events unavailable: %s", type(exc).__name__)
            return {}
        return {str(j): int(n) for j, n in rows}

    def report(self, job: str, run_id: int) -> dict[str, Any] | None:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            row = conn.execute(
                text(
                    "SELECT report FROM gcx_svc_runs WHERE job = :job AND report IS NOT NULL "
                    "AND report->>'runId' = :run ORDER BY id DESC LIMIT 1"
                ),
                {"job": job, "run": str(run_id)},
            ).first()
        if row is None:
            return None
        data = row[0]
        return data if isinstance(data, dict) else json.loads(data)


def _region(region: str | None, fleet: Fleet, profile: Any) -> str:
    """The region name the ledger is bound with (as the workers' runs give it)."""
    from gcx.config import resolve_region

    if region:
        return resolve_region(region).name
    try:
        from gcx.service.runner import settings_for

        return settings_for(profile, fleet.env).region.name
    except Exception:  # credentials not set here: the binding check will say so on a write
        return str(profile.name)


def console_routes(service: Service, env: Mapping[str, str] | None = None) -> list[BaseRoute]:
    """``[Mount("/console", app)]``, or nothing (logged) when the console extra is missing.
    Approved plans are queued for ``service``'s workers."""
    try:
        from gcx.console import ConsoleDb, ConsoleState, create_console_app
    except ImportError as exc:
        log.warning("no web console: %s", exc)
        return []
    from gcx.service.approved import WorkerExecutor

    cfg, fleet = service.cfg, service.fleet
    env = os.environ if env is None else env
    idle, lifetime = cfg.service.session_seconds  # [web] session_*_minutes
    db = ConsoleDb(ledger_url(fleet.url))
    state = ConsoleState(
        db=db,
        jobs=ServiceJobs(cfg, fleet, db.engine),
        executor=WorkerExecutor(service),
        secret_key=session_secret(cfg.service.data_dir, env),
        https=env.get(ENV_HTTPS, "").strip().lower() in ("1", "true", "yes"),
        session_idle=idle,
        session_lifetime=lifetime,
        # decided plans go by age, with the runs ([service] keep_runs_days, gcx.service.retention);
        # the audit trail is kept whole
        keep_approvals=None,
        keep_audit=None,
    )
    return [Mount(MOUNT, app=create_console_app(state), name="console")]
