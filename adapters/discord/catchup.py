"""Catching up after a restart: answering what was said while the bot was down.

A new gateway session does not replay what was sent while no session was open, so the adapter
remembers the conversations that were active and reads their history when it is back:

* :class:`Recent` is channel id → the newest message delivered from it (threads the bot opened,
  DMs, channels where it was mentioned), kept in the adapter's state: the ``catch_up_channels``
  most recently active, none quiet for longer than ``catch_up_max_age_h``. It only moves past
  messages that were delivered, so nothing answered before a clean stop is read again.
* :class:`CatchUp` runs once, after the first ``on_ready``, in the background: for each remembered
  channel, most recently active first, it reads the channel's newest messages after the remembered
  one (up to :data:`READ_LIMIT`, one request) and delivers, oldest first, those that would have
  triggered the bot (the receiver's rules: not the bot's own, triggers, access lists). At most
  ``catch_up_messages`` per channel, the most recent; when more were missed a note says so first.
  A channel that is gone or unreadable (a permanent refusal: 403, 404) is forgotten.
* Until a channel is caught up, its live messages wait (:meth:`CatchUp.settled`, at most
  :data:`SETTLE_S`), so that missed messages are answered before newer ones; the receiver delivers
  each message once, however it arrived.

Shards run by different processes keep separate lists (:func:`state_key`).
"""

from __future__ import annotations

import asyncio
import contextlib
import time
from collections import OrderedDict
from collections.abc import Callable

import discord
import structlog

from adapters.discord.config import DiscordConfig
from adapters.discord.errors import call
from adapters.discord.receive import Deliver, Receiver
from adapters.discord.send import NO_PINGS, Channel, Sender
from bridge import AdapterState, BridgeError, Incoming, PlatformError

log = structlog.get_logger(__name__)
READ_LIMIT = 100  # the newest messages read per channel: one request
SETTLE_S = 30.0  # how long a live message waits for its channel's catch-up
NOTE = "I was offline and missed {n} messages here; answering the last {k}."


def state_key(config: DiscordConfig) -> str:
    """The state key of the list; per set of shards, as each process sees only its shards' channels."""
    shards = config.shard_ids
    return "catchup" if shards is None else "catchup:" + ",".join(map(str, sorted(shards)))


class Recent:
    """The channels that were active, as ``{"channels": {id: [message id, unix time]}}`` in the state.

    :meth:`handled` changes memory only; a background task writes the newest list, one write at a
    time and at most one every ``every_s`` (a burst of messages makes one write), and :meth:`close`
    writes what is left. A crash can lose the last second: those messages are read again at the
    next start (the durable inbox knows them by id).
    """

    def __init__(
        self,
        state: AdapterState,
        key: str,
        limit: int,
        max_age_s: float,
        *,
        every_s: float = 1.0,
        clock: Callable[[], float] = time.time,
    ) -> None:
        self._state, self._key, self._limit, self._max_age = state, key, limit, max_age_s
        self._every, self._clock = every_s, clock
        self._channels: OrderedDict[str, tuple[int, float]] = OrderedDict()  # least recent first
        self._dirty = False
        self._task: asyncio.Task[None] | None = None
        self._closing = asyncio.Event()

    async def load(self) -> list[tuple[str, int]]:
        """The remembered ``(channel id, last message id)``, most recently active first."""
        try:
            stored = await self._state.get(self._key) or {}
        except BridgeError as exc:
            log.warning("reading the channels to catch up on failed", error=str(exc))
            return []
        now = self._clock()
        entries: list[tuple[float, str, int]] = []
        for cid, value in (stored.get("channels") or {}).items():
            try:
                last, at = int(value[0]), float(value[1])
            except (TypeError, ValueError, IndexError):
                continue
            if now - at <= self._max_age:
                entries.append((at, str(cid), last))
        entries.sort()
        for at, cid, last in entries[-self._limit :]:
            self._channels[cid] = (last, at)
        return [(cid, last) for _, cid, last in reversed(entries[-self._limit :])]

    def handled(self, channel_id: str, message_id: int) -> None:
        """``message_id`` was delivered from ``channel_id`` (never moves back)."""
        old = self._channels.get(channel_id)
        if old is not None and old[0] >= message_id:
            return
        self._channels[channel_id] = (message_id, self._clock())
        self._channels.move_to_end(channel_id)
        while len(self._channels) > self._limit:
            self._channels.popitem(last=False)
        self._changed()

    def forget(self, channel_id: str) -> None:
        if self._channels.pop(channel_id, None) is not None:
            self._changed()

    def _changed(self) -> None:
        self._dirty = True
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write(), name="discord catch-up list")

    async def _write(self) -> None:
        while self._dirty:
            self._dirty = False
            now = self._clock()
            value = {
                "channels": {
                    cid: [str(last), round(at, 3)]
                    for cid, (last, at) in self._channels.items()
                    if now - at <= self._max_age
                }
            }
            try:
                await self._state.put(self._key, value)
            except BridgeError as exc:  # the next message tries again
                log.warning("storing the channels to catch up on failed", error=str(exc))
                self._dirty = True
                return
            if self._dirty and not self._closing.is_set():
                with contextlib.suppress(TimeoutError):
                    await asyncio.wait_for(self._closing.wait(), self._every)

    async def close(self) -> None:
        """Write the newest list (call once, when the adapter stops)."""
        self._closing.set()
        if self._task is not None:
            await asyncio.wait({self._task})
        if self._dirty:
            await self._write()


class CatchUp:
    """One run's catch-up (see the module docstring); ``recent`` None: catching up is off."""

    def __init__(
        self, config: DiscordConfig, receiver: Receiver, sender: Sender, recent: Recent | None
    ) -> None:
        self.config, self.receiver, self.sender, self.recent = config, receiver, sender, recent
        self._todo: list[tuple[str, int]] = []
        self._waiting: dict[str, asyncio.Event] = {}
        self._members: dict[tuple[int, int], discord.Member | None] = {}

    async def prepare(self) -> None:
        """Load the list; from now on live messages of those channels wait (call before connecting)."""
        if self.recent is not None:
            self._todo = await self.recent.load()
            self._waiting = {cid: asyncio.Event() for cid, _ in self._todo}

    async def settled(self, channel_id: str) -> None:
        """Return once ``channel_id`` is caught up (at once for others; at most :data:`SETTLE_S`)."""
        event = self._waiting.get(channel_id)
        if event is not None:
            with contextlib.suppress(TimeoutError):
                async with asyncio.timeout(SETTLE_S):
                    await event.wait()

    async def run(self, deliver: Deliver) -> None:
        """Catch up on every remembered channel, one after the other."""
        try:
            for cid, last in self._todo:
                try:
                    await self._channel(cid, last, deliver)
                except PlatformError as exc:
                    if exc.permanent and self.recent is not None:
                        self.recent.forget(cid)
                        log.warning("channel gone or unreadable; not caught up", channel=cid, error=str(exc))
                    else:
                        log.warning("catching up on a channel failed", channel=cid, error=str(exc))
                finally:
                    self._settle(cid)
        finally:
            for cid in list(self._waiting):
                self._settle(cid)

    def _settle(self, channel_id: str) -> None:
        event = self._waiting.pop(channel_id, None)
        if event is not None:
            event.set()

    async def _channel(self, channel_id: str, last: int, deliver: Deliver) -> None:
        channel = await self.sender.channel(channel_id)
        newest = await call(_newest(channel, last), what=f"the history of channel {channel_id}")
        missed: list[tuple[discord.Message, Incoming]] = []
        for msg in reversed(newest):
            if self.receiver.seen(msg.id) or not await self._with_member(msg):
                continue
            incoming = self.receiver.incoming(msg)
            if incoming is not None:
                missed.append((msg, incoming))
        keep = self.config.catch_up_messages
        if not missed:
            return
        log.info("catching up", channel=channel_id, missed=len(missed))
        if len(missed) > keep:
            n = f"at least {len(missed)}" if len(newest) == READ_LIMIT else str(len(missed))
            try:
                await call(channel.send(NOTE.format(n=n, k=keep), allowed_mentions=NO_PINGS))
            except PlatformError as exc:
                log.warning("the catch-up note could not be sent", channel=channel_id, error=str(exc))
        for msg, incoming in missed[-keep:]:
            await self.receiver.deliver_once(msg, incoming, deliver)

    async def _with_member(self, msg: discord.Message) -> bool:
        """Give a history message's author its roles when role lists apply (history messages carry no
        member, and without the members intent the cache rarely has one); False if it has none."""
        cfg, guild = self.config, msg.guild
        if (
            guild is None
            or not (cfg.allow_roles or cfg.block_roles)
            or isinstance(msg.author, discord.Member)
        ):
            return True
        key = (guild.id, msg.author.id)
        if key not in self._members:
            try:
                self._members[key] = await call(guild.fetch_member(msg.author.id), what="a member")
            except PlatformError as exc:  # left the server, or unknown: not admitted
                log.info("no roles for a missed message's author", user=msg.author.id, error=str(exc))
                self._members[key] = None
        member = self._members[key]
        if member is None:
            return False
        msg.author = member
        return True


async def _newest(channel: Channel, after: int) -> list[discord.Message]:
    """Up to :data:`READ_LIMIT` of the channel's newest messages after ``after``, newest first.

    Read from the newest end (discord.py pages backwards and filters, without ``after`` on the
    wire), so that when more were missed the most recent are the ones read.
    """
    history = channel.history(limit=READ_LIMIT, after=discord.Object(after), oldest_first=False)
    return [m async for m in history]
