"""Operator console at /admin: server-rendered pages (Jinja2, autoescaped) over the
back office, one router per resource (auth, dashboard, conversations, curated, knowledge,
testing, synonyms, batch, users). Nothing
answers without a valid operator session; every form carries a CSRF token tied to the
session (the login form: a double-submit cookie)."""

from __future__ import annotations

from fastapi import FastAPI, Request, Response
from fastapi.responses import RedirectResponse

from web.admin import (
    apikeys,
    auth,
    batch,
    conversations,
    curated,
    dashboard,
    knowledge,
    synonyms,
    testing,
    users,
)
from web.admin.common import NotLoggedIn
from web.admin.login import LoginGuard


def add_admin_routes(app: FastAPI) -> None:
    app.state.login_guard = LoginGuard(app.state.settings, app.state.salt)

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method == "GET" and not request.url.path.startswith("/admin/export"):
            return RedirectResponse("/admin/login", 303)
        return Response("log in first", 401, media_type="text/plain")

    for resource in (auth, dashboard, conversations, curated, knowledge, testing, synonyms,
                     batch, users, apikeys):
        app.include_router(resource.router)
