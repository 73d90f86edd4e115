"""Routes across records: an organization's contacts and trustor, contact search, merges, lookups."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.http import RouteTable, empty_response, json_response, query_int, query_list, read_json
from gcx.emulator.kinds import API, CONTACTS, ORGS
from gcx.emulator.rules.search import search_request


def relation_routes(table: RouteTable, backend: Backend) -> None:
    """Organization contacts and trustor links, contact search and merges, identifier lookups."""
    add = table.add

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
                expand=query_list(request, "expand"),
            )
        )

    add(f"{API}/organizations/{{externalOrganizationId}}/contacts", ["GET"], org_contacts)

    async def trustor_link(request: Request) -> Response:
        params = request.path_params
        return json_response(backend.link_trustor(params["externalOrganizationId"], params["trustorId"]))

    async def trustor_unlink(request: Request) -> Response:
        backend.unlink_trustor(request.path_params["externalOrganizationId"])
        return empty_response()

    add(f"{API}/organizations/{{externalOrganizationId}}/trustor/{{trustorId}}", ["PUT"], trustor_link)
    add(f"{API}/organizations/{{externalOrganizationId}}/trustor", ["DELETE"], trustor_unlink)

    async def contact_search(request: Request) -> Response:
        query = search_request(await read_json(request))
        return json_response(backend.search(CONTACTS, **query, path=f"{API}/contacts/search"))

    add(f"{API}/contacts/search", ["POST"], contact_search)

    async def merge_contacts(request: Request) -> Response:
        return json_response(backend.merge_contacts(await read_json(request)))

    async def merge_into(request: Request) -> Response:
        return json_response(backend.merge_into(await read_json(request)))

    add(f"{API}/contacts/merge", ["POST"], merge_contacts)
    add(f"{API}/merge/contacts", ["POST"], merge_into)

    async def lookup_contacts(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.lookup(CONTACTS, body, expand=query_list(request, "expand")))

    async def lookup_orgs(request: Request) -> Response:
        body = await read_json(request)
        return json_response(backend.lookup(ORGS, body, expand=query_list(request, "expand")))

    add(f"{API}/identifierlookup", ["POST"], lookup_contacts)
    add(f"{API}/identifierlookup/contacts", ["POST"], lookup_contacts)
    add(f"{API}/identifierlookup/organizations", ["POST"], lookup_orgs)
