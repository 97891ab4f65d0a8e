"""Logging in and out of the console (login limits and the password-check bound: login.py)."""

from __future__ import annotations

import hmac
import re
import secrets
from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from web.admin.common import (
    LOGIN_CSRF_COOKIE,
    SESSION_COOKIE,
    CheckedOperator,
    Operator,
    https,
    operators_of,
    page,
)
from web.admin.login import Busy, LoginGuard

router = APIRouter(include_in_schema=False)
_LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")


@router.get("/admin")
@router.get("/admin/")
async def admin_home(operator: Operator) -> Response:
    # A relative Location: never built from the request's Host header.
    return RedirectResponse("/admin/dashboard", 303)


@router.get("/admin/login")
async def login_form(request: Request) -> Response:
    return login_page(request)


def login_page(request: Request, error: str | None = None, status: int = 401) -> Response:
    # The login form's token stays what the browser's cookie holds (other tabs and a
    # second try keep working); a new browser gets a new one.
    token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not _LOGIN_TOKEN.match(token):
        token = secrets.token_urlsafe(24)
    response = page(request, "login.html", {"title": "Log in", "csrf_token": token,
                                            "error": error, "operator": None},
                    status if error else 200)
    response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                        secure=https(request), path="/admin")
    return response


@router.post("/admin/login")
async def login(request: Request, username: Annotated[str, Form(max_length=64)] = "",
                password: Annotated[str, Form(max_length=256)] = "",
                csrf_token: Annotated[str, Form(max_length=64)] = "") -> Response:
    cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
    if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
        raise HTTPException(403, "CSRF token missing or wrong; reload the login page")
    guard: LoginGuard = request.app.state.login_guard
    wait = guard.wait_seconds(request.app.state.proxies.client(request.scope), username)
    if wait:
        response = login_page(request, f"Too many login attempts: wait {wait} s.", 429)
        response.headers["Retry-After"] = str(wait)
        return response
    operators = operators_of(request)
    try:
        async with guard.password_check():
            token = await run_in_threadpool(operators.login, username, password)
    except Busy:
        response = login_page(request, "The console is busy: try again in a few seconds.",
                              503)
        response.headers["Retry-After"] = "5"
        return response
    if token is None:
        return login_page(request, "Wrong username or password, or too many attempts: "
                          "wait 15 minutes.")
    response = RedirectResponse("/admin/dashboard", 303)
    response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                        secure=https(request), path="/admin", max_age=8 * 3600)
    response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
    return response


@router.post("/admin/logout")
async def logout(request: Request, operator: CheckedOperator) -> Response:
    operators_of(request).logout(request.cookies.get(SESSION_COOKIE, ""))
    response = RedirectResponse("/admin/login", 303)
    response.delete_cookie(SESSION_COOKIE, path="/admin")
    return response
