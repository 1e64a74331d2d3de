"""Gateway connections and sessions of the fake Discord (:mod:`tests.fakes.discord.gateway`), and the
intent bits the fake checks and filters by.

A close from the fake is sent at once and the connection counts as closed from then on (``close_code``;
``closed`` is set when its handler ends); the client's echo is awaited by uvicorn, not by the handler.
``drop_connection(code=None)`` aborts the TCP connection through the server (:meth:`Served.abort`).
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import zlib
from dataclasses import dataclass, field
from typing import Any, NamedTuple

from starlette.websockets import WebSocket, WebSocketDisconnect

from tests.fakes.discord.model import shard_of

GUILDS, GUILD_MESSAGES, DIRECT_MESSAGES, MESSAGE_CONTENT = 1 << 0, 1 << 9, 1 << 12, 1 << 15
PRIVILEGED = (1 << 1) | (1 << 8) | MESSAGE_CONTENT  # members, presences, message content
BUFFER = 1000  # dispatches kept per session for RESUME


class Received(NamedTuple):
    """A gateway payload the client sent; ``shard`` is None before IDENTIFY/RESUME."""

    shard: int | None
    op: int | None
    d: Any


class Connection:
    """One websocket: its ``query`` (the first of repeated keys counts), its ``client`` address, its
    ``session`` once identified or resumed, and ``close_code`` once closed (the fake's code or the
    client's). Frames are serialised by a lock: a zlib stream must be sent in the order compressed."""

    def __init__(self, ws: WebSocket) -> None:
        self.ws = ws
        self.query: dict[str, str] = {}
        for key, value in ws.query_params.multi_items():
            self.query.setdefault(key, value)
        self.client: list[object] | None = ws.scope.get("client")
        self.zlib = zlib.compressobj() if self.query.get("compress") == "zlib-stream" else None
        self.lock = asyncio.Lock()
        self.session: Session | None = None
        self.close_code: int | None = None
        self.closed = asyncio.Event()

    async def send(self, frame: dict[str, Any]) -> bool:
        """Send one frame; False when the socket is already going away (the frame stays resumable)."""
        data = json.dumps(frame)
        async with self.lock:
            if self.close_code is not None:
                return False
            try:
                if self.zlib is None:
                    await self.ws.send_text(data)
                else:
                    z = self.zlib
                    await self.ws.send_bytes(z.compress(data.encode()) + z.flush(zlib.Z_SYNC_FLUSH))
            except (ConnectionError, RuntimeError, WebSocketDisconnect):
                return False
        return True

    async def close(self, code: int, reason: str) -> None:
        """Close from the fake's side with ``code`` (nothing when already closed)."""
        if self.close_code is not None:
            return
        self.close_code = code
        with contextlib.suppress(ConnectionError, RuntimeError, WebSocketDisconnect):
            await self.ws.close(code, reason)


@dataclass
class Session:
    """A gateway session: its shard, intents, the last ``seq`` and the dispatches sent (for RESUME)."""

    id: str
    shard_id: int
    shard_count: int
    intents: int
    seq: int = 0
    sent: list[dict[str, Any]] = field(default_factory=list, repr=False)
    conn: Connection | None = None

    def owns(self, guild_id: str | None) -> bool:
        if guild_id is None:
            return self.shard_id == 0
        return shard_of(guild_id, self.shard_count) == self.shard_id
