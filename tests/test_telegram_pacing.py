"""The Telegram adapter's own flood budgets (pure, with a fake clock)."""

from __future__ import annotations

import pytest

from adapters.telegram.pacing import Pacer


class Clock:
    def __init__(self) -> None:
        self.now = 1000.0

    def __call__(self) -> float:
        return self.now


async def drive(
    pacer: Pacer, clock: Clock, chats: list[int], seconds: float, step: float = 0.01
) -> list[float]:
    """Ask for every chat every ``step`` for ``seconds``; the times calls were allowed."""
    allowed = []
    end = clock.now + seconds
    while clock.now < end:
        for chat in chats:
            if await pacer.reserve(chat) == 0:
                allowed.append(clock.now)
        clock.now += step
    return allowed


def most_in_any_window(stamps: list[float], span: float) -> int:
    return max((sum(1 for t in stamps if s <= t < s + span) for s in stamps), default=0)


async def test_a_chat_gets_a_small_burst_then_about_one_per_second() -> None:
    clock = Clock()
    pacer = Pacer(per_chat_per_s=1.0, burst=2, clock=clock)
    assert await pacer.reserve(7) == 0 and await pacer.reserve(7) == 0
    assert await pacer.reserve(7) == pytest.approx(1.0)  # burst spent: the next slot in 1 s
    clock.now += 1.0
    assert await pacer.reserve(7) == 0


async def test_a_group_never_gets_more_than_its_budget_in_any_minute() -> None:
    clock = Clock()
    pacer = Pacer(per_group_per_min=18, clock=clock)
    allowed = await drive(pacer, clock, [-5], seconds=300, step=0.25)
    assert most_in_any_window(allowed, 60.0) == 18  # a refilled bucket would allow 36 here
    assert len(allowed) >= 18 * 5


async def test_the_bot_never_exceeds_its_budget_in_any_second() -> None:
    clock = Clock()
    pacer = Pacer(global_per_s=27, clock=clock)
    allowed = await drive(pacer, clock, list(range(1, 200)), seconds=5, step=0.05)
    assert most_in_any_window(allowed, 1.0) == 27


async def test_intermediate_texts_leave_headroom_for_final_ones() -> None:
    clock = Clock()
    pacer = Pacer(global_per_s=10, headroom=3, clock=clock)
    partial = [await pacer.reserve(chat, final=False) for chat in range(1, 20)]
    assert partial.count(0) == 7  # 10 - 3: the rest waits
    finals = [await pacer.reserve(chat) for chat in range(100, 110)]
    assert finals.count(0) == 3  # the headroom goes to final texts


async def test_drafts_have_their_own_budget() -> None:
    clock = Clock()
    pacer = Pacer(per_chat_per_s=1.0, burst=1, clock=clock)
    assert await pacer.reserve(7) == 0 and await pacer.reserve(7) > 0
    assert await pacer.reserve(7, draft=True) == 0  # a preview does not use the message budget
