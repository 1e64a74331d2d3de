"""The console's quick replies: the newest reply's choices, numbered; a number typed next picks one.

The contract (``Adapter.offer``): pressing a choice reaches ``host.deliver`` as an ordinary message
whose text is the choice's value, with an id of its own, and a press works after a restart. A
terminal has no buttons, so the choices are listed (``[1] Yes  [2] No``, see :mod:`.render`) and
the next line typed picks: ``2`` sends the second choice's value; anything else is sent as typed
and the offer is forgotten. The offer is kept in the adapter's state (``host.state``) too, so a
number typed after a restart of the bridge still picks.
"""

from __future__ import annotations

import contextlib
from collections.abc import Sequence

from bridge import AdapterState, BridgeError, Choice

_KEY = "choices"
_KEEP_S = 30 * 86400  # an offer nobody answered is forgotten after a month


class Choices:
    """The choices on offer; :meth:`pick` turns the next line typed into what it means."""

    def __init__(self) -> None:
        self._values: tuple[str, ...] = ()
        self._state: AdapterState | None = None

    async def restore(self, state: AdapterState) -> None:
        """Keep offers in ``state`` from now on, and take back the one an earlier run left."""
        self._state = state
        with contextlib.suppress(BridgeError):  # the store is down: nothing to take back
            saved = await state.get(_KEY)
            self._values = tuple(str(v) for v in (saved or {}).get("values", ()))

    async def offer(self, choices: Sequence[Choice]) -> None:
        """The newest reply offers ``choices`` (replacing any earlier offer)."""
        self._values = tuple(c.value for c in choices)
        if self._state is not None:
            with contextlib.suppress(BridgeError):  # kept in memory: only a restart forgets it
                await self._state.put(_KEY, {"values": list(self._values)}, ttl_s=_KEEP_S)

    async def pick(self, text: str) -> str:
        """What the line ``text`` sends: the value of the choice it numbers, else itself."""
        values, self._values = self._values, ()
        if values and self._state is not None:
            with contextlib.suppress(BridgeError):  # forgotten in memory; a stale offer expires
                await self._state.delete(_KEY)
        if text.isdigit() and 0 < int(text) <= len(values):
            return values[int(text) - 1]
        return text
