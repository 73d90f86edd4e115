"""gcx: a toolkit for Genesys Cloud External Contacts and External Organizations."""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from gcx.config import Region, Settings, resolve_region
from gcx.errors import (
    ApiError,
    AuthError,
    BadRequestError,
    ConfigError,
    ConflictError,
    GcxError,
    NotFoundError,
    OutcomeUnknownError,
    RateLimitedError,
    ServerError,
    TransportError,
    UnauthorizedError,
    ValidationError,
)

if TYPE_CHECKING:
    from gcx.blocking import Client
    from gcx.client import AsyncClient
    from gcx.resources import BulkError, BulkItem, BulkResult, EnrichResult
    from gcx.retry import RetryPolicy
    from gcx.transport import RequestStats

#: Exported names loaded on first use, so that ``import gcx.config`` (the CLI's start-up)
#: does not pay for httpx and the generated models.
_LAZY = {
    "AsyncClient": "gcx.client",
    "Client": "gcx.blocking",
    "BulkError": "gcx.resources",
    "BulkItem": "gcx.resources",
    "BulkResult": "gcx.resources",
    "EnrichResult": "gcx.resources",
    "RetryPolicy": "gcx.retry",
    "RequestStats": "gcx.transport",
}


def __getattr__(name: str) -> Any:
    module = _LAZY.get(name)
    if module is None:
        raise AttributeError(f"module 'gcx' has no attribute {name!r}")
    import importlib

    value = getattr(importlib.import_module(module), name)
    globals()[name] = value
    return value


__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AsyncClient",
    "AuthError",
    "BadRequestError",
    "BulkError",
    "BulkItem",
    "BulkResult",
    "Client",
    "ConfigError",
    "ConflictError",
    "EnrichResult",
    "GcxError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "Region",
    "RequestStats",
    "RetryPolicy",
    "ServerError",
    "Settings",
    "TransportError",
    "UnauthorizedError",
    "ValidationError",
    "__version__",
    "resolve_region",
]
