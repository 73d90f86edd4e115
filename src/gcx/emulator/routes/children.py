"""Routes of a record's notes and of relationships."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.http import RouteTable, empty_response, json_response, query_int, read_json
from gcx.emulator.kinds import API


def note_routes(table: RouteTable, backend: Backend, kind: str, param: str) -> None:
    """``/{kind}/{id}/notes`` and ``/{kind}/{id}/notes/{noteId}``."""
    add = table.add
    one = f"{API}/{kind}/{{{param}}}"

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
        return empty_response()

    add(f"{one}/notes", ["GET"], notes)
    add(f"{one}/notes", ["POST"], note_create)
    add(f"{one}/notes/{{noteId}}", ["GET"], note_get)
    add(f"{one}/notes/{{noteId}}", ["PUT"], note_put)
    add(f"{one}/notes/{{noteId}}", ["PATCH"], note_patch)
    add(f"{one}/notes/{{noteId}}", ["DELETE"], note_delete)


def relationship_routes(table: RouteTable, backend: Backend) -> None:
    """``/relationships`` and an organization's relationship listing."""
    add = table.add

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
        return empty_response()

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
