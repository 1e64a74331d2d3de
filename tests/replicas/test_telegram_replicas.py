"""Issue 12: three ``bridge serve`` replicas on one Redis act as one Telegram bot.

Each scenario runs three replicas in webhook mode behind the round-robin proxy, with a Redis prefix
of its own, the ``replica`` echo app and the Telegram fake (as strict as Telegram about budgets and
delivering one chat's updates one after another), and asserts on the :class:`~tests.replicas.report.Report`
of what users saw. The only time bounds are the issue's ("within seconds": 15 s).
"""

from __future__ import annotations

import asyncio
import time
from pathlib import Path

import pytest

from tests.fakes.telegram import FakeTelegram
from tests.replicas.cluster import alive_pids, cluster, state_url
from tests.replicas.report import Report, parse

WITHIN_S = 15.0  # the "within seconds"


def fake() -> FakeTelegram:
    return FakeTelegram(webhook_timeout_s=5.0, webhook_retry_s=0.5)


def explain(rep: Report, what: str) -> str:
    """A failure message: the figures and a few examples of what went wrong."""
    show: dict[str, object] = {
        "unanswered": [(a.chat, a.text, a.replies) for a in rep.unanswered[:5]],
        "duplicates": [(a.chat, a.text, a.replies) for a in rep.duplicates[:5]],
        "out of order": dict(list(rep.order_violations().items())[:5]),
    }
    if bad := next(iter(rep.order_violations()), None):  # one chat in full: text, turn, when answered
        t0 = min(a.answered_at or 0 for a in rep.asked if a.chat == bad)
        show["e.g."] = [
            (a.text, a.turn, round((a.answered_at or t0) - t0, 2)) for a in rep.asked if a.chat == bad
        ]
    return f"{what}: {rep.summary()} {show}"


@pytest.fixture
def state(redis_url: str, redis_prefix: str) -> str:
    return state_url(redis_url, redis_prefix)


async def test_quick_messages_answered_once_in_order(tmp_path: Path, replica_app: str, state: str) -> None:
    tg = fake()
    async with cluster(tmp_path, tg, replica_app, state) as c:
        for n in range(1, 4):
            for chat in range(5001, 5031):
                c.send(chat, f"quick {n} in {chat}")
        rep = await c.wait_answered(timeout=60)
        spread = dict(c.proxy.served)
    print("quick:", rep.summary(), "served per replica:", spread)
    assert len(rep.exactly_once) == 90, explain(rep, "30 chats x 3")
    assert rep.order_violations() == {}, explain(rep, "order per chat")
    assert sum(1 for v in spread.values() if v) == 3, f"the proxy spread updates over 3 replicas: {spread}"


async def test_the_same_update_twice_is_answered_once(tmp_path: Path, replica_app: str, state: str) -> None:
    tg = fake()
    async with cluster(tmp_path, tg, replica_app, state) as c:

        def answered(update_id: int) -> bool:
            return any(a.update_id == update_id and a.answers for a in c.report().asked)

        at_once = c.send(5101, "twice at once")
        copies = [tg.deliver_again(at_once)]  # and through the proxy to the next replica, now
        apart = c.send(5102, "twice apart")
        await tg.wait_for(lambda: apart["update_id"] in c.proxy.routed, timeout=10)
        first = c.proxy.routed[apart["update_id"]][0]
        other = next(i for i in range(3) if c.url(i) != first)
        copies.append(tg.deliver_again(apart, url=c.hook(other), delay_s=0.3))
        after = c.send(5103, "twice after the answer")
        copies.append(tg.deliver_again(after, after=lambda: answered(after["update_id"])))
        statuses = await asyncio.gather(*copies)
        rep = await c.wait_answered(timeout=30, settle_s=3)
    print("twice:", rep.summary(), "copies answered", statuses)
    assert len(rep.exactly_once) == 3 and not rep.duplicates, explain(rep, "each update answered once")


async def test_sigkill_mid_reply_is_taken_over(tmp_path: Path, replica_app: str, state: str) -> None:
    tg = fake()
    chats = [5201, 5202, 5203, -1005201, -1005202, -1005203]
    async with cluster(tmp_path, tg, replica_app, state) as c:
        slow = {chat: c.send(chat, f"slow in {chat}") for chat in chats}

        def streaming() -> bool:  # every chat shows part of its reply (a draft, or an edited message)
            drafts = {d.chat_id for d in tg.drafts if parse(d.text)[0] == "partial"}
            posted = {ch for ch in chats if ch < 0 and any(" ." in (m.text or "") for m in tg.sent(ch))}
            return all(ch in drafts | posted for ch in chats)

        await tg.wait_for(streaming, timeout=30)
        # Kill the replica writing the first chat's reply: the holder of that chat's partition (it
        # need not be the replica the proxy gave the update to).
        doomed = c.holder(state, chats[0])
        assert doomed is not None, "someone holds the chat's partition"
        held = {u["update_id"] for chat, u in slow.items() if c.holder(state, chat) == doomed}
        killed = c.kill(doomed)
        victims = [a for a in c.report().asked if a.update_id in held and not a.answers]
        nexts = {chat: (c.send(chat, f"next in {chat}"), time.monotonic()) for chat in chats}
        rep = await c.wait_answered(timeout=40, settle_s=3)
    pids = alive_pids(c)
    victim_ids = {a.update_id for a in victims}  # (``victims`` is the report at the kill: look again)
    after_kill = rep.first_answer_after(killed, [a for a in rep.asked if a.update_id in victim_ids])
    nxt = {a.chat: a for a in rep.asked if a.text.startswith("next in")}
    next_s = {
        ch: None if a.answered_at is None else round(a.answered_at - nexts[ch][1], 2) for ch, a in nxt.items()
    }
    print("sigkill:", rep.summary(), "takeover s:", after_kill, "next message s:", next_s)
    assert not pids, f"teardown stopped every replica: {pids}"
    assert victims, "the killed replica held a reply in progress"
    survivors = [r for i, r in enumerate(c.replicas) if i != doomed]
    assert any(r.logged("taking over unanswered messages") for r in survivors), "a survivor took over"
    assert all(s is not None and s < WITHIN_S for s in after_kill.values()), explain(
        rep, f"answer or note within {WITHIN_S:.0f} s of the SIGKILL: {after_kill}"
    )
    assert not rep.unanswered and not rep.duplicates and not rep.leftovers, explain(
        rep, "never silence, once"
    )
    assert all(s is not None and s < WITHIN_S for s in next_s.values()), explain(
        rep, f"the next message is not held for a lock TTL: {next_s}"
    )


async def test_group_burst_stays_within_one_bot_wide_budget(
    tmp_path: Path, replica_app: str, state: str
) -> None:
    tg = fake()
    async with cluster(tmp_path, tg, replica_app, state) as c:
        for chat in range(1, 121):
            c.send(-1006000 - chat, f"burst in group {chat}")
        rep = await c.wait_answered(timeout=80)
    print("burst:", rep.summary(), "refusals:", dict(rep.per_chat_429.most_common(3)))
    assert len(rep.exactly_once) == 120, explain(rep, "120 groups")
    assert rep.bot_wide_429 == 0, explain(rep, "one bot-wide budget across replicas")


async def test_300_chats_with_a_small_store_pool_lose_nothing(
    tmp_path: Path, replica_app: str, redis_url: str, redis_prefix: str
) -> None:
    tg = fake()
    state = state_url(redis_url, redis_prefix, max_connections=4)
    async with cluster(tmp_path, tg, replica_app, state) as c:
        for chat in range(7001, 7301):
            c.send(chat, f"crowd {chat}")
        rep = await c.wait_answered(timeout=80)
    print("300 chats:", rep.summary())
    assert len(rep.exactly_once) == 300 and not rep.duplicates, explain(rep, "300 chats, pool of 4")
    # The store's small pool must not push the shared budgets out to per-process windows either.
    assert rep.bot_wide_429 == 0, explain(rep, "one bot-wide budget, whatever the store's pool")
