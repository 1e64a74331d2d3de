"""Quick replies on Discord: the choices a reply offers as buttons, and pressing them back.

**Layout.** Up to 25 choices are buttons, 5 to an action row (a message holds at most 5 rows).
More than 25: the first rows stay buttons and the rest go into string select menus (25 options
each, one menu per row), as many button rows as leave room for the rest: 26-45 choices are 20
buttons and a menu, …, 106-125 five menus. Past 125 (the most one message holds) the rest are not
offered, and a warning is logged. Values are offered once each (a repeated value is dropped; an
empty one too); a button label is the choice's label shortened to 80 characters, a menu option's
to 100 — for display only: the value sent is never shortened.

**custom_id scheme** (every id ≤ 100 characters, unique within the message, distinct from the
Stop button's ``bridge:stop``):

* ``bridge:c:<value>`` — a button whose value fits in the id (``bridge:c:`` + value ≤ 100 UTF-16
  units, Discord's count made never too lenient);
* ``bridge:h:<digest>`` — a longer value, kept in the adapter's persistent state under
  ``choice:<digest>`` (a 144-bit sha256 digest, URL-safe base64) as ``{"value": …}``, written
  before the buttons appear; keyed by the value itself, so offering the same value again (an
  app's examples) rewrites the same small entry instead of adding one;
* ``bridge:s:<n>`` — the n-th select menu; its options' values are ``c:<value>`` or ``h:<digest>``
  by the same rule.

So a press needs nothing from the process that offered it: it works after a restart and in any
process on the same store.

**A press** (:meth:`QuickReplies.press`, called by the receiver for these custom ids) is
acknowledged at once with a deferred update (the message stays as it is; Discord allows 3 seconds)
and delivered as a message from whoever pressed it: text = the choice's value, keyed
``(adapter, chat, thread)`` where the choice sits (the core applies the scope with the presser's
id, so it lands in that person's conversation there), replying to the message the choice sits on,
``shared`` in a guild, ``id`` = the interaction's id (a redelivered interaction is answered once by
the core). Once the delivery is durable the choices are removed from that message, so none is sent
twice. Refused users get a private answer, as for slash commands, and so does a press whose long
value cannot be read (the store is down: press again; or it lost it).

**Autocomplete** of the chat command's ``message`` (:meth:`QuickReplies.suggest`) suggests the
app's examples containing what was typed (:func:`suggestions`); other options, and refused users,
get no suggestions.
"""

from __future__ import annotations

import base64
import hashlib
from collections.abc import Awaitable, Callable, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

import discord
import structlog

from adapters.discord.access import admitted, author_of
from adapters.discord.commands import MAX_CHOICES, MESSAGE, CommandSet, clip, units
from adapters.discord.config import DiscordConfig
from adapters.discord.errors import acknowledge, call
from adapters.discord.send import Sender, interaction_place
from bridge import AdapterState, BridgeError, Choice, ConversationKey, Incoming, MessageRef, PlatformError

log = structlog.get_logger(__name__)
PREFIX, BUTTON, STORED, SELECT = "bridge:", "bridge:c:", "bridge:h:", "bridge:s:"
STATE_PREFIX = "choice:"
STORED_TTL_S = 30 * 86400.0  # a long value no button has offered for 30 days is forgotten
MAX_ID = 100  # custom_id, and a select option's value
ROWS, PER_ROW, PER_SELECT = 5, 5, 25
MAX_OFFERED = ROWS * PER_SELECT
BUTTON_LABEL, OPTION_LABEL = 80, 100
REFUSAL = "Sorry, you are not allowed to use this bot here."
UNREADABLE = "Sorry, that choice could not be read just now; please press it again."
GONE = "Sorry, that choice is no longer available; please type your message."
Deliver = Callable[[Incoming], Awaitable[object]]


@dataclass(frozen=True, slots=True)
class Offered:
    """One choice as it goes on the message: ``token`` is ``c:<value>`` or ``h:<digest>``."""

    value: str
    label: str
    token: str


def is_choice(custom_id: object) -> bool:
    """Whether a component's ``custom_id`` is one of the choices' (buttons or menus)."""
    return isinstance(custom_id, str) and custom_id.startswith((BUTTON, STORED, SELECT))


def token_of(value: str) -> str:
    """``c:<value>`` when ``bridge:c:<value>`` fits in a custom_id, else ``h:<digest of value>``."""
    if units(BUTTON + value) <= MAX_ID:
        return "c:" + value
    digest = hashlib.sha256(value.encode("utf-8", "surrogatepass")).digest()[:18]
    return "h:" + base64.urlsafe_b64encode(digest).decode()


def offered(choices: Sequence[Choice]) -> list[Offered]:
    """The choices to show, in order: non-empty values, each once, at most :data:`MAX_OFFERED`."""
    out: dict[str, Offered] = {}
    for c in choices:
        if c.value.strip() and c.value not in out:
            out[c.value] = Offered(c.value, " ".join(c.label.split()) or c.value, token_of(c.value))
    if len(out) > MAX_OFFERED:
        log.warning("too many choices for one Discord message", offered=MAX_OFFERED, given=len(out))
    return list(out.values())[:MAX_OFFERED]


def split(count: int) -> int:
    """How many of ``count`` choices are buttons; the rest go into select menus (see the module)."""
    if count <= ROWS * PER_ROW:
        return count
    rows = ROWS - 1
    while rows > 0 and rows * PER_ROW + (ROWS - rows) * PER_SELECT < count:
        rows -= 1
    return rows * PER_ROW


def view_of(items: Sequence[Offered]) -> discord.ui.View:
    """The buttons and menus for ``items`` (from :func:`offered`), laid out as the module says.

    The view is stopped before it is used: presses are read from raw interactions (so they work
    after a restart), and a live view would only sit in discord.py's view store.
    """
    view = discord.ui.View(timeout=None)
    buttons = split(len(items))
    for i, item in enumerate(items[:buttons]):
        view.add_item(
            discord.ui.Button(
                style=discord.ButtonStyle.secondary,
                label=clip(item.label, BUTTON_LABEL) or clip(item.value, BUTTON_LABEL),
                custom_id=PREFIX + item.token,
                row=i // PER_ROW,
            )
        )
    rest = items[buttons:]
    for n, start in enumerate(range(0, len(rest), PER_SELECT)):
        chunk = rest[start : start + PER_SELECT]
        first, last = buttons + start + 1, buttons + start + len(chunk)
        view.add_item(
            discord.ui.Select(
                custom_id=f"{SELECT}{n}",
                placeholder=f"More choices ({first}-{last})…" if buttons else f"Choices {first}-{last}…",
                options=[
                    discord.SelectOption(label=clip(c.label, OPTION_LABEL) or "…", value=c.token)
                    for c in chunk
                ],
                row=buttons // PER_ROW + n,
            )
        )
    view.stop()
    return view


class QuickReplies:
    """Offering choices on sent messages and reading presses back; see the module docstring."""

    def __init__(self, adapter: str, config: DiscordConfig, sender: Sender, state: AdapterState) -> None:
        self.adapter = adapter
        self.config = config
        self.sender = sender
        self.state = state

    async def offer(self, ref: MessageRef, choices: Sequence[Choice]) -> None:
        """Put ``choices`` on the sent message ``ref``. Long values are stored first, so a press that
        comes at once finds them. ``MessageGone`` when the message was deleted."""
        items = offered(choices)
        if not items:
            return
        for item in items:
            if item.token.startswith("h:"):
                await self.state.put(STATE_PREFIX + item.token[2:], {"value": item.value}, ttl_s=STORED_TTL_S)
        await self.sender.attach(ref, view_of(items))

    async def value(self, data: Mapping[str, Any]) -> str | None:
        """The value a component interaction's ``data`` chose; None when it is not a choice or its
        stored value is unknown (a store that lost it). Store failures raise ``BridgeError``."""
        custom_id = str(data.get("custom_id") or "")
        if custom_id.startswith(SELECT):
            values = data.get("values") or []
            token = str(values[0]) if values else ""
        else:
            token = custom_id.removeprefix(PREFIX)
        if token.startswith("c:"):
            return token[2:]
        if token.startswith("h:"):
            stored = await self.state.get(STATE_PREFIX + token[2:])
            value = (stored or {}).get("value")
            return value if isinstance(value, str) else None
        return None

    async def press(self, interaction: discord.Interaction[Any], deliver: Deliver) -> None:
        """Acknowledge a choice's press and deliver it as the presser's message (see the module)."""
        if not admitted(self.config, interaction.guild, interaction.user):
            await acknowledge(interaction.response.send_message(REFUSAL, ephemeral=True))
            return
        # A redelivered interaction was acknowledged already (40060): delivered again all the same,
        # as the first delivery may not have happened; the core answers its id once.
        await acknowledge(interaction.response.defer())
        try:
            value = await self.value(dict(interaction.data or {}))
        except BridgeError as exc:
            log.warning("a stored choice could not be read", error=str(exc))
            await acknowledge(interaction.followup.send(UNREADABLE, ephemeral=True))
            return
        if value is None:
            log.warning("a pressed choice is unknown (its stored value is gone)")
            await acknowledge(interaction.followup.send(GONE, ephemeral=True))
            return
        (chat, thread), on = interaction_place(interaction), interaction.message
        durable = await deliver(
            Incoming(
                key=ConversationKey(self.adapter, chat, thread),
                author=author_of(interaction.user),
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

    async def suggest(self, interaction: discord.Interaction[Any], commands: CommandSet | None) -> None:
        """Answer the autocomplete of the chat command's ``message`` with the app's examples."""
        data: Mapping[str, Any] = interaction.data or {}
        focused: Mapping[str, Any] = next((o for o in data.get("options") or [] if o.get("focused")), {})
        wanted = data.get("name") == self.config.command and focused.get("name") == MESSAGE
        allowed = admitted(self.config, interaction.guild, interaction.user)
        examples = commands.examples if commands is not None and wanted and allowed else ()
        typed = str(focused.get("value") or "")
        await acknowledge(interaction.response.autocomplete(suggestions(examples, typed)))


def suggestions(examples: Sequence[str], typed: str) -> list[discord.app_commands.Choice[str]]:
    """Autocomplete for the chat command's ``message``: the examples containing what was typed so far
    (case-insensitive; those starting with it first, then in the app's order), at most 25. Every
    example given must fit a choice value (≤ 100 units, see ``command_payloads``); the name shown is
    the example with whitespace collapsed, shortened to 100 for display."""
    needle = " ".join(typed.split()).casefold()
    found = [e for e in examples if needle in " ".join(e.split()).casefold()]
    found.sort(key=lambda e: not " ".join(e.split()).casefold().startswith(needle))
    return [discord.app_commands.Choice(name=clip(e) or e[:1], value=e) for e in found[:MAX_CHOICES]]
