"""A generic web-hook channel: another system (a chat platform's bridge, a CRM, a LINE or
Telegram adapter) posts a visitor's message and gets the reply as text. The smallest
complete channel, and the model for writing one (README, "Adding a channel").

    POST /webhook
    X-Faqbot-Timestamp: 1700000000
    X-Faqbot-Signature: sha256=<hex HMAC-SHA256(FAQBOT_WEBHOOK_SECRET, timestamp + "." + body)>
    {"message_id": "m-123", "user": "u-42", "text": "腰椎间盘突出有什么症状"}

    200 {"message_id": "m-123", "reply": "…quotes, sources, disclaimer…"}

Each user is a conversation (follow-ups keep their context); each message id is answered
once (a retry gets the same reply); a signed request is accepted once and only within
FAQBOT_WEBHOOK_MAX_CLOCK_SKEW_SECONDS of its timestamp. Off unless FAQBOT_WEBHOOK_SECRET is
set."""

from __future__ import annotations

import hashlib
import hmac
import json
import re
import time

from fastapi import FastAPI, Request
from fastapi.responses import JSONResponse
from pydantic import Field
from pydantic_settings import BaseSettings, SettingsConfigDict

from bot.config import Settings as CoreSettings
from web.channels import answer_as_text
from web.channels.once import NotReady, SignedOnce, make_reply_cache
from web.channels.text import render_reply

NAME = "webhook"
CHANNEL = "webhook"  # the conversation log's channel
MAX_BODY_BYTES = 16 * 1024
_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,64}$")
_SIGNATURE = re.compile(r"^sha256=([0-9a-f]{64})$")


class Settings(BaseSettings):
    model_config = SettingsConfigDict(env_prefix="FAQBOT_", extra="ignore")

    webhook_secret: str | None = Field(
        None, min_length=16, description="Shared secret signing every request (HMAC-SHA256); "
        "the channel is off without one.")
    webhook_max_reply_bytes: int = Field(
        4000, ge=200, description="Longest reply, in bytes of UTF-8 (the platform's limit).")
    webhook_max_clock_skew_seconds: int = Field(
        300, ge=1, description="Requests whose timestamp is further from now are refused.")
    webhook_reply_budget_seconds: float = Field(
        10.0, gt=0, description="An answer not ready by then gets 503 (retry the same "
        "message id: it gets the answer once ready).")


def mount(app: FastAPI, core: CoreSettings, settings: Settings) -> None:
    if not settings.webhook_secret:
        return
    secret = settings.webhook_secret.encode()
    replies = make_reply_cache(core.redis_url, "faqbot:webhook:")
    signed_once = SignedOnce(2 * settings.webhook_max_clock_skew_seconds, core.redis_url,
                             "faqbot:webhook-signed:")

    @app.post("/webhook", include_in_schema=False)
    async def webhook(request: Request) -> JSONResponse:
        body = await request.body()
        if len(body) > MAX_BODY_BYTES:
            return _refuse(413, "body too large")
        timestamp = request.headers.get("x-faqbot-timestamp", "")
        signature = _SIGNATURE.match(request.headers.get("x-faqbot-signature", ""))
        if not timestamp.isdigit() or signature is None:
            return _refuse(403, "X-Faqbot-Timestamp and X-Faqbot-Signature are required")
        if abs(time.time() - int(timestamp)) > settings.webhook_max_clock_skew_seconds:
            return _refuse(403, "timestamp is too far from now (replayed or clock skew)")
        expected = hmac.new(secret, timestamp.encode() + b"." + body, hashlib.sha256)
        if not hmac.compare_digest(expected.hexdigest(), signature.group(1)):
            return _refuse(403, "signature does not match")
        if not await signed_once.first_use(signature.group(1),
                                           hashlib.sha256(body).hexdigest()):
            return _refuse(403, "this signature was used already (a replay)")
        try:
            message = json.loads(body)
            message_id, user, text = message["message_id"], message["user"], message["text"]
        except (ValueError, KeyError, TypeError):
            return _refuse(400, 'a JSON object with "message_id", "user" and "text" is expected')
        if not (isinstance(message_id, str) and _ID.match(message_id) and isinstance(user, str)
                and _ID.match(user) and isinstance(text, str)):
            return _refuse(422, "message_id and user: 1-64 of A-Z a-z 0-9 _.:@-; text: a string")
        bot = request.app.state.bot
        session = bot.session_for(CHANNEL, user)

        def work() -> str:
            return answer_as_text(bot, text, session, CHANNEL, lambda reply: render_reply(
                reply, settings.webhook_max_reply_bytes))

        try:
            reply = await replies.answer_once(f"{user}:{message_id}", work,
                                              request.app.state.answer_pool,
                                              settings.webhook_reply_budget_seconds)
        except NotReady:
            return JSONResponse({"detail": "the answer is not ready yet; send the same "
                                           "message again"}, 503, {"Retry-After": "2"})
        return JSONResponse({"message_id": message_id, "reply": reply})


def _refuse(status: int, detail: str) -> JSONResponse:
    return JSONResponse({"detail": detail}, status)


def signed_headers(secret: str, body: bytes, timestamp: int | None = None) -> dict[str, str]:
    """The headers a sender puts on `body` (for tests and for a sender written in Python)."""
    stamp = str(int(time.time()) if timestamp is None else timestamp)
    digest = hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256)
    return {"X-Faqbot-Timestamp": stamp, "X-Faqbot-Signature": f"sha256={digest.hexdigest()}",
            "Content-Type": "application/json"}
