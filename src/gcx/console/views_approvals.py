"""Plans waiting for an operator: review, approve (then exactly that plan is applied, here or by a
worker: see :class:`~gcx.console.backend.PlanExecutor`), reject."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.approvals import IN_FLIGHT, Approval, change_counts, refusal
from gcx.console.rundata import FILTERS
from gcx.console.runindex import RunIndex, open_plan
from gcx.console.security import guarded
from gcx.console.users import User
from gcx.console.web import int_param, job_or_404, render, state

PAGE = 200


def _approval(request: Request) -> Approval:
    approval_id = int_param(request.path_params["id"], "approval")
    found: Approval | None = state(request).approvals.get(approval_id)
    if found is None:
        raise HTTPException(404, f"no approval {approval_id}")
    return found


@guarded()
async def approvals_page(request: Request, user: User) -> Response:
    items = state(request).approvals.list(limit=200)
    return render(request, "approvals.html", {"items": items, "change_counts": change_counts})


@guarded()
async def approval_page(request: Request, user: User) -> Response:
    approval = _approval(request)
    what = request.query_params.get("what", "all")
    what = what if what in FILTERS else "all"
    q = request.query_params.get("q", "").strip()[:200]
    start = max(0, int_param(request.query_params.get("from", "0"), "from"))
    index = await run_in_threadpool(_plan_index, request, approval)
    rows, total = await run_in_threadpool(index.page, what, q, start, PAGE) if index else ([], 0)
    ctx = {
        "a": approval,
        "rows": rows,
        "total": total,
        "start": start,
        "page": PAGE,
        "what": what,
        "q": q,
        "filters": FILTERS,
        "counts": index.counts() if index else dict.fromkeys(FILTERS, 0),
        "changes": change_counts(approval.summary.get("planned") or {}),
        "history": state(request).audit.latest(50, target=f"approval:{approval.id}"),
        "missing": index is None,
        "in_flight": approval.state in IN_FLIGHT,
    }
    return render(request, "approval.html", ctx)


@guarded(operator=True)
async def approve(request: Request, user: User) -> Response:
    st = state(request)
    approval = _approval(request)
    job = job_or_404(request, approval.job)
    if not st.approvals.approve(approval.id, user.name):
        raise HTTPException(409, refusal(st.approvals.get(approval.id) or approval))
    detail = {"job": job.name, "plan": approval.plan_path, "digest": approval.plan_digest}
    st.audit.record(user.name, "approve", f"approval:{approval.id}", detail)
    await st.executor.approved(job, st.approvals.get(approval.id), st.approvals, st.audit)
    return RedirectResponse(str(request.url_for("approval", id=str(approval.id)).path), status_code=303)


@guarded(operator=True)
async def reject(request: Request, user: User) -> Response:
    st = state(request)
    approval = _approval(request)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:500] or None
    if not st.approvals.move(approval.id, "rejected", by=user.name, note=note):
        raise HTTPException(409, refusal(st.approvals.get(approval.id) or approval, "reject"))
    st.audit.record(user.name, "reject", f"approval:{approval.id}", {"job": approval.job, "note": note})
    await st.executor.rejected(approval)
    return RedirectResponse(str(request.url_for("approval", id=str(approval.id)).path), status_code=303)


def _plan_index(request: Request, approval: Approval) -> RunIndex | None:
    """The plan's rows, indexed once per approval and plan (None when the plan is not stored)."""
    st = state(request)
    key = ("approval", approval.id, approval.plan_digest, approval.plan_path)
    found: RunIndex | None = st.run_indexes.cached(key)
    if found is not None:
        return found
    with st.approvals.plan_file(approval.id, legacy=approval.plan_path) as path:
        return open_plan(path, st.run_indexes, key) if path is not None else None


def routes() -> list[BaseRoute]:
    return [
        Route("/approvals", approvals_page, methods=["GET"], name="approvals"),
        Route("/approvals/{id}", approval_page, methods=["GET"], name="approval"),
        Route("/approvals/{id}/approve", approve, methods=["POST"], name="approve"),
        Route("/approvals/{id}/reject", reject, methods=["POST"], name="reject"),
    ]
