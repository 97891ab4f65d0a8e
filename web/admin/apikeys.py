"""API keys (admins): create a key for a server that calls the HTTP API (shown once),
see when each was last used, revoke one. Each change is in the audit trail."""

from __future__ import annotations

from typing import Annotated

from fastapi import APIRouter, Form, HTTPException, Request, Response
from starlette.concurrency import run_in_threadpool

from backoffice.apikeys import DEFAULT_RATE, MAX_RATE, ApiKeyStore
from backoffice.operators import OperatorSession
from bot.errors import InputError
from web.admin.common import page
from web.admin.users import Admin, CheckedAdmin
from web.deps import office_of

router = APIRouter(include_in_schema=False)


def keys_of(request: Request) -> ApiKeyStore:
    return office_of(request).api_keys


def keys_page(request: Request, operator: OperatorSession, created: tuple | None = None,
              error: str | None = None, status: int = 200) -> Response:
    return page(request, "apikeys.html", {
        "title": "API keys", "section": "keys", "operator": operator,
        "keys": keys_of(request).list(), "created": created, "error": error,
        "default_rate": DEFAULT_RATE, "max_rate": MAX_RATE,
        "required": request.app.state.settings.api_keys == "required"}, status)


@router.get("/admin/keys")
async def keys_list(request: Request, operator: Admin) -> Response:
    return await run_in_threadpool(keys_page, request, operator)


@router.post("/admin/keys")
async def keys_create(request: Request, operator: CheckedAdmin,
                      name: Annotated[str, Form(max_length=64)],
                      rate_per_minute: Annotated[int, Form(ge=1, le=MAX_RATE)] = DEFAULT_RATE
                      ) -> Response:
    try:
        created = await run_in_threadpool(keys_of(request).create, name, rate_per_minute,
                                          operator.username)
    except InputError as exc:
        return await run_in_threadpool(keys_page, request, operator, None, str(exc), 422)
    # The key itself is on this page only: the database keeps its hash.
    return await run_in_threadpool(keys_page, request, operator, created)


@router.post("/admin/keys/{key_id}/revoke")
async def keys_revoke(request: Request, key_id: int, operator: CheckedAdmin) -> Response:
    try:
        await run_in_threadpool(keys_of(request).revoke, key_id, operator.username)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    request.app.state.access.forget()
    return await run_in_threadpool(keys_page, request, operator)
