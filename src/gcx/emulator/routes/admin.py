"""Admin routes (``/_emulator/*``, never under ``/api/v2``): stats, reset, state, tokens, settings, faults."""

from __future__ import annotations

from starlette.requests import Request
from starlette.responses import Response

from gcx.emulator.backend import Backend
from gcx.emulator.errors import invalid
from gcx.emulator.gate import ADMIN_PREFIX
from gcx.emulator.http import RouteTable, json_response, read_json
from gcx.emulator.schema import FieldProblem


def admin_routes(table: RouteTable, backend: Backend) -> None:
    add = table.add

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
