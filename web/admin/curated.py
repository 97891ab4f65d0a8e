"""Curated answers: write, edit and retire the answers operators add; each change queues
a build and is live (on this server) before the page comes back."""

from __future__ import annotations

import asyncio
import logging
import time
from typing import Annotated

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse
from starlette.concurrency import run_in_threadpool

from backoffice.curation import CuratedText
from backoffice.jobs import JobStatus
from backoffice.operators import OperatorSession
from bot.errors import InputError
from bot.language import has_cjk
from web.admin.common import CheckedEditor, Editor, curated_of, ids, int_param, page, review_of
from web.deps import office_of

log = logging.getLogger(__name__)
router = APIRouter(include_in_schema=False)
GO_LIVE_SECONDS = 120.0


def curated_page(request: Request, operator: OperatorSession, *, draft: CuratedText,
                 editing=None, reply_ids: str = "", message: str | None = None,
                 error: str | None = None, status: int = 422) -> HTMLResponse:
    entries = curated_of(request).entries()
    return page(request, "curated.html", {
        "title": "Curated answers", "section": "curated", "operator": operator,
        "entries": entries, "draft": draft, "editing": editing, "reply_ids": reply_ids,
        "message": message, "error": error}, status if error else 200)


@router.get("/admin/curated")
async def curated_list(request: Request, operator: Editor) -> Response:
    editing = curated_of(request).get(int_param(request.query_params.get("edit"), 0))
    draft = CuratedText(**{k: getattr(editing, k) or "" for k in CURATED_FIELDS}
                        ) if editing else CuratedText()
    saved = request.query_params.get("saved")
    message = (f"Answer #{saved} saved; the bot uses it now." if saved
               and saved.isdigit() else None)
    return curated_page(request, operator, draft=draft, editing=editing, message=message)


@router.post("/admin/curated/draft")
async def curated_draft(request: Request, operator: CheckedEditor,
                        question: Annotated[str, Form(max_length=4000)] = "",
                        reply_ids: Annotated[str, Form()] = "") -> Response:
    field = "question_zh" if has_cjk(question) else "question_en"
    return curated_page(request, operator, draft=CuratedText(**{field: question}),
                        reply_ids=",".join(ids(reply_ids)))


@router.post("/admin/curated")
async def curated_create(request: Request, operator: CheckedEditor,
                         text: Annotated[CuratedText, Depends(_curated_form)],
                         reply_ids: Annotated[str, Form()] = "") -> Response:
    try:
        entry_id = await run_in_threadpool(curated_of(request).add, text, operator.username)
    except InputError as exc:
        return curated_page(request, operator, draft=text, reply_ids=reply_ids,
                            error=str(exc))
    if problem := await _go_live(request, operator, ids(reply_ids)):
        return curated_page(request, operator, draft=text, error=problem, status=503)
    return RedirectResponse(f"/admin/curated?saved={entry_id}", 303)


@router.post("/admin/curated/{entry_id}")
async def curated_update(request: Request, entry_id: int, operator: CheckedEditor,
                         text: Annotated[CuratedText, Depends(_curated_form)]) -> Response:
    try:
        await run_in_threadpool(curated_of(request).update, entry_id, text,
                                operator.username)
    except InputError as exc:
        return curated_page(request, operator, draft=text,
                            editing=curated_of(request).get(entry_id), error=str(exc))
    if problem := await _go_live(request, operator, []):
        return curated_page(request, operator, draft=text, error=problem, status=503)
    return RedirectResponse(f"/admin/curated?saved={entry_id}", 303)


@router.post("/admin/curated/{entry_id}/retire")
async def curated_retire(request: Request, entry_id: int, operator: CheckedEditor,
                         retired: Annotated[int, Form()] = 1) -> Response:
    try:
        await run_in_threadpool(curated_of(request).retire, entry_id, bool(retired),
                                operator.username)
    except InputError as exc:
        raise HTTPException(404, str(exc)) from None
    if problem := await _go_live(request, operator, []):
        return curated_page(request, operator, draft=CuratedText(), error=problem,
                            status=503)
    return RedirectResponse("/admin/curated", 303)


CURATED_FIELDS = ("question_zh", "answer_zh", "question_en", "answer_en", "source_url")


def _curated_form(question_zh: Annotated[str, Form(max_length=8000)] = "",
                  answer_zh: Annotated[str, Form(max_length=8000)] = "",
                  question_en: Annotated[str, Form(max_length=8000)] = "",
                  answer_en: Annotated[str, Form(max_length=8000)] = "",
                  source_url: Annotated[str, Form(max_length=1000)] = "") -> CuratedText:
    return CuratedText(question_zh, answer_zh, question_en, answer_en, source_url)


async def _go_live(request: Request, operator: OperatorSession,
                   reply_ids: list[str]) -> str | None:
    """Queue the build that makes the curated answers live, wait for the indexing worker
    to finish it and for this server to serve it (with shared builds: once fetched); mark
    what they answer as reviewed. What went wrong, if it did (the bot keeps its index)."""
    bot = request.app.state.bot
    queue = office_of(request).jobs
    job = await run_in_threadpool(queue.enqueue, operator.username)
    deadline = time.monotonic() + GO_LIVE_SECONDS
    while job.status not in (JobStatus.DONE, JobStatus.FAILED) and time.monotonic() < deadline:
        await asyncio.sleep(0.2)
        job = await run_in_threadpool(queue.get, job.id)
    if job.status == JobStatus.FAILED:
        log.error("curated answers saved but not indexed: %s", job.error)
        return (f"Saved, but the bot could not rebuild its index ({job.error}); it keeps "
                f"answering from the previous one. Fix the corpus and save again.")
    while job.status == JobStatus.DONE and bot.retriever.index.path.name != job.build_id \
            and time.monotonic() < deadline:
        await run_in_threadpool(bot.refresh_if_rebuilt, 0)
        await asyncio.sleep(0.2)
    if job.status != JobStatus.DONE or bot.retriever.index.path.name != job.build_id:
        return (f"Saved; build job #{job.id} is {job.progress} and the answer goes live "
                f"when it is done (no indexing worker has finished it in "
                f"{GO_LIVE_SECONDS:.0f} s: is one running?).")
    if reply_ids:
        await run_in_threadpool(review_of(request).mark_reviewed, reply_ids)
    return None
