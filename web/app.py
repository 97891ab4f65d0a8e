"""HTTP API, widget and demo site: a thin FastAPI layer over `Bot`. Routes parse, call,
serialise; limits (body size, rate, time) and CORS are applied here, once."""

from __future__ import annotations

import asyncio
import hashlib
import logging
import os
import signal
import socket
import threading
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Annotated, Any, Literal

from fastapi import Depends, FastAPI, HTTPException, Query, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse
from pydantic import AfterValidator, BaseModel, Field
from starlette.concurrency import run_in_threadpool

from backoffice.office import BackOffice
from bot.config import Settings
from bot.core import Bot
from bot.errors import (
    BotError,
    DatabaseError,
    IndexStoreError,
    InputError,
    UnknownReplyError,
    check_unicode,
)
from bot.models import Lang, Reply
from bot.sessions import SESSION_ID
from web.access import ApiAccess
from web.admin.routes import add_admin_routes
from web.channels import mount_channels
from web.deps import BotDep
from web.metrics import CountingRecorder, Metrics
from web.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    Proxies,
    StartingGate,
)
from web.ratelimit import make_rate_limiter

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 64 * 1024
MAX_UPLOAD_REQUEST_BYTES = 100 * 1024 * 1024  # several documents at once (20 MB each)
# Answering is CPU-bound and holds the GIL most of the time: more threads than this only add
# memory (a malloc arena each) and queueing inside the process instead of before it.
ANSWER_THREADS = 2
STATIC = Path(__file__).parent / "static"
# How uvicorn must run the app (faqbot serve, the tests): uvicorn's own proxy_headers would
# rewrite the client address from X-Forwarded-For on any loopback connection, whatever our
# settings say; forwarding headers are read by web.middleware.Proxies alone.
UVICORN_OPTIONS: dict[str, Any] = {"proxy_headers": False, "access_log": False,
                                   "timeout_keep_alive": 5}


def tcp_listener(config) -> socket.socket:
    """The listening socket of a uvicorn `config` for several workers, marked as TCP.
    uvicorn binds it with protocol 0 (Kludex/uvicorn#3149), so asyncio never sets
    TCP_NODELAY on the connections it accepts, and each keep-alive request after the first
    waits ~40 ms for the client's delayed ACK."""
    bound = config.bind_socket()
    if bound.family not in (socket.AF_INET, socket.AF_INET6):
        return bound
    return socket.socket(bound.family, bound.type, socket.IPPROTO_TCP, fileno=bound.detach())


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


class Service:
    """What a web process runs around its bot: loading it in the background (health and
    readiness answer meanwhile), the in-process indexing worker, and with shared builds
    the follower that fetches each new published build."""

    def __init__(self, app: FastAPI, settings: Settings) -> None:
        self.app = app
        self.settings = settings
        self.stopping = threading.Event()
        self.worker = None
        self.follower = None
        self._loader: threading.Thread | None = None

    def begin(self) -> None:
        if self.app.state.bot is not None:
            self._started(self.app.state.bot, self.app.state.office)
            return
        self._loader = threading.Thread(target=self._load, name="bot-loader", daemon=True)
        self._loader.start()

    def _load(self) -> None:
        from backoffice.house import open_house

        try:
            house = open_house(self.settings, stop=self.stopping)
        except InterruptedError:
            return
        except Exception as exc:  # noqa: BLE001 - any failure to start is reported alike
            log.exception("the bot could not start")
            self.app.state.start_error = str(exc)[:300]
            if self.app.state.exit_on_start_failure:  # a server: stop, loudly (exit code 1)
                os.kill(os.getpid(), signal.SIGTERM)
            return
        if not self.stopping.is_set():
            self._started(house.bot, house.office)

    def _started(self, bot: Bot, office: BackOffice | None) -> None:
        instrument(bot, self.app.state.metrics)
        self.app.state.metrics.observe_index(bot.retriever.index.manifest)
        self.worker = start_index_worker(bot, office, self.settings)
        if self.settings.builds == "shared" and office is not None:
            from backoffice.builds import BuildFollower

            self.follower = BuildFollower(bot, office.builds).start()
        self.app.state.office = office
        self.app.state.bot = bot

    def stop(self) -> None:
        self.stopping.set()
        for part in (self.follower, self.worker):
            if part is not None:
                part.stop()


def start_index_worker(bot: Bot, office: BackOffice | None, settings: Settings):
    """The in-process indexing worker, when there is a back office (the jobs live in its
    database) and no separate `faqbot worker` is configured."""
    from backoffice.worker import IndexWorker

    if settings.worker != "in-process" or office is None:
        return None
    return IndexWorker(bot, office).start()


def instrument(bot, metrics: Metrics | None = None) -> Metrics:
    """The bot's recorder counts replies for /metrics (wrapped once per bot, into
    `metrics` when given: the app's, which also counts its requests)."""
    if not isinstance(bot.recorder, CountingRecorder):
        bot.recorder = CountingRecorder(bot.recorder, metrics or Metrics())
    return bot.recorder.metrics


async def rate_limited(request: Request) -> None:
    """Visitors by client address, servers by API key (web.access)."""
    await request.app.state.access.check(request)


class StaticFile:
    """A file served with an ETag and cache headers; read once."""

    def __init__(self, path: Path, media_type: str, max_age: int) -> None:
        self.body = path.read_bytes()
        self.media_type = media_type
        self.etag = '"' + hashlib.sha256(self.body).hexdigest()[:20] + '"'
        self.cache_control = f"public, max-age={max_age}"

    def response(self, request: Request, extra: dict[str, str] | None = None) -> Response:
        headers = {"ETag": self.etag, "Cache-Control": self.cache_control,
                   "X-Content-Type-Options": "nosniff", **(extra or {})}
        if self.etag in request.headers.get("if-none-match", ""):
            return Response(status_code=304, headers=headers)
        return Response(self.body, media_type=self.media_type, headers=headers)


PAGE_CSP = ("default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; "
            "frame-ancestors 'self'")


def serving_app() -> FastAPI:
    """The app as `faqbot serve --workers N` runs it in each worker process."""
    return create_app(exit_on_start_failure=True)


def create_app(settings: Settings | None = None, bot: Bot | None = None,
               office: BackOffice | None = None, exit_on_start_failure: bool = False,
               channels: dict[str, Any] | None = None) -> FastAPI:
    """Build the app; the Bot and the back office are opened in the background at startup
    (backoffice.house) unless a bot is given (tests; with its back office, if any), health
    and readiness answering meanwhile. `exit_on_start_failure`: a server
    process whose bot cannot start stops (`faqbot serve`). `channels`: a channel's own
    settings by its name (web.channels), else read from the environment."""
    settings = settings or Settings()

    @asynccontextmanager
    async def lifespan(app: FastAPI):
        service = Service(app, settings)
        service.begin()
        yield
        service.stop()
        app.state.answer_pool.shutdown(wait=False)

    # No trailing-slash redirects: Starlette builds them from the Host header.
    app = FastAPI(title="faqbot", version="0.1.0", lifespan=lifespan, redirect_slashes=False,
                  description="Bilingual medical FAQ bot: answers quote their sources.")
    app.state.bot = bot
    app.state.office = office
    app.state.start_error = None
    app.state.exit_on_start_failure = exit_on_start_failure
    app.state.metrics = instrument(bot) if bot is not None else Metrics()
    app.state.settings = settings
    app.state.salt = settings.client_salt_bytes()
    app.state.proxies = Proxies(settings.proxy_networks())
    app.state.answer_pool = ThreadPoolExecutor(ANSWER_THREADS, thread_name_prefix="answer")
    app.state.rate_limiter = make_rate_limiter(settings.rate_limit_per_minute,
                                               settings.redis_url)
    app.state.access = ApiAccess(settings, app.state.salt, app.state.proxies)

    # Last added runs first: access log sees every request, then the size cap, then CORS.
    app.add_middleware(GZipMiddleware, minimum_size=1024)
    origins = settings.origins()
    if origins:
        app.add_middleware(CORSMiddleware, allow_origins=origins, allow_methods=["GET", "POST"],
                           allow_headers=["content-type", "authorization", "x-api-key"],
                           max_age=600)
    app.add_middleware(BodyLimitMiddleware, max_bytes=MAX_BODY_BYTES,
                       larger={"/admin/documents": MAX_UPLOAD_REQUEST_BYTES,
                               "/admin/batch": 4 * 1024 * 1024,
                               "/admin/synonyms/import": 2 * 1024 * 1024})
    app.add_middleware(StartingGate, app_state=app.state)
    app.add_middleware(AccessLogMiddleware, proxies=app.state.proxies, salt=app.state.salt,
                       metrics=app.state.metrics)

    _add_error_handlers(app)
    _add_api_routes(app, settings, app.state.answer_pool)
    _add_site_routes(app)
    mount_channels(app, settings, channels)
    add_admin_routes(app)
    return app


def _add_error_handlers(app: FastAPI) -> None:
    @app.exception_handler(RequestValidationError)
    async def invalid_request(request: Request, exc: RequestValidationError):
        problems = []
        for error in exc.errors():
            where = ".".join(str(part) for part in error.get("loc", ()) if part != "body")
            said = error.get("msg", "invalid")
            if where == "message" and error.get("type") in ("string_too_short",
                                                            "string_pattern_mismatch"):
                said = "empty (no visible character)"
            problems.append(f"{where or 'body'}: {said}")
        return JSONResponse({"detail": "; ".join(problems) or "invalid request"}, 422)

    @app.exception_handler(InputError)
    async def bad_input(request: Request, exc: InputError):
        return JSONResponse({"detail": str(exc)}, 404 if isinstance(exc, UnknownReplyError)
                            else 422)

    @app.exception_handler(IndexStoreError)
    async def index_unavailable(request: Request, exc: IndexStoreError):
        log.error("index unavailable: %s", exc)
        return JSONResponse({"detail": "the bot's index is unavailable"}, 503)

    @app.exception_handler(DatabaseError)
    async def log_unavailable(request: Request, exc: DatabaseError):
        log.error("log store: %s", exc)
        return JSONResponse({"detail": "feedback could not be recorded; try again later"}, 503)

    @app.exception_handler(BotError)
    async def bot_error(request: Request, exc: BotError):
        log.error("bot error: %s", exc)
        return JSONResponse({"detail": "the bot could not answer"}, 500)


def _add_api_routes(app: FastAPI, settings: Settings, pool: ThreadPoolExecutor) -> None:
    limited = [Depends(rate_limited)]

    async def within_time_limit(func, *args):
        loop = asyncio.get_running_loop()
        try:
            return await asyncio.wait_for(loop.run_in_executor(pool, func, *args),
                                          settings.request_timeout_seconds)
        except TimeoutError:
            raise HTTPException(504, "the bot took too long to answer; try again") from None

    async def chat(body, bot: BotDep) -> Reply:
        """Ask a question; the reply quotes the sources (or falls back), in the visitor's
        language."""
        return await within_time_limit(bot.ask, body.message, body.session_id, "web")

    # The request model states this server's own message limit, so it is made here.
    chat.__annotations__["body"] = chat_request_model(settings.max_message_chars)
    app.add_api_route("/api/chat", chat, methods=["POST"], response_model=Reply,
                      dependencies=limited, responses=_errors(400, 413, 422, 429, 500, 503, 504))

    @app.post("/api/feedback", status_code=204, dependencies=limited,
              responses=_errors(400, 404, 413, 422, 429, 503, 504))
    async def rate_reply(body: FeedbackRequest, bot: BotDep) -> Response:
        """Thumbs up/down (and an optional comment) on a reply; the latest rating counts."""
        await within_time_limit(bot.feedback, body.reply_id, body.rating, body.comment)
        return Response(status_code=204)

    @app.get("/api/suggestions", response_model=Suggestions, responses=_errors(422))
    async def suggestions(bot: BotDep, lang: Annotated[Lang, Query()] = "zh",
                          k: Annotated[int, Query(ge=1, le=10)] = 5) -> Suggestions:
        """Starter questions the corpus can answer, for a welcome screen."""
        return Suggestions(lang=lang, suggestions=bot.suggestions(lang, k))

    @app.get("/api/ready", responses=_errors(503))
    async def ready(request: Request) -> dict[str, str]:
        """200 once the index is loaded and answering (a load balancer's readiness
        check); 503 before."""
        bot = request.app.state.bot
        if bot is None or not bot.retriever.index.chunks:
            raise HTTPException(503, "the index is not loaded yet" + (
                f" (starting failed: {request.app.state.start_error})"
                if request.app.state.start_error else ""))
        return {"status": "ready"}

    @app.get("/metrics", include_in_schema=False)
    async def metrics(request: Request) -> Response:
        bot = request.app.state.bot
        if bot is not None:
            request.app.state.metrics.observe_index(bot.retriever.index.manifest)
        return Response(request.app.state.metrics.exposition(),
                        media_type="text/plain; version=0.0.4; charset=utf-8")

    @app.get("/api/health", response_model=Health)
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


def _add_site_routes(app: FastAPI) -> None:
    widget = StaticFile(STATIC / "widget.js", "application/javascript; charset=utf-8", 3600)
    demo = StaticFile(STATIC / "demo.html", "text/html; charset=utf-8", 300)
    embed = StaticFile(STATIC / "embed.html", "text/html; charset=utf-8", 300)
    page_headers = {"Content-Security-Policy": PAGE_CSP}

    @app.get("/widget.js", include_in_schema=False)
    async def widget_js(request: Request) -> Response:
        # Any site may load the script; the API's CORS settings decide who may call it.
        return widget.response(request, {"Access-Control-Allow-Origin": "*",
                                         "Cross-Origin-Resource-Policy": "cross-origin"})

    @app.get("/", include_in_schema=False)
    async def demo_page(request: Request) -> Response:
        return demo.response(request, page_headers)

    @app.get("/embed", include_in_schema=False)
    async def embed_page(request: Request) -> Response:
        return embed.response(request, page_headers)
