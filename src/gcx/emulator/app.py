"""The emulator's HTTP face: the route tables of every family, behind the gate.

Handlers are thin (parse, call the backend, serialise); each family's table lives in
:mod:`gcx.emulator.routes`, the gate (auth, rate limit, faults, drops, stats) in
:mod:`gcx.emulator.gate`.
"""

from __future__ import annotations

from gcx import extras

try:
    from starlette.applications import Starlette
    from starlette.exceptions import HTTPException
    from starlette.requests import Request
    from starlette.responses import Response
    from starlette.types import ASGIApp
except ImportError as _exc:  # a library-only install has no web framework
    raise extras.missing(_exc, "The gcx emulator") from _exc

from gcx.emulator.backend import Backend
from gcx.emulator.errors import EmulatorError
from gcx.emulator.gate import ConnectionDropped, EmulatorGate
from gcx.emulator.http import correlation, error_response
from gcx.emulator.routes import build_routes

__all__ = ["ConnectionDropped", "EmulatorGate", "build_routes", "create_app"]


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    correlation_id = correlation(request)
    if status == 405:
        allow = dict(getattr(exc, "headers", None) or {}).get("Allow", "")
        err = EmulatorError(
            405,
            "method.not.allowed",
            f"{request.method} is not allowed on {request.url.path}"
            + (f" (allowed: {allow})" if allow else ""),
            headers={"Allow": allow} if allow else None,
        )
    elif status == 404:
        err = EmulatorError(404, "not.found", f"No route for {request.method} {request.url.path}")
    else:
        err = EmulatorError(status, "bad.request", str(getattr(exc, "detail", "bad request")))
    return error_response(err, correlation_id)


def create_app(backend: Backend) -> ASGIApp:
    """The emulator's ASGI application over ``backend``."""
    inner = Starlette(routes=build_routes(backend), exception_handlers={HTTPException: _not_found})
    return EmulatorGate(backend, inner)
