"""Log in, log out, sessions (list, revoke) and the activity page (every change made through
the console)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.security import check_csrf, client_address, csrf_token, guarded, safe_next, session_handle
from gcx.console.sessions import spoken
from gcx.console.users import User
from gcx.console.web import render, state


async def login_form(request: Request) -> Response:
    return render(
        request, "login.html", {"csrf": csrf_token(request), "next": request.query_params.get("next", "")}
    )


async def login(request: Request) -> Response:
    await check_csrf(request)
    form = await request.form()
    name = str(form.get("name") or "").strip()
    password = str(form.get("password") or "")
    st = state(request)
    nxt = safe_next(form.get("next"), str(request.url_for("dashboard").path))
    if not st.throttle.attempt(name):
        st.audit.record(name or "?", "login", "console", {"reason": "too many failures"}, outcome="refused")
        return render(
            request,
            "login.html",
            {
                "csrf": csrf_token(request),
                "next": nxt,
                "error": "Too many failed attempts: wait a few minutes.",
            },
            status_code=429,
        )
    # Argon2 is deliberately slow: verify in a worker thread, not on the event loop
    user = await run_in_threadpool(st.users.authenticate, name, password) if name and password else None
    if user is None:
        st.audit.record(name or "?", "login", "console", {}, outcome="refused")
        return render(
            request,
            "login.html",
            {"csrf": csrf_token(request), "next": nxt, "error": "Wrong name or password."},
            status_code=401,
        )
    st.throttle.succeeded(name)
    old = request.session.get("sid")
    if isinstance(old, str):
        st.sessions.end(old, "replaced by a new login")
    request.session.clear()  # a new session on login: no fixation
    agent = request.headers.get("user-agent", "")
    request.session["sid"] = st.sessions.create(user.name, client_address(request), agent)
    st.sessions.forget_ended()  # sessions that ended a month ago leave the table
    csrf_token(request)
    st.audit.record(user.name, "login", "console", {"role": user.role, "address": client_address(request)})
    return RedirectResponse(nxt, status_code=303)


@guarded()
async def logout(request: Request, user: User) -> Response:
    st = state(request)
    token = request.session.get("sid")
    if isinstance(token, str):
        st.sessions.end(token, "logout")  # the old cookie, replayed, is refused
    st.audit.record(user.name, "logout", "console", {})
    request.session.clear()
    return RedirectResponse(str(request.url_for("login").path), status_code=303)


@guarded()
async def activity(request: Request, user: User) -> Response:
    entries = state(request).audit.latest(200)
    return render(request, "activity.html", {"entries": entries})


@guarded()
async def sessions_page(request: Request, user: User) -> Response:
    """Live sessions: an operator sees (and may end) everyone's, a viewer their own."""
    st = state(request)
    listed = await run_in_threadpool(st.sessions.active, None if user.can_change else user.name)
    ctx = {
        "sessions": listed,
        "mine": session_handle(request),
        "idle": spoken(st.session_idle),
        "lifetime": spoken(st.session_lifetime),
    }
    return render(request, "sessions.html", ctx)


@guarded()
async def revoke_session(request: Request, user: User) -> Response:
    st = state(request)
    handle = str(request.path_params["handle"])
    found = st.sessions.get(handle)
    if found is None or (found.user != user.name and not user.can_change):
        raise HTTPException(404, "no such session")
    ended = st.sessions.revoke(handle, f"revoked by {user.name}")
    st.audit.record(
        user.name, "revoke", f"session {handle}", {"user": found.user, "address": found.address},
        outcome="ok" if ended else "refused",
    )  # fmt: skip
    if handle == session_handle(request):
        request.session.clear()
        return RedirectResponse(str(request.url_for("login").path), status_code=303)
    return RedirectResponse(str(request.url_for("sessions").path), status_code=303)


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_form, methods=["GET"], name="login"),
        Route("/login", login, methods=["POST"], name="login_post"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/activity", activity, methods=["GET"], name="activity"),
        Route("/sessions", sessions_page, methods=["GET"], name="sessions"),
        Route("/sessions/{handle}/revoke", revoke_session, methods=["POST"], name="revoke_session"),
    ]
