"""ASGI middleware: body-size cap and structured access logs. Pure ASGI (no
BaseHTTPMiddleware) so they add microseconds, and the cap also holds for chunked bodies."""

from __future__ import annotations

import hashlib
import json
import logging
import time
from collections.abc import Sequence
from ipaddress import IPv4Network, IPv6Network, ip_address

from starlette.exceptions import HTTPException
from starlette.types import ASGIApp, Message, Receive, Scope, Send

access_log = logging.getLogger("faqbot.access")


class BodyTooLarge(HTTPException):
    """An HTTPException, so request parsing passes it on as a 413 instead of a 400."""

    def __init__(self, max_bytes: int) -> None:
        super().__init__(413, f"request body over {max_bytes} bytes")


class BodyLimitMiddleware:
    """413 for a body over `max_bytes` (or, under a path prefix in `larger`, its own
    limit: uploads), whether announced by Content-Length or streamed."""

    def __init__(self, app: ASGIApp, max_bytes: int,
                 larger: dict[str, int] | None = None) -> None:
        self.app = app
        self.default = max_bytes
        self.larger = larger or {}

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        max_bytes = next((limit for prefix, limit in self.larger.items()
                          if scope["path"].startswith(prefix)), self.default)
        length = dict(scope["headers"]).get(b"content-length")
        if length is not None and (not length.isdigit() or int(length) > max_bytes):
            await _send_json(send, 413, {"detail": f"request body over {max_bytes} bytes"})
            return
        received = 0
        started = False

        async def limited_receive() -> Message:
            nonlocal received
            message = await receive()
            if message["type"] == "http.request":
                received += len(message.get("body", b""))
                if received > max_bytes:
                    raise BodyTooLarge(max_bytes)
            return message

        async def tracking_send(message: Message) -> None:
            nonlocal started
            started = started or message["type"] == "http.response.start"
            await send(message)

        try:
            await self.app(scope, limited_receive, tracking_send)
        except BodyTooLarge as exc:
            if not started:
                await _send_json(send, 413, {"detail": exc.detail})


class StartingGate:
    """Until the bot is loaded (in the background, at start), every request but the
    health, readiness and metrics endpoints and the static pages gets 503 with a
    Retry-After, not an error from a half-started server."""

    OPEN = ("/api/health", "/api/ready", "/metrics", "/widget.js", "/embed", "/docs",
            "/openapi.json")

    def __init__(self, app: ASGIApp, app_state) -> None:
        self.app = app
        self.state = app_state

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (scope["type"] != "http" or self.state.bot is not None or scope["path"] == "/"
                or scope["path"] in self.OPEN):
            await self.app(scope, receive, send)
            return
        await _send_json(send, 503, {"detail": "the bot is starting; try again in a few "
                                               "seconds"}, [(b"retry-after", b"5")])


class Proxies:
    """Who a request comes from. The connection's peer, unless that peer is one of the
    trusted reverse proxies (settings): then the X-Forwarded-For address the proxies saw,
    read from the right and skipping the trusted ones, since whatever a client writes
    into the header itself stands to the left of what its proxy appends."""

    def __init__(self, networks: Sequence[IPv4Network | IPv6Network] = ()) -> None:
        self.networks = list(networks)

    def client(self, scope: Scope) -> str:
        peer = _peer(scope)
        if not self._trusted(peer):
            return peer
        hops = [hop.strip() for value in _headers(scope, b"x-forwarded-for")
                for hop in value.split(",") if hop.strip()]
        for hop in reversed(hops):
            if not self._trusted(hop):
                return hop[:64]
        return hops[0][:64] if hops else peer

    def https(self, scope: Scope) -> bool:
        """Did the client use HTTPS (to us, or to a trusted proxy that says so)?"""
        if scope.get("scheme") == "https":
            return True
        if not self._trusted(_peer(scope)):
            return False
        proto = list(_headers(scope, b"x-forwarded-proto"))
        return bool(proto) and proto[-1].split(",")[-1].strip().lower() == "https"

    def _trusted(self, address: str) -> bool:
        if not self.networks:
            return False
        try:
            ip = ip_address(address)
        except ValueError:
            return False
        return any(ip in network for network in self.networks)


def _peer(scope: Scope) -> str:
    client = scope.get("client")
    return client[0] if client else "unknown"


def _headers(scope: Scope, name: bytes) -> list[str]:
    return [value.decode("latin-1") for key, value in scope["headers"] if key == name]


class AccessLogMiddleware:
    """One JSON line per request: method, path (no query string: it may carry signatures),
    status, duration, a salted hash of the client address. Never a body. The same request
    counted in `metrics` (web.metrics), when given."""

    def __init__(self, app: ASGIApp, proxies: Proxies, salt: bytes = b"",
                 metrics=None) -> None:
        self.app = app
        self.proxies = proxies
        self.salt = salt
        self.metrics = metrics

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        start = time.perf_counter()
        status = 500

        async def recording_send(message: Message) -> None:
            nonlocal status
            if message["type"] == "http.response.start":
                status = message["status"]
            await send(message)

        try:
            await self.app(scope, receive, recording_send)
        finally:
            if self.metrics is not None:
                self.metrics.observe_request(scope, status, time.perf_counter() - start)
            if access_log.isEnabledFor(logging.INFO):
                access_log.info(json.dumps({
                    "ts": round(time.time(), 3), "method": scope["method"],
                    "path": scope["path"][:200], "status": status,
                    "ms": round((time.perf_counter() - start) * 1000, 1),
                    "client": client_hash(self.proxies.client(scope), self.salt),
                }))


def client_hash(address: str, salt: bytes) -> str:
    """Tells clients apart without keeping their address: the salt is secret, so the 2^32
    IPv4 addresses cannot simply be hashed and compared."""
    return hashlib.blake2b(address.encode(), key=salt[:64], digest_size=8).hexdigest()


async def _send_json(send: Send, status: int, body: dict,
                     headers: list[tuple[bytes, bytes]] | None = None) -> None:
    payload = json.dumps(body).encode()
    await send({"type": "http.response.start", "status": status,
                "headers": [(b"content-type", b"application/json"),
                            (b"content-length", str(len(payload)).encode()),
                            (b"connection", b"close"), *(headers or [])]})
    await send({"type": "http.response.body", "body": payload})
