"""The emulator's routes, one table per family; :func:`build_routes` puts them together."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from gcx.emulator.backend import Backend
from gcx.emulator.http import RouteTable, json_response
from gcx.emulator.kinds import CONTACTS, ORGS
from gcx.emulator.routes.admin import admin_routes
from gcx.emulator.routes.children import note_routes, relationship_routes
from gcx.emulator.routes.records import record_routes
from gcx.emulator.routes.relations import relation_routes
from gcx.emulator.routes.sources import source_routes
from gcx.emulator.routes.token import token_routes

#: Each record kind and the name of its id in paths.
RECORD_PARAMS = ((CONTACTS, "contactId"), (ORGS, "externalOrganizationId"))


def build_routes(backend: Backend) -> list[BaseRoute]:
    """Every route of the emulated API, the token endpoint and the admin endpoints."""
    table = RouteTable()
    token_routes(table, backend)

    async def me(request: Request) -> Response:
        return json_response(backend.me())

    table.add("/api/v2/organizations/me", ["GET"], me)
    for kind, param in RECORD_PARAMS:
        record_routes(table, backend, kind, param)
    relation_routes(table, backend)
    source_routes(table, backend)
    relationship_routes(table, backend)
    for kind, param in RECORD_PARAMS:
        note_routes(table, backend, kind, param)
    admin_routes(table, backend)
    return table.routes
