"""Connection failures: what the client sends again, what it must not, and how it gives up.

A real Gradio server cannot be made to drop a connection on cue, so these tests run the client
against a loopback HTTP server (``tests/fakes/loopback.py``) that serves just enough of a gradio 6
app's API and misbehaves on the request under test.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Callable

import pytest

from bridge.errors import AppUnreachable
from bridge.gradio import ClientOptions, GradioClient, Job
from bridge.gradio.events import Completed
from tests.fakes.loopback import Action, Chunks, Drop, Hang, Loopback, Reply, Request, sse

# Short pauses keep the tests quick; the retry counts are the defaults.
FAST = ClientOptions(retry_backoff=0.01)
CONFIG = {
    "version": "6.31.0",
    "api_prefix": "/gradio_api",
    "components": [],
    "dependencies": [{"id": 1, "queue": False}, {"id": 2, "queue": True}],
}
Rule = Callable[[Request], Action | None]


def fake_app(rules: dict[str, Rule] | None = None, *, keep_alive: bool = True) -> Loopback:
    """A loopback gradio 6 app. ``rules`` maps a route to a function that may misbehave (return an
    action) or leave the request to the app (return None). ``keep_alive=False`` closes the
    connection after ``/config`` and ``/info``, so the next request opens a new one."""
    rules = rules or {}
    events: list[str] = []

    def handler(req: Request) -> Action:
        route = req.path.removeprefix("/gradio_api")
        rule = rules.get(route)
        action = rule(req) if rule is not None else None
        if action is not None:
            return action
        if route == "/config":
            return Reply(body=CONFIG, close=not keep_alive)
        if route == "/info":
            return Reply(body={"named_endpoints": {}}, close=not keep_alive)
        if route == "/run/predict":
            return Reply(body={"data": ["done"]})
        if route == "/queue/join":
            events.append(f"event{len(events)}")
            return Reply(body={"event_id": events[-1]})
        if route == "/queue/data":
            done = [{"msg": "process_completed", "event_id": e, "output": {"data": ["ok"]}} for e in events]
            return Chunks(
                sse(*({**m, "success": True} for m in done), {"msg": "close_stream", "event_id": None})
            )
        if route in ("/cancel", "/reset"):
            return Reply(body={"success": True})
        return Reply(404, "not found")

    return Loopback(handler)


def once(action: Action, *, reused: bool | None = None) -> Rule:
    """A rule that answers with ``action`` the first time (only on a reused connection when
    ``reused``, only on a new one when ``reused`` is False), and leaves the rest to the app."""
    fired: list[bool] = []

    def rule(req: Request) -> Action | None:
        if fired or (reused is not None and (req.nth > 1) != reused):
            return None
        fired.append(True)
        return action

    return rule


def processed_then(action: Action, counter: list[Request]) -> Rule:
    """A rule that records the request as processed (the app ran it), then answers with ``action``."""

    def rule(req: Request) -> Action | None:
        counter.append(req)
        return action if len(counter) == 1 else None

    return rule


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "fin"])
async def test_get_and_unqueued_steps_are_sent_again(reset: bool) -> None:
    # A GET on a pooled connection that the server closes, and an unqueued chat step that the
    # server ran on a new connection and then dropped: both are safe to repeat.
    rules = {"/config": once(Drop(reset), reused=True), "/run/predict": once(Drop(reset), reused=False)}
    async with (
        fake_app(rules, keep_alive=False) as app,
        await GradioClient.connect(app.url, options=FAST) as client,
    ):
        assert await client.run(1, [], "s1") == Completed(data=["done"])
        assert len(app.seen("/run/predict")) == 2
    rules = {"/config": once(Drop(reset), reused=True)}
    async with fake_app(rules) as app:
        async with await GradioClient.connect(app.url, options=FAST) as client:
            await client.refresh()  # on the connection /config and /info used
        assert len(app.seen("/config")) == 3


@pytest.mark.parametrize("reset", [True, False], ids=["reset", "fin"])
async def test_a_join_the_server_never_saw_is_sent_again(reset: bool) -> None:
    # The keep-alive race: the pooled connection is closed as the join arrives, before any answer.
    async with fake_app({"/queue/join": once(Drop(reset), reused=True)}) as app:
        async with await GradioClient.connect(app.url, options=FAST) as client:
            job = await client.submit(2, ["hi"], "s1")
            assert await job.wait() == Completed(data=["ok"])
        joins = app.seen("/queue/join")
        assert [j.nth > 1 for j in joins] == [True, False]  # dropped on the pooled one, then sent anew


@pytest.mark.parametrize("failure", ["dropped-new-connection", "answer-cut", "no-answer"])
async def test_a_join_the_server_may_have_run_is_not_repeated(failure: str) -> None:
    processed: list[Request] = []
    actions: dict[str, Action] = {
        "dropped-new-connection": Drop(),
        "answer-cut": Chunks([b'{"event_id": '], end=False),
        "no-answer": Hang(),
    }
    action = actions[failure]
    options = ClientOptions(retry_backoff=0.01, read_timeout=0.5)
    async with fake_app({"/queue/join": processed_then(action, processed)}, keep_alive=False) as app:
        async with await GradioClient.connect(app.url, options=options) as client:
            with pytest.raises(AppUnreachable) as caught:
                await client.submit(2, ["hi"], "s1")
        assert len(processed) == 1
        if failure != "no-answer":
            assert "not sent again, since the app may have received it" in str(caught.value)


async def test_an_unseen_stream_request_is_reopened_but_a_started_stream_is_not() -> None:
    async with fake_app({"/queue/data": once(Drop(), reused=True)}) as app:
        async with await GradioClient.connect(app.url, options=FAST) as client:
            job = await client.submit(2, ["hi"], "s1")
            assert await job.wait() == Completed(data=["ok"])
        assert len(app.seen("/queue/data")) == 2
    started = Chunks(sse({"msg": "estimation", "event_id": "event0", "rank": 0, "queue_size": 1}), end=False)
    async with fake_app({"/queue/data": once(started)}) as app:
        async with await GradioClient.connect(app.url, options=FAST) as client:
            job = await client.submit(2, ["hi"], "s1")
            with pytest.raises(AppUnreachable, match="stream from the app broke"):
                await job.wait()
        assert len(app.seen("/queue/data")) == 1


async def test_cancel_never_raises_and_gives_up_on_a_hung_cancel() -> None:
    options = ClientOptions(retry_backoff=0.01, cancel_timeout=0.2)
    async with fake_app({"/cancel": lambda req: Hang()}) as app:
        async with await GradioClient.connect(app.url, options=options) as client:
            job = Job("event0", 2, "s1", 6, client.cancel)
            # The guard is far above the bound and below the 60 s read timeout a missing bound
            # would wait for: it only catches a hang.
            async with asyncio.timeout(30):
                await job.cancel()
        assert len(app.seen("/cancel")) == 1
        assert app.seen("/reset") == []
    async with fake_app() as app:
        client = await GradioClient.connect(app.url, options=options)
    try:
        # The app is gone now: the stop still returns quietly.
        await Job("event0", 2, "s1", 6, client.cancel).cancel()
    finally:
        await client.aclose()


def _closed_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def test_an_app_that_is_gone_is_named_so_after_the_retries() -> None:
    with pytest.raises(AppUnreachable) as caught:
        await GradioClient.connect(f"http://127.0.0.1:{_closed_port()}", options=FAST)
    assert "connection refused (4 attempts); is it running?" in str(caught.value)


async def test_a_request_on_a_closed_connection_is_app_unreachable() -> None:
    """A turn still using a connection another turn dropped (after a failure) must get
    AppUnreachable — which it answers by asking again on a new connection — not httpx's
    RuntimeError, which no turn handles."""
    async with fake_app() as app:
        client = await GradioClient.connect(app.url, options=FAST)
        await client.aclose()
        with pytest.raises(AppUnreachable, match="closed"):
            await client.run(1, [], "s1")
        with pytest.raises(AppUnreachable, match="closed"):
            await client.submit(2, [], "s1")
