"""The emulator's HTTP face: thin starlette handlers over the backend, plus the gate.

The gate (:class:`EmulatorGate`) wraps the starlette app and applies, to ``/api/v2`` calls
only: bearer-token checks, the per-token rate limit, injected faults and latency, and
commit-then-drop. It also stamps every response with ``ININ-Correlation-Id`` and counts
requests by (method, route template, status).
"""

from __future__ import annotations

import base64
import binascii
import json
import logging
import math
import uuid
from collections.abc import Awaitable, Callable
from typing import Any
from urllib.parse import parse_qs

import anyio
from starlette.applications import Starlette
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Match, Route
from starlette.types import ASGIApp, Message, Receive, Scope, Send

from gcx.emulator.backend import API, CONTACTS, ORGS, Backend, EmulatorError, invalid
from gcx.emulator.faults import Fault, rate_limited_message
from gcx.emulator.schema import FieldProblem

log = logging.getLogger("gcx.emulator")

CORRELATION_HEADER = "ININ-Correlation-Id"
ADMIN_PREFIX = "/_emulator"
UNMATCHED = "<unmatched>"

#: POST routes that only read (never commit-then-drop).
READ_ONLY_POSTS = frozenset(
    {
        f"{API}/bulk/contacts",
        f"{API}/bulk/organizations",
        f"{API}/contacts/search",
        f"{API}/identifierlookup",
        f"{API}/identifierlookup/contacts",
        f"{API}/identifierlookup/organizations",
    }
)
WRITE_METHODS = frozenset({"POST", "PUT", "PATCH", "DELETE"})


class ConnectionDropped(Exception):
    """Raised after a write was applied to cut the connection instead of answering."""


Handler = Callable[[Request], Awaitable[Response]]


def json_response(data: Any, status: int = 200, headers: dict[str, str] | None = None) -> Response:
    return Response(
        json.dumps(data, separators=(",", ":")),
        status_code=status,
        headers=headers,
        media_type="application/json",
    )


def error_response(err: EmulatorError, correlation_id: str) -> Response:
    headers = dict(err.headers)
    return json_response(err.body(correlation_id), err.status, headers)


def fault_error(fault: Fault) -> EmulatorError:
    headers = {"Retry-After": str(fault.retry_after)} if fault.retry_after is not None else {}
    return EmulatorError(fault.status, fault.code, fault.message, headers=headers)


def _correlation(request: Request) -> str:
    value = request.scope.get("gcx.correlation_id")
    return value if isinstance(value, str) else str(uuid.uuid4())


# --------------------------------------------------------------------------- parsing


async def read_json(request: Request, *, required: bool = True) -> Any:
    """The JSON body, or a 4xx :class:`EmulatorError` (415 wrong type, 400 malformed)."""
    raw = await request.body()
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
        data = json.loads(raw, parse_constant=_reject_constant, parse_float=_finite_float)
    except RecursionError:
        data = _TOO_DEEP
    except (ValueError, UnicodeDecodeError) as exc:
        raise invalid([FieldProblem("body", f"is not valid JSON ({exc})")], "request") from None
    if data is _TOO_DEEP or _depth_exceeds(data, MAX_JSON_DEPTH):
        raise invalid([FieldProblem("body", f"nests deeper than {MAX_JSON_DEPTH} levels")], "request")
    return data


MAX_JSON_DEPTH = 64
"""Deepest nesting of objects and arrays accepted in a body (records need about 5)."""

_TOO_DEEP = object()


def _reject_constant(name: str) -> Any:
    """``NaN``, ``Infinity`` and ``-Infinity`` are not JSON (Python's parser accepts them)."""
    raise ValueError(f"{name} is not a JSON value")


def _finite_float(text: str) -> float:
    value = float(text)
    if not math.isfinite(value):
        raise ValueError(f"number {text[:40]} is too large")
    return value


def _depth_exceeds(data: Any, limit: int) -> bool:
    """Whether objects/arrays nest deeper than ``limit`` (iterative: no recursion on hostile input)."""
    stack: list[tuple[Any, int]] = [(data, 1)]
    while stack:
        value, depth = stack.pop()
        if isinstance(value, dict):
            children: Any = value.values()
        elif isinstance(value, list):
            children = value
        else:
            continue
        if depth > limit:
            return True
        stack.extend((child, depth + 1) for child in children if isinstance(child, dict | list))
    return False


def query_int(request: Request, name: str) -> int | None:
    raw = request.query_params.get(name)
    if raw is None or raw == "":
        return None
    try:
        return int(raw)
    except ValueError:
        raise invalid([FieldProblem(name, "must be an integer", value=raw)], "query") from None


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
            return error_response(err, _correlation(request))
        except Exception:
            log.exception("emulator handler failed for %s %s", request.method, request.url.path)
            failure = EmulatorError(500, "internal.server.error", "The emulator hit an unexpected error")
            return error_response(failure, _correlation(request))

    wrapped.__name__ = fn.__name__
    return wrapped


# --------------------------------------------------------------------------- routes


def build_routes(backend: Backend) -> list[BaseRoute]:
    """Every route of the emulated API, the token endpoint and the admin endpoints."""
    routes: list[BaseRoute] = []

    def add(path: str, methods: list[str], fn: Handler) -> None:
        routes.append(Route(path, handler(fn), methods=methods))

    # ------------------------------------------------------------- token
    async def token(request: Request) -> Response:
        return _token(backend, request, await request.body())

    add("/oauth/token", ["POST"], token)

    # ------------------------------------------------------------- identity
    async def me(request: Request) -> Response:
        return json_response(backend.me())

    add("/api/v2/organizations/me", ["GET"], me)

    # ------------------------------------------------------------- records
    for kind, param in ((CONTACTS, "contactId"), (ORGS, "externalOrganizationId")):
        _record_routes(add, backend, kind, param)

    async def org_contacts(request: Request) -> Response:
        org_id = request.path_params["externalOrganizationId"]
        return json_response(
            backend.search(
                CONTACTS,
                q=request.query_params.get("q"),
                page_size=query_int(request, "pageSize"),
                page_number=query_int(request, "pageNumber"),
                sort_order=request.query_params.get("sortOrder"),
                org_id=org_id,
            )
        )

    add(f"{API}/organizations/{{externalOrganizationId}}/contacts", ["GET"], org_contacts)

    async def trustor_link(request: Request) -> Response:
        params = request.path_params
        return json_response(backend.link_trustor(params["externalOrganizationId"], params["trustorId"]))

    async def trustor_unlink(request: Request) -> Response:
        backend.unlink_trustor(request.path_params["externalOrganizationId"])
        return Response(status_code=200)

    add(f"{API}/organizations/{{externalOrganizationId}}/trustor/{{trustorId}}", ["PUT"], trustor_link)
    add(f"{API}/organizations/{{externalOrganizationId}}/trustor", ["DELETE"], trustor_unlink)

    async def contact_search(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object")], "search request")
        simple = (body.get("operation") or {}).get("simpleSearch") or {}
        if not isinstance(simple, dict):
            raise invalid([FieldProblem("operation.simpleSearch", "must be a JSON object")], "search request")
        sort = simple.get("sortOrder")
        sort_order = sort[0] if isinstance(sort, list) and sort else None
        ids = simple.get("ids")
        for name, value in (("pageSize", body.get("pageSize")), ("pageNumber", body.get("pageNumber"))):
            if value is not None and (isinstance(value, bool) or not isinstance(value, int)):
                raise invalid([FieldProblem(name, "must be an integer", value=value)], "search request")
        if ids is not None and (not isinstance(ids, list) or not all(isinstance(i, str) for i in ids)):
            raise invalid(
                [FieldProblem("operation.simpleSearch.ids", "must be an array of ids")], "search request"
            )
        query = simple.get("query")
        if query is not None and not isinstance(query, str):
            raise invalid(
                [FieldProblem("operation.simpleSearch.query", "must be a string")], "search request"
            )
        return json_response(
            backend.search(
                CONTACTS,
                q=query,
                page_size=body.get("pageSize"),
                page_number=body.get("pageNumber"),
                sort_order=sort_order,
                ids=ids,
                path=f"{API}/contacts/search",
            )
        )

    add(f"{API}/contacts/search", ["POST"], contact_search)

    async def merge_contacts(request: Request) -> Response:
        return json_response(backend.merge_contacts(await read_json(request)))

    async def merge_into(request: Request) -> Response:
        return json_response(backend.merge_into(await read_json(request)))

    add(f"{API}/contacts/merge", ["POST"], merge_contacts)
    add(f"{API}/merge/contacts", ["POST"], merge_into)

    # ------------------------------------------------------------- lookup
    async def lookup_contacts(request: Request) -> Response:
        return json_response(backend.lookup(CONTACTS, await read_json(request)))

    async def lookup_orgs(request: Request) -> Response:
        return json_response(backend.lookup(ORGS, await read_json(request)))

    add(f"{API}/identifierlookup", ["POST"], lookup_contacts)
    add(f"{API}/identifierlookup/contacts", ["POST"], lookup_contacts)
    add(f"{API}/identifierlookup/organizations", ["POST"], lookup_orgs)

    # ------------------------------------------------------------- external sources
    async def sources_list(request: Request) -> Response:
        return json_response(
            backend.list_sources(
                cursor=request.query_params.get("cursor") or None,
                limit=query_int(request, "limit"),
                name=request.query_params.get("name"),
                active=query_bool(request, "active"),
            )
        )

    async def sources_create(request: Request) -> Response:
        return json_response(backend.create_source(await read_json(request)))

    async def source_get(request: Request) -> Response:
        return json_response(backend.get_source(request.path_params["externalSourceId"]))

    async def source_put(request: Request) -> Response:
        return json_response(
            backend.replace_source(request.path_params["externalSourceId"], await read_json(request))
        )

    async def source_delete(request: Request) -> Response:
        backend.delete_source(request.path_params["externalSourceId"])
        return Response(status_code=200)

    add(f"{API}/externalsources", ["GET"], sources_list)
    add(f"{API}/externalsources", ["POST"], sources_create)
    add(f"{API}/externalsources/{{externalSourceId}}", ["GET"], source_get)
    add(f"{API}/externalsources/{{externalSourceId}}", ["PUT"], source_put)
    add(f"{API}/externalsources/{{externalSourceId}}", ["DELETE"], source_delete)

    # ------------------------------------------------------------- relationships
    async def rel_create(request: Request) -> Response:
        return json_response(backend.create_relationship(await read_json(request)))

    async def rel_get(request: Request) -> Response:
        return json_response(backend.get_relationship(request.path_params["relationshipId"]))

    async def rel_put(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.replace_relationship(request.path_params["relationshipId"], body))

    async def rel_patch(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.patch_relationship(request.path_params["relationshipId"], body))

    async def rel_delete(request: Request) -> Response:
        backend.delete_relationship(request.path_params["relationshipId"])
        return Response(status_code=200)

    async def org_relationships(request: Request) -> Response:
        return json_response(
            backend.list_relationships(
                request.path_params["externalOrganizationId"],
                page_size=query_int(request, "pageSize"),
                page_number=query_int(request, "pageNumber"),
                sort_order=request.query_params.get("sortOrder") or None,
            )
        )

    add(f"{API}/relationships", ["POST"], rel_create)
    add(f"{API}/relationships/{{relationshipId}}", ["GET"], rel_get)
    add(f"{API}/relationships/{{relationshipId}}", ["PUT"], rel_put)
    add(f"{API}/relationships/{{relationshipId}}", ["PATCH"], rel_patch)
    add(f"{API}/relationships/{{relationshipId}}", ["DELETE"], rel_delete)
    add(f"{API}/organizations/{{externalOrganizationId}}/relationships", ["GET"], org_relationships)

    # ------------------------------------------------------------- admin
    _admin_routes(add, backend)
    return routes


def _record_routes(
    add: Callable[[str, list[str], Handler], None], backend: Backend, kind: str, param: str
) -> None:
    base = f"{API}/{kind}"
    one = f"{base}/{{{param}}}"

    async def listing(request: Request) -> Response:
        return json_response(
            backend.search(
                kind,
                q=request.query_params.get("q"),
                page_size=query_int(request, "pageSize"),
                page_number=query_int(request, "pageNumber"),
                sort_order=request.query_params.get("sortOrder"),
            )
        )

    async def create(request: Request) -> Response:
        return json_response(backend.create(kind, await read_json(request)))

    async def get(request: Request) -> Response:
        return json_response(backend.get(kind, request.path_params[param]))

    async def put(request: Request) -> Response:
        return json_response(backend.replace(kind, request.path_params[param], await read_json(request)))

    async def patch(request: Request) -> Response:
        return json_response(backend.patch(kind, request.path_params[param], await read_json(request)))

    async def delete(request: Request) -> Response:
        backend.delete(kind, request.path_params[param])
        return Response(status_code=200)

    async def scan(request: Request) -> Response:
        return json_response(
            backend.scan(
                kind,
                limit=query_int(request, "limit"),
                cursor=request.query_params.get("cursor") or None,
                division_id=request.query_params.get("divisionId") or None,
            )
        )

    async def identifiers(request: Request) -> Response:
        return json_response(backend.list_identifiers(kind, request.path_params[param]))

    async def identifiers_patch(request: Request) -> Response:
        return json_response(
            backend.patch_identifiers(kind, request.path_params[param], await read_json(request))
        )

    async def enrich(request: Request) -> Response:
        entity, created = backend.enrich(
            kind, await read_json(request), dry_run=bool(query_bool(request, "dryRun"))
        )
        return json_response(entity, 201 if created else 200)

    async def bulk_enrich(request: Request) -> Response:
        return json_response(
            backend.bulk_enrich(kind, await read_json(request), dry_run=bool(query_bool(request, "dryRun")))
        )

    async def bulk_fetch(request: Request) -> Response:
        return json_response(backend.bulk_fetch(kind, await read_json(request)))

    async def bulk_add(request: Request) -> Response:
        return json_response(backend.bulk_add(kind, await read_json(request)))

    async def bulk_update(request: Request) -> Response:
        return json_response(backend.bulk_update(kind, await read_json(request)))

    async def bulk_remove(request: Request) -> Response:
        return json_response(backend.bulk_remove(kind, await read_json(request)))

    add(base, ["GET"], listing)
    add(base, ["POST"], create)
    add(f"{base}/enrich", ["POST"], enrich)
    add(one, ["GET"], get)
    add(one, ["PUT"], put)
    add(one, ["PATCH"], patch)
    add(one, ["DELETE"], delete)
    add(f"{one}/identifiers", ["GET"], identifiers)
    add(f"{one}/identifiers", ["PATCH"], identifiers_patch)
    add(f"{API}/scan/{kind}", ["GET"], scan)
    add(f"{API}/bulk/{kind}", ["POST"], bulk_fetch)
    add(f"{API}/bulk/{kind}/add", ["POST"], bulk_add)
    add(f"{API}/bulk/{kind}/update", ["POST"], bulk_update)
    add(f"{API}/bulk/{kind}/remove", ["POST"], bulk_remove)
    add(f"{API}/bulk/{kind}/enrich", ["POST"], bulk_enrich)

    async def notes(request: Request) -> Response:
        return json_response(
            backend.list_notes(
                kind,
                request.path_params[param],
                page_size=query_int(request, "pageSize"),
                page_number=query_int(request, "pageNumber"),
                sort_order=request.query_params.get("sortOrder") or None,
            )
        )

    async def note_create(request: Request) -> Response:
        return json_response(backend.create_note(kind, request.path_params[param], await read_json(request)))

    async def note_get(request: Request) -> Response:
        return json_response(
            backend.get_note(kind, request.path_params[param], request.path_params["noteId"])
        )

    async def note_put(request: Request) -> Response:
        body = await read_json(request)
        return json_response(
            backend.replace_note(kind, request.path_params[param], request.path_params["noteId"], body)
        )

    async def note_patch(request: Request) -> Response:
        body = await read_json(request)
        return json_response(
            backend.patch_note(kind, request.path_params[param], request.path_params["noteId"], body)
        )

    async def note_delete(request: Request) -> Response:
        backend.delete_note(kind, request.path_params[param], request.path_params["noteId"])
        return Response(status_code=200)

    add(f"{one}/notes", ["GET"], notes)
    add(f"{one}/notes", ["POST"], note_create)
    add(f"{one}/notes/{{noteId}}", ["GET"], note_get)
    add(f"{one}/notes/{{noteId}}", ["PUT"], note_put)
    add(f"{one}/notes/{{noteId}}", ["PATCH"], note_patch)
    add(f"{one}/notes/{{noteId}}", ["DELETE"], note_delete)


def _admin_routes(add: Callable[[str, list[str], Handler], None], backend: Backend) -> None:
    async def stats(request: Request) -> Response:
        with backend.lock:
            return json_response(backend.stats.as_dict())

    async def stats_reset(request: Request) -> Response:
        with backend.lock:
            backend.stats.reset()
        return json_response({"reset": True})

    async def reset(request: Request) -> Response:
        backend.reset()
        return json_response({"reset": True, "counts": backend.counts()})

    async def state_get(request: Request) -> Response:
        return json_response(backend.dump())

    async def state_put(request: Request) -> Response:
        return json_response({"loaded": backend.load(await read_json(request))})

    async def revoke(request: Request) -> Response:
        body = await read_json(request, required=False)
        token = body.get("token") if isinstance(body, dict) else None
        if token is not None and not isinstance(token, str):
            raise invalid([FieldProblem("token", "must be a string")], "revoke request")
        return json_response({"revoked": backend.revoke_tokens(token)})

    async def settings_get(request: Request) -> Response:
        return json_response(backend.settings.public())

    async def settings_patch(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object of settings")], "settings")
        try:
            new = backend.update_settings(**body)
        except (ValueError, TypeError) as exc:
            raise invalid([FieldProblem("settings", str(exc))], "settings") from None
        return json_response(new.public())

    async def faults(request: Request) -> Response:
        body = await read_json(request)
        if not isinstance(body, dict):
            raise invalid([FieldProblem("body", "must be a JSON object")], "fault request")
        count = body.get("count", 1)
        if isinstance(count, bool) or not isinstance(count, int) or not 1 <= count <= 10_000:
            raise invalid([FieldProblem("count", "must be an integer between 1 and 10000")], "fault request")
        kind = body.get("fault")
        with backend.lock:
            if kind == "status":
                status = body.get("status")
                if status != 429 and (not isinstance(status, int) or not 500 <= status <= 599):
                    raise invalid([FieldProblem("status", "must be 429 or a 5xx status")], "fault request")
                backend.faults.inject(status, count)
            elif kind == "drop":
                mode = body.get("mode", "disconnect")
                if mode not in ("disconnect", "504"):
                    raise invalid([FieldProblem("mode", "must be disconnect or 504")], "fault request")
                backend.faults.drop_next_writes(count, mode)
            else:
                raise invalid([FieldProblem("fault", "must be 'status' or 'drop'")], "fault request")
        return json_response({"queued": count, "fault": kind})

    add(f"{ADMIN_PREFIX}/stats", ["GET"], stats)
    add(f"{ADMIN_PREFIX}/stats", ["DELETE"], stats_reset)
    add(f"{ADMIN_PREFIX}/reset", ["POST"], reset)
    add(f"{ADMIN_PREFIX}/state", ["GET"], state_get)
    add(f"{ADMIN_PREFIX}/state", ["PUT"], state_put)
    add(f"{ADMIN_PREFIX}/revoke-tokens", ["POST"], revoke)
    add(f"{ADMIN_PREFIX}/settings", ["GET"], settings_get)
    add(f"{ADMIN_PREFIX}/settings", ["PATCH"], settings_patch)
    add(f"{ADMIN_PREFIX}/faults", ["POST"], faults)


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
        return error_response(fault_error(fault), _correlation(request))
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
            "contextId": _correlation(request),
        }
        return json_response(body, 429, {"Retry-After": str(wait)})
    try:
        issued = backend.issue_token(client_id, secret)
    except EmulatorError as err:
        return _oauth_error(err.status, err.code, err.message)
    return json_response(issued)


# --------------------------------------------------------------------------- the gate


class EmulatorGate:
    """Outermost ASGI layer: correlation ids, stats, auth, rate limit, faults, drops."""

    def __init__(self, backend: Backend, inner: Starlette) -> None:
        self.backend = backend
        self.inner = inner

    def route_template(self, scope: Scope) -> tuple[str, bool]:
        """The matched route's path template, and whether the method is allowed there."""
        partial: str | None = None
        for route in self.inner.router.routes:
            match, _ = route.matches(scope)
            path = getattr(route, "path", UNMATCHED)
            if match == Match.FULL:
                return path, True
            if match == Match.PARTIAL and partial is None:
                partial = path
        return (partial, False) if partial is not None else (UNMATCHED, False)

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.inner(scope, receive, send)
            return
        correlation = str(uuid.uuid4())
        scope["gcx.correlation_id"] = correlation
        method: str = scope["method"]
        path: str = scope["path"]
        template, allowed = self.route_template(scope)
        status_seen = [0]

        async def stamped(message: Message) -> None:
            if message["type"] == "http.response.start":
                status_seen[0] = message["status"]
                headers = list(message.get("headers", []))
                headers.append((CORRELATION_HEADER.lower().encode(), correlation.encode()))
                message = {**message, "headers": headers}
            await send(message)

        try:
            if path.startswith("/api/v2") and allowed:
                await self._api_call(scope, receive, stamped, method, template)
            else:
                await self.inner(scope, receive, stamped)
        finally:
            with self.backend.lock:
                self.backend.stats.record(method, template, status_seen[0])

    async def _api_call(self, scope: Scope, receive: Receive, send: Send, method: str, template: str) -> None:
        backend = self.backend
        correlation: str = scope["gcx.correlation_id"]
        token = _bearer(scope)
        try:
            backend.check_token(token)
            with backend.lock:
                wait = backend.rate_limiter.hit(f"token:{token}")
                if wait is not None:
                    backend.stats.rate_limited += 1
                    raise EmulatorError(
                        429,
                        "too.many.requests.retry.after",
                        rate_limited_message(wait),
                        headers={"Retry-After": str(wait)},
                    )
                fault = backend.faults.before_call()
                if fault is not None:
                    backend.stats.faults_injected += 1
                    if fault.status == 429:
                        backend.stats.rate_limited += 1
                    raise fault_error(fault)
                delay = backend.faults.latency()
        except EmulatorError as err:
            await error_response(err, correlation)(scope, receive, send)
            return
        if delay > 0:
            await anyio.sleep(delay)
        is_write = method in WRITE_METHODS and template not in READ_ONLY_POSTS and not _is_dry_run(scope)
        if not is_write:
            await self.inner(scope, receive, send)
            return
        await self._write_call(scope, receive, send, correlation)

    async def _write_call(self, scope: Scope, receive: Receive, send: Send, correlation: str) -> None:
        backend = self.backend
        held: list[Message] = []
        drop: list[str | None] = [None]

        async def hold(message: Message) -> None:
            if message["type"] == "http.response.start":
                if message["status"] < 300:
                    with backend.lock:
                        drop[0] = backend.faults.drop_after_commit()
                        if drop[0] is not None:
                            backend.stats.dropped_after_commit += 1
                if drop[0] is None:
                    await send(message)
                else:
                    held.append(message)
                return
            if drop[0] is None:
                await send(message)

        await self.inner(scope, receive, hold)
        if drop[0] == "504":
            err = EmulatorError(
                504, "gateway.timeout", "The gateway timed out waiting for the service (injected fault)."
            )
            await error_response(err, correlation)(scope, receive, send)
        elif drop[0] == "disconnect":
            await send(held[0])
            raise ConnectionDropped("the emulator cut the connection after applying the write")


def _bearer(scope: Scope) -> str | None:
    for name, value in scope.get("headers", []):
        if name == b"authorization":
            text = value.decode("latin-1").strip()
            if text[:7].lower() == "bearer ":
                return text[7:].strip() or None
            return None
    return None


def _is_dry_run(scope: Scope) -> bool:
    query = scope.get("query_string", b"").decode("latin-1")
    values = parse_qs(query).get("dryRun", [])
    return bool(values) and values[-1].lower() == "true"


async def _not_found(request: Request, exc: Exception) -> Response:
    status = exc.status_code if isinstance(exc, HTTPException) else 500
    correlation = _correlation(request)
    if status == 405:
        allow = dict(getattr(exc, "headers", None) or {}).get("Allow", "")
        err = EmulatorError(
            405,
            "method.not.allowed",
            f"{request.method} is not allowed on {request.url.path}"
            + (f" (allowed: {allow})" if allow else ""),
            headers={"Allow": allow} if allow else None,
        )
    elif status == 404:
        err = EmulatorError(404, "not.found", f"No route for {request.method} {request.url.path}")
    else:
        err = EmulatorError(status, "bad.request", str(getattr(exc, "detail", "bad request")))
    return error_response(err, correlation)


def create_app(backend: Backend) -> ASGIApp:
    """The emulator's ASGI application over ``backend``."""
    inner = Starlette(routes=build_routes(backend), exception_handlers={HTTPException: _not_found})
    return EmulatorGate(backend, inner)
