"""The gate: the outermost ASGI layer in front of the routes.

To ``/api/v2`` calls only it applies bearer-token checks, the per-token rate limit, injected
faults and latency, and commit-then-drop. It also stamps every response with
``ININ-Correlation-Id`` and counts requests by (method, route template, status).
"""

from __future__ import annotations

import secrets
import uuid
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.routing import Match
from starlette.types import Message, Receive, Scope, Send

from gcx.emulator.backend import Backend
from gcx.emulator.errors import EmulatorError, fault_error
from gcx.emulator.faults import rate_limited_message
from gcx.emulator.http import BODY_LIMIT_KEY, error_response
from gcx.emulator.kinds import API
from gcx.emulator.rules import access

CORRELATION_HEADER = "ININ-Correlation-Id"
ADMIN_PREFIX = "/_emulator"
#: The header that carries the admin secret (``admin_secret`` setting).
ADMIN_SECRET_HEADER = "X-Gcx-Admin-Secret"  # noqa: S105 - a header name, not a secret
UNMATCHED = "<unmatched>"

#: POST routes that only read (never commit-then-drop).
READ_ONLY_POSTS = frozenset(
    {
        f"{API}/bulk/contacts",
        f"{API}/bulk/organizations",
        f"{API}/contacts/search",
        f"{API}/identifierlookup",
        f"{API}/identifierlookup/contacts",
        f"{API}/identifierlookup/organizations",
    }
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ConnectionDropped(Exception):
    """Raised after a write was applied to cut the connection instead of answering."""


class EmulatorGate:
    """Outermost ASGI layer: correlation ids, stats, auth, rate limit, faults, drops."""

    def __init__(self, backend: Backend, inner: Starlette) -> None:
        self.backend = backend
        self.inner = inner

    def route_template(self, scope: Scope) -> tuple[str, bool]:
        """The matched route's path template, and whether the method is allowed there."""
        partial: str | None = None
        for route in self.inner.router.routes:
            match, _ = route.matches(scope)
            path = getattr(route, "path", UNMATCHED)
            if match == Match.FULL:
                return path, True
            if match == Match.PARTIAL and partial is None:
                partial = path
        return (partial, False) if partial is not None else (UNMATCHED, False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        correlation = str(uuid.uuid4())
        scope["gcx.correlation_id"] = correlation
        settings = self.backend.settings
        scope[BODY_LIMIT_KEY] = settings.max_body_bytes
        method: str = scope["method"]
        path: str = scope["path"]
        template, allowed = self.route_template(scope)
        recorded = [False]

        def record(status: int) -> None:
            # Counted before the answer leaves: a client that has its answer (the server may run
            # in another thread) always finds its request in the stats.
            if not recorded[0]:
                recorded[0] = True
                with self.backend.lock:
                    self.backend.stats.record(method, template, status)

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                record(message["status"])
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), correlation.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if path.startswith(ADMIN_PREFIX) and not _admin_allowed(scope, settings.admin_secret):
                err = EmulatorError(
                    401,
                    "admin.secret.required",
                    f"The admin endpoints need the admin secret in the {ADMIN_SECRET_HEADER} header",
                )
                await error_response(err, correlation)(scope, receive, stamped)
            elif path.startswith("/api/v2") and allowed:
                await self._api_call(scope, receive, stamped, method, template)
            else:
                await self.inner(scope, receive, stamped)
        finally:
            record(0)  # no answer started: a dropped connection

    async def _api_call(self, scope: Scope, receive: Receive, send: Send, method: str, template: str) -> None:
        backend = self.backend
        correlation: str = scope["gcx.correlation_id"]
        token = _bearer(scope)
        try:
            caller = backend.check_token(token)
            refused = access.refusal(backend.settings, caller.client_id, method, scope["path"])
            if refused is not None:
                raise refused
            with backend.lock:
                wait = backend.rate_limiter.wait(f"token:{token}") or backend.org_limiter.wait("org")
                if wait is None:  # within both budgets: the request counts against both
                    backend.rate_limiter.hit(f"token:{token}")
                    backend.org_limiter.hit("org")
                else:
                    backend.stats.rate_limited += 1
                    raise EmulatorError(
                        429,
                        "too.many.requests.retry.after",
                        rate_limited_message(wait),
                        headers={"Retry-After": str(wait)},
                    )
                fault = backend.faults.before_call()
                if fault is not None:
                    backend.stats.faults_injected += 1
                    if fault.status == 429:
                        backend.stats.rate_limited += 1
                    raise fault_error(fault)
                delay = backend.faults.latency()
        except EmulatorError as err:
            await error_response(err, correlation)(scope, receive, send)
            return
        if delay > 0:
            await anyio.sleep(delay)
        is_write = method in WRITE_METHODS and template not in READ_ONLY_POSTS and not _is_dry_run(scope)
        if not is_write:
            await self.inner(scope, receive, send)
            return
        await self._write_call(scope, receive, send, correlation)

    async def _write_call(self, scope: Scope, receive: Receive, send: Send, correlation: str) -> None:
        backend = self.backend
        held: list[Message] = []
        drop: list[str | None] = [None]

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] < 300:
                    with backend.lock:
                        drop[0] = backend.faults.drop_after_commit()
                        if drop[0] is not None:
                            backend.stats.dropped_after_commit += 1
                if drop[0] is None:
                    await send(message)
                else:
                    held.append(message)
                return
            if drop[0] is None:
                await send(message)

        await self.inner(scope, receive, hold)
        if drop[0] == "504":
            err = EmulatorError(
                504, "gateway.timeout", "The gateway timed out waiting for the service (injected fault)."
            )
            await error_response(err, correlation)(scope, receive, send)
        elif drop[0] == "disconnect":
            await send(held[0])
            raise ConnectionDropped("the emulator cut the connection after applying the write")


def _admin_allowed(scope: Scope, secret: str) -> bool:
    """Whether an admin call may pass: no secret is set, or the request carries it."""
    if not secret:
        return True
    wanted = ADMIN_SECRET_HEADER.lower().encode()
    for name, value in scope.get("headers", []):
        if name == wanted:
            return secrets.compare_digest(value, secret.encode("utf-8", "surrogateescape"))
    return False


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
            return None
    return None


def _is_dry_run(scope: Scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query).get("dryRun", [])
    return bool(values) and values[-1].lower() == "true"
