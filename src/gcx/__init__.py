"""gcx: a toolkit for Genesys Cloud External Contacts and External Organizations."""

from __future__ import annotations

from gcx.client import AsyncClient, Client
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
from gcx.resources import BulkError, BulkItem, BulkResult, EnrichResult
from gcx.retry import RetryPolicy
from gcx.transport import RequestStats

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
