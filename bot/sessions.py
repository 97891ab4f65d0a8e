"""Conversation memory: the recent turns of each session, so follow-ups keep their context;
and session ids, which say which channel a conversation belongs to."""

from __future__ import annotations

import hashlib
import hmac
import json
import logging
import re
import secrets
import threading
import time
from collections import OrderedDict
from dataclasses import asdict
from typing import Protocol

from bot.config import Settings
from bot.models import Turn

log = logging.getLogger(__name__)


SESSION_ID = re.compile(r"^[A-Za-z0-9_.:@-]{1,128}$")
_CHANNEL = re.compile(r"^[a-z0-9-]{1,16}$")
_MAC_CHARS = 20


class SessionIds:
    """Session ids are issued by the bot, never chosen by a client: `<channel>:<name>.<mac>`,
    the MAC (keyed BLAKE2b under a server secret) covering channel and name. A channel can
    use only its own ids, so a visitor of one channel can neither read nor write another's
    conversations, even knowing whose they are; the name is random unless the channel has
    a stable user of its own (a WeChat openid)."""

    def __init__(self, key: bytes) -> None:
        self._key = hashlib.blake2b(key, digest_size=32, person=b"faqbot-sessions").digest()

    def issue(self, channel: str, name: str | None = None) -> str:
        if not _CHANNEL.match(channel):
            raise ValueError(f"channel name {channel!r}: 1-16 of a-z, 0-9, -")
        body = f"{channel}:{name or secrets.token_hex(16)}"
        session_id = f"{body}.{self._mac(body)}"
        if not SESSION_ID.match(session_id):
            raise ValueError(f"session name {name!r} makes an invalid session id")
        return session_id

    def channel_of(self, session_id: str) -> str | None:
        """The channel a session id was issued for, or None if the bot did not issue it."""
        body, _, mac = session_id.rpartition(".")
        if ":" not in body or not hmac.compare_digest(mac.encode(), self._mac(body).encode()):
            return None
        return body.split(":", 1)[0]

    def _mac(self, body: str) -> str:
        return hashlib.blake2b(body.encode(), key=self._key,
                               digest_size=_MAC_CHARS // 2).hexdigest()


class SessionStore(Protocol):
    def recent(self, session_id: str) -> list[Turn]: ...

    def append(self, session_id: str, turn: Turn) -> None: ...


class InMemorySessionStore:
    """Process-local sessions with an idle timeout; the least recently used are evicted
    past `max_sessions`, so memory stays bounded under any traffic."""

    def __init__(self, max_turns: int = 6, ttl_seconds: float = 3600,
                 max_sessions: int = 10_000) -> None:
        self.max_turns = max_turns
        self.ttl = ttl_seconds
        self.max_sessions = max_sessions
        self._data: OrderedDict[str, tuple[float, list[Turn]]] = OrderedDict()
        self._lock = threading.Lock()

    def recent(self, session_id: str) -> list[Turn]:
        with self._lock:
            entry = self._data.get(session_id)
            if entry is None:
                return []
            seen, turns = entry
            if time.monotonic() - seen > self.ttl:
                del self._data[session_id]
                return []
            return list(turns)

    def append(self, session_id: str, turn: Turn) -> None:
        with self._lock:
            _, turns = self._data.pop(session_id, (0.0, []))
            turns = (turns + [turn])[-self.max_turns :]
            self._data[session_id] = (time.monotonic(), turns)
            while len(self._data) > self.max_sessions:
                self._data.popitem(last=False)


class RedisSessionStore:
    """Sessions in Redis, so several workers and replicas share conversations.

    A session is a Redis list of JSON turns, trimmed to `max_turns` and expiring after
    `ttl_seconds` idle. If Redis is unreachable the bot still answers, without the context
    (a warning is logged): a visitor is better served by an answer than by an error.
    """

    def __init__(self, url: str, max_turns: int = 6, ttl_seconds: int = 3600,
                 prefix: str = "faqbot:session:") -> None:
        import redis

        self.max_turns = max_turns
        self.ttl = ttl_seconds
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=2, socket_connect_timeout=2)
        self._errors = (redis.RedisError, OSError)

    def recent(self, session_id: str) -> list[Turn]:
        try:
            raw = self._redis.lrange(self.prefix + session_id, 0, -1)
        except self._errors as exc:
            log.warning("session store unavailable, answering without context: %s", exc)
            return []
        return [Turn(**json.loads(item)) for item in raw]

    def append(self, session_id: str, turn: Turn) -> None:
        key = self.prefix + session_id
        pipe = self._redis.pipeline(transaction=True)
        pipe.rpush(key, json.dumps(asdict(turn), ensure_ascii=False))
        pipe.ltrim(key, -self.max_turns, -1)
        pipe.expire(key, self.ttl)
        try:
            pipe.execute()
        except self._errors as exc:
            log.warning("session store unavailable, turn not remembered: %s", exc)

    def ping(self) -> bool:
        try:
            return bool(self._redis.ping())
        except self._errors:
            return False


def make_session_store(settings: Settings) -> SessionStore:
    if settings.redis_url:
        return RedisSessionStore(settings.redis_url, settings.session_turns,
                                 settings.session_ttl_seconds)
    return InMemorySessionStore(settings.session_turns, settings.session_ttl_seconds)
