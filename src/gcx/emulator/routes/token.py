"""``POST /oauth/token``: client credentials (HTTP Basic or form fields), with faults and a rate limit."""

from __future__ import annotations

import base64
import binascii
from urllib.parse import parse_qs

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.errors import EmulatorError, fault_error
from gcx.emulator.faults import rate_limited_message
from gcx.emulator.http import RouteTable, correlation, error_response, json_response, read_body


def token_routes(table: RouteTable, backend: Backend) -> None:
    async def token(request: Request) -> Response:
        return _token(backend, request, await read_body(request))

    table.add("/oauth/token", ["POST"], token)


def _oauth_error(
    status: int, error: str, description: str, headers: dict[str, str] | None = None
) -> Response:
    return json_response({"error": error, "error_description": description}, status, headers)


def _token(backend: Backend, request: Request, raw: bytes) -> Response:
    """``POST /oauth/token`` (client credentials; Basic auth or form fields)."""
    with backend.lock:
        fault = backend.faults.before_token()
        if fault is not None:
            backend.stats.faults_injected += 1
    if fault is not None:
        return error_response(fault_error(fault), correlation(request))
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype != "application/x-www-form-urlencoded":
        return _oauth_error(400, "invalid_request", "Content-Type must be application/x-www-form-urlencoded")
    try:
        form = {k: v[0] for k, v in parse_qs(raw.decode("utf-8"), keep_blank_values=True).items()}
    except UnicodeDecodeError:
        return _oauth_error(400, "invalid_request", "the form body is not UTF-8")
    grant = form.get("grant_type")
    if grant != "client_credentials":
        return _oauth_error(400, "unsupported_grant_type", "only grant_type=client_credentials is supported")
    client_id, secret = form.get("client_id", ""), form.get("client_secret", "")
    auth = request.headers.get("authorization", "")
    if auth[:6].lower() == "basic ":
        try:
            decoded = base64.b64decode(auth[6:].strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return _oauth_error(401, "invalid_client", "the Basic authorization header is malformed")
        client_id, sep, secret = decoded.partition(":")
        if not sep:
            return _oauth_error(401, "invalid_client", "the Basic authorization header is malformed")
    if not client_id or not secret:
        return _oauth_error(401, "invalid_client", "client credentials are required (HTTP Basic auth)")
    with backend.lock:
        wait = backend.token_limiter.hit(f"client:{client_id}")
        if wait is not None:
            backend.stats.rate_limited += 1
    if wait is not None:
        body = {
            "error": "too_many_requests",
            "error_description": rate_limited_message(wait),
            "message": rate_limited_message(wait),
            "code": "too.many.requests.retry.after",
            "status": 429,
            "contextId": correlation(request),
        }
        return json_response(body, 429, {"Retry-After": str(wait)})
    try:
        issued = backend.issue_token(client_id, secret)
    except EmulatorError as err:
        return _oauth_error(err.status, err.code, err.message)
    return json_response(issued)
