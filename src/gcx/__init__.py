"""gcx: a toolkit for Genesys Cloud External Contacts and External Organizations."""

from __future__ import annotations

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

__version__ = "0.1.0"

__all__ = [
    "ApiError",
    "AuthError",
    "BadRequestError",
    "ConfigError",
    "ConflictError",
    "GcxError",
    "NotFoundError",
    "OutcomeUnknownError",
    "RateLimitedError",
    "Region",
    "ServerError",
    "Settings",
    "TransportError",
    "UnauthorizedError",
    "ValidationError",
    "__version__",
    "resolve_region",
]
