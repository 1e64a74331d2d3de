"""Discord's bot-wide request budget, kept on our side.

Discord allows a bot about 50 REST requests per second in all, and discord.py learns of that limit
only from 429 answers: requests refused together sleep the same ``retry_after`` and collide again,
and every 429 counts toward the 10,000 invalid requests per 10 minutes that get an IP banned.
:class:`GlobalPacer` holds each request until it fits in a sliding window (45 in any second, a
margin under the limit); :func:`pace` installs it on a client's HTTP layer. Interaction responses
and webhook edits go through discord.py's webhook adapter instead and are exempt from the global
limit, as on Discord. ``busy`` lets optional calls ("typing…") give way under load.

The window is the bot's, not this process's: :meth:`GlobalPacer.share` takes it from the host
(``host.budget("global", …)``), so shards run in several processes on a shared store keep to one
bot's rate together. Discord's per-route buckets are left to discord.py (it reads their headers).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Callable
from typing import Any

from bridge import Budget, BudgetSource, LocalBudget


class GlobalPacer:
    """At most ``limit`` requests in any ``span`` seconds; ``acquire`` waits for a slot."""

    def __init__(
        self, limit: int = 45, span: float = 1.0, clock: Callable[[], float] = time.monotonic
    ) -> None:
        self._budget: Budget = LocalBudget("global", limit, span, clock)
        self._lock = asyncio.Lock()

    def share(self, budgets: BudgetSource) -> None:
        """Count in the window ``budgets`` gives (``host.budget``) from now on."""
        self._budget = budgets("global", self._budget.limit, self._budget.span)

    @property
    def busy(self) -> bool:
        """Most of the window is used (as last seen): optional calls should be skipped."""
        return self._budget.used() >= self._budget.limit * 3 // 4

    async def acquire(self) -> None:
        """Wait for a slot and take it (first come, first served in this process)."""
        async with self._lock:
            # The window frees a slot at a known time; nothing could wake us earlier.
            while (wait := await self._budget.reserve()) > 0:  # noqa: ASYNC110
                await asyncio.sleep(wait)


def pace(http: Any, pacer: GlobalPacer) -> None:
    """Make every REST request of discord.py's ``HTTPClient`` ``http`` take a slot of ``pacer``.

    discord.py has no hook for this, so the instance's ``request`` method is wrapped (this client
    only; the class is untouched).
    """
    original = http.request

    async def request(route: Any, **kwargs: Any) -> Any:
        await pacer.acquire()
        return await original(route, **kwargs)

    http.request = request
