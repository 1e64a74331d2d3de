"""Chat commands, written once for every platform: help, reset, stop, retry, settings.

A message is a command when its adapter says so (``Incoming.command``: a slash command, a
button) or when its text starts with ``/name`` (``/reset@MyBot`` works too). Anything else is a
chat turn. Replies go through the adapter's ``send``; nothing here knows a platform.
"""

from __future__ import annotations

import asyncio
import shlex
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from bridge.conversation import Conversations
from bridge.delivery import Replies
from bridge.errors import BridgeError, InvalidParam
from bridge.gradio.chat import resolve_params
from bridge.journal import Journal
from bridge.model import COMMAND_ALIASES, COMMANDS, Choice, Incoming
from bridge.spaces import SpaceHandle
from bridge.stops import Stops
from bridge.turn import TurnRunner
from bridge.wording import error_reply

_USAGE = {"settings": ", e.g. /settings temperature=0.3"}
_EXAMPLES_WAIT_S = 5.0


def parse(msg: Incoming) -> tuple[str, str] | None:
    """``(command, args)`` for a command message, else None."""
    if msg.command:
        name = COMMAND_ALIASES.get(msg.command, msg.command)
        return (name, msg.args) if name in COMMANDS else None
    text = msg.text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    word, _, rest = text[1:].partition(" ")
    name = word.split("@", 1)[0].lower()
    name = COMMAND_ALIASES.get(name, name)
    return (name, rest.strip()) if name in COMMANDS else None


class Commands:
    """Dispatches one adapter's messages: commands here, everything else to the turn runner.

    Its collaborators are the turn runner's own: ``turns`` (chat turns, ``/retry``), ``space`` (the
    app's name, examples and settings), ``conversations`` (``/reset``, ``/settings``), ``stops``
    (``/stop``), ``replies`` (every command's answer); ``defaults`` are the Space's configured
    settings, under each conversation's own.
    """

    def __init__(
        self,
        turns: TurnRunner,
        *,
        space: SpaceHandle,
        conversations: Conversations,
        stops: Stops,
        replies: Replies,
        defaults: Mapping[str, Any],
    ) -> None:
        self.turns = turns
        self.space = space
        self.conversations = conversations
        self.stops = stops
        self.replies = replies
        self.defaults = dict(defaults)
        self._table: dict[str, Callable[[Incoming, str, Journal], Awaitable[None]]] = {
            "help": self._help,
            "reset": self._reset,
            "stop": self._stop,
            "retry": self._retry,
            "settings": self._settings,
        }

    @staticmethod
    def is_urgent(msg: Incoming) -> bool:
        """True for commands that must not wait behind the running turn (``stop``)."""
        parsed = parse(msg)
        return parsed is not None and parsed[0] == "stop"

    async def handle(self, msg: Incoming, journal: Journal) -> None:
        """Handle one message (the inbox's handler); a failure is answered, never raised."""
        parsed = parse(msg)
        if parsed is None:
            await self.turns.chat(msg, journal)
            return
        name, args = parsed
        try:
            await self._table[name](msg, args, journal)
        except BridgeError as exc:
            await self.replies.reply(msg, error_reply(exc), journal)

    async def _help(self, msg: Incoming, _: str, journal: Journal) -> None:
        lines = [
            f"I pass your messages to the Gradio app “{self.space.name}” and stream its answers.",
            "",
            "Commands:",
        ]
        lines += [f"/{name} — {text}{_USAGE.get(name, '')}" for name, text in COMMANDS.items()]
        examples = await self._examples()
        if examples:
            lines += ["", "Try one of the app's examples:", *(f"• {e}" for e in examples)]
        choices = [Choice(value=e, label=e) for e in examples]
        await self.replies.reply(msg, "\n".join(lines), journal, choices)

    async def _examples(self) -> tuple[str, ...]:
        """The app's example messages; none when it cannot be reached within a few seconds (help
        must answer even while the app sleeps)."""
        try:
            async with asyncio.timeout(_EXAMPLES_WAIT_S):
                return (await self.space.client()).chat.examples
        except (BridgeError, TimeoutError):
            return ()

    async def _reset(self, msg: Incoming, _: str, journal: Journal) -> None:
        state = await self.conversations.load(msg.key)
        state.session.reset()
        state.last_text = None
        await self.conversations.save(msg.key, state)
        await self.replies.reply(msg, "🧹 New conversation: earlier messages are forgotten.", journal)

    async def _stop(self, msg: Incoming, _: str, journal: Journal) -> None:
        if not await self.stops.stop_anywhere(msg.key):
            await self.replies.reply(msg, "Nothing to stop: no reply is being written.", journal)

    async def _retry(self, msg: Incoming, _: str, journal: Journal) -> None:
        key = msg.key
        state = await self.conversations.load(key)
        if not state.last_text:
            await self.replies.reply(msg, "Nothing to retry yet.", journal)
            return
        if state.session.history and not journal.resumed:
            state.session.drop_last_turn()
            await self.conversations.save(key, state)
        await self.turns.chat(msg, journal, text=state.last_text)

    async def _settings(self, msg: Incoming, args: str, journal: Journal) -> None:
        endpoint = (await self.space.client()).chat
        if not endpoint.params:
            await self.replies.reply(msg, "This app has no settings.", journal)
            return
        state = await self.conversations.load(msg.key)
        base = dict(self.defaults)
        try:
            words = shlex.split(args)
        except ValueError:
            words = args.split()
        if words == ["reset"]:
            state.params = {}
        elif words:
            updates: dict[str, object] = {}
            for word in words:
                name, sep, value = word.partition("=")
                if not sep or not name:
                    example = "Write settings as name=value, e.g. /settings temperature=0.3"
                    await self.replies.reply(msg, example, journal)
                    return
                updates[name] = value
            try:
                slots = resolve_params(endpoint, {**base, **state.params, **updates})
            except InvalidParam as exc:
                await self.replies.reply(msg, f"⚠️ {exc}", journal)
                return
            for name in updates:
                param = next(p for p in endpoint.params if p.matches(name))
                state.params = {k: v for k, v in state.params.items() if not param.matches(k)}
                state.params[param.name] = slots[param.slot]
        await self.conversations.save(msg.key, state)
        current = resolve_params(endpoint, {**base, **state.params})
        lines = ["Settings for this conversation:"]
        lines += [f"• {p.name} = {current[p.slot]!r} ({p.describe()})" for p in endpoint.params]
        lines.append("Change with /settings name=value; /settings reset restores the defaults.")
        await self.replies.reply(msg, "\n".join(lines), journal)
