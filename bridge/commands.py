"""Chat commands, written once for every platform: help, reset, stop, retry, settings.

A message is a command when its adapter says so (``Incoming.command``: a slash command, a
button) or when its text starts with ``/name`` (``/reset@MyBot`` works too). Anything else is a
chat turn. Replies go through the adapter's ``send``; nothing here knows a platform.
"""

from __future__ import annotations

import shlex
from collections.abc import Awaitable, Callable

from bridge import conversation
from bridge.delivery import send_text
from bridge.errors import BridgeError, InvalidParam
from bridge.gradio.chat import resolve_params
from bridge.gradio.session import drop_last_turn
from bridge.model import Incoming
from bridge.render import error_reply
from bridge.turn import TurnRunner

HELP = {
    "help": "show this help",
    "reset": "start a new conversation (the app forgets earlier messages)",
    "stop": "stop the reply being written",
    "retry": "ask your last message again",
    "settings": "show or change the app's settings, e.g. /settings temperature=0.3",
}
ALIASES = {"start": "help", "new": "reset", "cancel": "stop"}


def parse(msg: Incoming) -> tuple[str, str] | None:
    """``(command, args)`` for a command message, else None."""
    if msg.command:
        name = ALIASES.get(msg.command, msg.command)
        return (name, msg.args) if name in HELP else None
    text = msg.text.strip()
    if not text.startswith("/") or len(text) < 2:
        return None
    word, _, rest = text[1:].partition(" ")
    name = word.split("@", 1)[0].lower()
    name = ALIASES.get(name, name)
    return (name, rest.strip()) if name in HELP else None


class Commands:
    """Dispatches one adapter's messages: commands here, everything else to the turn runner."""

    def __init__(self, runner: TurnRunner) -> None:
        self.runner = runner
        self._table: dict[str, Callable[[Incoming, str], Awaitable[None]]] = {
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

    async def handle(self, msg: Incoming) -> None:
        """Handle one message (the router's handler)."""
        parsed = parse(msg)
        if parsed is None:
            await self.runner.chat(msg)
            return
        name, args = parsed
        await self._table[name](msg, args)

    async def _reply(self, msg: Incoming, text: str) -> None:
        await send_text(self.runner.adapter, msg.key, text, msg.reply_to)

    async def _help(self, msg: Incoming, _: str) -> None:
        lines = [
            f"I pass your messages to the Gradio app “{self.runner.space.name}” and stream its answers.",
            "",
            "Commands:",
        ]
        lines += [f"/{name} — {text}" for name, text in HELP.items()]
        await self._reply(msg, "\n".join(lines))

    async def _reset(self, msg: Incoming, _: str) -> None:
        state = await conversation.load(self.runner.store, msg.key)
        state.session.reset()
        state.last_text = None
        await conversation.save(self.runner.store, msg.key, state, self.runner.settings.session_ttl_s)
        await self._reply(msg, "🧹 New conversation: earlier messages are forgotten.")

    async def _stop(self, msg: Incoming, _: str) -> None:
        if not await self.runner.stop_anywhere(msg.key):
            await self._reply(msg, "Nothing to stop: no reply is being written.")

    async def _retry(self, msg: Incoming, _: str) -> None:
        store, key = self.runner.store, msg.key
        state = await conversation.load(store, key)
        if not state.last_text:
            await self._reply(msg, "Nothing to retry yet.")
            return
        try:
            client = await self.runner.space.client()
            fmt = client.chat.history_format if client.chat.kind != "public" else None
        except BridgeError as exc:
            await self._reply(msg, error_reply(exc))
            return
        if fmt is not None and state.session.history:
            state.session.history = drop_last_turn(state.session.history, fmt)
            await conversation.save(store, key, state, self.runner.settings.session_ttl_s)
        await self.runner.chat(msg, text=state.last_text)

    async def _settings(self, msg: Incoming, args: str) -> None:
        try:
            client = await self.runner.space.client()
            endpoint = client.chat
        except BridgeError as exc:
            await self._reply(msg, error_reply(exc))
            return
        if not endpoint.params:
            await self._reply(msg, "This app has no settings.")
            return
        state = await conversation.load(self.runner.store, msg.key)
        base = dict(self.runner.settings.params)
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
                    await self._reply(msg, "Write settings as name=value, e.g. /settings temperature=0.3")
                    return
                updates[name] = value
            try:
                slots = resolve_params(endpoint, {**base, **state.params, **updates})
            except InvalidParam as exc:
                await self._reply(msg, f"⚠️ {exc}")
                return
            for name in updates:
                param = next(p for p in endpoint.params if p.matches(name))
                state.params = {k: v for k, v in state.params.items() if not param.matches(k)}
                state.params[param.name] = slots[param.slot]
        await conversation.save(self.runner.store, msg.key, state, self.runner.settings.session_ttl_s)
        current = resolve_params(endpoint, {**base, **state.params})
        lines = ["Settings for this conversation:"]
        lines += [f"• {p.name} = {current[p.slot]!r} ({p.describe()})" for p in endpoint.params]
        lines.append("Change with /settings name=value; /settings reset restores the defaults.")
        await self._reply(msg, "\n".join(lines))
