"""A scripted HTTP/1.1 server on 127.0.0.1 (port 0) that can misbehave the way real servers do.

Tests use it where a real Gradio server cannot be made to fail on cue: a keep-alive connection
closed as a request arrives, a connection dropped after the request was processed, an answer
that never comes, a redirect to another origin. ``handler(request)`` decides each request's fate
with one of the actions below; every request that arrived is kept in ``requests``, in order.
Leaving the ``async with`` block closes the server and every connection it holds.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import socket
import struct
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl, urlsplit


@dataclass
class Request:
    """One request as it arrived; ``nth`` counts the requests on its connection (1 = a new one)."""

    method: str
    path: str
    query: dict[str, str]
    headers: dict[str, str]
    body: bytes
    nth: int

    def json(self) -> Any:
        return json.loads(self.body)


@dataclass
class Reply:
    """A complete response; ``close`` ends the connection after it (``Connection: close``)."""

    status: int = 200
    body: bytes | str | dict[str, Any] | list[Any] = b""
    headers: dict[str, str] = field(default_factory=dict)
    close: bool = False


@dataclass
class Drop:
    """Close the connection without a byte of response: with a reset (RST) or a plain FIN."""

    reset: bool = True


@dataclass
class Hang:
    """Never answer (the connection stays open until the server closes)."""


@dataclass
class Chunks:
    """A chunked response of ``parts`` (an event stream); ``end=False`` resets the connection after
    the parts instead of finishing the response."""

    parts: list[bytes]
    end: bool = True
    content_type: str = "text/event-stream"


Action = Reply | Drop | Hang | Chunks
Handler = Callable[[Request], Action]


def sse(*messages: dict[str, Any]) -> list[bytes]:
    """Server-sent event frames, one per message."""
    return [f"data: {json.dumps(m)}\n\n".encode() for m in messages]


class Loopback:
    """``async with Loopback(handler) as server:`` serves at ``server.url`` until the block ends."""

    def __init__(self, handler: Handler) -> None:
        self.handler = handler
        self.requests: list[Request] = []
        self.url = ""
        self._server: asyncio.Server | None = None
        self._tasks: set[asyncio.Task[None]] = set()
        self._writers: set[asyncio.StreamWriter] = set()
        self._closing = asyncio.Event()

    def seen(self, path_part: str) -> list[Request]:
        """The requests whose path contains ``path_part``."""
        return [r for r in self.requests if path_part in r.path]

    async def __aenter__(self) -> Loopback:
        self._server = await asyncio.start_server(self._connection, "127.0.0.1", 0)
        port = self._server.sockets[0].getsockname()[1]
        self.url = f"http://127.0.0.1:{port}"
        return self

    async def __aexit__(self, *exc: object) -> None:
        self._closing.set()
        assert self._server is not None
        self._server.close()
        for writer in list(self._writers):
            writer.transport.abort()
        for task in list(self._tasks):
            task.cancel()
        await asyncio.gather(*self._tasks, return_exceptions=True)
        await self._server.wait_closed()

    async def _connection(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        assert task is not None
        self._tasks.add(task)
        self._writers.add(writer)
        try:
            nth = 0
            while True:
                request = await _read_request(reader, nth + 1)
                if request is None:
                    return
                nth += 1
                self.requests.append(request)
                if not await self._act(self.handler(request), writer):
                    return
        except (ConnectionError, asyncio.IncompleteReadError):
            return
        finally:
            self._writers.discard(writer)
            self._tasks.discard(task)
            writer.transport.abort()

    async def _act(self, action: Action, writer: asyncio.StreamWriter) -> bool:
        """Carry out ``action``; True when the connection stays open for another request."""
        if isinstance(action, Drop):
            if action.reset:
                _reset(writer)
            else:
                writer.close()
            return False
        if isinstance(action, Hang):
            await self._closing.wait()
            return False
        if isinstance(action, Chunks):
            head = f"HTTP/1.1 200 OK\r\ncontent-type: {action.content_type}\r\n"
            writer.write(head.encode() + b"transfer-encoding: chunked\r\n\r\n")
            for part in action.parts:
                writer.write(f"{len(part):x}\r\n".encode() + part + b"\r\n")
                await writer.drain()
            if not action.end:
                _reset(writer)
                return False
            writer.write(b"0\r\n\r\n")
            await writer.drain()
            return True
        body = action.body
        if isinstance(body, dict | list):
            body, ctype = json.dumps(body).encode(), "application/json"
        else:
            body, ctype = (body.encode() if isinstance(body, str) else body), "text/plain"
        headers = {"content-type": ctype, **action.headers, "content-length": str(len(body))}
        if action.close:
            headers["connection"] = "close"
        lines = [f"HTTP/1.1 {action.status} X", *(f"{k}: {v}" for k, v in headers.items())]
        writer.write(("\r\n".join(lines) + "\r\n\r\n").encode() + body)
        await writer.drain()
        if action.close:
            writer.close()
            return False
        return True


async def _read_request(reader: asyncio.StreamReader, nth: int) -> Request | None:
    try:
        head = await reader.readuntil(b"\r\n\r\n")
    except asyncio.IncompleteReadError:
        return None
    lines = head.decode("latin-1").split("\r\n")
    method, target, _ = lines[0].split(" ", 2)
    headers = {}
    for line in lines[1:]:
        if ":" in line:
            key, value = line.split(":", 1)
            headers[key.strip().lower()] = value.strip()
    if headers.get("transfer-encoding", "").lower() == "chunked":
        body = b""
        while True:
            size = int((await reader.readuntil(b"\r\n")).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                break
            body += chunk[:-2]
    else:
        body = await reader.readexactly(int(headers.get("content-length", "0")))
    url = urlsplit(target)
    return Request(method, url.path, dict(parse_qsl(url.query)), headers, body, nth)


def _reset(writer: asyncio.StreamWriter) -> None:
    # SO_LINGER 0: closing sends RST, so the client's read fails with ECONNRESET (httpx ReadError).
    sock = writer.get_extra_info("socket")
    with contextlib.suppress(OSError):
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    writer.transport.abort()
