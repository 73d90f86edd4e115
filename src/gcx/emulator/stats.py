"""Request statistics the emulator keeps (``GET /_emulator/stats``)."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field
from typing import Any


@dataclass
class Stats:
    """Request counts by (method, route template, status), plus tokens and faults."""

    by_route: Counter[tuple[str, str, int]] = field(default_factory=Counter)
    tokens_issued: int = 0
    faults_injected: int = 0
    dropped_after_commit: int = 0
    rate_limited: int = 0

    def record(self, method: str, route: str, status: int) -> None:
        self.by_route[(method, route, status)] += 1

    @property
    def total(self) -> int:
        return sum(self.by_route.values())

    def count(self, method: str | None = None, route: str | None = None, status: int | None = None) -> int:
        """Requests matching every given criterion."""
        return sum(
            n
            for (m, r, s), n in self.by_route.items()
            if (method is None or m == method)
            and (route is None or r == route)
            and (status is None or s == status)
        )

    def api_calls(self) -> int:
        """Requests to ``/api/v2`` (what a client's rate budget is spent on)."""
        return sum(n for (_, r, _), n in self.by_route.items() if r.startswith("/api/v2"))

    def as_dict(self) -> dict[str, Any]:
        routes = [
            {"method": m, "route": r, "status": s, "count": n}
            for (m, r, s), n in sorted(self.by_route.items())
        ]
        return {
            "total": self.total,
            "apiCalls": self.api_calls(),
            "tokensIssued": self.tokens_issued,
            "faultsInjected": self.faults_injected,
            "droppedAfterCommit": self.dropped_after_commit,
            "rateLimited": self.rate_limited,
            "routes": routes,
        }

    def reset(self) -> None:
        self.by_route.clear()
        self.tokens_issued = self.faults_injected = self.dropped_after_commit = self.rate_limited = 0
