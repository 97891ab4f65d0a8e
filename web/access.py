"""Who may call the chat API, and how often.

A visitor's browser is counted by its client address (FAQBOT_RATE_LIMIT_PER_MINUTE). A
server presenting an API key (`Authorization: Bearer fbk_…` or `X-API-Key: fbk_…`) is
counted by its key, at the key's own rate; a key that is unknown, malformed or revoked
gets 401, whatever the mode. With FAQBOT_API_KEYS=required a request without a key is
served only from a browser on an allowed origin (FAQBOT_ALLOWED_ORIGINS, or the server's
own pages): the widget keeps working without one. (An Origin header is a browser's word:
this keeps well-behaved server clients to their keys, it is not a lock against a
determined one; the per-address limit still holds for those.)

Verified keys are remembered for CACHE_SECONDS, so a revocation reaches every replica
within that time (at once on the replica where it was made)."""

from __future__ import annotations

import hashlib
import math
import threading
import time
from urllib.parse import urlsplit

from fastapi import HTTPException, Request
from starlette.concurrency import run_in_threadpool

from web.deps import office_of
from web.middleware import client_hash
from web.ratelimit import RateLimiter, make_rate_limiter

CACHE_SECONDS = 5.0


class ApiAccess:
    def __init__(self, settings, salt: bytes, proxies) -> None:
        self.settings = settings
        self.salt = salt
        self.proxies = proxies
        self._keys: dict[str, tuple[float, object]] = {}  # digest -> (until, ApiKey | None)
        self._limiters: dict[int, RateLimiter] = {}
        self._lock = threading.Lock()

    async def check(self, request: Request) -> None:
        presented = _presented_key(request)
        if presented is None:
            if self.settings.api_keys == "required" and not self._allowed_browser(request):
                raise HTTPException(401, "an API key is required (Authorization: Bearer "
                                         "<key>); browsers are served from allowed origins",
                                    headers={"WWW-Authenticate": "Bearer"})
            wait = self._per_address(request)
        else:
            key = await self._verified(request, presented)
            if key is None:  # counted as the address's: guessing keys is rate limited too
                _refuse_if_waiting(self._per_address(request))
                raise HTTPException(401, "invalid or revoked API key",
                                    headers={"WWW-Authenticate": "Bearer"})
            request.state.api_key = key
            wait = self._limiter(key.rate_per_minute).acquire(f"key:{key.id}")
        _refuse_if_waiting(wait)

    def _per_address(self, request: Request) -> float:
        return request.app.state.rate_limiter.acquire(
            client_hash(self.proxies.client(request.scope), self.salt))

    def forget(self) -> None:
        """Drop remembered keys (after a revocation on this server)."""
        with self._lock:
            self._keys.clear()

    async def _verified(self, request: Request, presented: str):
        digest = hashlib.sha256(presented.encode()).hexdigest()
        now = time.monotonic()
        with self._lock:
            cached = self._keys.get(digest)
        if cached is not None and cached[0] > now:
            return cached[1]
        key = await run_in_threadpool(office_of(request).api_keys.verify, presented)
        with self._lock:
            if len(self._keys) > 10_000:  # made-up keys must not grow this without bound
                self._keys.clear()
            self._keys[digest] = (now + CACHE_SECONDS, key)
        return key

    def _limiter(self, rate: int) -> RateLimiter:
        with self._lock:
            if rate not in self._limiters:
                self._limiters[rate] = make_rate_limiter(rate, self.settings.redis_url,
                                                         prefix=f"faqbot:key-rate:{rate}:")
            return self._limiters[rate]

    def _allowed_browser(self, request: Request) -> bool:
        origin = request.headers.get("origin")
        if not origin:
            return False
        if origin.rstrip("/") in self.settings.origins() or "*" in self.settings.origins():
            return True
        return urlsplit(origin).netloc == request.headers.get("host", "")  # its own pages


def _refuse_if_waiting(wait: float) -> None:
    if wait > 0:
        seconds = max(1, math.ceil(wait))
        raise HTTPException(429, f"too many requests: wait {seconds} s and try again",
                            headers={"Retry-After": str(seconds)})


def _presented_key(request: Request) -> str | None:
    header = request.headers.get("authorization", "")
    if header[:7].lower() == "bearer ":
        return header[7:].strip()[:200]
    key = request.headers.get("x-api-key")
    return key.strip()[:200] if key is not None else None
