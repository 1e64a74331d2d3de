"""A loopback fake of Discord (REST + websocket gateway), strict enough to drive the real discord.py 2.7.1.

Serve it with :func:`serve_discord` (an async context manager yielding ``http://127.0.0.1:PORT``); REST is
under ``/api/v10``, the gateway at :attr:`FakeDiscord.gateway_url` (``ws://127.0.0.1:PORT/gateway``),
files at ``/attachments/{id}/{filename}``. Point discord.py at it (use ``monkeypatch`` in tests)::

    discord.http.Route.BASE = f"{url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

and pass ``guild_ready_timeout=0.05`` to the client (``message_content`` intent on to see content).
Modules: :mod:`~tests.fakes.discord_model` (stored records, snowflakes), :mod:`~tests.fakes.discord_world`
(users, guilds, channels, payloads), :mod:`~tests.fakes.discord_rules` (errors, clock, budgets),
:mod:`~tests.fakes.discord_checks` (body checks, pings), :mod:`~tests.fakes.discord_gateway`,
:mod:`~tests.fakes.discord_rest` (transport, small routes), :mod:`~tests.fakes.discord_messages`
(messages, threads), :mod:`~tests.fakes.discord_reads` (channel history, members, permission overwrites),
:mod:`~tests.fakes.discord_interactions` (callbacks, @original, follow-ups),
:mod:`~tests.fakes.discord_commands` (application commands), :mod:`~tests.fakes.discord_push` (pushes).
The bot's own non-ephemeral messages are dispatched back (MESSAGE_CREATE/UPDATE/DELETE), as on Discord.

World: ``bot_id`` (= ``app_id``), ``user_id`` (alice), ``user2_id`` (bob), ``guild_id`` with
``channel_id`` (#general), ``channel2_id`` (#random), roles @everyone and ``member_role_id``;
``add_user(name)``, ``add_member(guild_id, user_id, roles)``, ``add_guild(name, shard=(id, count))``,
``add_channel(guild_id, name)``, ``dm_channel(user_id)``. Ids are snowflake strings.

Test helpers (on :class:`FakeDiscord`):
  ``await push_message(channel_id=None, author_id=None, content="", *, mentions_bot=False,
  attachments=[(name, bytes, content_type)], guild=True, reference=None, embeds=None) -> dict``;
  ``await push_interaction(name, options=None, *, channel_id=None, user_id=None, attachments=None,
  guild=True, locale="en-US") -> StoredInteraction`` (``name`` may be ``"group sub"``);
  ``await push_component(custom_id, message_id, *, channel_id=None, user_id=None, values=None)
  -> StoredInteraction``; ``await push_autocomplete(name, option, typed, options=None, *, channel_id=None,
  user_id=None, guild=True) -> StoredInteraction`` (its answer: a type-8 ``Callback``);
  ``await redeliver(interaction)``; ``await wait_for(predicate, timeout=5.0)``;
  ``fail_next(pattern, status=500, *, code=0, message=None, body=None, retry_after=0.05, is_global=False,
  count=1)``;
  ``await dispatch(event, data, *, guild_id=None, intent=None)``; ``await reconnect(shard_id=None)``
  (op 7); ``await drop_connection(shard_id=None, *, code=4000)`` (``None``: abort → 1006);
  ``forget_sessions()``; ``accept_connections`` (an Event: clear it to hold new gateway connections);
  ``deny_bot(channel_id, permission=VIEW_CHANNEL)`` (``READ_MESSAGE_HISTORY`` too);
  ``await delete_channel(channel_id)``. A message pushed while no session is open (the bot is down)
  is only stored: a new session does not get it, but the channel's history (``GET …/messages``) does.
Inspect: ``messages`` (id → :class:`StoredMessage`, with ``writes``/``edits``), ``channel_messages(id)``,
``sent(channel_id=None)``, ``would_ping(message_id=None)``, ``pinging_writes(message_id=None)``,
``threads`` (id → thread channel), ``calls`` (:class:`Call` = (method, route template, JSON body)),
``calls_to(pattern)``, ``command_writes``, ``commands`` (scope → id → command),
``find_command(name, guild_id)``, ``count_429``, ``callbacks`` (:class:`Callback`), ``interactions``,
``typing_calls`` (channel ids), ``history_queries`` ((channel id, query) of each history read),
``files`` (bot uploads, :class:`StoredFile`), ``attachments``, ``errors`` (:class:`ErrorReply`),
``gateway_log`` (:class:`Received`), ``identifies``, ``resumes``, ``sessions``.
Knobs: ``clock`` (inject a :class:`ShiftClock` and ``advance()`` it to expire interactions),
``message_creates``/``message_edits``/``global_requests`` budgets (``(count, seconds)`` or ``None``),
``upload_limit``, ``response_window`` (3 s), ``token_ttl`` (15 min), ``heartbeat_interval`` (ms),
``recommended_shards`` (``GET /gateway/bot``), ``allowed_intents`` (privileged intents the portal
allows; ``None`` = all), ``strict_commands`` (interactions only for registered commands).
"""

from __future__ import annotations

import asyncio
import contextlib
import fnmatch
import time
from collections.abc import AsyncIterator, Callable
from typing import Any, TypeVar

from aiohttp import web

from tests.fakes.discord_checks import pings
from tests.fakes.discord_gateway import Received
from tests.fakes.discord_interactions import Callback
from tests.fakes.discord_model import (
    Call,
    ErrorReply,
    StoredFile,
    StoredInteraction,
    StoredMessage,
    Write,
    shard_of,
)
from tests.fakes.discord_push import Pushes
from tests.fakes.discord_rules import (
    MB,
    READ_MESSAGE_HISTORY,
    VIEW_CHANNEL,
    ApiError,
    Budgets,
    ShiftClock,
)

__all__ = [
    "READ_MESSAGE_HISTORY",
    "VIEW_CHANNEL",
    "ApiError",
    "Budgets",
    "Call",
    "Callback",
    "ErrorReply",
    "FakeDiscord",
    "Received",
    "ShiftClock",
    "StoredFile",
    "StoredInteraction",
    "StoredMessage",
    "Write",
    "pings",
    "serve_discord",
    "shard_of",
]

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
    """Serve ``fake`` on 127.0.0.1 (a free port) for the block; yield its base URL. On exit open gateway
    sockets are closed (1001) before the server stops."""
    runner = web.AppRunner(fake.app(), handle_signals=False, access_log=None, shutdown_timeout=1.0)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    fake.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield fake.url
    finally:
        fake.accept_connections.set()
        await fake._close_gateway()
        await runner.cleanup()
