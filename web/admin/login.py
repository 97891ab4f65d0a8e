"""What a console login may cost. A password check (argon2: ~64 MiB and a core for ~0.1 s)
is the most expensive thing an anonymous client can ask for: 16 at once took the server
from 559 to 1,477 MiB and chat from 26 ms to 4.6 s. So logins are rate-limited per client
and per user name before any check, and checks run a few at a time per process, the rest
waiting briefly in line or told to come back."""

from __future__ import annotations

import asyncio
import contextlib
import math
from collections.abc import AsyncIterator

from bot.config import Settings
from web.middleware import client_hash
from web.ratelimit import make_rate_limiter

MAX_WAITING = 16  # checks queued per process beyond those running; more are turned away
WAIT_SECONDS = 5.0


class Busy(Exception):
    """Too many password checks queued: try again shortly."""


class LoginGuard:
    def __init__(self, settings: Settings, salt: bytes) -> None:
        self._limiter = make_rate_limiter(settings.login_attempts_per_minute,
                                          settings.redis_url, prefix="faqbot:login:")
        self._salt = salt
        self._checks = settings.password_checks
        self._gate: asyncio.Semaphore | None = None
        self._loop: asyncio.AbstractEventLoop | None = None
        self._waiting = 0

    def wait_seconds(self, client: str, username: str) -> int:
        """0 if this client may try this user name now, else the seconds to wait. Both
        counts advance on every attempt, so neither rotating names nor rotating clients
        gets more tries."""
        by_client = self._limiter.acquire("client:" + client_hash(client, self._salt))
        by_user = self._limiter.acquire("user:" + client_hash(username.strip().lower()[:64],
                                                              self._salt))
        wait = max(by_client, by_user)
        return max(1, math.ceil(wait)) if wait > 0 else 0

    @contextlib.asynccontextmanager
    async def password_check(self) -> AsyncIterator[None]:
        """Hold one of the process's password-check slots (Busy if the line is long or
        does not move within WAIT_SECONDS)."""
        gate = self._gate_for_this_loop()
        if self._waiting >= MAX_WAITING:
            raise Busy
        self._waiting += 1
        try:
            await asyncio.wait_for(gate.acquire(), WAIT_SECONDS)
        except TimeoutError:
            raise Busy from None
        finally:
            self._waiting -= 1
        try:
            yield
        finally:
            gate.release()

    def _gate_for_this_loop(self) -> asyncio.Semaphore:
        loop = asyncio.get_running_loop()
        if self._gate is None or self._loop is not loop:
            self._gate, self._loop, self._waiting = asyncio.Semaphore(self._checks), loop, 0
        return self._gate
