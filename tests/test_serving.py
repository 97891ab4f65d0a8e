"""How the server runs: the listening socket of `faqbot serve --workers N`."""

from __future__ import annotations

import asyncio
import socket

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
