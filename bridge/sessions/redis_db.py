"""Redis values the store and its inbox share (so neither imports the other's module)."""

from __future__ import annotations

Arg = str | bytes | int  # a script argument
EXPIRY_GRACE = 60.0  # seconds Redis keeps an expired value after the clock hid it
MAX_PX = 100 * 365 * 86400 * 1000  # a longer TTL would overflow Redis' clock arithmetic
