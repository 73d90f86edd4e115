"""Routes of contacts and organizations: CRUD, scan, identifiers, enrich, bulk (one table per kind)."""

from __future__ import annotations

import functools
import gc

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.http import (
    Handler,
    RouteTable,
    empty_response,
    json_response,
    query_bool,
    query_int,
    query_list,
    read_json,
)
from gcx.emulator.kinds import API


def gc_paused(handler: Handler) -> Handler:
    """``handler`` with the cyclic collector paused while it runs.

    A bulk request holds a few thousand young containers until its answer is written (the
    body's 200 entities, the 200 answers), and those containers are garbage once it returns,
    most freed by reference counting. With the collector on, they trigger about seven young
    collections per request that scan them, promote them and scan them again in the older
    generations (~3% of a bulk add); paused, they are gone before it runs again (the young
    count goes down as they are freed). Cycles made meanwhile are collected later as usual.
    Pausing only where it was running keeps a caller's own ``gc.disable()`` in force.
    """

    @functools.wraps(handler)
    async def paused(request: Request) -> Response:
        if not gc.isenabled():
            return await handler(request)
        gc.disable()
        try:
            return await handler(request)
        finally:
            gc.enable()

    return paused


def record_routes(table: RouteTable, backend: Backend, kind: str, param: str) -> None:
    """``/{kind}``, ``/{kind}/{id}``, its identifiers, enrich, scan and bulk routes."""
    add = table.add
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
                expand=query_list(request, "expand"),
            )
        )

    async def create(request: Request) -> Response:
        return json_response(backend.create(kind, await read_json(request)))

    async def get(request: Request) -> Response:
        return json_response(
            backend.get(kind, request.path_params[param], expand=query_list(request, "expand"))
        )

    async def put(request: Request) -> Response:
        return json_response(backend.replace(kind, request.path_params[param], await read_json(request)))

    async def patch(request: Request) -> Response:
        return json_response(backend.patch(kind, request.path_params[param], await read_json(request)))

    async def delete(request: Request) -> Response:
        backend.delete(kind, request.path_params[param])
        return empty_response()

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
    add(f"{API}/bulk/{kind}", ["POST"], gc_paused(bulk_fetch))
    add(f"{API}/bulk/{kind}/add", ["POST"], gc_paused(bulk_add))
    add(f"{API}/bulk/{kind}/update", ["POST"], gc_paused(bulk_update))
    add(f"{API}/bulk/{kind}/remove", ["POST"], gc_paused(bulk_remove))
    add(f"{API}/bulk/{kind}/enrich", ["POST"], gc_paused(bulk_enrich))
