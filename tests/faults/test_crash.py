"""``bridge serve`` killed or stopped mid-reply: after the restart, every accepted message is answered
exactly once — the answer, or a note to send it again — never twice, never not at all."""

from __future__ import annotations

import asyncio
from pathlib import Path

import pytest

from bridge.sessions import SqliteStore
from tests.fakes.telegram import FakeTelegram
from tests.faults.harness import BridgeProcess, stopping, telegram, wait_answered
from tests.redis_server import redis_prefix_fixture, redis_url_fixture  # noqa: F401 - fixtures

PRIVATE = (2001, 2002, 2003)
GROUP = -100500


def finished(text: str, reply: str) -> bool:
    """A final answer: the app's (``slow`` ends with w29, others echo) or the restart note."""
    if "send it again" in reply:
        return True
    if "interrupted" in reply or reply.strip() in ("", "…"):
        return False
    asked = text.replace("@fake_bot", "").strip()
    return "w29" in reply if asked == "slow" else f"echo: {asked}" in reply


def push_work(fake: FakeTelegram) -> None:
    for chat in PRIVATE:
        fake.push_text(chat, "slow")
        fake.push_text(chat, f"queued in {chat}")
    fake.push_text(GROUP, "@fake_bot slow", chat_type="supergroup")
    fake.push_text(GROUP, "@fake_bot queued in the group", chat_type="supergroup")


async def streaming_everywhere(fake: FakeTelegram) -> None:
    """Until every chat shows part of the `slow` reply (draft or edited placeholder)."""

    def shown(chat: int) -> bool:
        if chat > 0:
            return any("w2" in d.text for d in fake.drafts if d.chat_id == chat)
        return any("w2" in (m.text or "") for m in fake.sent(chat))

    await fake.wait_for(lambda: all(shown(c) for c in (*PRIVATE, GROUP)), timeout=60)


@pytest.mark.parametrize("kind", ["sqlite", "redis"])
async def test_sigkill_mid_reply_then_restart(
    kind: str, tmp_path: Path, current_apps: dict[str, str], request: pytest.FixtureRequest
) -> None:
    if kind == "sqlite":
        state = f"sqlite:///{tmp_path / 'state.db'}"
    else:
        state = f"{request.getfixturevalue('redis_url')}?prefix={request.getfixturevalue('redis_prefix')}"
    fake = FakeTelegram()
    async with telegram(fake) as api:
        bridge = BridgeProcess(tmp_path, api.url, current_apps["text"], state)
        with stopping(bridge):
            bridge.start()
            await bridge.wait_up()
            push_work(fake)
            await streaming_everywhere(fake)
            bridge.kill()  # mid-reply, with messages queued behind the running ones
            for chat in PRIVATE:
                fake.push_text(chat, f"sent while down to {chat}")  # Telegram keeps these
            bridge.start()
            await bridge.wait_up()
            await wait_answered(fake, finished, timeout=120, what=f"after a SIGKILL ({kind})")
            await asyncio.sleep(2)  # a second answer would come now
            await wait_answered(fake, finished, timeout=1, what="(and only once)")
            # One process on SQLite resumes its inbox; on Redis the restarted process takes over the
            # partitions the killed one held once their lease ran out.
            event = "resuming unanswered messages" if kind == "sqlite" else "taking over unanswered messages"
            assert bridge.logged(event), bridge.tail()
            assert await bridge.ready() == (200, {"status": "ready"})
            assert await bridge.stop() == 0
    if kind == "sqlite":
        store = SqliteStore(tmp_path / "state.db")
        try:
            assert await store.inbox.pending() == []
        finally:
            await store.close()


async def test_sigterm_mid_reply_answers_in_the_same_message_after_restart(
    tmp_path: Path, current_apps: dict[str, str]
) -> None:
    fake = FakeTelegram()
    async with telegram(fake) as api:
        bridge = BridgeProcess(tmp_path, api.url, current_apps["text"], f"sqlite:///{tmp_path / 's.db'}")
        with stopping(bridge):
            bridge.start()
            await bridge.wait_up()
            fake.push_text(GROUP, "@fake_bot slow", chat_type="supergroup")
            await fake.wait_for(lambda: any("w2" in (m.text or "") for m in fake.sent(GROUP)), timeout=60)
            assert await bridge.stop() == 0  # shutdown_timeout_s = 3: the reply is cut, marked interrupted
            (cut,) = fake.sent(GROUP)
            assert "interrupted" in (cut.text or "") and "w29" not in (cut.text or "")
            bridge.start()
            await bridge.wait_up()
            await fake.wait_for(lambda: "w29" in (fake.sent(GROUP)[0].text or ""), timeout=60)
            await asyncio.sleep(1.5)
            (answer,) = fake.sent(GROUP)
            assert answer.message_id == cut.message_id and "interrupted" not in (answer.text or "")
            assert await bridge.stop() == 0
