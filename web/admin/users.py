"""Operators and settings (admins): create operators, change their roles; the settings the
server runs with (secrets left out). Each change is in the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.operators import ROLES, OperatorSession
from bot.errors import InputError
from web.admin.common import operators_of, page, permitted
from web.deps import office_of

router = APIRouter(include_in_schema=False)
Admin = Annotated[OperatorSession, Depends(permitted("users"))]
CheckedAdmin = Annotated[OperatorSession, Depends(permitted("users", form=True))]
SECRET_SETTINGS = {"client_salt", "database_url", "redis_url"}  # (channels' are their own)


def users_page(request: Request, operator: OperatorSession, error: str | None = None,
               status: int = 200) -> Response:
    settings = request.app.state.settings.model_dump(mode="json")
    shown = {k: v for k, v in sorted(settings.items()) if k not in SECRET_SETTINGS}
    hidden = sorted(k for k in SECRET_SETTINGS if settings.get(k))
    return page(request, "users.html", {
        "title": "Users", "section": "users", "operator": operator, "roles": ROLES,
        "users": operators_of(request).users(), "settings": shown, "hidden": hidden,
        "error": error}, status)


@router.get("/admin/users")
async def users_list(request: Request, operator: Admin) -> Response:
    return await run_in_threadpool(users_page, request, operator)


@router.post("/admin/users")
async def users_create(request: Request, operator: CheckedAdmin,
                       username: Annotated[str, Form(max_length=64)],
                       password: Annotated[str, Form(max_length=256)],
                       role: Annotated[str, Form(max_length=16)]) -> Response:
    try:
        await run_in_threadpool(operators_of(request).create_user, username, password, role)
    except InputError as exc:
        return await run_in_threadpool(users_page, request, operator, str(exc), 422)
    await run_in_threadpool(office_of(request).audit.record,
                            operator.username, "user.create", username, role)
    return RedirectResponse("/admin/users", 303)


@router.post("/admin/users/{username}/role")
async def users_role(request: Request, username: str, operator: CheckedAdmin,
                     role: Annotated[str, Form(max_length=16)]) -> Response:
    if username == operator.username and role != "admin":
        raise HTTPException(409, "you cannot take away your own admin role")
    try:
        await run_in_threadpool(operators_of(request).set_role, username, role)
    except InputError as exc:
        raise HTTPException(422, str(exc)) from None
    await run_in_threadpool(office_of(request).audit.record,
                            operator.username, "user.role", username, role)
    return RedirectResponse("/admin/users", 303)
