"""Back-off with jitter, written once for every retry loop of the bridge.

Platforms, the state store and Gradio apps all fail for a while and come back; many clients
retrying on the same schedule come back together and fail again. :class:`Backoff` gives
exponentially growing delays with "equal jitter" (half the delay fixed, half random), so retries
spread out but never come sooner than half the nominal delay. It is pure: the random source is
injected, and time is the caller's.
"""

from __future__ import annotations

import random
from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long to keep trying and how to space the tries (seconds)."""

    deadline_s: float = 900.0
    base_s: float = 1.0
    cap_s: float = 30.0


class Backoff:
    """Delays for failure number 1, 2, 3…: ``base * 2**(n-1)`` capped at ``cap``, with jitter."""

    def __init__(
        self, base_s: float = 1.0, cap_s: float = 30.0, rand: Callable[[], float] = random.random
    ) -> None:
        if not 0 < base_s <= cap_s:
            raise ValueError(f"need 0 < base_s <= cap_s, got {base_s} and {cap_s}")
        self.base_s, self.cap_s, self._rand = base_s, cap_s, rand
        self.failures = 0

    def next(self) -> float:
        """Count one more failure; the delay before the next try."""
        self.failures += 1
        nominal = min(self.cap_s, self.base_s * 2.0 ** min(self.failures - 1, 30))
        return nominal / 2 + self._rand() * nominal / 2

    def reset(self) -> None:
        """A try succeeded: the next failure starts from ``base`` again."""
        self.failures = 0
