"""The emulator object: the backend, its ASGI app, the in-process transport and the server."""

from __future__ import annotations

import contextlib
from collections.abc import Iterator
from typing import Any

import httpx

from gcx.emulator.app import create_app
from gcx.emulator.backend import Backend
from gcx.emulator.gate import ConnectionDropped
from gcx.emulator.rules.state import Clock
from gcx.emulator.server import serve_in_thread
from gcx.emulator.settings import EmulatorSettings
from gcx.emulator.store import Store


class EmulatorTransport(httpx.AsyncBaseTransport):
    """``httpx.ASGITransport`` over the emulator, where a commit-then-drop looks like a cut
    connection (:class:`httpx.RemoteProtocolError`), as it would over the network."""

    def __init__(self, app: Any) -> None:
        self._inner = httpx.ASGITransport(app=app)

    async def handle_async_request(self, request: httpx.Request) -> httpx.Response:
        try:
            return await self._inner.handle_async_request(request)
        except ConnectionDropped:
            raise httpx.RemoteProtocolError(
                "Server disconnected without sending a complete response.", request=request
            ) from None

    async def aclose(self) -> None:
        await self._inner.aclose()


class Emulator:
    """One emulated Genesys Cloud org: state, rules, HTTP app, faults."""

    def __init__(
        self,
        settings: EmulatorSettings | None = None,
        *,
        store: Store | None = None,
        clock: Clock | None = None,
        wall_clock: Clock | None = None,
    ) -> None:
        kwargs: dict[str, Any] = {}
        if clock is not None:
            kwargs["clock"] = clock
        if wall_clock is not None:
            kwargs["wall_clock"] = wall_clock
        self.backend = Backend(settings or EmulatorSettings(), store=store, **kwargs)
        self.app = create_app(self.backend)

    @property
    def settings(self) -> EmulatorSettings:
        return self.backend.settings

    def configure(self, **changes: Any) -> EmulatorSettings:
        """Change settings on the fly (``emu.configure(fault_rate=0.1)``)."""
        return self.backend.update_settings(**changes)

    def transport(self) -> EmulatorTransport:
        """An in-process httpx transport to this emulator."""
        return EmulatorTransport(self.app)

    @contextlib.contextmanager
    def serve(self, host: str = "127.0.0.1", port: int = 0) -> Iterator[str]:
        """Serve over loopback HTTP in a background thread; yields the base URL."""
        with serve_in_thread(self.app, host, port) as url:
            yield url

    def issue_token(
        self,
        client_id: str = "gcx-emulator",
        client_secret: str = "gcx-emulator",  # noqa: S107 - the emulator's own test credential
    ) -> str:
        """A bearer token, without HTTP (for tests that do not exercise the OAuth call)."""
        token: str = self.backend.issue_token(client_id, client_secret)["access_token"]
        return token

    def revoke_tokens(self) -> int:
        """Revoke every token issued so far; the next API call with one gets 401."""
        return self.backend.revoke_tokens()

    def stats(self) -> dict[str, Any]:
        with self.backend.lock:
            return self.backend.stats.as_dict()

    def reset(self) -> None:
        self.backend.reset()

    def dump(self) -> dict[str, Any]:
        return self.backend.dump()

    def load(self, state: dict[str, Any]) -> dict[str, int]:
        return self.backend.load(state)

    def inject_faults(self, status: int, count: int = 1) -> None:
        """The next ``count`` API calls answer ``status`` (429 or 5xx) without being handled."""
        with self.backend.lock:
            self.backend.faults.inject(status, count)

    def inject_429_burst(self, count: int, retry_after: int = 1) -> None:
        with self.backend.lock:
            self.backend.faults.inject_429_burst(count, retry_after)

    def drop_next_writes(self, count: int = 1, mode: str = "disconnect") -> None:
        """The next ``count`` successful writes are applied, then the answer is lost."""
        with self.backend.lock:
            self.backend.faults.drop_next_writes(count, mode)
