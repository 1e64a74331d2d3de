"""The one server stack of the fakes: an ASGI app served by uvicorn on 127.0.0.1 for the duration of a block.

:func:`serve` listens on port 0 unless given a port (a fake that goes down and comes back listens on the
port it had) and reads the bound port from the listening socket, so no port is ever picked first and
raced for. The block gets a :class:`Served`: ``url`` (``http://127.0.0.1:PORT``), ``port`` and
:meth:`Served.abort` (drop one client's TCP connection without a close handshake, as a network fault
does). On exit the fake stops listening at once, requests in progress get ``grace`` seconds to finish,
then every connection still open is aborted and its task cancelled: no socket of the fake outlives the
block. A fake that holds requests (long polls, websockets) should release them before the block ends
(the Telegram and Discord fakes do), so that ``grace`` is not waited for.

Websockets are served by the websockets library's sans-I/O protocol, with no server pings, no
permessage-deflate and no size limit on incoming messages: what Discord's gateway (and the aiohttp fake
before this module) does, and what discord.py expects (it answers pings but never offers compression
extensions). Signals are left alone: a fake is part of a test or a benchmark, not the owner of the
process (``uvicorn.Server.serve`` would take SIGINT/SIGTERM, and a Ctrl-C would only stop the fake).

This drives ``uvicorn.Server``'s parts (``startup``, ``main_loop``, ``servers``, ``server_state``) rather
than ``serve()``: ``serve()`` notices an exit request on a 0.1-s tick and then sleeps and polls in
0.1-s steps, which costs every test about 0.3 s; ``main_loop`` still runs, for the ``Date`` header.
"""

from __future__ import annotations

import asyncio
import contextlib
from collections.abc import AsyncIterator
from dataclasses import dataclass

import uvicorn
from starlette.types import ASGIApp

HOST = "127.0.0.1"


@dataclass
class Served:
    """A running fake server: its base ``url``, its ``port``, and the uvicorn server behind them."""

    url: str
    port: int
    server: uvicorn.Server

    def abort(self, client: tuple[str, int] | list[object] | None) -> bool:
        """Abort the TCP connection of ``client`` (an ASGI scope's ``client``: host and port), without a
        close handshake; the peer sees a reset (a websocket client: close code 1006). False when that
        client has no open connection."""
        if client is None:
            return False
        for conn in list(self.server.server_state.connections):
            if conn.client == tuple(client):
                conn.transport.abort()
                return True
        return False


@contextlib.asynccontextmanager
async def serve(app: ASGIApp, *, port: int = 0, grace: float = 1.0) -> AsyncIterator[Served]:
    """Serve ``app`` on 127.0.0.1:``port`` (0: a free one) while the block runs (see the module docstring).
    Raises ``OSError`` when the port cannot be bound."""
    config = uvicorn.Config(
        app,
        host=HOST,
        port=port,
        log_level="warning",
        lifespan="off",
        ws="websockets-sansio",
        ws_ping_interval=None,
        ws_per_message_deflate=False,
        ws_max_size=2**31,
    )
    config.load()
    server = uvicorn.Server(config)
    server.lifespan = config.lifespan_class(config)
    try:
        await server.startup()
    except SystemExit as exc:  # uvicorn logs the bind error and exits
        raise OSError(f"cannot listen on {HOST}:{port}") from exc
    bound = server.servers[0].sockets[0].getsockname()[1]
    ticker = asyncio.create_task(server.main_loop())  # refreshes the Date header once a second
    try:
        yield Served(f"http://{HOST}:{bound}", bound, server)
    finally:
        ticker.cancel()
        with contextlib.suppress(asyncio.CancelledError):
            await ticker
        await _stop(server, grace)


async def _stop(server: uvicorn.Server, grace: float) -> None:
    """Stop listening, let open connections finish for ``grace`` seconds, then abort the rest."""
    state = server.server_state
    for listener in server.servers:
        listener.close()
    for conn in list(state.connections):
        conn.shutdown()  # idle keep-alive connections close now, busy ones after their response
    loop = asyncio.get_running_loop()
    deadline = loop.time() + grace
    while (state.connections or state.tasks) and loop.time() < deadline:
        await asyncio.sleep(0.005)
    for conn in list(state.connections):
        conn.transport.abort()
    tasks = list(state.tasks)
    for task in tasks:
        task.cancel()
    await asyncio.gather(*tasks, return_exceptions=True)
    for listener in server.servers:
        await listener.wait_closed()
