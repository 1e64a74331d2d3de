"""One bot: an adapter wired to its Space — the turn runner and its collaborators, the commands, the
durable inbox and the router — and the :class:`~bridge.adapter.Host` the adapter runs with.

An adapter class is built as ``cls(name, config, secret)``: ``config`` its validated
``[adapters.NAME]`` table, ``secret(env_name)`` the resolved value of one of its ``*_env`` keys.
"""

from __future__ import annotations

import asyncio
import dataclasses
import uuid
from dataclasses import dataclass, field

from bridge import registry
from bridge.adapter import Adapter, AdapterState, AppInputs, Host
from bridge.adapterconfig import AdapterConfig
from bridge.budget import budgets_for
from bridge.commands import Commands
from bridge.config import Config
from bridge.consume import Consumer
from bridge.control import StopRelay
from bridge.conversation import Conversations
from bridge.delivery import Replies
from bridge.files import FileLimits, Files
from bridge.httpserver import Routes
from bridge.inbox import Intake, StoreHealth
from bridge.model import Incoming
from bridge.retrying import RetryPolicy
from bridge.router import AccessRules, Router, UserLimits
from bridge.sessions import MemoryStore, SessionStore
from bridge.spaces import SpaceHandle
from bridge.stops import Stops
from bridge.turn import OnEnd, TurnRunner, TurnSettings


@dataclass
class Bot:
    """One adapter with its router, durable inbox, commands and running turns."""

    adapter: Adapter
    router: Router
    space: SpaceHandle
    runner: TurnRunner
    intake: Intake
    commands: Commands
    stops: Stops
    scope: str = "chat"
    consumer: Consumer | None = None  # with a store several processes share
    resumed: bool = field(default=False)

    def ready(self) -> None:
        """The adapter can send: queue what the inbox kept from an earlier run, or (shared store)
        start consuming this process's share of the inbox (once)."""
        if not self.resumed:
            self.resumed = True
            for msg in self.intake.take_resumable():
                self.router.resume(msg)
            if self.consumer is not None:
                self.consumer.start(self.router.resume)

    async def drain(self) -> None:
        """Until every message this bot took in is answered: those queued here and (shared store)
        those it recorded for the shared inbox, wherever they are answered."""
        await self.router.drain()
        while self.consumer is not None and not await self.consumer.answered():
            await asyncio.sleep(0.1)
            await self.router.drain()

    def stop_receiving(self) -> None:
        """The bridge is stopping: take no new messages from the shared inbox."""
        if self.consumer is not None:
            self.consumer.stop_reading()

    async def aclose(self) -> None:
        """After the replies are done: give up the shared inbox's partitions, stop the inbox writer."""
        if self.consumer is not None:
            await self.consumer.aclose()
        await self.intake.aclose()

    async def deliver(self, msg: Incoming) -> bool:
        """The adapter's ``host.deliver``: returns once the message is recorded (or refused); False
        when it is only held in memory (the store is down), so the platform must not confirm it.
        The adapter's ``scope`` is applied to the message's key here."""
        self.ready()
        key = msg.key.scoped(self.scope, msg.author.id)
        if key != msg.key:
            msg = dataclasses.replace(msg, key=key)
        if msg.id is None:  # the platform gave no id: every delivery counts as new
            msg = dataclasses.replace(msg, id=uuid.uuid4().hex)
        if not self.intake.redelivered(msg):  # a redelivery is dropped before the rules and limits
            await self.router.deliver(msg)
        return not self.intake.held(msg)

    def host(self, store: SessionStore, routes: Routes | None = None) -> Host:
        """What the adapter runs with: ``deliver``, its state in ``store``, the app's inputs, ``routes``,
        its platform budgets (shared through ``store`` when other processes may serve it too)."""

        async def inputs() -> AppInputs:
            chat = (await self.space.client()).chat
            settings = tuple(p.setting(i) for i, p in enumerate(chat.params))
            return AppInputs(settings, chat.multimodal, chat.examples)

        name = self.adapter.name
        return Host(
            self.deliver, AdapterState(store, name), inputs, routes, self.ready, budgets_for(store, name)
        )


def build_bot(
    name: str,
    cfg: AdapterConfig,
    config: Config,
    space: SpaceHandle,
    store: SessionStore,
    health: StoreHealth | None = None,
    relay: StopRelay | None = None,
    on_end: OnEnd | None = None,
) -> Bot:
    """The adapter of ``[adapters.NAME]`` wired to its Space through a turn runner, inbox and router."""
    adapter: Adapter = registry.adapter_class(cfg.type)(name, cfg, config.secret)
    sc = config.spaces[cfg.space]
    b = config.bridge
    settings = TurnSettings(
        show_thoughts=cfg.show_thoughts,
        show_outputs=cfg.show_outputs,
        files=FileLimits(cfg.max_attachments, cfg.max_attachment_bytes, sc.max_download_bytes),
        history_turns=b.history_turns,
        session_ttl_s=b.session_ttl_s,
        params=dict(sc.params),
        idle_timeout_s=sc.idle_timeout_s,
        turn_timeout_s=sc.turn_timeout_s,
        app_wait_s=sc.app_wait_s,
        store_wait_s=b.store_wait_s,
        delivery=RetryPolicy(deadline_s=b.delivery_deadline_s),
    )
    limits = UserLimits(max_in_flight=cfg.max_in_flight_per_user, per_minute=cfg.turns_per_minute)
    return assemble(
        adapter,
        space,
        store,
        settings,
        AccessRules.of(cfg),
        limits,
        health=health,
        scope=cfg.scope,
        relay=relay,
        on_end=on_end,
    )


def assemble(
    adapter: Adapter,
    space: SpaceHandle,
    store: SessionStore,
    settings: TurnSettings,
    rules: AccessRules,
    limits: UserLimits,
    *,
    health: StoreHealth | None = None,
    scope: str = "chat",
    relay: StopRelay | None = None,
    on_end: OnEnd | None = None,
) -> Bot:
    """A bot of ``adapter`` on ``space``: every part built here, each given its collaborators.

    ``scope`` is the adapter's (who shares a conversation); ``relay`` lets ``/stop`` reach replies in
    other processes on the same store; ``on_end`` hears how each turn ended.
    """
    conversations = Conversations(store, settings.session_ttl_s, settings.store_wait_s)
    stops = Stops(relay)
    replies = Replies(adapter, settings.delivery)
    files = Files(adapter, space, settings.files)
    runner = TurnRunner(
        adapter,
        space,
        settings,
        conversations=conversations,
        stops=stops,
        replies=replies,
        files=files,
        on_end=on_end,
    )
    commands = Commands(
        runner,
        space=space,
        conversations=conversations,
        stops=stops,
        replies=replies,
        defaults=settings.params,
    )
    shared = store.coordination()
    health = health or StoreHealth()
    intake = Intake(
        store,
        adapter.name,
        commands.handle,
        replies.note,
        health,
        durable=not isinstance(store, MemoryStore),
        hold_s=settings.store_wait_s,
        shared=shared is not None,
    )
    consumer = None
    if shared is not None:
        split = adapter.capabilities.partitions  # the platform's own (Discord's shards), if any
        queue = shared.queue(adapter.name, split.count if split else None)
        consumer = Consumer(queue, intake, health, split.mine if split else None)
    record = consumer.record if consumer is not None else intake.record
    router = Router(intake.handle, replies.note, rules, limits, urgent=commands.is_urgent, record=record)
    return Bot(adapter, router, space, runner, intake, commands, stops, scope, consumer)
