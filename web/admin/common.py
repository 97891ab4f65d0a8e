"""What every console page shares: templates and security headers, the operator behind a
request (session cookie), the CSRF check of forms, the back-office stores of the app, and
small form and link helpers."""

from __future__ import annotations

import hmac
import re
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlsplit

from fastapi import Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from backoffice.curation import CuratedStore
from backoffice.operators import OperatorSession, OperatorStore
from backoffice.review import Review
from bot.errors import InputError
from web.deps import office_of

SESSION_COOKIE = "faqbot_admin"
LOGIN_CSRF_COOKIE = "faqbot_login_csrf"
HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin"}
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class NotLoggedIn(Exception):
    pass


def page(request: Request, name: str, context: dict[str, Any],
         status: int = 200) -> HTMLResponse:
    response = templates.TemplateResponse(request, name, context, status_code=status)
    response.headers.update(HEADERS)
    return response


def operators_of(request: Request) -> OperatorStore:
    return office_of(request).operators


def review_of(request: Request) -> Review:
    return office_of(request).review


def curated_of(request: Request) -> CuratedStore:
    return office_of(request).curated


def current_operator(request: Request) -> OperatorSession:
    session = operators_of(request).session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotLoggedIn
    return session


Operator = Annotated[OperatorSession, Depends(current_operator)]


def check_csrf(operator: Operator, csrf_token: Annotated[str, Form()] = "") -> OperatorSession:
    if not hmac.compare_digest(csrf_token.encode(), operator.csrf_token.encode()):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page")
    return operator


CheckedOperator = Annotated[OperatorSession, Depends(check_csrf)]


def permitted(permission: str, form: bool = False):
    """A dependency: the operator, if their role may `permission` (403 otherwise); with
    `form`, after the form's CSRF check."""

    source = check_csrf if form else current_operator

    # A default, not Annotated: with postponed annotations a local name would not resolve.
    def check(operator: OperatorSession = Depends(source)) -> OperatorSession:  # noqa: B008
        if not operator.may(permission):
            raise HTTPException(403, f"an operator with the role {operator.role!r} may not "
                                     f"do this ({permission})")
        return operator

    return check


Editor = Annotated[OperatorSession, Depends(permitted("knowledge"))]
CheckedEditor = Annotated[OperatorSession, Depends(permitted("knowledge", form=True))]
Reviewer = Annotated[OperatorSession, Depends(permitted("conversations"))]
CheckedReviewer = Annotated[OperatorSession, Depends(permitted("conversations", form=True))]


def back(request: Request, default: str) -> str:
    """The console page the form was on (never another site's address)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path.startswith("/admin/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return default


def ids(joined: str) -> list[str]:
    return [i for i in joined.split(",") if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i)][:5000]


def int_param(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 9 else default


def https(request: Request) -> bool:
    return request.app.state.proxies.https(request.scope)


async def apply_change(request: Request, operator: OperatorSession, call, *args,
                       refused: int = 422, build: bool = True):
    """Make a change to the knowledge base as `operator` (InputError: `refused` with its
    message) and queue the build that makes it live; what the change returned."""
    result = None
    try:
        if call is not None:
            result = await run_in_threadpool(call, *args, operator.username)
    except InputError as exc:
        raise HTTPException(refused, str(exc)) from None
    if build:
        await run_in_threadpool(office_of(request).jobs.enqueue,
                                operator.username)
    return result


def csv_download(body: str, filename: str) -> Response:
    """A CSV file to save (a BOM first: Excel then reads UTF-8 Chinese right)."""
    return Response("\ufeff" + body, media_type="text/csv; charset=utf-8", headers={
        "Content-Disposition": f'attachment; filename="{filename}"',
        "Cache-Control": "no-store"})


async def found_or_404(call, *args):
    """`call(*args)` in a worker thread; its InputError (nothing by that id) is a 404."""
    try:
        return await run_in_threadpool(call, *args)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
