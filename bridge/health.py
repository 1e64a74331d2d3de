"""A minimal HTTP listener for ``[bridge].http``: ``GET /healthz`` for orchestrators.

``/healthz`` answers 200 ``{"status": "ok"}`` while the bridge runs and 503 while it shuts down.
Anything else is 404. It speaks just enough HTTP/1.1 for probes and load balancers.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Callable


class HealthServer:
    """The listener; create with :meth:`start`, stop with :meth:`close`."""

    def __init__(self, server: asyncio.Server, ready: Callable[[], bool]) -> None:  # use start()
        self._server = server
        self._ready = ready

    @classmethod
    async def start(cls, host: str, port: int, ready: Callable[[], bool]) -> HealthServer:
        """Listen on ``host:port``; ``ready()`` decides between 200 and 503."""
        holder: list[HealthServer] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await holder[0]._serve(reader, writer)

        holder.append(cls(await asyncio.start_server(serve, host, port), ready))
        return holder[0]

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            async with asyncio.timeout(10):
                request = await reader.readline()
                while (await reader.readline()).strip():
                    pass
            parts = request.decode("latin-1").split()
            path = parts[1] if len(parts) > 1 else ""
            if path.split("?")[0] == "/healthz":
                ok = self._ready()
                status, body = (
                    "200 OK" if ok else "503 Service Unavailable",
                    {"status": "ok" if ok else "stopping"},
                )
            else:
                status, body = "404 Not Found", {"error": "not found"}
            data = json.dumps(body).encode()
            writer.write(
                f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\nContent-Length: {len(data)}"
                "\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, ConnectionError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def close(self) -> None:
        """Stop listening."""
        self._server.close()
        await self._server.wait_closed()
