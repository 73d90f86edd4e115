"""Browse organizations and contacts live from Genesys, see what gcx knows of one, edit fields
safely (only what changed is written, never over someone else's newer value) and move contacts."""

from __future__ import annotations

import json
from typing import Any

from sqlalchemy import and_, select
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.backend import JobInfo
from gcx.console.locking import RunInProgress, sync_paused
from gcx.console.recordedit import EditError, conflicts, flatten, form_changes
from gcx.console.security import guarded
from gcx.console.users import User
from gcx.console.web import job_or_404, render, state
from gcx.errors import GcxError, NotFoundError
from gcx.models import ExternalContact, ExternalOrganization

KINDS = {"contacts": "contact", "organizations": "organization"}
PAGE = 50
_KNOWN = {
    "contacts": frozenset(f.alias or n for n, f in ExternalContact.model_fields.items()),
    "organizations": frozenset(f.alias or n for n, f in ExternalOrganization.model_fields.items()),
}


def _kind(request: Request) -> str:
    kind = str(request.path_params.get("kind") or request.query_params.get("kind") or "contacts")
    if kind not in KINDS:
        raise HTTPException(404, "records are contacts or organizations")
    return kind


def _res(gc: Any, kind: str) -> Any:
    return gc.contacts if kind == "contacts" else gc.organizations


def _job(request: Request) -> JobInfo:
    jobs = list(state(request).jobs.jobs())
    name = request.path_params.get("job") or request.query_params.get("job")
    if name is None:
        if not jobs:
            raise HTTPException(404, "no job is configured: the records browser uses a job's Genesys org")
        first: JobInfo = jobs[0]
        return first
    return job_or_404(request, str(name))


def label(kind: str, rec: dict[str, Any]) -> str:
    if kind == "organizations":
        return str(rec.get("name") or "(no name)")
    name = " ".join(str(rec.get(k) or "") for k in ("firstName", "lastName")).strip()
    return name or str(rec.get("workEmail") or rec.get("personalEmail") or "(no name)")


def flash(request: Request, text: str, level: str = "ok") -> None:
    request.session["flash"] = {"text": text[:1000], "level": level}


@guarded()
async def records_page(request: Request, user: User) -> Response:
    job = _job(request)
    kind = _kind(request)
    q = request.query_params.get("q", "").strip()[:200]
    cursor = request.query_params.get("cursor") or None
    items: list[dict[str, Any]] = []
    next_cursor: str | None = None
    truncated = False
    error = None
    try:
        async with job.target.client() as gc:
            res = _res(gc, kind)
            if q:  # the search endpoint (1,000-record cap, said on the page when reached)
                pager = res.search(q=q, page_size=100, max_records=PAGE * 4)
                items = [m.to_api() async for m in pager]
                truncated = len(items) >= PAGE * 4
            else:  # the scan, page by page along its cursor: every record, past the cap
                pager = res.scan(limit=PAGE, max_records=PAGE)
                pager.cursor = cursor
                items = [m.to_api() async for m in pager]
                if pager.cursor and pager.cursor != cursor and len(items) == PAGE:
                    next_cursor = pager.cursor
    except GcxError as exc:
        error = str(exc)
    rows = [{"id": r.get("id"), "label": label(kind, r), "rec": r} for r in items]
    ctx = {
        "job": job,
        "jobs": state(request).jobs.jobs(),
        "kind": kind,
        "q": q,
        "rows": rows,
        "next_cursor": next_cursor,
        "cursor": cursor,
        "truncated": truncated,
        "error": error,
    }
    return render(request, "records.html", ctx)


def ledger_knowledge(request: Request, job: JobInfo, kind: str, record_id: str) -> dict[str, Any]:
    led = state(request).ledger(job.target.ledger_url, job.target.ledger_prefix)
    t, o = led.t_records, led.t_ops
    with led.engine.connect() as conn:
        rec = (
            conn.execute(select(t).where(and_(t.c.genesys_id == record_id, t.c.kind == KINDS[kind])))
            .mappings()
            .first()
        )
        ops = []
        if rec is not None:
            ops = [
                dict(r)
                for r in conn.execute(
                    select(o.c.run_id, o.c.op, o.c.state, o.c.line, o.c.updated_at)
                    .where(and_(o.c.kind == rec["kind"], o.c.external_id == rec["external_id"]))
                    .order_by(o.c.id.desc())
                    .limit(20)
                ).mappings()
            ]
    if rec is None:
        return {}
    return {
        "key": rec["external_id"],
        "created_by_gcx": bool(rec["created_by_gcx"]),
        "org_key": rec["org_key"],
        "updated_at": rec["updated_at"],
        "applied": json.loads(rec["applied"]),
        "ops": ops,
    }


@guarded()
async def record_page(request: Request, user: User) -> Response:
    job = _job(request)
    kind = _kind(request)
    record_id = str(request.path_params["id"])
    try:
        async with job.target.client() as gc:
            res = _res(gc, kind)
            rec = await res.get_raw(record_id)
            identifiers = [i.to_api() for i in await res.identifiers.list(record_id)]
            org = None
            members: list[dict[str, Any]] = []
            if kind == "contacts":
                org_id = (rec.get("externalOrganization") or {}).get("id")
                if org_id:
                    try:
                        org = await gc.organizations.get_raw(org_id)
                    except NotFoundError:
                        org = {"id": org_id, "name": "(not found)"}
            else:
                async for c in gc.organizations.contacts(record_id):
                    members.append(c.to_api())
                    if len(members) >= PAGE:
                        break
    except NotFoundError:
        raise HTTPException(404, f"no {KINDS[kind]} {record_id} in Genesys") from None
    except GcxError as exc:
        raise HTTPException(502, f"Genesys answered: {exc}") from None
    ctx = {
        "job": job,
        "kind": kind,
        "rec": rec,
        "title": label(kind, rec),
        "fields": list(flatten(rec, _KNOWN[kind])),
        "identifiers": identifiers,
        "org": org,
        "members": [{"id": m.get("id"), "label": label("contacts", m)} for m in members],
        "gcx": ledger_knowledge(request, job, kind, record_id),
        "history": state(request).audit.latest(20, target=f"{KINDS[kind]}:{record_id}"),
        "flash": request.session.pop("flash", None),
    }
    return render(request, "record.html", ctx)


@guarded(operator=True)
async def edit(request: Request, user: User) -> Response:
    job = _job(request)
    kind = _kind(request)
    record_id = str(request.path_params["id"])
    back = str(request.url_for("record", job=job.name, kind=kind, id=record_id).path)
    target = f"{KINDS[kind]}:{record_id}"
    st = state(request)
    form = {k: v for k, v in (await request.form()).items() if isinstance(v, str)}
    try:
        changes, originals = form_changes(form)
    except EditError as exc:
        flash(request, str(exc), "error")
        return RedirectResponse(back, status_code=303)
    if not changes:
        flash(request, "nothing changed: nothing was written")
        return RedirectResponse(back, status_code=303)
    try:
        async with (
            sync_paused(job.target.ledger_url, st.edit_wait, job.target.ledger_prefix),
            job.target.client() as gc,
        ):
            res = _res(gc, kind)
            current = await res.get_raw(record_id)
            clash = conflicts(current, originals)
            todo = {p: v for p, v in changes.items() if p not in clash}
            if todo:
                await res.safe_update(record_id, todo)
    except RunInProgress as exc:
        st.audit.record(
            user.name, "edit", target, {"job": job.name, "fields": sorted(changes)}, outcome="refused"
        )
        flash(request, str(exc), "error")
        return RedirectResponse(back, status_code=303)
    except GcxError as exc:
        st.audit.record(
            user.name, "edit", target, {"job": job.name, "fields": sorted(changes)}, outcome="failed"
        )
        flash(request, f"nothing written: {exc}", "error")
        return RedirectResponse(back, status_code=303)
    detail = {"job": job.name, "changes": {p: {"from": originals[p], "to": v} for p, v in todo.items()}}
    if clash:
        detail["conflicts"] = clash
    st.audit.record(user.name, "edit", target, detail, outcome="ok" if not clash else "partial")
    text = f"saved {', '.join(sorted(todo))}" if todo else "nothing written"
    if clash:
        text += (
            f"; not saved (changed in Genesys since you opened the page: review and edit again): "
            f"{', '.join(sorted(clash))}"
        )
    flash(request, text, "ok" if not clash else "warn")
    return RedirectResponse(back, status_code=303)


@guarded()
async def move_page(request: Request, user: User) -> Response:
    job = _job(request)
    record_id = str(request.path_params["id"])
    q = request.query_params.get("q", "").strip()[:200]
    orgs: list[dict[str, Any]] = []
    try:
        async with job.target.client() as gc:
            rec = await gc.contacts.get_raw(record_id)
            if q:
                orgs = [m.to_api() async for m in gc.organizations.search(q=q, page_size=25, max_records=25)]
    except NotFoundError:
        raise HTTPException(404, f"no contact {record_id} in Genesys") from None
    except GcxError as exc:
        raise HTTPException(502, f"Genesys answered: {exc}") from None
    current = (rec.get("externalOrganization") or {}).get("id")
    return render(
        request,
        "move.html",
        {"job": job, "rec": rec, "title": label("contacts", rec), "q": q, "orgs": orgs, "current": current},
    )


@guarded(operator=True)
async def move(request: Request, user: User) -> Response:
    job = _job(request)
    record_id = str(request.path_params["id"])
    form = await request.form()
    org_id = str(form.get("org_id") or "").strip()
    back = str(request.url_for("record", job=job.name, kind="contacts", id=record_id).path)
    st = state(request)
    target = f"contact:{record_id}"
    if not org_id:
        raise HTTPException(400, "org_id: choose the organization to move the contact to")
    try:
        async with (
            sync_paused(job.target.ledger_url, st.edit_wait, job.target.ledger_prefix),
            job.target.client() as gc,
        ):
            before = ((await gc.contacts.get_raw(record_id)).get("externalOrganization") or {}).get("id")
            await gc.organizations.get_raw(org_id)  # a clear error for an unknown organization
            await gc.contacts.move(record_id, org_id)
    except (GcxError, RunInProgress) as exc:
        st.audit.record(user.name, "move", target, {"job": job.name, "to": org_id}, outcome="failed")
        flash(request, f"not moved: {exc}", "error")
        return RedirectResponse(back, status_code=303)
    st.audit.record(user.name, "move", target, {"job": job.name, "from": before, "to": org_id})
    flash(request, f"moved to organization {org_id}")
    return RedirectResponse(back, status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/records", records_page, methods=["GET"], name="records"),
        Route("/records/{job}/{kind}", records_page, methods=["GET"], name="records_kind"),
        Route("/records/{job}/{kind}/{id}", record_page, methods=["GET"], name="record"),
        Route("/records/{job}/{kind}/{id}/edit", edit, methods=["POST"], name="edit"),
        Route("/records/{job}/contacts/{id}/move", move_page, methods=["GET"], name="move_form"),
        Route("/records/{job}/contacts/{id}/move", move, methods=["POST"], name="move"),
    ]
