"""Serving the emulator over real loopback HTTP with uvicorn (in a thread, or in the foreground)."""

from __future__ import annotations

import contextlib
import gc
import logging
import socket
import threading
from collections.abc import Iterator

from gcx import extras

try:
    import uvicorn
    from starlette.types import ASGIApp
except ImportError as _exc:  # a library-only install has no web server
    raise extras.missing(_exc, "Serving the gcx emulator over HTTP") from _exc

from gcx.emulator.gate import ConnectionDropped


class _DropFilter(logging.Filter):
    """Keeps uvicorn from logging a traceback for each deliberate commit-then-drop cut."""

    def filter(self, record: logging.LogRecord) -> bool:
        exc = record.exc_info[1] if record.exc_info else None
        while exc is not None:
            if isinstance(exc, ConnectionDropped):
                return False
            exc = exc.__cause__ or exc.__context__
        return True


_FILTER = _DropFilter()


def bind(host: str = "127.0.0.1", port: int = 0) -> socket.socket:
    """A listening TCP socket (port 0 = a free port)."""
    family = socket.AF_INET6 if ":" in host else socket.AF_INET
    # proto=IPPROTO_TCP matters: asyncio only sets TCP_NODELAY on accepted sockets whose
    # proto says TCP, and without it every response pays a 40 ms Nagle/delayed-ACK stall.
    sock = socket.socket(family, socket.SOCK_STREAM, socket.IPPROTO_TCP)
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        sock.bind((host, port))
        sock.listen(2048)
        sock.set_inheritable(True)
    except OSError:
        sock.close()
        raise
    return sock


def base_url(sock: socket.socket) -> str:
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


def make_server(app: ASGIApp, *, log_level: str = "warning", access_log: bool = False) -> uvicorn.Server:
    config = uvicorn.Config(
        app,
        log_level=log_level,
        access_log=access_log,
        lifespan="off",
        timeout_graceful_shutdown=5,
        log_config=None,
    )
    return uvicorn.Server(config)


#: Third threshold of the cyclic collector in a serving process (CPython's default is 10).
FULL_COLLECTION_THRESHOLD = 100


def settle_gc() -> None:
    """Tune the cyclic garbage collector for a process that does nothing but serve the emulator.

    A full collection scans every tracked container the process holds: the modules, the
    phone-number metadata and the app (about 40,000 objects, fixed) and the store's insertion
    order (one slot per record). CPython runs one about every 2,000 stored records, each costing
    more as the store grows: 9 us per record at 100k, more at 1M. What exists once the app is
    built is frozen out of those scans (it lives as long as the process), and full collections
    are made ten times rarer; young garbage is collected as before.
    """
    gc.collect()
    gc.freeze()
    young, middle, _ = gc.get_threshold()
    gc.set_threshold(young, middle, FULL_COLLECTION_THRESHOLD)


def install_log_filter() -> None:
    logger = logging.getLogger("uvicorn.error")
    if _FILTER not in logger.filters:
        logger.addFilter(_FILTER)


@contextlib.contextmanager
def serve_in_thread(app: ASGIApp, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
    """Run ``app`` under uvicorn in a daemon thread; yield its base URL; stop it on exit."""
    install_log_filter()
    sock = bind(host, port)
    server = make_server(app)
    failure: list[BaseException] = []

    def run() -> None:
        try:
            server.run(sockets=[sock])
        except BaseException as exc:  # reported to the caller below
            failure.append(exc)

    thread = threading.Thread(target=run, name="gcx-emulator", daemon=True)
    thread.start()
    try:
        while not server.started:
            if not thread.is_alive():
                raise RuntimeError(f"the emulator server failed to start: {failure[0] if failure else '?'}")
            thread.join(0.01)
        yield base_url(sock)
    finally:
        server.should_exit = True
        thread.join(10)
        sock.close()
        if thread.is_alive():  # pragma: no cover - a stuck server is a bug worth shouting about
            server.force_exit = True
            thread.join(5)
