"""Running the processes: ``worker``, ``web``, or both in one (``gcx serve``); signals; the database.

SIGTERM (or SIGINT) sets the service's stop flag: runs stop after the batch in flight (written
and recorded in the ledger), the worker unregisters, the web server stops accepting, and the
process exits 0. The next worker resumes the interrupted run (it is retried by procrastinate).
"""

from __future__ import annotations

import asyncio
import faulthandler
import logging
import os
import signal
from collections.abc import Iterator, Mapping
from contextlib import contextmanager, suppress

import uvicorn

from gcx.errors import ConfigError
from gcx.listening import ListeningServer
from gcx.service import database as db
from gcx.service.config import ServiceConfig
from gcx.service.tasks import Service
from gcx.service.web import create_app

log = logging.getLogger("gcx.service")


def database_url(cfg: ServiceConfig, env: Mapping[str, str] | None = None) -> str:
    """The database URL from the config's env var, else an embedded PostgreSQL in data_dir."""
    env = os.environ if env is None else env
    url = env.get(cfg.service.database_url_env, "").strip()
    if url:
        return db.check_url(url)
    from gcx.service.embedded import start_embedded

    log.info("no %s: starting the embedded PostgreSQL", cfg.service.database_url_env)
    return start_embedded(cfg.service.data_dir)


def _install_signals(service: Service) -> None:
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        with suppress(NotImplementedError, RuntimeError):
            loop.add_signal_handler(sig, service.stopping.set)


class _Server(ListeningServer):
    """uvicorn without its own signal handling: the service's stop flag stops it."""

    @contextmanager
    def capture_signals(self) -> Iterator[None]:
        yield


def _server(service: Service, *, manage_service: bool) -> uvicorn.Server:
    s = service.cfg.service
    from gcx.service.console import console_routes

    app = create_app(service, manage_service=manage_service, extra_routes=console_routes(service))
    config = uvicorn.Config(app, host=s.host, port=s.port, log_config=None, access_log=False, lifespan="on")
    return _Server(config, _log_listening)


def _log_listening(url: str) -> None:
    """Logged once the web socket listens, with its real port ([web] port = 0 picks a free one)."""
    log.info("web listening on %s", url, extra={"url": url})


async def _stop_server_on(service: Service, server: uvicorn.Server) -> None:
    await service.stopping.wait()
    server.should_exit = True


async def serve(cfg: ServiceConfig, url: str, *, worker: bool = True, web: bool = True) -> None:
    db.ensure_schema(url)
    service = Service(cfg, url)
    _install_signals(service)
    if worker:
        await service.open()
    try:
        tasks: list[asyncio.Task[None]] = []
        if web:
            server = _server(service, manage_service=not worker)
            tasks.append(asyncio.create_task(server.serve()))
            tasks.append(asyncio.create_task(_stop_server_on(service, server)))
        if worker:
            tasks.append(asyncio.create_task(service.run_worker()))
        log.info("gcx serve started", extra={"worker": worker, "web": web, "jobs": len(cfg.jobs)})
        await asyncio.wait(tasks, return_when=asyncio.FIRST_COMPLETED)
        service.stopping.set()
        for t in tasks:
            with suppress(asyncio.CancelledError):
                await t
    finally:
        if worker:
            await service.close()
    log.info("gcx serve stopped")


def run(cfg: ServiceConfig, *, worker: bool = True, web: bool = True) -> None:
    if hasattr(signal, "SIGUSR1"):  # kill -USR1 PID: every thread's stack on stderr (a stuck run)
        faulthandler.register(signal.SIGUSR1, all_threads=True)
    url = database_url(cfg)
    try:
        asyncio.run(serve(cfg, url, worker=worker, web=web))
    except OSError as exc:
        raise ConfigError(f"cannot start: {exc}") from None
    except Exception:
        log.exception("gcx serve failed")
        raise
