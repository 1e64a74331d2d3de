"""A loopback fake of Discord (REST + websocket gateway), strict enough to drive the real discord.py 2.7.1.

Serve it with :func:`serve_discord` (an async context manager yielding ``http://127.0.0.1:PORT``; one
Starlette app on :mod:`tests.fakes.server`, like the other fakes); REST is under ``/api/v10``, the
gateway at :attr:`FakeDiscord.gateway_url` (``ws://127.0.0.1:PORT/gateway``), files at
``/attachments/{id}/{filename}``. Point discord.py at it (use ``monkeypatch`` in tests)::

    discord.http.Route.BASE = f"{url}/api/v10"
    discord.gateway.DiscordWebSocket.DEFAULT_GATEWAY = yarl.URL(fake.gateway_url)

and pass ``guild_ready_timeout=0.05`` to the client (``message_content`` intent on to see content).
Modules: :mod:`~tests.fakes.discord.fake` (:class:`FakeDiscord`, :func:`serve_discord`),
:mod:`~tests.fakes.discord.model` (stored records, snowflakes), :mod:`~tests.fakes.discord.world`
(users, guilds, channels, payloads), :mod:`~tests.fakes.discord.rules` (errors, clock, budgets),
:mod:`~tests.fakes.discord.checks` (body checks, pings), :mod:`~tests.fakes.discord.gateway` (and its
:mod:`~tests.fakes.discord.session`),
:mod:`~tests.fakes.discord.rest` (transport, small routes), :mod:`~tests.fakes.discord.messages`
(messages, threads), :mod:`~tests.fakes.discord.reads` (channel history, members, permission overwrites),
:mod:`~tests.fakes.discord.interactions` (callbacks, @original, follow-ups),
:mod:`~tests.fakes.discord.commands` (application commands), :mod:`~tests.fakes.discord.push` (pushes).
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

from tests.fakes.discord.checks import pings
from tests.fakes.discord.fake import FakeDiscord, serve_discord
from tests.fakes.discord.interactions import Callback
from tests.fakes.discord.model import (
    Call,
    ErrorReply,
    StoredFile,
    StoredInteraction,
    StoredMessage,
    Write,
    shard_of,
)
from tests.fakes.discord.rules import MB, READ_MESSAGE_HISTORY, VIEW_CHANNEL, ApiError, Budgets, ShiftClock
from tests.fakes.discord.session import Received

__all__ = [
    "MB",
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
