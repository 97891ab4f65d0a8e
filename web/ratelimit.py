"""Per-client rate limits: a token bucket in process, or a fixed window in Redis when
sessions are shared there (so all workers and replicas count together)."""

from __future__ import annotations

import logging
import math
import threading
import time
from collections import OrderedDict
from typing import Protocol

log = logging.getLogger(__name__)


class RateLimiter(Protocol):
    def acquire(self, client: str) -> float:
        """0 when the client may go ahead, else the seconds to wait."""
        ...


class NoLimit:
    def acquire(self, client: str) -> float:
        return 0.0


class TokenBucketLimiter:
    """`per_minute` requests a minute, in bursts of up to `per_minute`; bounded memory."""

    def __init__(self, per_minute: int, max_clients: int = 100_000) -> None:
        self.capacity = float(per_minute)
        self.rate = per_minute / 60.0
        self.max_clients = max_clients
        self._buckets: OrderedDict[str, tuple[float, float]] = OrderedDict()
        self._lock = threading.Lock()

    def acquire(self, client: str) -> float:
        now = time.monotonic()
        with self._lock:
            tokens, last = self._buckets.pop(client, (self.capacity, now))
            tokens = min(self.capacity, tokens + (now - last) * self.rate)
            wait = 0.0
            if tokens >= 1:
                tokens -= 1
            else:
                wait = (1 - tokens) / self.rate
            self._buckets[client] = (tokens, now)
            while len(self._buckets) > self.max_clients:
                self._buckets.popitem(last=False)
        return wait


class RedisWindowLimiter:
    """`per_minute` requests per calendar minute, counted in Redis. If Redis is down the
    request is let through (logged): the limit protects the service, not the visitor."""

    def __init__(self, url: str, per_minute: int, prefix: str = "faqbot:rate:") -> None:
        import redis

        self.per_minute = per_minute
        self.prefix = prefix
        self._redis = redis.Redis.from_url(url, socket_timeout=1, socket_connect_timeout=1)
        self._errors = (redis.RedisError, OSError)

    def acquire(self, client: str) -> float:
        now = time.time()
        window = int(now // 60)
        key = f"{self.prefix}{client}:{window}"
        try:
            pipe = self._redis.pipeline(transaction=True)
            pipe.incr(key)
            pipe.expire(key, 61)
            count, _ = pipe.execute()
        except self._errors as exc:
            log.warning("rate limiter unavailable, request let through: %s", exc)
            return 0.0
        if count <= self.per_minute:
            return 0.0
        return max(1.0, math.ceil((window + 1) * 60 - now))


def make_rate_limiter(per_minute: int, redis_url: str | None,
                      prefix: str = "faqbot:rate:") -> RateLimiter:
    if per_minute <= 0:
        return NoLimit()
    if redis_url:
        return RedisWindowLimiter(redis_url, per_minute, prefix)
    return TokenBucketLimiter(per_minute)
