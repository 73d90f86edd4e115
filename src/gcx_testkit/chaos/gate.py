"""The chaos gate: an ASGI observer in front of the emulator that counts API calls, records the
tokens the emulator issues and fires scheduled actions (SIGKILL, revocation, 429 bursts,
dropped answers, a person's edits) at given call numbers."""

from __future__ import annotations

import contextlib
import json
import os
import signal
import threading
from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

from gcx import extras

try:
    from starlette.types import ASGIApp, Message, Receive, Scope, Send
except ImportError as _exc:
    raise extras.missing(_exc, "The chaos harness") from _exc

from gcx.emulator import Emulator


@dataclass
class Action:
    """Something done when the gate sees a given API call of the current run."""

    kind: str  # kill | revoke | burst | drop | edit
    at: int  # the call number in the run (0: see ``path``)
    phase: str = "before"  # kill: before the call is handled, or after it committed
    count: int = 0  # burst length
    edit: Edit | None = None
    path: str | None = None  # with at=0: the first call whose path contains this


@dataclass
class Edit:
    """A person's edit on the Genesys side: managed and unmanaged values of one record."""

    kind: str
    key: str
    managed: dict[str, Any]
    unmanaged: dict[str, Any]
    live: bool
    done: bool = False


class ChaosGate:
    """ASGI wrapper around the emulator app: counts API calls, records issued tokens, fires actions.

    It only observes and triggers; every request is still handled by the emulator unchanged,
    except one killed *before* it was handled (it gets a 503 no one reads).
    """

    def __init__(self, app: ASGIApp, emu: Emulator) -> None:
        self.app = app
        self.emu = emu
        self.lock = threading.Lock()
        self.calls = 0
        self.tokens: set[str] = set()
        self.actions: dict[int, list[Action]] = {}
        self.by_path: list[Action] = []
        self.fired: list[Action] = []
        self.pid: int | None = None
        self.killed = False
        self.on_edit: Callable[[Edit], None] | None = None

    def arm(self, pid: int | None, actions: list[Action]) -> None:
        with self.lock:
            self.calls = 0
            self.pid = pid
            self.killed = False
            self.actions = {}
            self.by_path = [a for a in actions if a.at == 0 and a.path]
            for a in actions:
                if a.at:
                    self.actions.setdefault(a.at, []).append(a)

    def set_pid(self, pid: int) -> None:
        with self.lock:
            self.pid = pid

    def disarm(self) -> None:
        with self.lock:
            self.pid = None
            self.actions = {}
            self.by_path = []

    def _kill(self) -> None:
        if self.pid is not None and not self.killed:
            self.killed = True
            with contextlib.suppress(ProcessLookupError):
                os.kill(self.pid, signal.SIGKILL)

    def _fire(self, action: Action) -> None:
        self.fired.append(action)
        if action.kind == "kill":
            self._kill()
        elif action.kind == "revoke":
            self.emu.revoke_tokens()
        elif action.kind == "burst":
            self.emu.inject_429_burst(action.count, retry_after=1)
        elif action.kind == "drop":
            self.emu.drop_next_writes(action.count, mode=action.phase)
        elif action.kind == "edit" and action.edit is not None and self.on_edit is not None:
            self.on_edit(action.edit)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope.get("type") != "http":
            await self.app(scope, receive, send)
            return
        path: str = scope.get("path", "")
        if path == "/oauth/token":
            await self.app(scope, receive, self._token_recorder(send))
            return
        if not path.startswith("/api/v2"):
            await self.app(scope, receive, send)
            return
        with self.lock:
            self.calls += 1
            due = self.actions.pop(self.calls, [])
            for a in [a for a in self.by_path if a.path and a.path in path]:
                self.by_path.remove(a)
                due.append(a)
        after = [a for a in due if a.kind == "kill" and a.phase == "after"]
        for action in due:
            if action not in after:
                self._fire(action)
        if any(a.kind == "kill" for a in due if a not in after):
            await _answer(send, 503)
            return
        if not after:
            await self.app(scope, receive, send)
            return

        async def kill_then_send(message: Message) -> None:
            if message["type"] == "http.response.start":
                for action in after:
                    self._fire(action)
            await send(message)

        await self.app(scope, receive, kill_then_send)

    def _token_recorder(self, send: Send) -> Send:
        chunks: list[bytes] = []

        async def recorder(message: Message) -> None:
            if message["type"] == "http.response.body":
                chunks.append(message.get("body", b""))
                if not message.get("more_body"):
                    with contextlib.suppress(ValueError, AttributeError):
                        token = json.loads(b"".join(chunks)).get("access_token")
                        if isinstance(token, str):
                            with self.lock:
                                self.tokens.add(token)
            await send(message)

        return recorder


async def _answer(send: Send, status: int) -> None:
    await send({"type": "http.response.start", "status": status, "headers": [(b"content-length", b"0")]})
    await send({"type": "http.response.body", "body": b""})
