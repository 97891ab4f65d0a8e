"""Shared by the browser tests: Debian's Chromium driven by Playwright, a live uvicorn
server on loopback, the widget as a visitor uses it, screenshots (FAQBOT_SCREENSHOT_DIR)."""

from __future__ import annotations

import os
import socket
import threading
import time
from http.server import SimpleHTTPRequestHandler
from pathlib import Path

import uvicorn

from web.app import UVICORN_OPTIONS

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = ["--headless", "--no-sandbox", "--disable-gpu",
                 "--disable-background-networking", "--disable-component-update"]
SCREENSHOTS = os.environ.get("FAQBOT_SCREENSHOT_DIR")
TIMEOUT_MS = 30_000


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


class QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format, *args) -> None:
        pass


def start_uvicorn(app, port: int) -> uvicorn.Server:
    server = uvicorn.Server(uvicorn.Config(app, host="127.0.0.1", port=port, log_level="warning",
                                           **UVICORN_OPTIONS))
    threading.Thread(target=server.run, daemon=True).start()
    deadline = time.monotonic() + 30
    while not server.started:
        if time.monotonic() > deadline:
            raise RuntimeError("test server did not start")
        time.sleep(0.05)
    return server


class Widget:
    """What a visitor sees and does; Playwright's CSS selectors pierce the open shadow root."""

    def __init__(self, page) -> None:
        self.page = page
        self.root = page.locator("faqbot-widget")

    def open(self) -> None:
        self.root.locator(".launcher").click()
        self.root.locator(".panel").wait_for(state="visible")

    def ask(self, text: str) -> dict:
        """Type and press Enter; returns the server's reply as the browser received it."""
        replies = self.root.locator(".msg.bot:not(.welcome)")
        before = replies.count()
        with self.page.expect_response(lambda r: r.url.endswith("/api/chat")) as response:
            self.root.locator("textarea").fill(text)
            self.root.locator("textarea").press("Enter")
        replies.nth(before).wait_for()
        return response.value.json()

    def last_reply(self):
        return self.root.locator(".msg.bot:not(.welcome)").last

    def active(self) -> str:
        """The focused element inside the widget, as 'tag.class'."""
        return self.page.evaluate("""() => {
            const a = document.querySelector('faqbot-widget').shadowRoot.activeElement;
            return a ? a.tagName.toLowerCase() + '.' + a.className : '';
        }""")


def shot(page, name: str) -> None:
    if SCREENSHOTS:
        Path(SCREENSHOTS).mkdir(parents=True, exist_ok=True)
        page.wait_for_timeout(200)  # let the scroll settle
        page.screenshot(path=str(Path(SCREENSHOTS) / f"{name}.png"))
