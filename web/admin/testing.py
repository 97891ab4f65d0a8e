"""The test screen: what the bot would do with a question, and why (the reply as the
visitor would see it, the candidate passages with their signals and confidence, the
threshold, the path and any red-flag rule), built on `Bot.try_out`. From any candidate, one
click saves "this passage should answer this question" (an alternate phrasing) or "the bot
should not answer this" (a negative example); both are listed, editable and removable,
and live after the build they queue."""

from __future__ import annotations

from typing import Annotated
from urllib.parse import quote

from fastapi import APIRouter, Depends, Form, Request, Response
from fastapi.responses import RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.guidance_store import GuidanceStore
from backoffice.operators import OperatorSession
from bot.errors import InputError
from web.admin.common import CheckedEditor, Editor, apply_change, page, permitted
from web.deps import office_of

router = APIRouter(include_in_schema=False)
Tester = Annotated[OperatorSession, Depends(permitted("test"))]


def guidance_of(request: Request) -> GuidanceStore:
    return office_of(request).guidance


@router.get("/admin/test")
async def test_screen(request: Request, operator: Tester) -> Response:
    question = (request.query_params.get("q") or "").strip()[:1000]
    previous = (request.query_params.get("previous") or "").strip()[:1000]
    reply = explained = error = None
    if question:
        try:
            reply, explained = await run_in_threadpool(request.app.state.bot.try_out,
                                                       question, previous or None)
        except InputError as exc:
            error = str(exc)
    saved = request.query_params.get("saved")
    return page(request, "test.html", {
        "title": "Test", "section": "test", "operator": operator, "question": question,
        "previous": previous, "reply": reply, "explained": explained, "error": error,
        "saved": saved if saved in ("phrasing", "negative") else None})


@router.post("/admin/guidance/phrasing")
async def save_phrasing(request: Request, operator: CheckedEditor,
                        question: Annotated[str, Form(max_length=1000)],
                        doc_id: Annotated[str, Form(max_length=500)],
                        quote: Annotated[str, Form(max_length=20000)],
                        title: Annotated[str, Form(max_length=500)] = "") -> Response:
    await apply_change(request, operator, guidance_of(request).add_phrasing, question, doc_id,
                quote, title)
    return RedirectResponse(f"/admin/test?saved=phrasing&q={_quoted(question)}", 303)


@router.post("/admin/guidance/negative")
async def save_negative(request: Request, operator: CheckedEditor,
                        question: Annotated[str, Form(max_length=1000)]) -> Response:
    await apply_change(request, operator, guidance_of(request).add_negative, question)
    return RedirectResponse(f"/admin/test?saved=negative&q={_quoted(question)}", 303)


@router.get("/admin/guidance")
async def guidance_list(request: Request, operator: Editor) -> Response:
    entries = await run_in_threadpool(guidance_of(request).entries)
    return page(request, "guidance.html", {"title": "Phrasings", "section": "guidance",
                                           "operator": operator, "entries": entries})


@router.post("/admin/guidance/{entry_id}")
async def guidance_edit(request: Request, entry_id: int, operator: CheckedEditor,
                        question: Annotated[str, Form(max_length=1000)]) -> Response:
    await apply_change(request, operator, guidance_of(request).edit, entry_id, question)
    return RedirectResponse("/admin/guidance", 303)


@router.post("/admin/guidance/{entry_id}/delete")
async def guidance_delete(request: Request, entry_id: int, operator: CheckedEditor
                          ) -> Response:
    await apply_change(request, operator, guidance_of(request).remove, entry_id)
    return RedirectResponse("/admin/guidance", 303)


def _quoted(text: str) -> str:
    return quote(text[:300])
