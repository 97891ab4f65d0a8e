"""Once only, for every channel. Each message is answered once (ReplyCache): a platform
retries a callback it got no reply to in time (WeChat: after 5 s, up to three times, same
MsgId), and a retry joins the answer already being computed, or gets the one already
given, instead of asking the bot again. Each signed request is accepted once (SignedOnce):
a captured signature cannot carry another message. In process by default; through Redis
when configured, so what reaches another worker or replica counts too."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Any, Protocol

import redis
import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# The text to send back, or None for no reply (WeChat: its "success").
Work = Callable[[], str | None]
_PENDING = b"pending"


class NotReady(Exception):
    """The answer was not ready within the budget; it is still being computed."""


class ReplyCache(Protocol):
    async def answer_once(self, key: str, work: Work, pool: Executor,
                          budget: float) -> str | None: ...


class LocalReplyCache:
    """Futures by message key, kept `ttl_seconds` (retries come within seconds: WeChat's
    within ~15 s)."""

    def __init__(self, ttl_seconds: float = 300, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Future]] = OrderedDict()

    async def answer_once(self, key: str, work: Work, pool: Executor,
                          budget: float) -> str | None:
        # Only the event loop's thread touches _entries: no lock needed.
        now = _evict_stale(self._entries, self.ttl, self.max_entries)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (now, pool.submit(work))
        return await _within(asyncio.wrap_future(entry[1]), budget)


class RedisReplyCache:
    """The first worker to claim a key (SET NX) answers and stores the text; the others poll
    for it. Falls back to the local cache while Redis is unreachable."""

    def __init__(self, url: str, prefix: str, ttl_seconds: int = 300,
                 poll_seconds: float = 0.05) -> None:
        options = {"socket_timeout": 1, "socket_connect_timeout": 1}
        self._redis = redis.asyncio.Redis.from_url(url, **options)
        self._sync = redis.Redis.from_url(url, **options)  # for the answering threads
        self.prefix = prefix
        self.ttl = ttl_seconds
        self.poll = poll_seconds
        self._local = LocalReplyCache(ttl_seconds)

    async def answer_once(self, key: str, work: Work, pool: Executor,
                          budget: float) -> str | None:
        name = self.prefix + key
        try:
            claimed = await self._redis.set(name, _PENDING, nx=True, ex=self.ttl)
        except (RedisError, OSError) as exc:
            log.warning("%s retry cache: Redis unreachable (%s); deduplicating in process",
                        self.prefix, exc)
            return await self._local.answer_once(key, work, pool, budget)
        if claimed:
            return await self._local.answer_once(key, lambda: self._share(name, work), pool,
                                                 budget)
        return await self._wait_for_other(name, budget)

    def _share(self, name: str, work: Work) -> str | None:
        content = work()
        stored = json.dumps({"content": content}, ensure_ascii=False)
        try:
            self._sync.set(name, stored, ex=self.ttl)
        except (RedisError, OSError) as exc:
            log.warning("%s retry cache: answer not shared (%s)", self.prefix, exc)
        return content

    async def _wait_for_other(self, name: str, budget: float) -> str | None:
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            try:
                value = await self._redis.get(name)
            except (RedisError, OSError) as exc:
                log.warning("%s retry cache: Redis unreachable while waiting (%s)",
                            self.prefix, exc)
                break
            if value is not None and value != _PENDING:
                return json.loads(value)["content"]
            await asyncio.sleep(self.poll)
        raise NotReady


async def _within(future: asyncio.Future, budget: float) -> str | None:
    try:
        # shield: giving up waiting must not cancel the answer (a retry may still want it).
        return await asyncio.wait_for(asyncio.shield(future), budget)
    except TimeoutError:
        raise NotReady from None


def _evict_stale(entries: OrderedDict[str, tuple[float, Any]], ttl: float,
                 max_entries: int) -> float:
    """Drop the oldest entries (first in, first out) while they are older than `ttl` or
    there are too many; the time now."""
    now = time.monotonic()
    while entries and (len(entries) >= max_entries
                       or now - next(iter(entries.values()))[0] > ttl):
        entries.popitem(last=False)
    return now


def make_reply_cache(redis_url: str | None, prefix: str) -> ReplyCache:
    """A channel's reply cache (keys under `prefix` in Redis, when configured)."""
    return RedisReplyCache(redis_url, prefix) if redis_url else LocalReplyCache()


class SignedOnce:
    """A signature/timestamp/nonce triple is accepted once, whatever the body: a captured
    callback URL cannot carry a forged message, nor can a URL-verification GET be reused
    as a POST. The same request sent again byte for byte (a retry) is let through: its
    MsgId makes it the same answer, not a new message. Entries live as long as a
    timestamp is accepted; in Redis when configured (falling back to the process while
    Redis is unreachable), so every worker and replica refuses a reuse."""

    def __init__(self, ttl_seconds: int, redis_url: str | None, prefix: str,
                 max_entries: int = 200_000) -> None:
        self.ttl = ttl_seconds
        self.prefix = prefix
        self.max_entries = max_entries
        self._seen: OrderedDict[str, tuple[float, str]] = OrderedDict()
        self._redis = (redis.asyncio.Redis.from_url(redis_url, socket_timeout=1,
                                                    socket_connect_timeout=1)
                       if redis_url else None)

    async def first_use(self, key: str, request_digest: str) -> bool:
        """True if `key` is new (now taken by this request) or was taken by this same
        request; False if another request used it."""
        if self._redis is not None:
            try:
                name = self.prefix + key
                if await self._redis.set(name, request_digest, nx=True, ex=self.ttl):
                    return True
                stored = await self._redis.get(name)
                return stored is None or stored.decode() == request_digest
            except (RedisError, OSError) as exc:
                log.warning("%s signed-once cache: Redis unreachable (%s); checking in "
                            "process", self.prefix, exc)
        return self._first_use_here(key, request_digest)

    def _first_use_here(self, key: str, request_digest: str) -> bool:
        now = _evict_stale(self._seen, self.ttl, self.max_entries)
        entry = self._seen.get(key)
        if entry is None:
            self._seen[key] = (now, request_digest)
            return True
        return entry[1] == request_digest
