"""A uvicorn server that says where it listens once it does.

With port 0 the system picks a free port; the address reported is the bound socket's (not the
configured 0), after the socket listens, so a caller can read it and connect straight away.
``gcx console serve`` and ``gcx serve``'s web process use it: a foundation module (uvicorn only),
so the service's web process needs no console extra to import it.
"""

from __future__ import annotations

import socket
from collections.abc import Callable

import uvicorn


def socket_url(sock: socket.socket) -> str:
    """Pure: ``http://host:port`` of a bound socket (an IPv6 host in brackets)."""
    host, port = sock.getsockname()[:2]
    shown = f"[{host}]" if ":" in host else host
    return f"http://{shown}:{port}"


class ListeningServer(uvicorn.Server):
    """``uvicorn.Server`` calling ``on_listening(url)`` once its first socket listens."""

    def __init__(self, config: uvicorn.Config, on_listening: Callable[[str], None]) -> None:
        super().__init__(config)
        self._on_listening = on_listening

    async def startup(self, sockets: list[socket.socket] | None = None) -> None:
        await super().startup(sockets=sockets)
        if self.started:
            self._on_listening(self.url)

    @property
    def url(self) -> str:
        """The address of the first listening socket (only once started)."""
        listening = self.servers[0].sockets
        return socket_url(listening[0])
