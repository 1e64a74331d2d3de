"""The Discord adapter's bot-wide request budget (a sliding window, fake clock)."""

from __future__ import annotations

import asyncio

from adapters.discord.pacing import GlobalPacer


async def test_requests_never_exceed_the_window_and_busy_warns_early() -> None:
    now = [0.0]
    pacer = GlobalPacer(limit=4, span=1.0, clock=lambda: now[0])
    for _ in range(3):
        await pacer.acquire()
    assert pacer.busy  # 3 of 4 used: optional calls should give way
    await pacer.acquire()  # the fourth fits at once
    waiting = asyncio.create_task(pacer.acquire())
    await asyncio.sleep(0.01)
    assert not waiting.done()  # the fifth waits for the window to move
    now[0] = 1.0
    async with asyncio.timeout(5):
        await waiting
    assert not pacer.busy  # the first four left the window
