"""Dashboard, a job's runs, one run's rows (filter, search, CSV/JSON download)."""

from __future__ import annotations

from collections.abc import Iterator

from markupsafe import Markup
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from gcx.console.backend import JobInfo
from gcx.console.charts import Series, bar_chart
from gcx.console.rundata import FILTERS, RunSummary, list_runs, neighbours, rows_csv, rows_json
from gcx.console.runindex import RunDetail, open_run
from gcx.console.security import guarded
from gcx.console.users import User
from gcx.console.web import int_param, job_or_404, render, state

PAGE = 200


async def _runs(request: Request, job: JobInfo, limit: int = 30) -> list[RunSummary]:
    led = state(request).ledger(job.target.ledger_url, job.target.ledger_prefix)
    t = job.target
    return await run_in_threadpool(list_runs, led, t.reports_dir, limit, t.report_loader)


def charts(runs: list[RunSummary]) -> list[Markup]:
    done = [r for r in reversed(runs) if r.command == "apply"][-20:]
    labels = [f"#{r.id}" for r in done]
    changed = [float(sum(r.counts[k] for k in ("created", "updated", "moved", "deleted"))) for r in done]
    return [
        bar_chart(
            "Records changed and failed",
            labels,
            [
                Series("changed", changed, "s1"),
                Series("failed", [float(r.counts["failed"] + r.counts["invalid"]) for r in done], "s3"),
            ],
        ),
        bar_chart(
            "Requests and 429s",
            labels,
            [
                Series("requests", [float(r.requests or 0) for r in done], "s2"),
                Series("429", [float(r.rate_limited or 0) for r in done], "s3"),
            ],
        ),
        bar_chart("Duration (s)", labels, [Series("seconds", [float(r.seconds or 0) for r in done], "s4")]),
    ]


@guarded()
async def dashboard(request: Request, user: User) -> Response:
    st = state(request)
    jobs = []
    for job in st.jobs.jobs():
        runs = await _runs(request, job)
        jobs.append({"job": job, "last": runs[0] if runs else None, "charts": charts(runs)})
    pending = st.approvals.list(state="pending")
    return render(request, "dashboard.html", {"jobs": jobs, "pending": pending})


@guarded()
async def job_page(request: Request, user: User) -> Response:
    job = job_or_404(request)
    runs = await _runs(request, job, 100)
    approvals = state(request).approvals.list(job=job.name, limit=20)
    return render(
        request, "job.html", {"job": job, "runs": runs, "charts": charts(runs), "approvals": approvals}
    )


async def _detail(request: Request, *, wait: bool = True) -> tuple[JobInfo, RunDetail, str, str]:
    job = job_or_404(request)
    run_id = int_param(request.path_params["run"], "run")
    what = request.query_params.get("what", "all")
    what = what if what in FILTERS else "all"
    q = request.query_params.get("q", "").strip()[:200]
    st = state(request)
    led = st.ledger(job.target.ledger_url, job.target.ledger_prefix)
    t = job.target

    def load() -> RunDetail | None:
        # the plain first page need not wait for a big run's index: its first rows show at once
        plain = not wait and what == "all" and not q and not request.query_params.get("from")
        return open_run(led, t.reports_dir, run_id, st.run_indexes, t.report_loader, wait=not plain)

    detail = await run_in_threadpool(load)
    if detail is None:
        raise HTTPException(404, f"job {job.name} has no run {run_id}")
    return job, detail, what, q


@guarded()
async def run_page(request: Request, user: User) -> Response:
    job, detail, what, q = await _detail(request, wait=False)
    start = max(0, int_param(request.query_params.get("from", "0"), "from"))
    led = state(request).ledger(job.target.ledger_url, job.target.ledger_prefix)
    prev_run, next_run = await run_in_threadpool(neighbours, led, detail.summary.id)
    index = detail.index
    if index is None:  # still reading a big run: its first rows, and the page refreshes itself
        rows, total, counts = detail.preview, len(detail.preview), None
    else:
        rows, total = await run_in_threadpool(index.page, what, q, start, PAGE)
        counts = index.counts()
    ctx = {
        "job": job,
        "detail": detail,
        "rows": rows,
        "total": total,
        "start": start,
        "page": PAGE,
        "what": what,
        "q": q,
        "filters": FILTERS,
        "counts": counts,
        "reading": index is None,
        "prev_run": prev_run,
        "next_run": next_run,
    }
    partial = request.headers.get("hx-request") == "true" and request.headers.get("hx-target") == "rows"
    return render(request, "run_rows.html" if partial else "run.html", ctx)


@guarded()
async def run_download(request: Request, user: User) -> Response:
    """The rows shown (filter and search), streamed from the run's index as CSV or JSON."""
    job, detail, what, q = await _detail(request)
    fmt = request.path_params["fmt"]
    if fmt not in ("csv", "json"):
        raise HTTPException(404, "download as rows.csv or rows.json")
    name = f"{job.name}-run{detail.summary.id}"
    assert detail.index is not None  # waited for
    rows = detail.index.iter(what, q)
    body: Iterator[str]
    if fmt == "csv":
        body, media = rows_csv(rows), "text/csv; charset=utf-8"
    else:
        head = {"job": job.name, "run": detail.summary.__dict__, "report": detail.report}
        body, media = rows_json(head, rows), "application/json"
    safe = "".join(c if c.isalnum() or c in "-_." else "_" for c in name)
    return StreamingResponse(
        body, media_type=media, headers={"content-disposition": f'attachment; filename="{safe}.{fmt}"'}
    )


def routes() -> list[BaseRoute]:
    return [
        Route("/", dashboard, methods=["GET"], name="dashboard"),
        Route("/jobs/{job}", job_page, methods=["GET"], name="job"),
        Route("/jobs/{job}/runs/{run}", run_page, methods=["GET"], name="run"),
        Route("/jobs/{job}/runs/{run}/rows.{fmt:str}", run_download, methods=["GET"], name="run_download"),
    ]
