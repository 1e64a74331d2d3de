"""Choice presses and autocomplete: the interactions that are neither slash commands nor Stop.

* **A quick reply** (a choice's button or menu, :mod:`adapters.discord.choices`) is acknowledged at
  once with a deferred update (the message stays as it is; Discord allows 3 seconds) and delivered
  as a message from whoever pressed it: text = the choice's value, in that person's conversation
  there (keyed as their messages are, :mod:`adapters.discord.access`), replying to the message the
  choice sits on, ``shared`` in a guild, ``id`` = the interaction's id (a redelivered interaction
  is answered once by the core). Once the delivery is durable the choices are removed from that
  message, so none is sent twice. Refused users get a private answer, as for slash commands, and so
  does a press whose long value cannot be read (the store is down: press again; or it lost it).
* **Autocomplete** of the chat command's ``message`` suggests the app's examples containing what
  was typed (:func:`adapters.discord.choices.suggestions`); other options, and refused users, get
  no suggestions.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import discord
import structlog

from adapters.discord.access import Access, acknowledge, author_of, data_of
from adapters.discord.choices import QuickReplies, suggestions
from adapters.discord.commands import MESSAGE, CommandSet
from adapters.discord.errors import call
from adapters.discord.outbox import place
from bridge import BridgeError, Incoming, MessageRef, PlatformError

REFUSAL = "Sorry, you are not allowed to use this bot here."
UNREADABLE = "Sorry, that choice could not be read just now; please press it again."
GONE = "Sorry, that choice is no longer available; please type your message."
log = structlog.get_logger(__name__)
Deliver = Callable[[Incoming], Awaitable[object]]


class Presses(Access):
    """Choice presses and autocomplete (a base of the inbox, which sets ``commands``)."""

    commands: CommandSet | None
    replies: QuickReplies | None

    async def _press(self, interaction: discord.Interaction[Any], deliver: Deliver) -> None:
        if self.replies is None:
            return
        if not self._admitted(interaction.guild, interaction.user):
            await acknowledge(interaction.response.send_message(REFUSAL, ephemeral=True))
            return
        # A redelivered interaction was acknowledged already (40060): delivered again all the same,
        # as the first delivery may not have happened; the core answers its id once.
        await acknowledge(interaction.response.defer())
        try:
            value = await self.replies.value(data_of(interaction))
        except BridgeError as exc:
            log.warning("a stored choice could not be read", error=str(exc))
            await acknowledge(interaction.followup.send(UNREADABLE, ephemeral=True))
            return
        if value is None:
            log.warning("a pressed choice is unknown (its stored value is gone)")
            await acknowledge(interaction.followup.send(GONE, ephemeral=True))
            return
        channel, user, on = interaction.channel, interaction.user, interaction.message
        chat, thread = place(channel) if channel is not None else (str(interaction.channel_id), None)
        durable = await deliver(
            Incoming(
                key=self._key(chat, str(user.id), thread),
                author=author_of(user),
                text=value,
                reply_to=MessageRef(chat=chat, id=str(on.id), thread=thread) if on is not None else None,
                shared=interaction.guild is not None,
                id=str(interaction.id),
            )
        )
        if durable is not False:  # the component interaction's @original is the choices' message
            try:
                await call(interaction.edit_original_response(view=None), what="removing the choices")
            except PlatformError as exc:
                log.warning("the choices could not be removed", error=str(exc))

    async def _suggest(self, interaction: discord.Interaction[Any], data: Mapping[str, Any]) -> None:
        focused: Mapping[str, Any] = next((o for o in data.get("options") or [] if o.get("focused")), {})
        wanted = data.get("name") == self.config.command and focused.get("name") == MESSAGE
        admitted = self._admitted(interaction.guild, interaction.user)
        examples = self.commands.examples if self.commands is not None and wanted and admitted else ()
        typed = str(focused.get("value") or "")
        await acknowledge(interaction.response.autocomplete(suggestions(examples, typed)))
