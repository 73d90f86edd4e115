"""The web process's ASGI app (starlette): webhook intake, health, readiness, metrics.

* ``POST /hooks/{job}``: signed webhook events (see :mod:`gcx.service.signing` and
  :mod:`gcx.service.intake`). Checks, in order: the job exists and takes webhooks (404);
  timestamp present and fresh (401); body no larger than ``max_body_bytes`` (413, read no
  further); signature (401); body valid (400, one reason per bad event). Then the events are
  committed to PostgreSQL (duplicates by event id ignored) and an apply is queued; only then
  the answer: 202 ``{"accepted": n, "duplicates": m}``. Nothing is stored on any refusal.
* ``GET /healthz``: the process is up. ``GET /readyz``: the database answers and the
  schedule is loaded (503 otherwise). ``GET /metrics``: Prometheus text format.

:func:`create_app` takes extra routes, so that other parts (the console) mount on the same app;
a mounted app's own lifespan runs inside this one's (Starlette does not run it otherwise), so
what it opened (the console's database engines) is closed when the web process stops.
"""

from __future__ import annotations

import asyncio
import logging
import time
from collections.abc import AsyncIterator, Callable, Sequence
from contextlib import AsyncExitStack, asynccontextmanager
from typing import Any

from prometheus_client import CONTENT_TYPE_LATEST
from starlette.applications import Starlette
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Mount, Route

from gcx import redact
from gcx.service import database as db
from gcx.service.intake import parse_body, summary
from gcx.service.metrics import Metrics
from gcx.service.signing import SIGNATURE_HEADER, TIMESTAMP_HEADER, check_timestamp, verify
from gcx.service.tasks import Service

log = logging.getLogger("gcx.service.web")


class TooLarge(Exception):
    pass


async def read_capped(request: Request, limit: int) -> bytes:
    """The body, refusing (``TooLarge``) as soon as it passes ``limit`` bytes."""
    declared = request.headers.get("content-length")
    if declared is not None and declared.isdigit() and int(declared) > limit:
        raise TooLarge
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise TooLarge
        chunks.append(chunk)
    return b"".join(chunks)


def _secrets(service: Service) -> dict[str, str]:
    out: dict[str, str] = {}
    for job in service.cfg.jobs.values():
        if job.is_webhook and job.source.secret_env:
            value = service.fleet.env.get(job.source.secret_env)
            if value:
                redact.register_secret(value)
                out[job.name] = value
    return out


def create_app(
    service: Service,
    *,
    extra_routes: Sequence[BaseRoute] = (),
    manage_service: bool = True,
    clock: Callable[[], float] = time.time,
) -> Starlette:
    s = service.cfg.service
    metrics = Metrics()
    secrets = _secrets(service)

    def answer(job: str, code: int, body: dict[str, Any]) -> JSONResponse:
        metrics.webhooks.labels(job, str(code)).inc()
        return JSONResponse(body, status_code=code)

    async def hook(request: Request) -> Response:
        name = request.path_params["job"]
        job = service.cfg.jobs.get(name)
        if job is None or not job.is_webhook:
            return answer("(unknown)", 404, {"error": f"no webhook job named {name!r}"})
        secret = secrets.get(name)
        if secret is None:
            return answer(name, 503, {"error": f"the webhook secret of job {name!r} is not configured"})
        ts = request.headers.get(TIMESTAMP_HEADER)
        fresh = check_timestamp(ts, now=clock(), max_age=s.signature_max_age)
        if not fresh.ok:
            return answer(name, 401, {"error": fresh.reason})
        try:
            body = await read_capped(request, s.max_body_bytes)
        except TooLarge:
            return answer(name, 413, {"error": f"the body is larger than {s.max_body_bytes} bytes"})
        assert ts is not None
        signed = verify(secret, ts, body, request.headers.get(SIGNATURE_HEADER))
        if not signed.ok:
            return answer(name, 401, {"error": signed.reason})
        events, problems = parse_body(
            body, max_events=s.max_events_per_request, phone_country=job.source.phone_country
        )
        if problems:
            return answer(name, 400, summary(problems))
        try:
            stored, dups = await db.store_events(service.pool, name, events)
        except Exception as exc:
            log.error("webhook events not stored: %s", exc, extra={"job": name})
            return answer(name, 503, {"error": "the events could not be stored; send them again"})
        metrics.events.labels(name).inc(stored)
        if stored:
            try:
                await service.defer_apply(name)
            except Exception as exc:  # stored: the workers' sweep queues it later
                log.warning("apply not queued (the sweep will): %s", exc, extra={"job": name})
        return answer(name, 202, {"accepted": stored, "duplicates": dups})

    async def healthz(request: Request) -> Response:
        return JSONResponse({"status": "ok"})

    async def readyz(request: Request) -> Response:
        checks: dict[str, Any] = {"schedule": len(service.app.periodic_registry.periodic_tasks)}
        try:
            async with asyncio.timeout(2.0), service.pool.connection() as conn:
                await conn.execute("SELECT 1 FROM gcx_svc_runs LIMIT 1")
            checks["database"] = "ok"
        except Exception as exc:
            checks["database"] = f"unreachable: {type(exc).__name__}"
            return JSONResponse({"status": "not ready", **checks}, status_code=503)
        return JSONResponse({"status": "ready", **checks})

    async def metrics_page(request: Request) -> Response:
        try:
            body = await metrics.render(service.pool)
        except Exception as exc:
            return JSONResponse({"error": f"metrics unavailable: {type(exc).__name__}"}, status_code=503)
        return Response(body, media_type=CONTENT_TYPE_LATEST)

    @asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        async with AsyncExitStack() as stack:
            if manage_service:  # else opened and closed by whoever runs the worker beside it
                await service.open()
                stack.push_async_callback(service.close)
            for route in extra_routes:  # closed first: the mounted apps, then the service
                if isinstance(route, Mount) and isinstance(route.app, Starlette):
                    await stack.enter_async_context(route.app.router.lifespan_context(route.app))
            yield

    routes: list[BaseRoute] = [
        Route("/hooks/{job}", hook, methods=["POST"]),
        Route("/healthz", healthz),
        Route("/readyz", readyz),
        Route("/metrics", metrics_page),
        *extra_routes,
    ]
    app = Starlette(routes=routes, lifespan=lifespan)
    app.state.service = service
    app.state.metrics = metrics
    return app
