"""Routes of external sources."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.http import RouteTable, empty_response, json_response, query_bool, query_int, read_json
from gcx.emulator.kinds import API


def source_routes(table: RouteTable, backend: Backend) -> None:
    """``/externalsources`` and ``/externalsources/{id}``."""
    add = table.add

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
        return empty_response()

    add(f"{API}/externalsources", ["GET"], sources_list)
    add(f"{API}/externalsources", ["POST"], sources_create)
    add(f"{API}/externalsources/{{externalSourceId}}", ["GET"], source_get)
    add(f"{API}/externalsources/{{externalSourceId}}", ["PUT"], source_put)
    add(f"{API}/externalsources/{{externalSourceId}}", ["DELETE"], source_delete)
