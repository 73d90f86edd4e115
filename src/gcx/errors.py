"""gcx's exceptions: one root, API errors carrying everything the server said.

Hierarchy::

    GcxError
    ├── ConfigError                 bad region, missing credential, bad profile
    │   ├── SettingError            a region, profile or credential given is missing or wrong
    │   └── MissingDependencyError  an optional dependency (extra) is not installed
    ├── AuthError                   token request refused (bad client id/secret...)
    ├── TransportError              network failure after all retries
    ├── OutcomeUnknownError         a non-idempotent write may or may not have happened
    ├── ValidationError (local)     gcx refused the input before sending it
    └── ApiError                    the API answered with an error status
        ├── BadRequestError         400 / 422  (also ``InvalidRequestError``)
        ├── UnauthorizedError       401 (after one renew-and-replay)
        ├── ForbiddenError          403
        ├── NotFoundError           404
        ├── ConflictError           409
        ├── PayloadTooLargeError    413
        ├── RateLimitedError        429 (``retry_after`` seconds)
        └── ServerError             5xx / 408

No exception ever holds a secret or a bearer token: bodies are parsed ErrorBody
JSON, requests are described by method and URL only.
"""

from __future__ import annotations

from typing import Any


class GcxError(Exception):
    """Root of every error gcx raises."""


class ConfigError(GcxError):
    """The configuration is incomplete or wrong (region, credentials, profile)."""


class SettingError(ConfigError):
    """A region, profile or credential the caller gave (or did not give) is missing or wrong.

    The command line reports it as a usage error (exit code 2): the fix is in how gcx was called.
    """


class MissingDependencyError(ConfigError, ImportError):
    """An optional dependency is not installed; the message says which extra installs it.

    Also an ``ImportError``, so ``except ImportError`` around an optional import still works.
    """

    def __init__(self, message: str, *, module: str, extra: str | None) -> None:
        super().__init__(message)
        self.module = module
        self.extra = extra


class AuthError(GcxError):
    """The OAuth token endpoint refused the credentials or answered badly."""

    def __init__(self, message: str, *, status: int | None = None, error: str | None = None) -> None:
        super().__init__(message)
        self.status = status
        self.error = error


class TransportError(GcxError):
    """The network failed (connect, read, timeout) and retries are exhausted."""


class OutcomeUnknownError(GcxError):
    """A write that is not idempotent may have reached the server, but no answer came back.

    The request was *not* retried, because a blind retry can create a duplicate. The
    caller must reconcile (for example look the record up by its ExternalId identifier)
    before deciding whether to send it again.
    """

    def __init__(self, message: str, *, method: str, url: str, cause: BaseException | None = None) -> None:
        super().__init__(message)
        self.method = method
        self.url = url
        self.cause = cause


class ValidationError(GcxError):
    """gcx refused a value before sending it. ``record`` and ``field`` name the culprit."""

    def __init__(self, message: str, *, field: str | None = None, record: str | None = None) -> None:
        super().__init__(message)
        self.field = field
        self.record = record


class ApiError(GcxError):
    """The API answered with an error status.

    Attributes mirror Genesys' ErrorBody: ``status``, ``code``, ``message``,
    ``correlation_id`` (the ``ININ-Correlation-Id`` header), ``context_id``,
    ``details`` and the whole parsed ``body``.
    """

    def __init__(
        self,
        message: str,
        *,
        status: int,
        code: str | None = None,
        correlation_id: str | None = None,
        body: dict[str, Any] | None = None,
        method: str | None = None,
        url: str | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.status = status
        self.code = code
        self.correlation_id = correlation_id
        self.body: dict[str, Any] = body or {}
        self.method = method
        self.url = url

    @property
    def context_id(self) -> str | None:
        value = self.body.get("contextId")
        return value if isinstance(value, str) else None

    @property
    def details(self) -> list[dict[str, Any]]:
        value = self.body.get("details")
        return [d for d in value if isinstance(d, dict)] if isinstance(value, list) else []

    def __str__(self) -> str:
        parts = [f"{self.status}"]
        if self.code:
            parts.append(self.code)
        text = " ".join(parts) + f": {self.message}"
        fields = [d.get("fieldName") for d in self.details if d.get("fieldName")]
        if fields:
            text += f" (fields: {', '.join(str(f) for f in fields)})"
        if self.correlation_id:
            text += f" [correlation id {self.correlation_id}]"
        return text


class BadRequestError(ApiError):
    """400 or 422: the server rejected the request's content."""


InvalidRequestError = BadRequestError


class UnauthorizedError(ApiError):
    """401 that persisted after the token was renewed once."""


class ForbiddenError(ApiError):
    """403: the OAuth client's role lacks the operation's permission (or the org its licence).

    ``required_permissions`` lists the permissions of which any one lets the operation through
    (:mod:`gcx.permissions`); the message names the first.
    """

    def __init__(self, message: str, *, required_permissions: tuple[str, ...] = (), **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.required_permissions = required_permissions

    def __str__(self) -> str:
        text = super().__str__()
        if self.required_permissions:
            needed = self.required_permissions[0]
            text += (
                f"; this operation needs the permission {needed} on the OAuth client's role "
                "('gcx auth check' lists every permission the client lacks; if every External "
                "Contacts call is refused, the org may lack the licence for it)"
            )
        return text


class NotFoundError(ApiError):
    """404: no such record (or no record holds that identifier)."""


class ConflictError(ApiError):
    """409: conflicting change (e.g. PATCH naming a field and its parent)."""


class PayloadTooLargeError(ApiError):
    """413: the request (usually a bulk batch) is too large."""


class RateLimitedError(ApiError):
    """429 that persisted past the retry budget. ``retry_after`` is in seconds."""

    def __init__(self, message: str, *, retry_after: float | None = None, **kwargs: Any) -> None:
        super().__init__(message, **kwargs)
        self.retry_after = retry_after


class ServerError(ApiError):
    """5xx or 408 that persisted past the retry budget."""


_BY_STATUS: dict[int, type[ApiError]] = {
    400: BadRequestError,
    401: UnauthorizedError,
    403: ForbiddenError,
    404: NotFoundError,
    408: ServerError,
    409: ConflictError,
    413: PayloadTooLargeError,
    422: BadRequestError,
    429: RateLimitedError,
}


def error_class_for(status: int) -> type[ApiError]:
    """The exception class for an HTTP error status."""
    if status in _BY_STATUS:
        return _BY_STATUS[status]
    if status >= 500:
        return ServerError
    return ApiError
