"""Sessions, CSRF, roles and the security headers of every console response.

- Sessions: Starlette's signed cookie (itsdangerous), ``SameSite=Strict``, ``HttpOnly``, secure
  when served over HTTPS; it holds only a session token (checked against the server-side
  record of :mod:`gcx.console.sessions` on every request: logged out, revoked, idle or expired
  sessions are refused) and its CSRF token. The user is re-read on every request, so a removed
  or disabled user or a changed role counts at once.
- CSRF: every POST carries the session's token in a ``csrf`` field (compared in constant time);
  a cross-site ``Origin`` is refused as well.
- Headers: a CSP without inline scripts or styles, no framing, no sniffing, no referrer, no cache.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from functools import wraps
from typing import Any
from urllib.parse import urlsplit

from sqlalchemy import and_, delete, func, insert, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gcx.console.db import ConsoleDb
from gcx.console.sessions import SessionStore
from gcx.console.users import User, UserStore

CSP = (
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self'; form-action 'self'; frame-ancestors 'none'; base-uri 'none'"
)
HEADERS = [
    (b"content-security-policy", CSP.encode()),
    (b"x-frame-options", b"DENY"),
    (b"x-content-type-options", b"nosniff"),
    (b"referrer-policy", b"same-origin"),  # no-referrer would make browsers send "Origin: null"
    (b"cross-origin-opener-policy", b"same-origin"),
    (b"cross-origin-resource-policy", b"same-origin"),
    (b"permissions-policy", b"camera=(), microphone=(), geolocation=(), payment=()"),
]


class OwnRouter:
    """Names in ``url_for`` are the console's own, also when it is mounted in another app
    (Starlette otherwise resolves them with the outermost router)."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] in ("http", "websocket") and "app" in scope:
            scope["router"] = scope["app"].router
            scope["app_root_path"] = scope.get("root_path", "")  # URLs include the mount point
        await self.app(scope, receive, send)


class SecureHeaders:
    """ASGI middleware adding :data:`HEADERS` (and ``no-store`` on pages) to every response."""

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        static = "/static/" in str(scope.get("path", ""))

        async def send_with_headers(message: Message) -> None:
            if message["type"] == "http.response.start":
                headers = [h for h in message.get("headers", []) if h[0].lower() not in dict(HEADERS)]
                headers += HEADERS
                if not static:
                    headers.append((b"cache-control", b"no-store"))
                message["headers"] = headers
            await send(message)

        await self.app(scope, receive, send_with_headers)


def csrf_token(request: Request) -> str:
    token = request.session.get("csrf")
    if not isinstance(token, str) or len(token) < 32:
        token = secrets.token_urlsafe(32)
        request.session["csrf"] = token
    return token


def current_user(request: Request) -> User | None:
    """The user of the request's live session (looked up once per request), else None."""
    if "gcx_user" in request.scope:
        found: User | None = request.scope["gcx_user"]
        return found
    user = None
    token = request.session.get("sid")
    if isinstance(token, str):
        sessions: SessionStore = request.app.state.console.sessions
        info = sessions.check(token)
        if info is None:
            request.session.clear()  # ended: the browser drops the cookie too
        else:
            users: UserStore = request.app.state.console.users
            user = users.get(info.user)
            request.scope["gcx_session"] = info.handle
    request.scope["gcx_user"] = user
    return user


def session_handle(request: Request) -> str | None:
    """The public handle of the request's session (after :func:`current_user`)."""
    handle = request.scope.get("gcx_session")
    return handle if isinstance(handle, str) else None


def client_address(request: Request) -> str:
    return request.client.host if request.client else "?"


def _same_origin(request: Request) -> bool:
    origin = request.headers.get("origin")
    if origin is None or origin == "null":
        return origin is None
    host = request.headers.get("host", "")
    return urlsplit(origin).netloc == host


async def check_csrf(request: Request) -> None:
    """Refuse (403) a POST without the session's token, or from another site."""
    if not _same_origin(request):
        raise HTTPException(403, "cross-site request refused")
    form = await request.form()
    sent = form.get("csrf")
    token = request.session.get("csrf")
    if not isinstance(sent, str) or not isinstance(token, str) or not hmac.compare_digest(sent, token):
        raise HTTPException(
            403, "the form's security token is missing or wrong: reload the page and try again"
        )


Endpoint = Callable[[Request], Awaitable[Response]]


def guarded(
    *, operator: bool = False
) -> Callable[[Callable[[Request, User], Awaitable[Response]]], Endpoint]:
    """Wrap an endpoint: a session is required (pages redirect to the login form), POSTs need
    the CSRF token, and ``operator=True`` refuses viewers (403)."""

    def wrap(fn: Callable[[Request, User], Awaitable[Response]]) -> Endpoint:
        @wraps(fn)
        async def endpoint(request: Request) -> Response:
            user = current_user(request)
            if user is None:
                if request.method == "GET":
                    login = request.url_for("login").include_query_params(next=request.url.path)
                    return RedirectResponse(str(login), status_code=303)
                raise HTTPException(401, "log in first")
            if request.method != "GET":
                await check_csrf(request)
            if operator and not user.can_change:
                raise HTTPException(403, f"{user.name} is a viewer: only an operator may do this")
            return await fn(request, user)

        return endpoint

    return wrap


class LoginThrottle:
    """Failed logins per name: after ``limit`` failures in ``window`` seconds, wait it out.

    Counted in the console database (``gcx_console_login_failures``), not in memory: every web
    process over it counts the same failures and a restart forgets none (so ``clock`` is wall
    time, which the processes share). A row is the name's SHA-256 and a time, nothing typed as a
    password; each attempt deletes those older than the window, so the table holds only the
    last window's.

    An attempt is counted before its password is checked (:meth:`attempt`) and stays counted as
    a failure unless it succeeds (:meth:`succeeded` forgets the name's failures). The count is
    taken after the attempt's own row is committed, so of a burst sent at once at most ``limit``
    go on: the one committed last among any ``limit + 1`` sees them all. Checking first and
    recording after the (slow) password check let a whole burst through."""

    def __init__(
        self,
        db: ConsoleDb,
        *,
        limit: int = 5,
        window: float = 300.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self.db, self.limit, self.window, self.clock = db, limit, window, clock

    def attempt(self, name: str) -> bool:
        """Count an attempt for ``name``: True if it may go on (it counts as a failure until
        :meth:`succeeded`), False if the name is locked out (then it is not counted)."""
        t, now, key = self.db.login_failures, self.clock(), _name_key(name)
        with self.db.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.at <= now - self.window))  # bounded: the window's only
            row_id = conn.execute(insert(t).values(name_key=key, at=now).returning(t.c.id)).scalar_one()
        if self._recent(key) <= self.limit:
            return True
        with self.db.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.id == row_id))
        return False

    def blocked(self, name: str) -> bool:
        """Whether the next attempt for ``name`` would be refused (counts nothing)."""
        return self._recent(_name_key(name)) >= self.limit

    def succeeded(self, name: str) -> None:
        t = self.db.login_failures
        with self.db.engine.begin() as conn:
            conn.execute(delete(t).where(t.c.name_key == _name_key(name)))

    def _recent(self, key: str) -> int:
        t = self.db.login_failures
        recent = and_(t.c.name_key == key, t.c.at > self.clock() - self.window)
        with self.db.engine.connect() as conn:
            return int(conn.execute(select(func.count()).select_from(t).where(recent)).scalar_one())


def _name_key(name: str) -> str:
    """What the throttle keeps of a name: a fixed length whatever was typed."""
    return hashlib.sha256(name.encode("utf-8", "surrogatepass")).hexdigest()


def safe_next(target: Any, default: str) -> str:
    """Only a local path may be a post-login destination (no open redirect)."""
    if (
        isinstance(target, str)
        and target.startswith("/")
        and not target.startswith("//")
        and "\\" not in target
    ):
        return target
    return default
