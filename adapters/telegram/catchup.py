"""Messages sent while the bot was down: Telegram keeps them, and polling resumes where it left off.

Telegram holds a bot's unconfirmed updates (for up to 24 hours) and sends them again. By webhook it
retries a call until it is answered 200, so nothing is kept here. By polling, ``getUpdates(offset)``
confirms every update before ``offset``; :class:`Offsets` keeps the next offset in the adapter's
state (the bridge's store), so a restart polls from the first update not yet recorded in the
durable inbox: nothing accepted is skipped, and an update delivered again is recognised by its
``update_id`` (the inbox answers it once).

The offset is written by one background writer that always writes the newest offset (a slow disk
must not slow intake to one update per write), and flushed when polling stops; a hard kill before a
write only makes Telegram deliver those updates again, and the inbox drops them. While the store is
down an update is only held in memory: the offset stays before it, and ``getUpdates`` is asked again
every :data:`HELD_POLL_S` (it returns the held updates again, which the inbox drops as already
taken, plus new ones), so a process killed before the store is back loses nothing.
"""

from __future__ import annotations

import asyncio

import structlog

from bridge import AdapterState, BridgeError

log = structlog.get_logger(__name__)
OFFSET_KEY = "offset"
HELD_POLL_S = 1.0  # while updates are held in memory, getUpdates returns at once: pace it


class Offsets:
    """The polling offset: :attr:`next` to ask from, confirmed updates written in the background."""

    def __init__(self, state: AdapterState, stored: int | None) -> None:
        self.next = stored
        self._state = state
        self._written = stored
        self._task: asyncio.Task[None] | None = None

    @classmethod
    async def load(cls, state: AdapterState) -> Offsets:
        """The offset kept by the last run (None: Telegram's oldest unconfirmed update)."""
        stored = await state.get(OFFSET_KEY)
        return cls(state, int(stored["next"]) if stored else None)

    def confirm(self, update_id: int) -> None:
        """``update_id`` is recorded durably: poll past it, and store that (never blocking)."""
        self.next = update_id + 1
        if self._task is None or self._task.done():
            self._task = asyncio.create_task(self._write())

    async def close(self) -> None:
        """Finish writing the newest offset."""
        if self._task is not None:
            await asyncio.wait({self._task})
        await self._write()

    async def _write(self) -> None:
        while self.next is not None and self.next != self._written:
            offset = self.next
            try:
                await self._state.put(OFFSET_KEY, {"next": offset})
            except BridgeError as exc:  # keep polling; the next update tries again
                log.warning("storing the Telegram update offset failed", error=str(exc))
                return
            self._written = offset
