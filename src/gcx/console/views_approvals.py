"""Plans waiting for an operator: review, approve (then exactly that plan is applied), reject."""

from __future__ import annotations

from pathlib import Path

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.approvals import Approval, change_counts
from gcx.console.rundata import FILTERS, plan_rows
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
    loaded = await run_in_threadpool(plan_rows, Path(approval.plan_path))
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
    }
    return render(request, "approval.html", ctx)


@guarded(operator=True)
async def approve(request: Request, user: User) -> Response:
    st = state(request)
    approval = _approval(request)
    job = job_or_404(request, approval.job)
    target = f"approval:{approval.id}"
    if not st.approvals.move(approval.id, "approved", by=user.name):
        raise HTTPException(409, f"approval {approval.id} is {approval.state}, not pending: nothing was done")
    st.audit.record(user.name, "approve", target, {"job": job.name, "plan": Path(approval.plan_path).name})
    outcome = await st.executor.execute(job, approval)
    if outcome.state == "applied":
        note = outcome.reason + ("" if not outcome.differences else ": " + "; ".join(outcome.differences))
        st.approvals.move(approval.id, "applied", note=note, run_id=outcome.run_id)
        st.audit.record(user.name, "apply", target, {"job": job.name, "run": outcome.run_id})
    elif outcome.state == "stale" and outcome.fresh_plan is not None:
        report = outcome.report
        summary = {"planned": report.planned.to_json() if report else {}, "replanned_from": approval.id}
        fresh = st.approvals.submit(
            job.name, str(outcome.fresh_plan), [f"re-planned from approval {approval.id}"], summary
        )
        st.approvals.move(
            approval.id,
            "stale",
            note=outcome.reason + ": " + "; ".join(outcome.differences),
            replaced_by=fresh.id,
        )
        st.audit.record(user.name, "apply", target, {"job": job.name, "replanned": fresh.id}, outcome="stale")
    else:
        st.approvals.move(approval.id, "failed", note=outcome.reason)
        st.audit.record(
            user.name, "apply", target, {"job": job.name, "reason": outcome.reason}, outcome="failed"
        )
    return RedirectResponse(str(request.url_for("approval", id=str(approval.id)).path), status_code=303)


@guarded(operator=True)
async def reject(request: Request, user: User) -> Response:
    st = state(request)
    approval = _approval(request)
    form = await request.form()
    note = str(form.get("note") or "").strip()[:500] or None
    if not st.approvals.move(approval.id, "rejected", by=user.name, note=note):
        raise HTTPException(409, f"approval {approval.id} is {approval.state}, not pending: nothing was done")
    st.audit.record(user.name, "reject", f"approval:{approval.id}", {"job": approval.job, "note": note})
    return RedirectResponse(str(request.url_for("approval", id=str(approval.id)).path), status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/approvals", approvals_page, methods=["GET"], name="approvals"),
        Route("/approvals/{id}", approval_page, methods=["GET"], name="approval"),
        Route("/approvals/{id}/approve", approve, methods=["POST"], name="approve"),
        Route("/approvals/{id}/reject", reject, methods=["POST"], name="reject"),
    ]
