"""Log in, log out, and the activity page (every change made through the console)."""

from __future__ import annotations

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import RedirectResponse, Response
from starlette.routing import BaseRoute, Route

from gcx.console.security import check_csrf, csrf_token, guarded, safe_next
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
    if st.throttle.blocked(name):
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
        st.throttle.failed(name)
        st.audit.record(name or "?", "login", "console", {}, outcome="refused")
        return render(
            request,
            "login.html",
            {"csrf": csrf_token(request), "next": nxt, "error": "Wrong name or password."},
            status_code=401,
        )
    st.throttle.succeeded(name)
    request.session.clear()  # a new session on login: no fixation
    request.session["user"] = user.name
    csrf_token(request)
    st.audit.record(user.name, "login", "console", {"role": user.role})
    return RedirectResponse(nxt, status_code=303)


@guarded()
async def logout(request: Request, user: User) -> Response:
    state(request).audit.record(user.name, "logout", "console", {})
    request.session.clear()
    return RedirectResponse(str(request.url_for("login").path), status_code=303)


@guarded()
async def activity(request: Request, user: User) -> Response:
    entries = state(request).audit.latest(200)
    return render(request, "activity.html", {"entries": entries})


def routes() -> list[BaseRoute]:
    return [
        Route("/login", login_form, methods=["GET"], name="login"),
        Route("/login", login, methods=["POST"], name="login_post"),
        Route("/logout", logout, methods=["POST"], name="logout"),
        Route("/activity", activity, methods=["GET"], name="activity"),
    ]
