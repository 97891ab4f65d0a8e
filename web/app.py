"""HTTP API: a thin FastAPI layer over `Bot`. Routes parse, call, serialise."""

from __future__ import annotations

import logging
from contextlib import asynccontextmanager
from typing import Annotated, Any

from fastapi import Depends, FastAPI, Request
from fastapi.exceptions import RequestValidationError
from fastapi.responses import JSONResponse
from pydantic import BaseModel, Field
from starlette.concurrency import run_in_threadpool

from bot.config import Settings
from bot.errors import BotError, IndexStoreError, InputError
from bot.models import Reply

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024


class ChatRequest(BaseModel):
    message: str = Field(description="The visitor's message, in Chinese or English.")
    session_id: str | None = Field(None, description="Continue a conversation; omit to start "
                                   "one (the reply carries the new id).")


def get_bot(request: Request):
    return request.app.state.bot


BotDep = Annotated[Any, Depends(get_bot)]


class Health(BaseModel):
    status: str
    documents: int
    chunks: int
    model: str
    built_at: str


def create_app(settings: Settings | None = None, bot=None) -> FastAPI:
    """Build the app; the Bot is loaded at startup unless one is given (tests, `serve`)."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        if app.state.bot is None:
            from bot.core import Bot

            app.state.bot = await run_in_threadpool(Bot.load, settings=settings)
        yield

    app = FastAPI(title="faqbot", version="0.1.0", lifespan=lifespan,
                  description="Bilingual medical FAQ bot: answers quote their sources.")
    app.state.bot = bot
    app.state.settings = settings

    @app.middleware("http")
    async def limit_body(request: Request, call_next):
        length = request.headers.get("content-length")
        if length is not None and (not length.isdigit() or int(length) > MAX_BODY_BYTES):
            return JSONResponse({"detail": f"request body over {MAX_BODY_BYTES} bytes"}, 413)
        return await call_next(request)

    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            problems.append(f"{where or 'body'}: {error.get('msg', 'invalid')}")
        return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, 422)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError):
        return JSONResponse({"detail": str(exc)}, 422)

    @app.exception_handler(IndexStoreError)
    async def index_unavailable(request: Request, exc: IndexStoreError):
        log.error("index unavailable: %s", exc)
        return JSONResponse({"detail": "the bot's index is unavailable"}, 503)

    @app.exception_handler(BotError)
    async def bot_error(request: Request, exc: BotError):
        log.error("bot error: %s", exc)
        return JSONResponse({"detail": "the bot could not answer"}, 500)

    @app.post("/api/chat", response_model=Reply)
    async def chat(body: ChatRequest, bot: BotDep) -> Reply:
        return await run_in_threadpool(bot.ask, body.message, body.session_id)

    @app.get("/api/health", response_model=Health)
    async def health(bot: BotDep) -> Health:
        manifest = bot.retriever.index.manifest
        return Health(status="ok", documents=manifest.documents, chunks=manifest.chunks,
                      model=manifest.model_id, built_at=manifest.built_at)

    return app
