"""The app: made once per process (`create_app`), it mounts the JSON API (web.api), the
channels, the console and the widget and demo site, and applies the limits (body size,
rate, time) and CORS once; its lifespan runs web.lifecycle."""

from __future__ import annotations

import hashlib
import logging
import socket
from concurrent.futures import ThreadPoolExecutor
from contextlib import asynccontextmanager
from pathlib import Path
from typing import TYPE_CHECKING, Any

from fastapi import FastAPI, Request, Response
from fastapi.exceptions import RequestValidationError
from fastapi.middleware.cors import CORSMiddleware
from fastapi.middleware.gzip import GZipMiddleware
from fastapi.responses import JSONResponse

from bot.config import Settings
from bot.errors import (
    BotError,
    DatabaseError,
    IndexStoreError,
    InputError,
    UnknownReplyError,
)
from web.access import ApiAccess
from web.admin.routes import add_admin_routes
from web.api import api_router
from web.channels import mount_channels
from web.lifecycle import Service, instrument
from web.metrics import Metrics
from web.middleware import (
    AccessLogMiddleware,
    BodyLimitMiddleware,
    Proxies,
    StartingGate,
)
from web.ratelimit import make_rate_limiter

if TYPE_CHECKING:  # imported by the lifecycle when the app starts, not before the port opens
    from backoffice.office import BackOffice
    from bot.core import Bot

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
    app.include_router(api_router(settings))
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
    async def database_unavailable(request: Request, exc: DatabaseError):
        log.error("database: %s", exc)
        return JSONResponse({"detail": "the database is unavailable (feedback and API keys "
                                       "need it); try again later"}, 503)

    @app.exception_handler(BotError)
    async def bot_error(request: Request, exc: BotError):
        log.error("bot error: %s", exc)
        return JSONResponse({"detail": "the bot could not answer"}, 500)


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
