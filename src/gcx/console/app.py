"""The console's ASGI app: ``create_console_app(ConsoleState(...))``, mounted by ``gcx serve``
under ``/console`` (or run alone: ``gcx console serve``)."""

from __future__ import annotations

import secrets
import threading
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from jinja2 import Environment, FileSystemLoader, select_autoescape
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.middleware.sessions import SessionMiddleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import Mount
from starlette.staticfiles import StaticFiles
from starlette.templating import Jinja2Templates

from gcx.console import views_approvals, views_auth, views_jobs, views_records
from gcx.console.approvals import DEFAULT_KEEP_APPROVALS, ApprovalStore
from gcx.console.audit import DEFAULT_KEEP_AUDIT, AuditLog
from gcx.console.backend import InProcessExecutor, JobDirectory, PlanExecutor
from gcx.console.db import ConsoleDb
from gcx.console.runindex import RunIndexes
from gcx.console.security import LoginThrottle, OwnRouter, SecureHeaders, csrf_token, current_user
from gcx.console.sessions import IDLE_SECONDS, LIFETIME_SECONDS, SessionStore
from gcx.console.users import UserStore
from gcx.sync.ledger import Ledger

HERE = Path(__file__).parent


@dataclass
class ConsoleState:
    """What the console needs. ``secret_key`` signs the session cookies (keep it stable across
    restarts and processes, and secret); ``https`` marks the cookie Secure; a session ends after
    ``session_idle`` seconds without a request and ``session_lifetime`` seconds after login."""

    db: ConsoleDb
    jobs: JobDirectory
    executor: PlanExecutor = field(default_factory=InProcessExecutor)
    secret_key: str = field(default_factory=lambda: secrets.token_urlsafe(32))
    https: bool = False
    edit_wait: float = 15.0  # seconds an edit waits for a running sync to finish
    session_idle: float = IDLE_SECONDS
    session_lifetime: float = LIFETIME_SECONDS
    #: the audit entries and the decided plans kept (the oldest go first; None: every one)
    keep_audit: int | None = DEFAULT_KEEP_AUDIT
    keep_approvals: int | None = DEFAULT_KEEP_APPROVALS
    users: UserStore = field(init=False)
    sessions: SessionStore = field(init=False)
    audit: AuditLog = field(init=False)
    approvals: ApprovalStore = field(init=False)
    throttle: LoginThrottle = field(init=False)  # failed logins, counted in the database
    run_indexes: RunIndexes = field(default_factory=RunIndexes)  # big runs page from these
    _ledgers: dict[str, Ledger] = field(default_factory=dict)
    _lock: threading.Lock = field(default_factory=threading.Lock)

    def __post_init__(self) -> None:
        self.users = UserStore(self.db)
        self.sessions = SessionStore(self.db, idle=self.session_idle, lifetime=self.session_lifetime)
        self.audit = AuditLog(self.db, keep=self.keep_audit)
        self.approvals = ApprovalStore(self.db, keep=self.keep_approvals)
        self.throttle = LoginThrottle(self.db)

    def ledger(self, url: str, prefix: str = "gcx_") -> Ledger:
        """One open ledger per URL and prefix for the life of the app."""
        with self._lock:
            led = self._ledgers.get(prefix + url)
            if led is None:
                led = self._ledgers[prefix + url] = Ledger(url, prefix=prefix)
            return led

    def close(self) -> None:
        # The run indexes first: a build still running in the background reads its ledger (a
        # build that went on after the ledger closed opened a connection nobody closed).
        self.run_indexes.close()
        with self._lock:
            for led in self._ledgers.values():
                led.close()
            self._ledgers.clear()
        self.db.close()


def _templates() -> Jinja2Templates:
    env = Environment(
        loader=FileSystemLoader(HERE / "templates"),
        autoescape=select_autoescape(default=True, default_for_string=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    templates = Jinja2Templates(env=env)

    def context(request: Request) -> dict[str, Any]:
        user = current_user(request) if "session" in request.scope else None
        return {"user": user, "csrf": csrf_token(request) if "session" in request.scope else ""}

    templates.context_processors.append(context)
    return templates


def create_console_app(state: ConsoleState) -> Starlette:
    templates = _templates()

    async def error(request: Request, exc: Exception) -> Response:
        assert isinstance(exc, HTTPException)
        if exc.status_code == 404 and not exc.detail:
            exc.detail = "not found"
        return templates.TemplateResponse(
            request,
            "error.html",
            {"status": exc.status_code, "detail": exc.detail},
            status_code=exc.status_code,
        )

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        yield
        state.close()

    routes = [
        *views_auth.routes(),
        *views_jobs.routes(),
        *views_approvals.routes(),
        *views_records.routes(),
        Mount("/static", StaticFiles(directory=HERE / "static"), name="static"),
    ]
    app = Starlette(
        routes=routes,
        middleware=[
            Middleware(OwnRouter),
            Middleware(SecureHeaders),
            Middleware(
                SessionMiddleware,
                secret_key=state.secret_key,
                session_cookie="gcx_console",
                max_age=int(state.session_lifetime),
                same_site="strict",
                https_only=state.https,
            ),
        ],
        exception_handlers={HTTPException: error},
        lifespan=lifespan,
    )
    app.state.console = state
    app.state.templates = templates
    return app
