"""Space ids resolved through a fake Hub (HF_ENDPOINT), with wake-up and error stages."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest

from bridge.errors import AuthError, SpaceBroken, SpaceNotReady
from bridge.gradio import ChatSession, ClientOptions, GradioClient, SpaceStatus
from bridge.spaces import SpaceHandle, SpaceSettings
from tests.fakes.hub import FakeHub, FakeSpace, serve_hub
from tests.helpers import chat

FAST = ClientOptions(hub_poll_interval=0.01, wake_timeout=5)


@pytest.fixture
async def hub(monkeypatch: pytest.MonkeyPatch) -> AsyncIterator[FakeHub]:
    fake = FakeHub()
    async with serve_hub(fake) as url:
        monkeypatch.setenv("HF_ENDPOINT", url)
        yield fake


@pytest.fixture
def text_url(servers: dict, gradio_version: str) -> str:
    return servers[gradio_version].urls["text"]


async def test_sleeping_space_wakes_and_reports(hub: FakeHub, text_url: str) -> None:
    hub.spaces["alice/sleepy"] = FakeSpace(
        host=text_url, stages=["SLEEPING", "SLEEPING", "APP_STARTING", "RUNNING"]
    )
    seen: list[SpaceStatus] = []
    async with await GradioClient.connect("alice/sleepy", on_status=seen.append, options=FAST) as client:
        assert [s.stage for s in seen] == ["SLEEPING", "APP_STARTING"]
        assert "Waking up" in seen[0].message
        _, done = await chat(client, ChatSession(), "hi")
        assert "turn=1" in done.reply.text


@pytest.mark.parametrize("stage", ["BUILD_ERROR", "RUNTIME_ERROR", "PAUSED", "NO_APP_FILE", "CONFIG_ERROR"])
async def test_broken_space_is_a_clear_error(hub: FakeHub, stage: str) -> None:
    hub.spaces["alice/broken"] = FakeSpace(host="http://127.0.0.1:9", stages=[stage])
    with pytest.raises(SpaceBroken) as err:
        await GradioClient.connect("alice/broken", options=FAST)
    assert err.value.stage == stage and "alice/broken" in str(err.value)


async def test_space_that_never_starts_times_out(hub: FakeHub) -> None:
    hub.spaces["alice/slow"] = FakeSpace(host="http://127.0.0.1:9", stages=["BUILDING"])
    quick = ClientOptions(hub_poll_interval=0.01, wake_timeout=0.1)
    with pytest.raises(SpaceNotReady, match="did not start"):
        await GradioClient.connect("alice/slow", options=quick)


async def test_missing_and_private_spaces(hub: FakeHub, text_url: str) -> None:
    with pytest.raises(SpaceBroken, match="does not exist"):
        await GradioClient.connect("alice/nothing", options=FAST)
    hub.spaces["alice/private"] = FakeSpace(host=text_url, token="hf_secret")
    with pytest.raises(AuthError) as err:
        await GradioClient.connect("alice/private", hf_token="hf_wrong", options=FAST)
    assert "hf_wrong" not in str(err.value)
    async with await GradioClient.connect("alice/private", hf_token="hf_secret", options=FAST) as client:
        assert client.chat.kind == "chain"


async def test_a_late_invalidate_leaves_the_new_connection_open(text_url: str) -> None:
    """Many turns fail on one broken connection; the last to notice must not close the
    connection an earlier one has opened since (that would break every turn now running on it)."""
    handle = SpaceHandle(SpaceSettings(name="text", src=text_url))
    try:
        old = await handle.client()
        await handle.invalidate(old)  # the first failing turn drops the broken connection
        new = await handle.client()  # a retry reconnects
        assert new is not old
        await handle.invalidate(old)  # a second turn that failed on the old one reports it late
        assert await handle.client() is new
        _, done = await chat(new, ChatSession(), "still there?")
        assert "turn=1" in done.reply.text
    finally:
        await handle.aclose()
