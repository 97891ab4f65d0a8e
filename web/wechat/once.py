"""Answer each WeChat message once. WeChat retries a callback it got no reply to within 5 s
(up to three times, same MsgId): a retry joins the answer already being computed, or gets
the one already given, instead of asking the bot again. In process by default; through
Redis when configured, so a retry that reaches another worker is deduplicated too."""

from __future__ import annotations

import asyncio
import json
import logging
import time
from collections import OrderedDict
from collections.abc import Callable
from concurrent.futures import Executor, Future
from typing import Protocol

import redis
import redis.asyncio
from redis.exceptions import RedisError

log = logging.getLogger(__name__)

# The text to send back, or None for WeChat's "success" (no reply).
Work = Callable[[], str | None]
_PENDING = b"pending"


class NotReady(Exception):
    """The answer was not ready within the budget; it is still being computed."""


class ReplyCache(Protocol):
    async def answer_once(self, key: str, work: Work, pool: Executor,
                          budget: float) -> str | None: ...


class LocalReplyCache:
    """Futures by message key, kept `ttl_seconds` (WeChat's retries come within ~15 s)."""

    def __init__(self, ttl_seconds: float = 300, max_entries: int = 10_000) -> None:
        self.ttl = ttl_seconds
        self.max_entries = max_entries
        self._entries: OrderedDict[str, tuple[float, Future]] = OrderedDict()

    async def answer_once(self, key: str, work: Work, pool: Executor,
                          budget: float) -> str | None:
        # Only the event loop's thread touches _entries: no lock needed.
        now = time.monotonic()
        while self._entries and (len(self._entries) >= self.max_entries
                                 or now - next(iter(self._entries.values()))[0] > self.ttl):
            self._entries.popitem(last=False)
        entry = self._entries.get(key)
        if entry is None:
            entry = self._entries[key] = (now, pool.submit(work))
        return await _within(asyncio.wrap_future(entry[1]), budget)


class RedisReplyCache:
    """The first worker to claim a key (SET NX) answers and stores the text; the others poll
    for it. Falls back to the local cache while Redis is unreachable."""

    def __init__(self, url: str, prefix: str = "faqbot:wechat:", ttl_seconds: int = 300,
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
            log.warning("wechat retry cache: Redis unreachable (%s); deduplicating in process",
                        exc)
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
            log.warning("wechat retry cache: answer not shared (%s)", exc)
        return content

    async def _wait_for_other(self, name: str, budget: float) -> str | None:
        deadline = time.monotonic() + budget
        while time.monotonic() < deadline:
            try:
                value = await self._redis.get(name)
            except (RedisError, OSError) as exc:
                log.warning("wechat retry cache: Redis unreachable while waiting (%s)", exc)
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


def make_reply_cache(redis_url: str | None) -> ReplyCache:
    return RedisReplyCache(redis_url) if redis_url else LocalReplyCache()
