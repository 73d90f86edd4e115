"""Shared helpers of the console's views."""

from __future__ import annotations

from typing import Any

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response

from gcx.console.backend import JobInfo, find_job


def state(request: Request) -> Any:
    """The :class:`~gcx.console.app.ConsoleState` (typed Any to avoid an import cycle)."""
    return request.app.state.console


def render(request: Request, name: str, context: dict[str, Any], status_code: int = 200) -> Response:
    templates = request.app.state.templates
    response: Response = templates.TemplateResponse(request, name, context, status_code=status_code)
    return response


def job_or_404(request: Request, name: str | None = None) -> JobInfo:
    job_name = name if name is not None else str(request.path_params.get("job", ""))
    job = find_job(state(request).jobs, job_name)
    if job is None:
        raise HTTPException(404, f"no job named {job_name!r}")
    return job


def int_param(value: Any, what: str) -> int:
    try:
        return int(str(value))
    except ValueError:
        raise HTTPException(400, f"{what} must be a number, got {str(value)[:40]!r}") from None
