"""The Telegram adapter (python-telegram-bot)."""

import os

# PTB 22 gives durations (RetryAfter.retry_after…) as ints with a deprecation warning on every
# construction, or as timedeltas (its future default) when this is set; the adapter reads either.
os.environ.setdefault("PTB_TIMEDELTA", "1")
