"""The web console of ``gcx serve``: runs, plans and approvals, records, users (issue 14).

``create_console_app(ConsoleState(db=ConsoleDb(url), jobs=..., executor=...))`` is an ASGI
app (Starlette) to mount under ``/console``. Needs the ``gcx[console]`` extra.
"""

from gcx.console.app import ConsoleState, create_console_app
from gcx.console.backend import InProcessExecutor, JobDirectory, JobInfo, PlanExecutor, StaticJobs
from gcx.console.db import ConsoleDb
from gcx.console.execute import JobTarget

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
