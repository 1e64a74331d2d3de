"""The bridge's HTTP listener (``[bridge].http``): ``GET /healthz`` plus routes others register.

``bridge serve`` adds ``GET /metrics`` (Prometheus text) and adapters add their webhooks. It speaks
just enough HTTP/1.1 for probes, load balancers, scrapers and platform webhooks: one request per
connection (``Connection: close``), a body only with ``Content-Length`` (at most 1 MiB), JSON
answers unless a handler says otherwise. ``/healthz`` answers what the bridge's health function
says (``bridge serve``: 200 ``{"status": "ok"}`` or ``"degraded"`` while it runs, 503 while it
shuts down); unknown paths are 404, a known path with another method 405.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass, field
from typing import Any

import structlog

MAX_BODY = 1 << 20
log = structlog.get_logger(__name__)
_REASONS = {
    200: "OK",
    400: "Bad Request",
    403: "Forbidden",
    404: "Not Found",
    405: "Method Not Allowed",
    413: "Content Too Large",
    500: "Internal Server Error",
    503: "Service Unavailable",
}


@dataclass(frozen=True, slots=True)
class HttpRequest:
    """A request; header names are lower case."""

    method: str
    path: str
    headers: Mapping[str, str]
    body: bytes = b""


@dataclass(frozen=True, slots=True)
class HttpResponse:
    """A response: ``body`` is sent as JSON, or as is when it is a ``str`` with ``content_type``."""

    status: int = 200
    body: object = field(default_factory=dict)
    content_type: str = "application/json"


Handler = Callable[[HttpRequest], Awaitable[HttpResponse]]


class Routes:
    """Handlers by (method, path); adapters add theirs while the listener runs."""

    def __init__(self) -> None:
        self._handlers: dict[tuple[str, str], Handler] = {}

    def add(self, method: str, path: str, handler: Handler) -> None:
        """Serve ``method path`` with ``handler``; a path is taken once."""
        if not path.startswith("/"):
            raise ValueError(f"a route path starts with '/': {path!r}")
        if (method.upper(), path) in self._handlers:
            raise ValueError(f"{method.upper()} {path} is already served")
        self._handlers[(method.upper(), path)] = handler

    def remove(self, method: str, path: str) -> None:
        """Stop serving ``method path`` (no error when it was not served)."""
        self._handlers.pop((method.upper(), path), None)

    async def dispatch(self, request: HttpRequest) -> HttpResponse:
        """The handler's answer, or 404/405; a handler that raises answers 500 (and is logged)."""
        handler = self._handlers.get((request.method, request.path))
        if handler is None:
            if any(p == request.path for _, p in self._handlers):
                return HttpResponse(405, {"error": "method not allowed"})
            return HttpResponse(404, {"error": "not found"})
        try:
            return await handler(request)
        except Exception as exc:
            log.error("HTTP handler failed", path=request.path, error=repr(exc))
            return HttpResponse(500, {"error": "internal error"})


class HttpServer:
    """The listener; create with :meth:`start`, stop with :meth:`close`."""

    def __init__(self, server: asyncio.Server, routes: Routes) -> None:  # use start()
        self._server = server
        self.routes = routes

    @classmethod
    async def start(
        cls, host: str, port: int, health: Callable[[], tuple[int, dict[str, Any]]], routes: Routes
    ) -> HttpServer:
        """Listen on ``host:port``; ``health()`` gives ``/healthz``'s status code and JSON body."""

        async def healthz(_: HttpRequest) -> HttpResponse:
            status, body = health()
            return HttpResponse(status, body)

        routes.add("GET", "/healthz", healthz)
        holder: list[HttpServer] = []

        async def serve(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
            await holder[0]._serve(reader, writer)

        holder.append(cls(await asyncio.start_server(serve, host, port), routes))
        return holder[0]

    @property
    def port(self) -> int:
        """The bound port (useful with port 0)."""
        return int(self._server.sockets[0].getsockname()[1])

    async def _serve(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            response = await self._answer(reader)
            raw = isinstance(response.body, str) and response.content_type != "application/json"
            data = str(response.body).encode() if raw else json.dumps(response.body).encode()
            reason = _REASONS.get(response.status, "")
            writer.write(
                f"HTTP/1.1 {response.status} {reason}\r\nContent-Type: {response.content_type}\r\n"
                f"Content-Length: {len(data)}\r\nConnection: close\r\n\r\n".encode()
                + data
            )
            await writer.drain()
        except (TimeoutError, ConnectionError, asyncio.IncompleteReadError):
            pass
        finally:
            writer.close()
            with contextlib.suppress(ConnectionError):
                await writer.wait_closed()

    async def _answer(self, reader: asyncio.StreamReader) -> HttpResponse:
        async with asyncio.timeout(10):
            parts = (await reader.readline()).decode("latin-1").split()
            headers: dict[str, str] = {}
            while line := (await reader.readline()).strip():
                name, _, value = line.decode("latin-1").partition(":")
                headers[name.strip().lower()] = value.strip()
            if len(parts) < 2:
                return HttpResponse(400, {"error": "bad request"})
            try:
                length = int(headers.get("content-length", "0"))
            except ValueError:
                return HttpResponse(400, {"error": "bad content-length"})
            if length > MAX_BODY or length < 0:
                return HttpResponse(413, {"error": "body too large"})
            body = await reader.readexactly(length) if length else b""
        request = HttpRequest(parts[0].upper(), parts[1].split("?")[0], headers, body)
        return await self.routes.dispatch(request)

    async def close(self) -> None:
        """Stop listening."""
        self._server.close()
        await self._server.wait_closed()
