"""The web console of ``gcx serve``: runs, plans and approvals, records, users (issue 14).

``create_console_app(ConsoleState(db=ConsoleDb(url), jobs=..., executor=...))`` is an ASGI
app (Starlette) to mount under ``/console``. Needs the ``gcx[console]`` extra.
"""

from gcx import extras
from gcx.errors import MissingDependencyError

try:
    from gcx.console.app import ConsoleState, create_console_app
    from gcx.console.backend import InProcessExecutor, JobDirectory, JobInfo, PlanExecutor, StaticJobs
    from gcx.console.db import ConsoleDb
    from gcx.console.execute import JobTarget
except ImportError as exc:  # pragma: no cover - depends on the installed extras
    if isinstance(exc, MissingDependencyError):
        raise
    raise extras.missing(exc, "The gcx console") from exc

__all__ = [
    "ConsoleDb",
    "ConsoleState",
    "InProcessExecutor",
    "JobDirectory",
    "JobInfo",
    "JobTarget",
    "PlanExecutor",
    "StaticJobs",
    "create_console_app",
]
