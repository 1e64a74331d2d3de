"""The fake Discord itself (see :mod:`tests.fakes.discord`): :class:`FakeDiscord`, its waiting and inspecting
helpers, and :func:`serve_discord`."""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from tests.fakes.discord.interactions import Callback
from tests.fakes.discord.model import (
    StoredMessage,
    Write,
)
from tests.fakes.discord.push import Pushes
from tests.fakes.discord.rules import (
    MB,
    Budgets,
)
from tests.fakes.server import serve

T = TypeVar("T")
FileSpec = tuple[str, bytes, str | None]


class FakeDiscord(Pushes):
    """The fake server's state and test helpers (see the module docstring)."""

    def __init__(
        self,
        token: str = "fake-bot-token",
        *,
        bot_name: str = "fakebot",
        guild_name: str = "Fake Guild",
        clock: Callable[[], float] = time.monotonic,
        message_creates: tuple[int, float] | None = (5, 5.0),
        message_edits: tuple[int, float] | None = (5, 5.0),
        global_requests: tuple[int, float] | None = (50, 1.0),
        upload_limit: int = 10 * MB,
        response_window: float = 3.0,
        token_ttl: float = 900.0,
        heartbeat_interval: int = 45000,
        recommended_shards: int = 1,
        allowed_intents: int | None = None,
        strict_commands: bool = True,
    ) -> None:
        super().__init__(token, bot_name, guild_name)
        self._changed = asyncio.Event()
        self._init_gateway(heartbeat_interval, allowed_intents)
        budgets = Budgets(message_creates, message_edits, global_requests, clock)
        self._init_rest(budgets, upload_limit, recommended_shards)
        self._init_commands()
        self.clock, self.response_window, self.token_ttl = clock, response_window, token_ttl
        self.strict_commands = strict_commands
        self.callbacks: list[Callback] = []
        self.history_queries: list[tuple[str, dict[str, str]]] = []

    # ------------------------------------------------------------------------------------ waiting
    def _notify(self) -> None:
        event, self._changed = self._changed, asyncio.Event()
        event.set()

    async def wait_for(self, predicate: Callable[[], T], timeout: float = 5.0) -> T:
        """Wait until ``predicate()`` is truthy and return it (re-checked on every fake event and every
        50 ms, for states changed outside the fake)."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout
        while not (value := predicate()):
            if loop.time() >= deadline:
                raise TimeoutError(f"not met within {timeout}s; last calls: {self.calls[-5:]}")
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(self._changed.wait(), min(0.05, deadline - loop.time()))
        return value

    # ------------------------------------------------------------------------------------ inspecting
    def channel_messages(self, channel_id: str | int) -> list[StoredMessage]:
        """Every message in a channel (users' and the bot's, deleted ones flagged), oldest first."""
        return sorted(
            (m for m in self.messages.values() if m.channel_id == str(channel_id)), key=lambda m: int(m.id)
        )

    def sent(self, channel_id: str | int | None = None) -> list[StoredMessage]:
        """The bot's messages (in one channel), oldest first."""
        msgs = self.messages.values() if channel_id is None else self.channel_messages(channel_id)
        return sorted((m for m in msgs if m.from_bot), key=lambda m: int(m.id))

    def pinging_writes(self, message_id: str | int | None = None) -> list[tuple[StoredMessage, Write]]:
        """Every bot send/edit (of one message) that would have pinged someone (see ``rules.pings``)."""
        return [
            (m, w) for m in self.sent() if message_id in (None, m.id, int(m.id)) for w in m.writes if w.pings
        ]

    def would_ping(self, message_id: str | int | None = None) -> bool:
        return bool(self.pinging_writes(message_id))

    def calls_to(self, pattern: str) -> list[Any]:
        """Bodies of the calls whose ``"METHOD /template"`` or template matches the glob ``pattern``."""
        return [
            c.body
            for c in self.calls
            if fnmatch.fnmatchcase(f"{c.method} {c.route}", pattern) or fnmatch.fnmatchcase(c.route, pattern)
        ]


@contextlib.asynccontextmanager
async def serve_discord(fake: FakeDiscord) -> AsyncIterator[str]:
    """Serve ``fake`` on 127.0.0.1 (a free port) for the block; yield its base URL. On exit held gateway
    connections are let go and open gateway sockets are closed (1001), then every connection is closed
    (see :func:`tests.fakes.server.serve`)."""
    async with serve(fake.app()) as served:
        fake.url, fake.served = served.url, served
        try:
            yield fake.url
        finally:
            fake.accept_connections.set()
            await fake._close_gateway()
            fake.served = None
