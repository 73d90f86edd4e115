"""HTTP helpers every route uses: JSON answers and errors, body and query parsing, the handler wrapper."""

from __future__ import annotations

import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any

from starlette.requests import ClientDisconnect, Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from gcx.emulator import jsonio
from gcx.emulator.errors import EmulatorError, invalid
from gcx.emulator.kinds import MAX_JSON_DEPTH, nests_deeper
from gcx.emulator.schema import FieldProblem

log = logging.getLogger("gcx.emulator")

Handler = Callable[[Request], Awaitable[Response]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        jsonio.dumps(data),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_response(err: EmulatorError, correlation_id: str) -> Response:
    headers = dict(err.headers)
    return json_response(err.body(correlation_id), err.status, headers)


def correlation(request: Request) -> str:
    value = request.scope.get("gcx.correlation_id")
    return value if isinstance(value, str) else str(uuid.uuid4())


def empty_response() -> Response:
    """The answer of a DELETE and the other calls the contract gives no body."""
    return Response(status_code=200)


# --------------------------------------------------------------------------- parsing


#: Where the gate puts the body size limit for the handlers (``max_body_bytes`` setting).
BODY_LIMIT_KEY = "gcx.max_body_bytes"


def too_large(limit: int) -> EmulatorError:
    return EmulatorError(
        413,
        "request.too.large",
        f"The request body is larger than {limit} bytes (the emulator's max_body_bytes)",
    )


async def read_body(request: Request) -> bytes:
    """The raw body, read chunk by chunk and refused with 413 as soon as it passes the limit
    (so a huge body is never held in memory)."""
    limit = request.scope.get(BODY_LIMIT_KEY)
    if not isinstance(limit, int):
        return await request.body()
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > limit:
        raise too_large(limit)
    chunks: list[bytes] = []
    size = 0
    async for chunk in request.stream():
        size += len(chunk)
        if size > limit:
            raise too_large(limit)
        chunks.append(chunk)
    return b"".join(chunks)


async def read_json(request: Request, *, required: bool = True) -> Any:
    """The JSON body, or a 4xx :class:`EmulatorError` (413 too large, 415 wrong type, 400 malformed)."""
    raw = await read_body(request)
    if not raw.strip():
        if required:
            raise invalid([FieldProblem("body", "is required (a JSON document)")], "request")
        return None
    ctype = request.headers.get("content-type", "").split(";")[0].strip().lower()
    if ctype and ctype != "application/json" and not ctype.endswith("+json"):
        raise EmulatorError(
            415, "unsupported.media.type", f"Content-Type {ctype!r} is not supported; send application/json"
        )
    try:
        data = jsonio.loads(raw, _strict_loads)
    except RecursionError:
        data = _TOO_DEEP
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid([FieldProblem("body", f"is not valid JSON ({exc})")], "request") from None
    if data is _TOO_DEEP or _nests_too_deep(raw, data):
        raise invalid([FieldProblem("body", f"nests deeper than {MAX_JSON_DEPTH} levels")], "request")
    return data


_TOO_DEEP = object()


def _nests_too_deep(raw: bytes, data: Any) -> bool:
    """Whether the parsed body nests deeper than the limit: counted in the text (a few C passes
    over the bytes) when it is UTF-8, by walking ``data`` otherwise (UTF-16 and UTF-32 JSON,
    which ``json`` accepts, hold a NUL byte; UTF-8 JSON never does)."""
    if b"\0" in raw:
        return nests_deeper(data, MAX_JSON_DEPTH)
    return jsonio.text_nests_deeper(raw, MAX_JSON_DEPTH)


def _strict_loads(raw: bytes) -> Any:
    return json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)


def _reject_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (Python's parser accepts them)."""
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid([FieldProblem(name, "must be an integer", value=raw)], "query") from None


def query_list(request: Request, name: str) -> tuple[str, ...]:
    """A repeatable query parameter (``expand=a&expand=b`` or ``expand=a,b``)."""
    return tuple(
        part.strip() for raw in request.query_params.getlist(name) for part in raw.split(",") if part.strip()
    )


def query_bool(request: Request, name: str) -> bool | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    lowered = raw.lower()
    if lowered not in ("true", "false"):
        raise invalid([FieldProblem(name, "must be true or false", value=raw)], "query")
    return lowered == "true"


def handler(fn: Handler) -> Handler:
    """Turn backend errors (and any bug) into ErrorBody responses."""

    async def wrapped(request: Request) -> Response:
        try:
            return await fn(request)
        except EmulatorError as err:
            return error_response(err, correlation(request))
        except ClientDisconnect:
            # The client went away before its request was read: nobody is left to answer and
            # nothing was done. One quiet line, never a traceback.
            log.info("client disconnected during %s %s", request.method, request.url.path)
            return Response(status_code=499)
        except Exception:
            log.exception("emulator handler failed for %s %s", request.method, request.url.path)
            failure = EmulatorError(500, "internal.server.error", "The emulator hit an unexpected error")
            return error_response(failure, correlation(request))

    wrapped.__name__ = fn.__name__
    return wrapped


class RouteTable:
    """Routes collected by family (``table.add(path, methods, fn)``), each wrapped by :func:`handler`."""

    def __init__(self) -> None:
        self.routes: list[BaseRoute] = []

    def add(self, path: str, methods: list[str], fn: Handler) -> None:
        self.routes.append(Route(path, handler(fn), methods=methods))
