"""How the server runs: the listening socket of `faqbot serve --workers N`, and its
metrics summed over the workers."""

from __future__ import annotations

import asyncio
import http.client
import json
import os
import re
import socket
import subprocess
import sys
import time
from pathlib import Path

import uvicorn

from web.app import UVICORN_OPTIONS, tcp_listener


def _accepted_nodelay(listener: socket.socket) -> int:
    async def main() -> int:
        accepted: asyncio.Future = asyncio.get_running_loop().create_future()

        def connected(reader, writer) -> None:
            sock = writer.get_extra_info("socket")
            accepted.set_result(sock.getsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY))
            writer.close()

        server = await asyncio.start_server(connected, sock=listener)
        _, writer = await asyncio.open_connection(*listener.getsockname()[:2])
        value = await asyncio.wait_for(accepted, 5)
        writer.close()
        server.close()
        return value

    return asyncio.run(main())


def test_connections_to_several_workers_get_tcp_nodelay():
    """With uvicorn's own socket (protocol 0) asyncio leaves Nagle on for every accepted
    connection: a keep-alive request then waits for the client's delayed ACK."""
    config = uvicorn.Config("web.app:create_app", factory=True, workers=2, host="127.0.0.1",
                            port=0, **UVICORN_OPTIONS)
    assert _accepted_nodelay(tcp_listener(config)) != 0


def _get(port: int, path: str, body: dict | None = None) -> tuple[int, str]:
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=30)  # a fresh one:
    try:  # the kernel hands each new connection to either worker
        if body is None:
            connection.request("GET", path)
        else:
            connection.request("POST", path, json.dumps(body),
                               {"Content-Type": "application/json"})
        response = connection.getresponse()
        return response.status, response.read().decode()
    finally:
        connection.close()


def _total(text: str, pattern: str) -> float:
    return sum(float(m.group(1)) for m in re.finditer(pattern + r"[^\n]* ([0-9.e+]+)\n", text))


def test_metrics_of_several_workers_are_the_servers_totals(seed_bot, tmp_path):
    """Whichever worker answers a scrape, it reports every worker's counts."""
    settings = seed_bot.settings
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    env = {k: v for k, v in os.environ.items() if not k.startswith(("FAQBOT_", "PROMETHEUS"))}
    env.update(FAQBOT_CORPUS_DIR=str(settings.corpus_dir),
               FAQBOT_INDEX_DIR=str(settings.index_dir), FAQBOT_CACHE_DIR=str(
                   settings.cache_dir), FAQBOT_DATABASE_URL=f"sqlite:///{tmp_path}/log.sqlite",
               FAQBOT_RATE_LIMIT_PER_MINUTE="0")
    server = subprocess.Popen([sys.executable, "-m", "faqbot", "serve", "--workers", "2",
                               "--port", str(port)], env=env, cwd=Path(__file__).parent.parent,
                              stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    chunks = len(seed_bot.retriever.index.chunks)

    def scrape() -> tuple[str, str]:  # (the answering worker, the text)
        status, text = _get(port, "/metrics")
        assert status == 200, text
        return re.search(r'faqbot_worker_info\{pid="(\d+)"\}', text).group(1), text

    try:
        deadline, loaded = time.monotonic() + 120, set()
        while len(loaded) < 2:  # both workers loaded: each names the index it serves
            assert time.monotonic() < deadline and server.poll() is None, "did not start"
            try:
                worker, text = scrape()
                if _total(text, "faqbot_index_info") == chunks:
                    loaded.add(worker)
            except OSError:
                pass
            time.sleep(0.02)
        answered = 0
        while answered < 12:
            answered += _get(port, "/api/chat", {"message": f"腰痛第{answered}天怎么办"})[0] == 200
        deadline, scraped = time.monotonic() + 60, set()
        while scraped != loaded:  # a scrape from each worker: each reports both's counts
            assert time.monotonic() < deadline, f"scrapes reached only {scraped} of {loaded}"
            worker, text = scrape()
            scraped.add(worker)
            assert _total(text, r'faqbot_replies_total\{') == 12
            assert _total(text, r'faqbot_http_requests_total\{[^}]*route="/api/chat",'
                                r'status="200"') == 12
            assert _total(text, r'faqbot_http_request_seconds_count\{route="/api/chat"') == 12
            assert _total(text, "faqbot_index_info") == chunks
    finally:
        server.terminate()
        server.wait(timeout=30)
