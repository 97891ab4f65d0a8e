"""Operator console at /admin: server-rendered pages (Jinja2, autoescaped) over the
conversation log. Nothing answers without a valid operator session; every form carries a
CSRF token tied to the session (the login form: a double-submit cookie)."""

from __future__ import annotations

import csv
import hmac
import io
import json
import logging
import re
import secrets
from datetime import date
from pathlib import Path
from typing import Annotated, Any
from urllib.parse import urlencode, urlsplit

from fastapi import Depends, FastAPI, Form, HTTPException, Request, Response
from fastapi.responses import HTMLResponse, RedirectResponse, StreamingResponse
from fastapi.templating import Jinja2Templates
from starlette.concurrency import run_in_threadpool

from backoffice.curation import CuratedStore, CuratedText
from backoffice.operators import OperatorSession, OperatorStore
from backoffice.review import Filters, Review, dashboard, unanswered_groups
from bot.errors import BotError, InputError
from bot.language import has_cjk
from web.admin import charts
from web.admin.login import Busy, LoginGuard

log = logging.getLogger(__name__)

SESSION_COOKIE = "faqbot_admin"
LOGIN_CSRF_COOKIE = "faqbot_login_csrf"
HEADERS = {"Content-Security-Policy": "default-src 'self'; style-src 'unsafe-inline'; "
           "img-src 'self' data:; form-action 'self'; frame-ancestors 'none'",
           "Cache-Control": "no-store", "X-Content-Type-Options": "nosniff",
           "Referrer-Policy": "same-origin"}
_LOGIN_TOKEN = re.compile(r"^[A-Za-z0-9_-]{32}$")
templates = Jinja2Templates(directory=str(Path(__file__).parent / "templates"))


class NotLoggedIn(Exception):
    pass


def _operators(request: Request) -> OperatorStore:
    logstore = request.app.state.bot.logstore
    if logstore is None:
        raise HTTPException(503, "the console needs the conversation log")
    return OperatorStore(logstore)


def _review(request: Request) -> Review:
    return Review(request.app.state.bot.logstore)


def current_operator(request: Request) -> OperatorSession:
    session = _operators(request).session(request.cookies.get(SESSION_COOKIE))
    if session is None:
        raise NotLoggedIn
    return session


Operator = Annotated[OperatorSession, Depends(current_operator)]


def check_csrf(operator: Operator, csrf_token: Annotated[str, Form()] = "") -> OperatorSession:
    if not hmac.compare_digest(csrf_token.encode(), operator.csrf_token.encode()):
        raise HTTPException(403, "CSRF token missing or wrong; reload the page")
    return operator


CheckedOperator = Annotated[OperatorSession, Depends(check_csrf)]


def add_admin_routes(app: FastAPI) -> None:
    app.state.login_guard = LoginGuard(app.state.settings, app.state.salt)

    @app.exception_handler(NotLoggedIn)
    async def not_logged_in(request: Request, exc: NotLoggedIn) -> Response:
        if request.method == "GET" and not request.url.path.startswith("/admin/export"):
            return RedirectResponse("/admin/login", 303)
        return Response("log in first", 401, media_type="text/plain")

    def page(request: Request, name: str, context: dict[str, Any],
             status: int = 200) -> HTMLResponse:
        response = templates.TemplateResponse(request, name, context, status_code=status)
        response.headers.update(HEADERS)
        return response

    @app.get("/admin", include_in_schema=False)
    @app.get("/admin/", include_in_schema=False)
    async def admin_home(operator: Operator) -> Response:
        # A relative Location: never built from the request's Host header.
        return RedirectResponse("/admin/dashboard", 303)

    @app.get("/admin/dashboard", include_in_schema=False)
    async def dashboard_page(request: Request, operator: Operator) -> Response:
        data = await run_in_threadpool(dashboard, _review(request))
        labels = [d.strftime("%m-%d") for d in data.days]
        chart_set = {
            "per_day": charts.stacked_bars(labels, data.per_day, "Questions per day"),
            "kinds": charts.horizontal_bars(sorted(data.kinds.items()), "Replies by kind"),
            "ratings": charts.horizontal_bars([("👍 up", data.ratings["up"]),
                                               ("👎 down", data.ratings["down"])], "Ratings"),
            "topics": charts.horizontal_bars(data.topics, "Top topics"),
            "latency": charts.line(labels, data.latency_p95, "p95 latency per day"),
        }
        return page(request, "dashboard.html", {
            "title": "Dashboard", "section": "dashboard", "operator": operator, "data": data,
            "charts": chart_set})

    @app.get("/admin/login", include_in_schema=False)
    async def login_form(request: Request) -> Response:
        return login_page(request)

    def login_page(request: Request, error: str | None = None, status: int = 401) -> Response:
        # The login form's token stays what the browser's cookie holds (other tabs and a
        # second try keep working); a new browser gets a new one.
        token = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not _LOGIN_TOKEN.match(token):
            token = secrets.token_urlsafe(24)
        response = page(request, "login.html", {"title": "Log in", "csrf_token": token,
                                                "error": error, "operator": None},
                        status if error else 200)
        response.set_cookie(LOGIN_CSRF_COOKIE, token, httponly=True, samesite="strict",
                            secure=_https(request), path="/admin")
        return response

    @app.post("/admin/login", include_in_schema=False)
    async def login(request: Request, username: Annotated[str, Form(max_length=64)] = "",
                    password: Annotated[str, Form(max_length=256)] = "",
                    csrf_token: Annotated[str, Form(max_length=64)] = "") -> Response:
        cookie = request.cookies.get(LOGIN_CSRF_COOKIE, "")
        if not cookie or not hmac.compare_digest(cookie.encode(), csrf_token.encode()):
            raise HTTPException(403, "CSRF token missing or wrong; reload the login page")
        guard: LoginGuard = request.app.state.login_guard
        wait = guard.wait_seconds(request.app.state.proxies.client(request.scope), username)
        if wait:
            response = login_page(request, f"Too many login attempts: wait {wait} s.", 429)
            response.headers["Retry-After"] = str(wait)
            return response
        operators = _operators(request)
        try:
            async with guard.password_check():
                token = await run_in_threadpool(operators.login, username, password)
        except Busy:
            response = login_page(request, "The console is busy: try again in a few seconds.",
                                  503)
            response.headers["Retry-After"] = "5"
            return response
        if token is None:
            return login_page(request, "Wrong username or password, or too many attempts: "
                              "wait 15 minutes.")
        response = RedirectResponse("/admin/dashboard", 303)
        response.set_cookie(SESSION_COOKIE, token, httponly=True, samesite="strict",
                            secure=_https(request), path="/admin", max_age=8 * 3600)
        response.delete_cookie(LOGIN_CSRF_COOKIE, path="/admin")
        return response

    @app.post("/admin/logout", include_in_schema=False)
    async def logout(request: Request, operator: CheckedOperator) -> Response:
        _operators(request).logout(request.cookies.get(SESSION_COOKIE, ""))
        response = RedirectResponse("/admin/login", 303)
        response.delete_cookie(SESSION_COOKIE, path="/admin")
        return response

    @app.get("/admin/conversations", include_in_schema=False)
    async def conversations(request: Request, operator: Operator,
                            filters: Annotated[Filters, Depends(_filters)]) -> Response:
        number = _int(request.query_params.get("page"), 1)
        result = await run_in_threadpool(_review(request).list, filters, number)
        return page(request, "conversations.html", {
            "title": "Conversations", "section": "conversations", "operator": operator,
            "page": result, "form": filters, "query": _query(request)})

    @app.get("/admin/conversations/{session_id}", include_in_schema=False)
    async def conversation(request: Request, session_id: str, operator: Operator) -> Response:
        items = await run_in_threadpool(_review(request).conversation, session_id[:128])
        return page(request, "conversation.html", {
            "title": "Conversation", "section": "conversations", "operator": operator,
            "session_id": session_id, "exchanges": items}, 200 if items else 404)

    @app.post("/admin/exchanges/{reply_id}/reviewed", include_in_schema=False)
    async def mark_reviewed(request: Request, reply_id: str, operator: CheckedOperator,
                            reviewed: Annotated[int, Form()] = 1) -> Response:
        review = _review(request)
        if not await run_in_threadpool(review.mark_reviewed, [reply_id[:64]], bool(reviewed)):
            raise HTTPException(404, "no such exchange")
        return RedirectResponse(_back(request, "/admin/conversations"), 303)

    @app.post("/admin/reviewed", include_in_schema=False)
    async def mark_many_reviewed(request: Request, operator: CheckedOperator,
                                 reply_ids: Annotated[str, Form()] = "") -> Response:
        await run_in_threadpool(_review(request).mark_reviewed, _ids(reply_ids))
        return RedirectResponse(_back(request, "/admin/unanswered"), 303)

    @app.get("/admin/unanswered", include_in_schema=False)
    async def unanswered(request: Request, operator: Operator) -> Response:
        bot = request.app.state.bot
        groups = await run_in_threadpool(unanswered_groups, _review(request),
                                  lambda texts: bot.retriever.embedder.embed_queries(texts))
        return page(request, "unanswered.html", {
            "title": "Unanswered", "section": "unanswered", "operator": operator,
            "groups": groups})

    def curated_page(request: Request, operator: OperatorSession, *, draft: CuratedText,
                     editing=None, reply_ids: str = "", message: str | None = None,
                     error: str | None = None, status: int = 422) -> HTMLResponse:
        entries = _curated(request).entries()
        return page(request, "curated.html", {
            "title": "Curated answers", "section": "curated", "operator": operator,
            "entries": entries, "draft": draft, "editing": editing, "reply_ids": reply_ids,
            "message": message, "error": error}, status if error else 200)

    @app.get("/admin/curated", include_in_schema=False)
    async def curated_list(request: Request, operator: Operator) -> Response:
        editing = _curated(request).get(_int(request.query_params.get("edit"), 0))
        draft = CuratedText(**{k: getattr(editing, k) or "" for k in CURATED_FIELDS}
                            ) if editing else CuratedText()
        saved = request.query_params.get("saved")
        message = (f"Answer #{saved} saved; the bot uses it now." if saved
                   and saved.isdigit() else None)
        return curated_page(request, operator, draft=draft, editing=editing, message=message)

    @app.post("/admin/curated/draft", include_in_schema=False)
    async def curated_draft(request: Request, operator: CheckedOperator,
                            question: Annotated[str, Form(max_length=4000)] = "",
                            reply_ids: Annotated[str, Form()] = "") -> Response:
        field = "question_zh" if has_cjk(question) else "question_en"
        return curated_page(request, operator, draft=CuratedText(**{field: question}),
                            reply_ids=",".join(_ids(reply_ids)))

    @app.post("/admin/curated", include_in_schema=False)
    async def curated_create(request: Request, operator: CheckedOperator,
                             text: Annotated[CuratedText, Depends(_curated_form)],
                             reply_ids: Annotated[str, Form()] = "") -> Response:
        try:
            entry_id = await run_in_threadpool(_curated(request).add, text, operator.username)
        except InputError as exc:
            return curated_page(request, operator, draft=text, reply_ids=reply_ids,
                                error=str(exc))
        if problem := await _go_live(request, _ids(reply_ids)):
            return curated_page(request, operator, draft=text, error=problem, status=503)
        return RedirectResponse(f"/admin/curated?saved={entry_id}", 303)

    @app.post("/admin/curated/{entry_id}", include_in_schema=False)
    async def curated_update(request: Request, entry_id: int, operator: CheckedOperator,
                             text: Annotated[CuratedText, Depends(_curated_form)]) -> Response:
        try:
            await run_in_threadpool(_curated(request).update, entry_id, text)
        except InputError as exc:
            return curated_page(request, operator, draft=text,
                                editing=_curated(request).get(entry_id), error=str(exc))
        if problem := await _go_live(request, []):
            return curated_page(request, operator, draft=text, error=problem, status=503)
        return RedirectResponse(f"/admin/curated?saved={entry_id}", 303)

    @app.post("/admin/curated/{entry_id}/retire", include_in_schema=False)
    async def curated_retire(request: Request, entry_id: int, operator: CheckedOperator,
                             retired: Annotated[int, Form()] = 1) -> Response:
        try:
            await run_in_threadpool(_curated(request).retire, entry_id, bool(retired))
        except InputError as exc:
            raise HTTPException(404, str(exc)) from None
        if problem := await _go_live(request, []):
            return curated_page(request, operator, draft=CuratedText(), error=problem,
                                status=503)
        return RedirectResponse("/admin/curated", 303)

    @app.get("/admin/export.{fmt}", include_in_schema=False)
    async def export(request: Request, fmt: str, operator: Operator,
                     filters: Annotated[Filters, Depends(_filters)]) -> Response:
        if fmt not in ("csv", "jsonl"):
            raise HTTPException(404, "export as .csv or .jsonl")
        rows = _review(request).export(filters)
        body = _csv(rows) if fmt == "csv" else (
            json.dumps(row, ensure_ascii=False) + "\n" for row in rows)
        media = "text/csv; charset=utf-8" if fmt == "csv" else "application/x-ndjson"
        return StreamingResponse(body, media_type=media, headers={
            "Content-Disposition": f'attachment; filename="conversations.{fmt}"',
            "Cache-Control": "no-store"})


CURATED_FIELDS = ("question_zh", "answer_zh", "question_en", "answer_en", "source_url")


def _curated(request: Request) -> CuratedStore:
    bot = request.app.state.bot
    return CuratedStore(bot.logstore, bot.settings.corpus_dir)


def _curated_form(question_zh: Annotated[str, Form(max_length=8000)] = "",
                  answer_zh: Annotated[str, Form(max_length=8000)] = "",
                  question_en: Annotated[str, Form(max_length=8000)] = "",
                  answer_en: Annotated[str, Form(max_length=8000)] = "",
                  source_url: Annotated[str, Form(max_length=1000)] = "") -> CuratedText:
    return CuratedText(question_zh, answer_zh, question_en, answer_en, source_url)


async def _go_live(request: Request, reply_ids: list[str]) -> str | None:
    """Rebuild the index with the curated entries and swap it in; mark what they answer
    as reviewed. What went wrong, if the rebuild failed (the bot keeps its index)."""
    try:
        await run_in_threadpool(request.app.state.bot.reindex)
    except (BotError, OSError) as exc:
        log.error("curated answers saved but not indexed: %s", exc)
        return (f"Saved, but the bot could not rebuild its index ({exc}); it keeps answering "
                f"from the previous one. Fix the corpus and save again.")
    if reply_ids:
        await run_in_threadpool(_review(request).mark_reviewed, reply_ids)
    return None


def _back(request: Request, default: str) -> str:
    """The console page the form was on (never another site's address)."""
    referer = urlsplit(request.headers.get("referer", ""))
    if referer.path.startswith("/admin/"):
        return referer.path + (f"?{referer.query}" if referer.query else "")
    return default


def _ids(joined: str) -> list[str]:
    return [i for i in joined.split(",") if re.fullmatch(r"[A-Za-z0-9_-]{1,64}", i)][:5000]


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


def _int(value: str | None, default: int) -> int:
    return int(value) if value and value.isdigit() and len(value) < 9 else default


def _https(request: Request) -> bool:
    return request.app.state.proxies.https(request.scope)


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

