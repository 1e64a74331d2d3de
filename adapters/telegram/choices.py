"""Quick replies on Telegram: an inline keyboard under a sent message, and the presses that come back.

Each choice is one button. Its ``callback_data`` (Telegram allows 1-64 bytes) says which value a
press sends:

* ``bridge:c:<value>`` when that fits in 64 bytes of UTF-8: the press carries the value itself,
  nothing is stored.
* ``bridge:ci:<n>`` otherwise (the n-th choice of the message, from 0): the values that do not fit
  are written to the adapter's persistent state (``host.state``, the bridge's store: it survives
  restarts and is shared by every process serving the bot) under ``choices:<chat>:<message_id>`` as
  ``{"values": {"<n>": value}}``, before the keyboard is shown. The pressed message's own keyboard
  cannot serve instead: a button shows the label, which may differ from the value and is shortened.

Both differ from the Stop button's ``bridge:stop``. A label is shortened for display only
(:data:`LABEL_MAX` characters, one line); the value sent is never cut. A choice with a blank value is
left out (it would send an empty message), a blank label shows the value. At most 100 buttons
(Telegram's limit for one keyboard): the first 100 choices. Rows hold up to three short labels
(together at most :data:`_ROW_CHARS` characters); a label over :data:`_SHORT` characters has a row
of its own.

Once a press is recorded durably (:meth:`Keyboards.settle`), the keyboard is removed, so a choice is
not sent twice by a second tap, and the values stored for it are cleared. The store has no way to
delete a key, so an entry of a message never pressed stays (a few hundred bytes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable, Sequence
from typing import Any

import structlog
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup

from bridge import AdapterState, BridgeError, Choice, PlatformError

log = structlog.get_logger(__name__)
CHOICE_DATA = "bridge:c:"  # + the value itself
INDEX_DATA = "bridge:ci:"  # + the choice's index; the value is in the state
DATA_MAX = 64  # bytes of callback_data
BUTTONS_MAX = 100  # buttons in one inline keyboard
LABEL_MAX = 40  # characters shown on a button; a longer label ends in "…"
_SHORT = 20  # a label up to this long may share its row
_ROW_CHARS = 30  # characters of short labels in one row
_PER_ROW = 3
STORED_TTL_S = 30 * 86400.0  # long values of buttons never pressed are forgotten after 30 days
Paced = Callable[[int, Callable[[], Awaitable[Any]]], Awaitable[Any]]
"""Make one Bot API call to a chat within the flood budgets (waiting for a slot)."""


def is_choice(data: str | None) -> bool:
    """Whether ``callback_data`` is a quick reply's."""
    return bool(data) and str(data).startswith((CHOICE_DATA, INDEX_DATA))


def keyboard(choices: Sequence[Choice]) -> tuple[InlineKeyboardMarkup, dict[str, str]]:
    """The keyboard of ``choices``, and the values to store (index → value) for ``bridge:ci:``."""
    kept = [c for c in choices if c.value.strip()][:BUTTONS_MAX]
    buttons: list[InlineKeyboardButton] = []
    stored: dict[str, str] = {}
    for n, choice in enumerate(kept):
        data = CHOICE_DATA + choice.value
        if len(data.encode()) > DATA_MAX:
            data = f"{INDEX_DATA}{n}"
            stored[str(n)] = choice.value
        buttons.append(InlineKeyboardButton(_label(choice), callback_data=data))
    rows = [[buttons[i] for i in row] for row in _rows([str(b.text) for b in buttons])]
    return InlineKeyboardMarkup(rows), stored


def stores_values(markup: InlineKeyboardMarkup | None) -> bool:
    """Whether a keyboard has buttons whose values are in the state (``bridge:ci:``)."""
    rows = markup.inline_keyboard if markup is not None else ()
    return any(str(b.callback_data or "").startswith(INDEX_DATA) for row in rows for b in row)


def state_key(chat: int | str, message_id: int) -> str:
    """Where the values of a message's ``bridge:ci:`` buttons are kept."""
    return f"choices:{chat}:{message_id}"


class Keyboards:
    """Quick-reply keyboards of one running bot."""

    def __init__(self, bot: Bot, state: AdapterState, paced: Paced) -> None:
        self._bot = bot
        self._state = state
        self._paced = paced
        self._settling: set[asyncio.Task[None]] = set()

    async def offer(self, chat: int, message_id: int, choices: Sequence[Choice]) -> None:
        """Show ``choices`` under the message (long values stored first; a store failure raises)."""
        markup, stored = keyboard(choices)
        if not markup.inline_keyboard:
            return
        if stored:
            await self._state.put(state_key(chat, message_id), {"values": stored}, ttl_s=STORED_TTL_S)
        await self._paced(
            chat,
            lambda: self._bot.edit_message_reply_markup(
                chat_id=chat, message_id=message_id, reply_markup=markup
            ),
        )

    async def value(self, chat: int, message_id: int, data: str) -> str | None:
        """The value a press with ``data`` sends; None when it is no longer known. Raises
        ``BridgeError`` when the store cannot be read."""
        if data.startswith(CHOICE_DATA):
            return data.removeprefix(CHOICE_DATA)
        stored = await self._state.get(state_key(chat, message_id))
        value = (stored or {}).get("values", {}).get(data.removeprefix(INDEX_DATA))
        return value if isinstance(value, str) else None

    def settle(self, chat: int, message_id: int, stored: bool) -> None:
        """A press was recorded: remove the keyboard and forget its stored values (``stored``: it
        has ``bridge:ci:`` buttons), in the background (the call waits for the chat's flood budget;
        the receive loop must not)."""
        task = asyncio.create_task(self._settle(chat, message_id, stored))
        self._settling.add(task)
        task.add_done_callback(self._settling.discard)

    async def close(self) -> None:
        """Wait for the keyboards being removed."""
        if self._settling:
            await asyncio.wait(set(self._settling))

    async def _settle(self, chat: int, message_id: int, stored: bool) -> None:
        try:
            await self._paced(
                chat,
                lambda: self._bot.edit_message_reply_markup(chat_id=chat, message_id=message_id),
            )
            if stored:
                await self._state.delete(state_key(chat, message_id))
        except (PlatformError, BridgeError) as exc:  # MessageGone included: nothing left to press
            log.info("removing pressed quick replies failed", chat=chat, error=str(exc))


def _label(choice: Choice) -> str:
    text = " ".join(choice.label.split()) or " ".join(choice.value.split())
    return text if len(text) <= LABEL_MAX else text[: LABEL_MAX - 1].rstrip() + "…"


def _rows(labels: Sequence[str]) -> list[list[int]]:
    """Indexes of ``labels`` by row: short ones packed up to three, long ones alone."""
    rows: list[list[int]] = []
    width = 0  # characters in the last row; 0 once a long label closed it
    for i, label in enumerate(labels):
        size = len(label)
        if rows and width and size <= _SHORT and len(rows[-1]) < _PER_ROW and width + size <= _ROW_CHARS:
            rows[-1].append(i)
            width += size
        else:
            rows.append([i])
            width = size if size <= _SHORT else 0
    return rows
