"""The JSON API (/api/chat, /api/feedback, /api/suggestions, /api/health, /api/ready,
/metrics): its request and response schemas and its routes, over the `Bot` as a typed
dependency. Every text field is checked as real Unicode before any work."""

# No `from __future__ import annotations` here: the chat request's model is made for each
# server's settings, and FastAPI reads the route's annotations as objects.

import asyncio
from typing import Annotated, Any, Literal

from fastapi import APIRouter, Depends, HTTPException, Query, Request, Response
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot.config import Settings
from bot.errors import InputError, check_unicode
from bot.models import Lang, Reply
from bot.sessions import SESSION_ID
from web.deps import BotDep


def _real_unicode(value: str | None) -> str | None:
    if value is not None:
        try:
            check_unicode(value, "text")
        except InputError as exc:
            raise ValueError(str(exc)) from None
    return value


# Every text field is checked as real Unicode before any work (a lone surrogate in JSON,
# "\ud800", once reached the encoder and became a 500).
Text = Annotated[str, AfterValidator(_real_unicode)]


_VISIBLE = r"[^\s\x00-\x1f\x7f]"  # somewhere in the text: not only spaces and controls


def chat_request_model(max_chars: int) -> type[BaseModel]:
    """The chat request as this server accepts it: the schema states the same limits."""

    class ChatRequest(BaseModel):
        message: Text = Field(min_length=1, max_length=max_chars, pattern=_VISIBLE,
                              description="The visitor's message, in Chinese or English: "
                              "at least one character that is not a space or a control "
                              "character.")
        session_id: str | None = Field(
            None, max_length=128, pattern=SESSION_ID.pattern,
            description="Continue a conversation with the id a previous reply carried; "
            "omit to start one. An id this server did not issue for the web starts a new "
            "conversation (the reply carries its id).")

    return ChatRequest


class FeedbackRequest(BaseModel):
    reply_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    rating: Literal["up", "down"]
    comment: Text | None = Field(None, max_length=2000)


class ErrorBody(BaseModel):
    """Every refusal (4xx) and failure (5xx): one human-readable sentence."""

    detail: str


def _errors(*statuses: int) -> dict[int | str, dict[str, Any]]:
    return {status: {"model": ErrorBody} for status in statuses}


class Suggestions(BaseModel):
    lang: Lang
    suggestions: list[str]


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    built_at: str
    sessions: str


async def rate_limited(request: Request) -> None:
    """Visitors by client address, servers by API key (web.access)."""
    await request.app.state.access.check(request)


def api_router(settings: Settings) -> APIRouter:
    """The API's routes for a server with these settings (its own message limit, in the
    chat request's schema too)."""
    router = APIRouter()
    limited = [Depends(rate_limited)]
    chat_request = chat_request_model(settings.max_message_chars)

    async def within_time_limit(request: Request, func, *args):
        loop = asyncio.get_running_loop()
        pool = request.app.state.answer_pool
        try:
            return await asyncio.wait_for(loop.run_in_executor(pool, func, *args),
                                          settings.request_timeout_seconds)
        except TimeoutError:
            raise HTTPException(504, "the bot took too long to answer; try again") from None

    @router.post("/api/chat", response_model=Reply, dependencies=limited,
                 responses=_errors(400, 413, 422, 429, 500, 503, 504))
    async def chat(body: chat_request, request: Request,  # type: ignore[valid-type]
                   bot: BotDep) -> Reply:
        """Ask a question; the reply quotes the sources (or falls back), in the visitor's
        language."""
        return await within_time_limit(request, bot.ask, body.message, body.session_id, "web")

    @router.post("/api/feedback", status_code=204, dependencies=limited,
                 responses=_errors(400, 404, 413, 422, 429, 503, 504))
    async def rate_reply(body: FeedbackRequest, request: Request, bot: BotDep) -> Response:
        """Thumbs up/down (and an optional comment) on a reply; the latest rating counts."""
        await within_time_limit(request, bot.feedback, body.reply_id, body.rating,
                                body.comment)
        return Response(status_code=204)

    @router.get("/api/suggestions", response_model=Suggestions, responses=_errors(422))
    async def suggestions(bot: BotDep, lang: Annotated[Lang, Query()] = "zh",
                          k: Annotated[int, Query(ge=1, le=10)] = 5) -> Suggestions:
        """Starter questions the corpus can answer, for a welcome screen."""
        return Suggestions(lang=lang, suggestions=bot.suggestions(lang, k))

    @router.get("/api/ready", responses=_errors(503))
    async def ready(request: Request) -> dict[str, str]:
        """200 once the index is loaded and answering (a load balancer's readiness
        check); 503 before."""
        bot = request.app.state.bot
        if bot is None or not bot.retriever.index.chunks:
            raise HTTPException(503, "the index is not loaded yet" + (
                f" (starting failed: {request.app.state.start_error})"
                if request.app.state.start_error else ""))
        return {"status": "ready"}

    @router.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        bot = request.app.state.bot
        if bot is not None:
            request.app.state.metrics.observe_index(bot.retriever.index.manifest)
        return Response(request.app.state.metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @router.get("/api/health", response_model=Health)
    async def health(request: Request) -> Health:
        """Liveness: 200 while the process runs; `status` is "starting" until the bot is
        loaded, then "ok"."""
        bot = request.app.state.bot
        if bot is None:
            return Health(status="starting", documents=0, chunks=0, model="", built_at="",
                          sessions="")
        manifest = bot.retriever.index.manifest
        sessions = type(bot.sessions).__name__
        if hasattr(bot.sessions, "ping"):
            sessions += " ok" if await run_in_threadpool(bot.sessions.ping) else " unreachable"
        return Health(status="ok", documents=manifest.documents, chunks=manifest.chunks,
                      model=manifest.model_id, built_at=manifest.built_at, sessions=sessions)

    return router
