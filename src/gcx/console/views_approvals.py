"""Plans waiting for an operator: review, approve (then exactly that plan is applied, here or by a
worker: see :class:`~gcx.console.backend.PlanExecutor`), reject."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.approvals import IN_FLIGHT, Approval, ApprovalStore, change_counts, refusal
from gcx.console.rundata import FILTERS, Row, plan_rows
from gcx.console.security import guarded
from gcx.console.users import User
from gcx.console.web import int_param, job_or_404, render, state


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
    loaded = await run_in_threadpool(_plan_rows, state(request).approvals, approval)
    all_rows = loaded or []
    rows = [r for r in all_rows if r.matches(what, q)]
    ctx = {
        "a": approval,
        "rows": rows[:500],
        "total": len(rows),
        "what": what,
        "q": q,
        "filters": FILTERS,
        "counts": {f: sum(1 for r in all_rows if r.matches(f, "")) for f in FILTERS},
        "changes": change_counts(approval.summary.get("planned") or {}),
        "history": state(request).audit.latest(50, target=f"approval:{approval.id}"),
        "missing": loaded is None,
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


def _plan_rows(store: ApprovalStore, approval: Approval) -> list[Row] | None:
    with store.plan_file(approval.id, legacy=approval.plan_path) as path:
        return plan_rows(path) if path is not None else None


def routes() -> list[BaseRoute]:
    return [
        Route("/approvals", approvals_page, methods=["GET"], name="approvals"),
        Route("/approvals/{id}", approval_page, methods=["GET"], name="approval"),
        Route("/approvals/{id}/approve", approve, methods=["POST"], name="approve"),
        Route("/approvals/{id}/reject", reject, methods=["POST"], name="reject"),
    ]
