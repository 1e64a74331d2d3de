"""The app fails under a live bot: killed mid-stream and restarted, or stuck after its first chunk.

Each scenario runs the ``text`` app in a server of its own (a stuck worker blocks the app's queue),
the bridge in this process against the Telegram fake, and stops the app server it started.
"""

from __future__ import annotations

import asyncio
import time

import pytest

from tests.fakes.telegram import FakeTelegram, serve_telegram
from tests.fakes.telegram.bridge import GROUP, PRIVATE, running
from tests.faults.harness import app_server, free_port, replies_to, stopping, unanswered, wait_answered

STOP = "bridge:stop"  # the inline Stop button's callback data


async def started(port: int) -> object:
    server = app_server(port)
    await asyncio.to_thread(server.wait_ready)
    return server


async def test_app_killed_mid_stream_then_restarted(current_apps: dict[str, str]) -> None:
    port = free_port()
    servers = [await started(port)]
    fake = FakeTelegram()
    with stopping(servers):
        async with serve_telegram(fake) as url, running(fake, url, f"http://127.0.0.1:{port}"):
            fake.push_text(GROUP, "@fake_bot slow", chat_type="supergroup")
            await fake.wait_for(lambda: any("w2" in t for t in (m.text or "" for m in fake.sent(GROUP))), 60)
            servers[0].proc.kill()  # type: ignore[attr-defined]
            servers[0].proc.wait()  # type: ignore[attr-defined]
            servers.append(await started(port))  # the same address, a fresh app that lost every session

            def settled(text: str, reply: str) -> bool:
                return "w29" in reply or "cannot be reached" in reply or "echo: after" in reply

            await wait_answered(fake, settled, timeout=90, what="after the app died mid-stream")
            fake.push_text(GROUP, "@fake_bot after", chat_type="supergroup")
            await wait_answered(fake, settled, timeout=60, what="once the app is back")
            await asyncio.sleep(1.5)
            assert not unanswered(fake, settled), "never a second answer"
            (last,) = replies_to(fake, GROUP, fake.pushed[-1]["message"]["message_id"])
            assert "echo: after" in last


async def test_a_message_sent_while_the_app_restarts_is_answered_when_it_is_back(
    current_apps: dict[str, str],
) -> None:
    """The app is down for a few seconds (a restart): a message that arrives meanwhile waits for it
    (the connection is retried with back-off, as a broken stream is) instead of failing at once."""
    port = free_port()
    servers = [await started(port)]
    fake = FakeTelegram()
    with stopping(servers):
        async with serve_telegram(fake) as url, running(fake, url, f"http://127.0.0.1:{port}"):
            fake.push_text(PRIVATE, "first")
            await wait_answered(fake, lambda t, r: f"echo: {t}" in r, timeout=60, what="before")
            servers[0].proc.kill()  # type: ignore[attr-defined]
            servers[0].proc.wait()  # type: ignore[attr-defined]
            fake.push_text(PRIVATE, "while it restarts")
            await asyncio.sleep(3)
            servers.append(await started(port))
            await wait_answered(fake, lambda t, r: f"echo: {t}" in r, timeout=90, what="once it is back")


@pytest.mark.parametrize("how", ["idle timeout", "/stop", "Stop button"])
async def test_a_stuck_app_never_holds_the_reply(how: str, capsys: pytest.CaptureFixture[str]) -> None:
    port = free_port()
    server = await started(port)
    fake = FakeTelegram()
    idle = 3 if how == "idle timeout" else 600
    with stopping(server):
        async with (
            serve_telegram(fake) as url,
            running(
                fake,
                url,
                f"http://127.0.0.1:{port}",
                space={"idle_timeout_s": idle},
                bridge={"log_level": "info"},
            ),
        ):
            fake.push_text(GROUP, "@fake_bot hang", chat_type="supergroup")
            await fake.wait_for(
                lambda: any("before the hang" in (m.text or "") for m in fake.sent(GROUP)), 60
            )
            (placeholder,) = fake.sent(GROUP)
            began = time.monotonic()
            if how == "/stop":
                fake.push_text(GROUP, "/stop@fake_bot", chat_type="supergroup")
            elif how == "Stop button":
                fake.push_callback(GROUP, placeholder.message_id, STOP)
            marker = "stopped responding" if how == "idle timeout" else "(stopped)"
            await fake.wait_for(lambda: marker in (placeholder.text or ""), timeout=30)
            waited = time.monotonic() - began
            assert waited < 60, "the reply ended long before the stuck worker would let go (600 s)"
            assert placeholder.text is not None and placeholder.text.startswith("partial before the hang")
            assert placeholder.reply_markup is None, "the final text drops the Stop button"
            await asyncio.sleep(1)
            assert [m.message_id for m in fake.sent(GROUP)] == [placeholder.message_id], "no other message"
        server.proc.kill()  # type: ignore[attr-defined]  # its worker is stuck for ten minutes
    out = capsys.readouterr().out
    assert "side task failed" not in out and "Traceback" not in out, out[-2000:]


async def test_a_private_chat_with_a_stuck_app_gets_the_note(current_apps: dict[str, str]) -> None:
    port = free_port()
    server = await started(port)
    fake = FakeTelegram()
    with stopping(server):
        async with (
            serve_telegram(fake) as url,
            running(fake, url, f"http://127.0.0.1:{port}", space={"idle_timeout_s": 2}),
        ):
            fake.push_text(PRIVATE, "hang")
            await wait_answered(fake, lambda _, reply: "stopped responding" in reply, timeout=60)
        server.proc.kill()  # type: ignore[attr-defined]
