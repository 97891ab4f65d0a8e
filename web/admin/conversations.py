"""Conversations: the list with its filters, one conversation, review marks, unanswered
questions grouped, and the export (CSV / JSONL)."""

from __future__ import annotations

import csv
import io
import json
from datetime import date
from typing import Annotated
from urllib.parse import urlencode

from fastapi import APIRouter, Depends, Form, HTTPException, Request, Response
from fastapi.responses import RedirectResponse, StreamingResponse
from starlette.concurrency import run_in_threadpool

from backoffice.review import Filters, unanswered_groups
from web.admin.common import (
    CheckedReviewer,
    Operator,
    Reviewer,
    back,
    ids,
    int_param,
    page,
    review_of,
)

router = APIRouter(include_in_schema=False)


@router.get("/admin/conversations")
async def conversations(request: Request, operator: Reviewer,
                        filters: Annotated[Filters, Depends(_filters)]) -> Response:
    number = int_param(request.query_params.get("page"), 1)
    result = await run_in_threadpool(review_of(request).list, filters, number)
    return page(request, "conversations.html", {
        "title": "Conversations", "section": "conversations", "operator": operator,
        "page": result, "form": filters, "query": _query(request)})


@router.get("/admin/conversations/{session_id}")
async def conversation(request: Request, session_id: str, operator: Reviewer) -> Response:
    items = await run_in_threadpool(review_of(request).conversation, session_id[:128])
    return page(request, "conversation.html", {
        "title": "Conversation", "section": "conversations", "operator": operator,
        "session_id": session_id, "exchanges": items}, 200 if items else 404)


@router.post("/admin/exchanges/{reply_id}/reviewed")
async def mark_reviewed(request: Request, reply_id: str, operator: CheckedReviewer,
                        reviewed: Annotated[int, Form()] = 1) -> Response:
    review = review_of(request)
    if not await run_in_threadpool(review.mark_reviewed, [reply_id[:64]], bool(reviewed)):
        raise HTTPException(404, "no such exchange")
    return RedirectResponse(back(request, "/admin/conversations"), 303)


@router.post("/admin/reviewed")
async def mark_many_reviewed(request: Request, operator: CheckedReviewer,
                             reply_ids: Annotated[str, Form()] = "") -> Response:
    await run_in_threadpool(review_of(request).mark_reviewed, ids(reply_ids))
    return RedirectResponse(back(request, "/admin/unanswered"), 303)


@router.get("/admin/unanswered")
async def unanswered(request: Request, operator: Operator) -> Response:
    if not (operator.may("conversations") or operator.may("knowledge")):
        raise HTTPException(403, "reviewers and editors see the unanswered questions")
    bot = request.app.state.bot
    groups = await run_in_threadpool(unanswered_groups, review_of(request),
                              lambda texts: bot.retriever.embedder.embed_queries(texts))
    return page(request, "unanswered.html", {
        "title": "Unanswered", "section": "unanswered", "operator": operator,
        "groups": groups})


@router.get("/admin/export.{fmt}")
async def export(request: Request, fmt: str, operator: Reviewer,
                 filters: Annotated[Filters, Depends(_filters)]) -> Response:
    if fmt not in ("csv", "jsonl"):
        raise HTTPException(404, "export as .csv or .jsonl")
    rows = review_of(request).export(filters)
    body = _csv(rows) if fmt == "csv" else (
        json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
    media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
    return StreamingResponse(body, media_type=media, headers={
        "Content-Disposition": f'attachment; filename="conversations.{fmt}"',
        "Cache-Control": "no-store"})


def _filters(request: Request) -> Filters:
    """Filters from the query string; a malformed value is ignored rather than an error."""
    q = request.query_params

    def choice(name: str, allowed: tuple[str, ...]) -> str | None:
        value = q.get(name)
        return value if value in allowed else None

    return Filters(
        since=_date(q.get("since")), until=_date(q.get("until")),
        channel=(q.get("channel") or None) and q["channel"][:32],
        lang=choice("lang", ("zh", "en")),
        kind=choice("kind", ("answer", "fallback", "urgent", "smalltalk")),
        thumbs_down=q.get("thumbs_down") == "1",
        reviewed=choice("reviewed", ("yes", "no")),  # type: ignore[arg-type]
        text=(q.get("text") or "").strip()[:200] or None)


def _query(request: Request) -> str:
    return urlencode([(k, v) for k, v in request.query_params.multi_items() if k != "page"])


def _date(value: str | None) -> date | None:
    try:
        return date.fromisoformat(value) if value else None
    except ValueError:
        return None


def _csv(rows):
    columns = ["created_at", "channel", "session_id", "lang", "kind", "question", "top_score",
               "latency_ms", "rating", "reviewed", "reply_id", "passages"]
    buffer = io.StringIO()
    writer = csv.writer(buffer)
    writer.writerow(columns)
    yield "\ufeff" + buffer.getvalue()  # BOM: Excel opens UTF-8 Chinese correctly
    for row in rows:
        buffer.seek(0)
        buffer.truncate()
        row["passages"] = " | ".join(f"{p['title']} ({p['score']})" for p in row["passages"])
        writer.writerow([_cell(row.get(c)) for c in columns])
        yield buffer.getvalue()


def _cell(value) -> str:
    """Spreadsheets run cells starting with = + - @ as formulas: quote them."""
    text = "" if value is None else str(value)
    return "'" + text if text[:1] in ("=", "+", "-", "@") else text
