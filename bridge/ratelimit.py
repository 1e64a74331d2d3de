"""A sliding-window request budget, for adapters that pace themselves within a platform's limits.

"At most ``limit`` calls in any ``span`` seconds" is how platforms state their budgets (Telegram's
20 per minute per group, Discord's 50 per second per bot). A bucket refilled at the average rate
lets up to twice that through at the edge of a window; this keeps the rule exactly. Time is passed
in, so callers choose the clock and tests need no sleeping.
"""

from __future__ import annotations

import contextlib
from collections import deque


class SlidingWindow:
    """At most ``limit`` calls in any ``span`` seconds."""

    def __init__(self, limit: int, span: float) -> None:
        self.limit, self.span = limit, span
        self._stamps: deque[float] = deque()

    def used(self, now: float) -> int:
        """Calls counted in the window ending at ``now``."""
        while self._stamps and now - self._stamps[0] >= self.span:
            self._stamps.popleft()
        return len(self._stamps)

    def wait(self, now: float, keep_free: int = 0) -> float:
        """Seconds until a call fits while leaving ``keep_free`` slots unused (0: it fits now)."""
        allowed = max(1, self.limit - keep_free)
        used = self.used(now)
        return 0.0 if used < allowed else self._stamps[used - allowed] + self.span - now

    def take(self, now: float) -> None:
        """Count a call made at ``now``."""
        self._stamps.append(now)

    def forget(self, stamp: float) -> None:
        """Uncount a call :meth:`take` counted at ``stamp`` (it was not made after all)."""
        with contextlib.suppress(ValueError):  # already out of the window
            self._stamps.remove(stamp)
