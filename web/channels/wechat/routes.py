"""WeChat callbacks: Official Account at /wechat/mp (plain or safe mode), WeCom at
/wechat/work (always encrypted). A channel (web.channels) over `Bot.ask`: verify, decrypt,
parse, answer once per message, render for WeChat, encrypt back. Every refusal is a 400/403/413
with a one-line reason or WeChat's "success"; never a 500, never a stack trace."""

from __future__ import annotations

import hashlib
import logging
import re
import secrets
import time
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from functools import wraps

from fastapi import FastAPI, Request, Response
from fastapi.responses import PlainTextResponse

from bot.config import Settings as CoreSettings
from web.channels import answer_as_text
from web.channels.once import NotReady, ReplyCache, SignedOnce, make_reply_cache
from web.channels.wechat import messages, text
from web.channels.wechat.crypto import (
    CallbackError,
    MessageCipher,
    ReceiverMismatch,
    SignatureError,
    sign,
    signature_matches,
)
from web.channels.wechat.settings import WeChatAccount, WeChatSettings

log = logging.getLogger(__name__)

MAX_BODY_BYTES = 16 * 1024  # a text message is at most ~2 KB, encrypted ~3 KB
CHANNEL = {"mp": "wechat-mp", "wecom": "wecom"}
_DIGITS = re.compile(r"^[0-9]{1,12}$")
_NONCE = re.compile(r"^[A-Za-z0-9]{1,64}$")
_SIGNATURE = re.compile(r"^[0-9a-fA-F]{40}$")
_USER = re.compile(r"^[A-Za-z0-9_.@-]{1,64}$")


class TooLarge(CallbackError):
    status = 413


@dataclass(frozen=True)
class Account:
    config: WeChatAccount
    cipher: MessageCipher | None

    @property
    def channel(self) -> str:
        return CHANNEL[self.config.kind]


NAME = "wechat"
Settings = WeChatSettings  # the channel's own settings (web.channels)


def mount(app: FastAPI, core: CoreSettings, settings: WeChatSettings) -> None:
    """Mount the callbacks of the configured accounts; none configured, none mounted."""
    configured = settings.account_list()
    names = [(a.kind, a.name) for a in configured]
    if len(set(names)) != len(names):
        raise ValueError("two WeChat accounts of the same kind share a name")
    accounts = [Account(a, MessageCipher(a.aes_key, a.app_id) if a.aes_key else None)
                for a in configured]
    callbacks = WeChatCallbacks(accounts, settings,
                                make_reply_cache(core.redis_url, "faqbot:wechat:"),
                                SignedOnce(2 * settings.wechat_max_clock_skew_seconds,
                                           core.redis_url, "faqbot:wechat-signed:"))
    app.state.wechat = callbacks
    if any(a.config.kind == "mp" for a in accounts):
        app.add_api_route("/wechat/mp", callbacks.mp_verify, methods=["GET"],
                          include_in_schema=False)
        app.add_api_route("/wechat/mp", callbacks.mp_message, methods=["POST"],
                          include_in_schema=False)
    if any(a.config.kind == "wecom" for a in accounts):
        app.add_api_route("/wechat/work", callbacks.wecom_verify, methods=["GET"],
                          include_in_schema=False)
        app.add_api_route("/wechat/work", callbacks.wecom_message, methods=["POST"],
                          include_in_schema=False)


def _guarded(handler: Callable[..., Awaitable[Response]]):
    """Refusals become their status with a short reason; anything unexpected becomes
    "success" (WeChat then shows nothing rather than retrying a failing request)."""

    @wraps(handler)
    async def run(self: WeChatCallbacks, request: Request) -> Response:
        try:
            return await handler(self, request)
        except CallbackError as exc:
            log.warning("wechat %s refused (%s): %s", request.url.path, exc.status, exc)
            return PlainTextResponse(str(exc), exc.status)
        except Exception:
            log.exception("wechat %s failed", request.url.path)
            return PlainTextResponse("success")

    return run


class WeChatCallbacks:
    def __init__(self, accounts: list[Account], settings: WeChatSettings, cache: ReplyCache,
                 signed_once: SignedOnce) -> None:
        self.accounts = accounts
        self.settings = settings
        self.cache = cache
        self.signed_once = signed_once

    # ------------------------------------------------------------ Official Account
    @_guarded
    async def mp_verify(self, request: Request) -> Response:
        timestamp, nonce = self._fresh_params(request)
        signature = _param(request, "signature", _SIGNATURE)
        echostr = _param(request, "echostr", max_length=512)
        account = self._by_signature("mp", signature, timestamp, nonce)
        await self._once(account, timestamp, nonce, f"GET {echostr}".encode())
        return PlainTextResponse(echostr)

    @_guarded
    async def mp_message(self, request: Request) -> Response:
        timestamp, nonce = self._fresh_params(request)
        encrypt_type = request.query_params.get("encrypt_type", "raw")
        if encrypt_type not in ("aes", "raw"):
            raise CallbackError("encrypt_type must be 'aes' or 'raw'")
        body = await _body(request)
        if encrypt_type == "raw":  # the signature does not cover the body: check it first
            account = self._by_signature("mp", _param(request, "signature", _SIGNATURE),
                                         timestamp, nonce)
            if account.cipher is not None and not account.config.accept_plaintext:
                raise SignatureError("this account accepts encrypted (safe mode) callbacks "
                                     "only")
            message = messages.parse(body)
        else:
            account, message = self._open("mp", request, messages.parse(body), timestamp,
                                          nonce)
        await self._once(account, timestamp, nonce, b"POST " + body)
        return await self._respond(request, account, message, encrypted=encrypt_type == "aes")

    # ------------------------------------------------------------ WeCom
    @_guarded
    async def wecom_verify(self, request: Request) -> Response:
        timestamp, nonce = self._fresh_params(request)
        echostr = _param(request, "echostr", max_length=1024)
        account, plain = self._decrypt("wecom", _param(request, "msg_signature", _SIGNATURE),
                                       timestamp, nonce, echostr)
        await self._once(account, timestamp, nonce, f"GET {echostr}".encode())
        return PlainTextResponse(plain)

    @_guarded
    async def wecom_message(self, request: Request) -> Response:
        timestamp, nonce = self._fresh_params(request)
        body = await _body(request)
        account, message = self._open("wecom", request, messages.parse(body), timestamp, nonce)
        await self._once(account, timestamp, nonce, b"POST " + body)
        agent = account.config.agent_id
        if agent and message.get("AgentID", agent) != agent:
            raise ReceiverMismatch("message is for another AgentID")
        return await self._respond(request, account, message, encrypted=True)

    # ------------------------------------------------------------ verification
    def _fresh_params(self, request: Request) -> tuple[str, str]:
        timestamp = _param(request, "timestamp", _DIGITS)
        nonce = _param(request, "nonce", _NONCE)
        if abs(time.time() - int(timestamp)) > self.settings.wechat_max_clock_skew_seconds:
            raise SignatureError("timestamp is too far from now (replayed or clock skew)")
        return timestamp, nonce

    async def _once(self, account: Account, timestamp: str, nonce: str,
                    request: bytes) -> None:
        """Refuse a signed timestamp and nonce already used by another request."""
        key = f"{account.config.kind}:{account.config.name}:{timestamp}:{nonce}"
        if not await self.signed_once.first_use(key, hashlib.sha256(request).hexdigest()):
            raise SignatureError("this signed URL was used already (a replay)")

    def _by_signature(self, kind: str, signature: str, timestamp: str, nonce: str,
                      *extra: str) -> Account:
        for account in self.accounts:
            if account.config.kind == kind and signature_matches(
                    signature, account.config.token, timestamp, nonce, *extra):
                return account
        raise SignatureError("signature does not match")

    def _decrypt(self, kind: str, msg_signature: str, timestamp: str, nonce: str,
                 encrypt: str) -> tuple[Account, str]:
        """The account whose token signs `encrypt` and whose key and receive id open it."""
        refusal: CallbackError = SignatureError("msg_signature does not match")
        for account in self.accounts:
            if (account.config.kind != kind or account.cipher is None
                    or not signature_matches(msg_signature, account.config.token, timestamp,
                                             nonce, encrypt)):
                continue
            try:
                return account, account.cipher.decrypt(encrypt)
            except CallbackError as exc:  # another account may share the token
                refusal = exc
        raise refusal

    def _open(self, kind: str, request: Request, envelope: dict[str, str], timestamp: str,
              nonce: str) -> tuple[Account, dict[str, str]]:
        msg_signature = _param(request, "msg_signature", _SIGNATURE)
        encrypt = envelope.get("Encrypt")
        if not encrypt:
            raise CallbackError("encrypted callback without an Encrypt element")
        account, plain = self._decrypt(kind, msg_signature, timestamp, nonce, encrypt)
        return account, messages.parse(plain.encode())

    # ------------------------------------------------------------ replying
    async def _respond(self, request: Request, account: Account, message: dict[str, str],
                       encrypted: bool) -> Response:
        user = message.get("FromUserName", "")
        us = message.get("ToUserName", "")
        if not _USER.match(user) or not _USER.match(us):
            raise CallbackError("FromUserName/ToUserName missing or malformed")
        work = self._work(request.app.state.bot, account, user, message)
        if work is None:
            return PlainTextResponse("success")
        key = _message_key(account, message)
        budget = self.settings.wechat_reply_budget_seconds
        try:
            content = await self.cache.answer_once(key, work, request.app.state.answer_pool,
                                                   budget)
        except NotReady:
            log.warning("wechat %s: answer to %s not ready within %.1f s; replied 'success'",
                        account.channel, key, budget)
            return PlainTextResponse("success")
        if content is None:
            return PlainTextResponse("success")
        reply = messages.text_reply(user, us, content)
        if encrypted and account.cipher is not None:
            reply = _seal(account, reply)
        return Response(reply, media_type="application/xml")

    def _work(self, bot, account: Account, user: str,
              message: dict[str, str]) -> Callable[[], str | None] | None:
        """What answers this message (run once, in the answer pool), or None: no reply."""
        kind = message.get("MsgType", "")
        if kind == "event":
            if message.get("Event", "").lower() == "subscribe":
                return lambda: text.welcome(bot.suggestions("zh", 3))
            return None
        if kind == "voice" and "Recognition" in message:
            question = message["Recognition"]
            if not question.strip():
                return lambda: text.VOICE_UNRECOGNISED
        elif kind == "text":
            question = message.get("Content", "")
        else:
            return lambda: text.TEXT_ONLY
        session = bot.session_for(account.channel, f"{account.config.name}:{user}")
        return lambda: _answer(bot, question, session, account.channel)


def _answer(bot, question: str, session: str, channel: str) -> str:
    return answer_as_text(bot, question, session, channel, text.render_reply)


def _message_key(account: Account, message: dict[str, str]) -> str:
    """Messages are retried with the same MsgId; events by sender and creation time."""
    prefix = f"{account.config.kind}:{account.config.name}:"
    if message.get("MsgId"):
        return prefix + "msg:" + message["MsgId"][:64]
    if message.get("CreateTime"):
        return (prefix + "event:" + message.get("FromUserName", "") + ":"
                + message["CreateTime"][:20] + ":" + message.get("Event", "")[:32])
    return prefix + "unique:" + secrets.token_hex(8)


def _seal(account: Account, reply_xml: str) -> str:
    assert account.cipher is not None
    encrypt = account.cipher.encrypt(reply_xml)
    timestamp, nonce = str(int(time.time())), str(secrets.randbelow(10**10))
    return messages.encrypted_envelope(encrypt, sign(account.config.token, timestamp, nonce,
                                                      encrypt), timestamp, nonce)


def _param(request: Request, name: str, pattern: re.Pattern[str] | None = None,
           max_length: int = 128) -> str:
    value = request.query_params.get(name)
    if not value or len(value) > max_length or (pattern and not pattern.match(value)):
        raise CallbackError(f"query parameter {name!r} missing or malformed")
    return value


async def _body(request: Request) -> bytes:
    declared = request.headers.get("content-length", "")
    if declared.isdigit() and int(declared) > MAX_BODY_BYTES:
        raise TooLarge("body too large")
    body = bytearray()
    async for part in request.stream():
        body += part
        if len(body) > MAX_BODY_BYTES:
            raise TooLarge("body too large")
    return bytes(body)
