"""The streamer on virtual time: throttle, coalescing, splitting, back-off, exactly-once final.

Nothing here sleeps: ``FakeClock.sleep`` waits until the test moves virtual time past its deadline,
and ``settle`` only lets the event loop run the writer task.
"""

from __future__ import annotations

import asyncio
import itertools
import random
from dataclasses import dataclass

import pytest

from bridge.adapter import Capabilities, Stage
from bridge.errors import MessageGone, PlatformError, RateLimited
from bridge.model import ConversationKey, MessageRef
from bridge.retrying import RetryPolicy
from bridge.splitting import split_markdown, split_pieces
from bridge.streamer import Action, Streamer, StreamPolicy
from bridge.text import Prose, Text, Thought

KEY = ConversationKey("fake", "chat-1")
USER_MESSAGE = MessageRef("chat-1", "user-message")
CAPS = Capabilities(max_text_len=100, min_edit_interval_s=1.0)


async def settle() -> None:
    """Let every ready task run (the fake sink never really waits)."""
    for _ in range(40):
        await asyncio.sleep(0)


class FakeClock:
    """Virtual time: ``sleep`` returns when ``advance`` moves time past its deadline."""

    def __init__(self) -> None:
        self.t = 0.0
        self.sleepers: list[tuple[float, asyncio.Future[None]]] = []

    def now(self) -> float:
        return self.t

    async def sleep(self, seconds: float) -> None:
        future: asyncio.Future[None] = asyncio.get_running_loop().create_future()
        self.sleepers.append((self.t + seconds, future))
        await future

    async def advance_to(self, end: float) -> None:
        """Move to ``end``, waking each sleeper at its own deadline and letting the writer run."""
        while True:
            await settle()
            self.sleepers = [(d, f) for d, f in self.sleepers if not f.done()]
            due = [d for d, _ in self.sleepers if d <= end]
            if not due:
                break
            self.t = max(self.t, min(due))
            for deadline, future in self.sleepers:
                if deadline <= self.t:
                    future.set_result(None)
        self.t = max(self.t, end)
        await settle()

    async def advance(self, seconds: float) -> None:
        await self.advance_to(self.t + seconds)


@dataclass
class Call:
    at: float
    op: str  # "send" | "edit"
    message: str  # the message's id
    text: str
    stage: Stage
    ok: bool
    reply_to: MessageRef | None = None


class FakeSink:
    """Records every send/edit attempt; ``failures`` maps an attempt number to the error it raises."""

    def __init__(self, clock: FakeClock, max_len: int = CAPS.max_text_len) -> None:
        self.clock, self.max_len = clock, max_len
        self.calls: list[Call] = []
        self.screen: dict[str, str] = {}  # message id → text shown
        self.stages: dict[str, Stage] = {}  # message id → stage of that text
        self.failures: dict[int, PlatformError] = {}
        self.moves: dict[int, str] = {}  # attempt number → id of the message an edit turns into
        self.gate = asyncio.Event()
        self.gate.set()
        self.texts: list[Text] = []  # every text given, typed, in order (calls record its Markdown)

    async def send(
        self, to: ConversationKey, text: Text, reply_to: MessageRef | None = None, *, stage: Stage = "final"
    ) -> MessageRef:
        assert to == KEY
        message = str(len(self.screen))
        self.texts.append(text)
        await self._call(Call(self.clock.now(), "send", message, text.markdown, stage, True, reply_to))
        return MessageRef(to.chat, message)

    async def edit(self, ref: MessageRef, text: Text, *, stage: Stage = "final") -> MessageRef:
        assert ref.id in self.screen, "edits only messages it sent"
        moved = self.moves.get(len(self.calls))
        self.texts.append(text)
        await self._call(Call(self.clock.now(), "edit", moved or ref.id, text.markdown, stage, True))
        return MessageRef(ref.chat, moved) if moved else ref

    async def _call(self, call: Call) -> None:
        await self.gate.wait()
        call.at = self.clock.now()
        error = self.failures.get(len(self.calls))
        call.ok = error is None
        self.calls.append(call)
        if error is not None:
            raise error
        assert 0 < len(call.text) <= self.max_len, call.text
        self.screen[call.message], self.stages[call.message] = call.text, call.stage

    def ops(self) -> list[tuple[float, str, str, str]]:
        """The successful calls as (time, op, message id, text)."""
        return [(c.at, c.op, c.message, c.text) for c in self.calls if c.ok]

    def messages(self) -> list[str]:
        return [self.screen[str(i)] for i in range(len(self.screen))]

    def deliveries(self, text: str) -> int:
        """How many successful calls put ``text`` on screen as final text."""
        return sum(1 for c in self.calls if c.ok and c.text == text and c.stage == "final")


async def finished(streamer: Streamer, text: str | Text) -> list[MessageRef]:
    """``streamer.finish(text)`` (Markdown as prose), failing fast (real time) instead of hanging when it
    waits for nothing."""
    async with asyncio.timeout(1):
        return await streamer.finish(text if isinstance(text, Text) else Text.of(text))


def make(
    caps: Capabilities = CAPS, retry: RetryPolicy | None = None, **kw: object
) -> tuple[Streamer, FakeSink, FakeClock]:
    clock = FakeClock()
    sink = FakeSink(clock, caps.max_text_len)
    streamer = Streamer(
        sink,
        KEY,
        caps,
        clock,
        reply_to=USER_MESSAGE,
        retry=retry,
        rand=lambda: 0.5,
        **kw,  # type: ignore[arg-type]
    )
    return streamer, sink, clock


async def test_placeholder_then_one_throttled_edit_with_the_newest_text() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    assert sink.ops() == [(0.0, "send", "0", "…")]
    assert sink.calls[0].reply_to == USER_MESSAGE
    for i in range(1, 11):  # ten updates within the first interval
        streamer.update(Text.of("word " * i))
        await clock.advance(0.09375)
    assert len(sink.calls) == 1
    await clock.advance_to(1.0)
    assert sink.ops()[1:] == [(1.0, "edit", "0", "word " * 10)]
    await clock.advance(5)
    assert len(sink.calls) == 2
    refs = await finished(streamer, "word " * 10)
    assert refs == [MessageRef("chat-1", "0")]
    assert [c.stage for c in sink.calls] == ["status", "partial", "final"]
    assert sink.deliveries("word " * 10) == 1, "the same text goes out once more, marked final"


async def test_newest_text_wins_and_unchanged_text_is_skipped() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    await clock.advance_to(0.5)
    streamer.update(Text.of("a"))
    streamer.update(Text.of("b"))
    await clock.advance_to(1.5)
    assert sink.ops()[1:] == [(1.0, "edit", "0", "b")]
    streamer.update(Text.of("c"))
    streamer.update(Text.of("b"))  # back to what is shown: nothing to do
    await clock.advance_to(2.5)
    assert len(sink.calls) == 2
    streamer.update(Text.of("c"))  # the interval has long passed: edited at once
    await settle()
    assert sink.ops()[2:] == [(2.5, "edit", "0", "c")]
    streamer.update(Text.of("c"))
    await clock.advance_to(10)
    assert len(sink.calls) == 3
    await finished(streamer, "c")
    await streamer.aclose()


async def test_status_shows_until_the_reply_text_arrives() -> None:
    streamer, sink, clock = make()
    streamer.status("⏳ queued #3 of 5")
    await streamer.start()
    await settle()
    await clock.advance_to(0.25)
    streamer.status("⏳ queued #1 of 5")
    await clock.advance_to(1.5)
    streamer.update(Text.of("Hello"))
    await clock.advance_to(2.5)
    streamer.status("⏳ running")  # ignored: there is reply text
    await clock.advance_to(5)
    assert sink.ops() == [
        (0.0, "send", "0", "⏳ queued #3 of 5"),
        (1.0, "edit", "0", "⏳ queued #1 of 5"),
        (2.0, "edit", "0", "Hello"),
    ]
    assert await finished(streamer, "Hello there") == [MessageRef("chat-1", "0")]
    assert sink.messages() == ["Hello there"]
    assert [c.stage for c in sink.calls] == ["status", "status", "partial", "final"]


def code_reply(rng: random.Random, size: int) -> str:
    """Prose and fenced code blocks (some longer than a message), about ``size`` characters."""
    words = ["stream", "the", "reply", "into", "chat", "messages", "quickly", "ok."]
    parts: list[str] = []
    while sum(map(len, parts)) < size:
        parts.append(" ".join(rng.choices(words, k=rng.randint(5, 120))))
        lines = [f"    value_{i} = compute({i}, {rng.choice(words)!r})" for i in range(rng.randint(3, 90))]
        parts.append(f"```{rng.choice(['python', 'js', ''])}\n" + "\n".join(lines) + "\n```")
    return "\n\n".join(parts)


async def stream(streamer: Streamer, clock: FakeClock, text: str, step: int, every: float) -> None:
    """Feed ``text`` in growing prefixes, ``step`` characters every ``every`` seconds."""
    for end in range(step, len(text) + step, step):
        streamer.update(Text.of(text[:end]))
        await clock.advance(every)


def assert_delivered(sink: FakeSink, refs: list[MessageRef], text: str, max_len: int) -> None:
    """The screen shows exactly the chunks of ``text``, each within the limit and delivered once."""
    chunks = split_markdown(text, max_len)
    assert sink.messages() == chunks
    assert set(sink.stages.values()) == {"final"}
    assert [r.id for r in refs] == [str(i) for i in range(len(chunks))]
    assert all(len(c.text) <= max_len for c in sink.calls)
    assert all(sink.deliveries(c) == 1 for c in chunks), "each final chunk exactly once"
    pieces = split_pieces(text, max_len)
    assert (
        "".join(m.removeprefix(p.head).removesuffix(p.tail) for m, p in zip(chunks, pieces, strict=True))
        == text
    )
    assert [c.reply_to for c in sink.calls if c.op == "send" and c.ok] == [USER_MESSAGE] + [None] * (
        len(chunks) - 1
    )


async def test_long_reply_continues_in_new_messages_and_keeps_code_fences() -> None:
    streamer, sink, clock = make()
    code = "\n".join(f"total += item_{i}" for i in range(20))
    text = f"Here is the loop:\n\n```python\n{code}\n```\n\nIt adds every item."
    await streamer.start()
    await settle()
    await stream(streamer, clock, text, 7, 0.125)
    finished_at = clock.t
    refs = await finished(streamer, text)
    assert_delivered(sink, refs, text, 100)
    assert len(refs) >= 4
    messages = sink.messages()
    assert messages[0].endswith("\n```") and messages[1].startswith("```python\n")
    assert messages[-1].endswith("It adds every item.")
    streaming = [c.at for c in sink.calls if c.at < finished_at]
    assert all(b - a >= 1.0 for a, b in itertools.pairwise(streaming)), streaming
    assert len(sink.calls) <= finished_at / 1.0 + 1 + len(refs)


async def test_ten_thousand_character_reply_with_code_blocks() -> None:
    caps = Capabilities(max_text_len=2000, min_edit_interval_s=1.0)
    streamer, sink, clock = make(caps)
    text = code_reply(random.Random(3), 10_000)
    assert len(text) >= 10_000 and text.count("```") >= 6
    await streamer.start()
    await settle()
    await stream(streamer, clock, text, 50, 0.125)
    refs = await finished(streamer, text + "\n\n_(stopped)_")
    assert_delivered(sink, refs, text + "\n\n_(stopped)_", 2000)
    assert len(refs) >= 5
    assert any(m.startswith("```") for m in sink.messages()[1:]), "a code block was cut and reopened"
    assert len(sink.calls) <= clock.t / 1.0 + 1 + len(refs)


async def test_back_off_is_honoured_while_updates_keep_flowing() -> None:
    streamer, sink, clock = make()
    sink.failures[1] = RateLimited(5.0)
    await streamer.start()
    await settle()
    streamer.update(Text.of("one"))
    await clock.advance_to(1.0)
    assert [(c.at, c.ok) for c in sink.calls] == [(0.0, True), (1.0, False)]
    for i in range(40):  # accepted at once; nothing is queued or sent
        streamer.update(Text.of(f"one two {i}"))
        await clock.advance(0.125)
    assert clock.t == 6.0 and sink.calls[-1].at == 6.0
    assert [c.at for c in sink.calls] == [0.0, 1.0, 6.0], "no call before retry_after has passed"
    assert sink.calls[-1].text == "one two 39"
    await clock.advance(0.5)
    assert len(sink.calls) == 3
    await finished(streamer, "one two 39")


async def test_updates_never_wait_for_a_stuck_platform() -> None:
    streamer, sink, clock = make()
    sink.gate.clear()  # the placeholder send hangs
    await streamer.start()
    await settle()
    for i in range(1000):
        streamer.update(Text.of(f"text {i}"))
    await clock.advance(3)
    assert sink.calls == []
    sink.gate.set()
    await clock.advance(3)
    assert [(c.op, c.text) for c in sink.calls] == [("send", "…"), ("edit", "text 999")]
    await finished(streamer, "text 999")


async def test_final_text_delivered_once_after_failing_intermediate_edits() -> None:
    streamer, sink, clock = make()
    refused = PlatformError("bad request", permanent=True)
    sink.failures.update({1: refused, 2: refused})
    await streamer.start()
    await settle()
    streamer.update(Text.of("draft"))
    await clock.advance_to(1.5)
    assert not sink.calls[1].ok
    await clock.advance_to(3)
    assert len(sink.calls) == 2, "a refused text is not tried again"
    streamer.update(Text.of("draft 2"))
    await clock.advance_to(4)
    assert [c.ok for c in sink.calls] == [True, False, False]
    refs = await finished(streamer, "final answer")
    assert refs == [MessageRef("chat-1", "0")]
    assert sink.messages() == ["final answer"]
    assert sink.deliveries("final answer") == 1 and len(sink.calls) == 4


async def test_final_edit_rate_limited_is_retried_after_the_back_off() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    streamer.update(Text.of("partial"))
    await clock.advance_to(1.0)
    sink.failures[2] = RateLimited(3.0)
    await clock.advance_to(1.25)
    finishing = asyncio.create_task(streamer.finish(Text.of("partial and final")))
    await clock.advance_to(4.0)
    assert not finishing.done()
    assert [(c.at, c.ok) for c in sink.calls] == [(0.0, True), (1.0, True), (1.25, False)]
    await clock.advance_to(4.25)
    assert finishing.done() and finishing.result() == [MessageRef("chat-1", "0")]
    assert sink.calls[-1].at == 4.25
    assert sink.deliveries("partial and final") == 1 and sink.messages() == ["partial and final"]


async def test_a_permanent_refusal_of_the_final_text_gives_up_at_once() -> None:
    streamer, sink, clock = make()
    sink.failures.update({i: PlatformError("forbidden", permanent=True) for i in range(1, 10)})
    await streamer.start()
    await settle()
    finishing = asyncio.create_task(streamer.finish(Text.of("answer")))
    await clock.advance(1)
    with pytest.raises(PlatformError, match="refused the reply") as caught:
        await finishing
    assert caught.value.permanent and str(caught.value.__cause__) == "forbidden"
    assert len(sink.calls) == 2


async def test_the_final_text_outlives_a_long_outage_then_lands_once() -> None:
    streamer, sink, clock = make(retry=RetryPolicy(deadline_s=900, base_s=1, cap_s=30))
    sink.failures.update({i: PlatformError("connection refused") for i in range(1, 40)})
    await streamer.start()
    await settle()
    finishing = asyncio.create_task(streamer.finish(Text.of("answer")))
    await clock.advance(300)
    assert not finishing.done(), "five minutes of outage are not the end"
    gaps = [b.at - a.at for a, b in itertools.pairwise(sink.calls[1:])]
    assert gaps[:5] == [0.75, 1.5, 3.0, 6.0, 12.0] and max(gaps) == 22.5  # jitter fixed at 0.5
    sink.failures.clear()
    await clock.advance(30)
    assert finishing.done() and finishing.result() == [MessageRef("chat-1", "0")]
    assert sink.deliveries("answer") == 1


async def test_the_final_text_gives_up_after_the_delivery_deadline() -> None:
    streamer, sink, clock = make(retry=RetryPolicy(deadline_s=60, base_s=1, cap_s=10))
    sink.failures.update({i: PlatformError("502 Bad Gateway") for i in range(1, 100)})
    await streamer.start()
    await settle()
    finishing = asyncio.create_task(streamer.finish(Text.of("answer")))
    await clock.advance(120)
    with pytest.raises(PlatformError, match="could not take the reply") as caught:
        await finishing
    assert not caught.value.permanent
    assert 55 <= sink.calls[-1].at - sink.calls[1].at <= 70


async def test_rate_limits_are_waits_never_failures() -> None:
    streamer, sink, clock = make(retry=RetryPolicy(deadline_s=5, base_s=1, cap_s=10))
    sink.failures.update({i: RateLimited(2.0) for i in range(1, 12)})
    await streamer.start()
    await settle()
    finishing = asyncio.create_task(streamer.finish(Text.of("answer")))
    await clock.advance(21)
    assert not finishing.done()
    await clock.advance(3)
    assert finishing.done() and finishing.result() == [MessageRef("chat-1", "0")], (
        "twenty seconds of 429s outlast a 5 s deadline: waiting is not failing"
    )
    assert sink.deliveries("answer") == 1


async def test_a_resumed_reply_edits_the_messages_it_had_posted() -> None:
    earlier = [MessageRef("chat-1", "0"), MessageRef("chat-1", "1")]
    streamer, sink, clock = make(refs=earlier)
    sink.screen.update({"0": "old part one", "1": "old part two"})
    await streamer.start()
    await clock.advance(1)
    refs = await finished(streamer, "the whole answer")
    assert refs == earlier
    assert {c.op for c in sink.calls} == {"edit"}, "never a second answer"
    assert sink.messages() == ["the whole answer", "…"]


async def test_a_deleted_message_is_posted_anew_and_reported() -> None:
    seen: list[list[MessageRef]] = []
    streamer, sink, _ = make(on_ref=seen.append)
    await streamer.start()
    await settle()
    sink.failures[1] = MessageGone()
    refs = await finished(streamer, "answer")
    assert refs == [MessageRef("chat-1", "1")]
    assert seen == [[MessageRef("chat-1", "0")], [MessageRef("chat-1", "1")]]
    assert sink.calls[-1].op == "send" and sink.calls[-1].reply_to == USER_MESSAGE


async def test_an_edit_that_turns_into_another_message_is_followed() -> None:
    seen: list[list[MessageRef]] = []
    streamer, sink, _ = make(on_ref=seen.append)
    await streamer.start()
    await settle()
    sink.moves[1] = "real-7"
    sink.screen["real-7"] = ""
    assert await finished(streamer, "answer") == [MessageRef("chat-1", "real-7")]
    assert seen[-1] == [MessageRef("chat-1", "real-7")]


async def test_without_edits_only_the_final_chunks_are_sent() -> None:
    caps = Capabilities(max_text_len=100, min_edit_interval_s=1.0, can_edit=False)
    streamer, sink, clock = make(caps)
    streamer.status("⏳ queued #2 of 2")
    await streamer.start()
    await settle()
    text = code_reply(random.Random(1), 400)
    await stream(streamer, clock, text, 20, 0.25)
    assert sink.calls == []
    refs = await finished(streamer, text)
    assert_delivered(sink, refs, text, 100)
    assert all(c.op == "send" and c.at == clock.t for c in sink.calls)


async def test_failed_placeholder_still_gets_the_final_text_by_send() -> None:
    streamer, sink, clock = make()
    sink.failures[0] = PlatformError("cannot post here", permanent=True)
    await streamer.start()
    await settle()
    await clock.advance(2)
    assert sink.messages() == []
    assert await finished(streamer, "the answer") == [MessageRef("chat-1", "0")]
    assert sink.ops() == [(2.0, "send", "0", "the answer")]
    assert sink.calls[-1].reply_to == USER_MESSAGE


async def test_rate_limited_placeholder_delays_the_final_send() -> None:
    streamer, sink, clock = make()
    sink.failures[0] = RateLimited(2.0)
    await streamer.start()
    await settle()
    await clock.advance_to(0.5)
    finishing = asyncio.create_task(streamer.finish(Text.of("the answer")))
    await clock.advance_to(1.875)
    assert len(sink.calls) == 1
    await clock.advance_to(2.0)
    assert await finishing == [MessageRef("chat-1", "0")]
    assert sink.ops() == [(2.0, "send", "0", "the answer")]


async def test_finish_ignores_the_throttle() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    await clock.advance_to(0.25)
    streamer.update(Text.of("almost"))
    await clock.advance_to(0.5)
    await finished(streamer, "almost done")
    assert sink.ops() == [(0.0, "send", "0", "…"), (0.5, "edit", "0", "almost done")]


async def test_shrinking_text_leaves_the_placeholder_in_surplus_messages() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    streamer.update(Text.of("long " * 30))
    await clock.advance_to(3)
    assert len(sink.messages()) == 2
    refs = await finished(streamer, "short")
    assert sink.messages() == ["short", "…"] and len(refs) == 2


async def test_aclose_stops_the_writer() -> None:
    streamer, sink, clock = make()
    await streamer.start()
    await settle()
    await streamer.aclose()
    await streamer.aclose()  # idempotent
    streamer.update(Text.of("late text"))
    await clock.advance(5)
    assert [c.op for c in sink.calls] == ["send"]
    with pytest.raises(RuntimeError, match="closed"):
        await streamer.start()


def test_policy_is_pure_and_answers_with_deadlines() -> None:
    policy = StreamPolicy(CAPS)
    send = policy.next_action(10.0)
    assert send == Action(0, Text.of("…"), "status")
    policy.succeeded(send, MessageRef("c", "m"))
    assert policy.next_action(10.5) is None
    policy.update(Text.of("hi"))
    assert policy.next_action(10.5) == 11.0
    edit = policy.next_action(11.0)
    assert edit == Action(0, Text.of("hi"), "partial", MessageRef("c", "m"))
    policy.failed(edit, RateLimited(4), 11.2)
    policy.finish(Text.of("hi!"))
    assert policy.next_action(12.0) == pytest.approx(15.2)
    final = policy.next_action(15.2)
    assert isinstance(final, Action) and final.final and final.text == Text.of("hi!")
    policy.succeeded(final)
    assert policy.next_action(15.3) is None and policy.done and policy.error is None
    policy.finish(Text.of("hi!"))  # the same final text again: nothing to do
    assert policy.next_action(15.4) is None and policy.done


async def test_a_second_finish_delivers_its_text_after_a_failed_first() -> None:
    streamer, sink, clock = make()
    sink.failures.update({1: PlatformError("forbidden", permanent=True)})
    await streamer.start()
    await settle()
    first = asyncio.create_task(streamer.finish(Text.of("answer")))
    await clock.advance(60)
    with pytest.raises(PlatformError):
        await first
    refs = await finished(streamer, "answer\n\n⚠️ could not deliver everything")
    assert refs == [MessageRef("chat-1", "0")]
    assert sink.messages() == ["answer\n\n⚠️ could not deliver everything"]
    assert await finished(streamer, "answer\n\n⚠️ could not deliver everything") == refs
    assert len(sink.calls) == 3, "a repeated final text is not sent again"


async def test_cancelling_the_finish_caller_does_not_stop_the_delivery() -> None:
    streamer, sink, clock = make()
    sink.failures[1] = RateLimited(2.0)
    await streamer.start()
    await settle()
    first = asyncio.create_task(streamer.finish(Text.of("final")))
    await settle()
    first.cancel()
    await settle()
    assert first.cancelled()
    await clock.advance(2)
    assert sink.ops()[1:] == [(2.0, "edit", "0", "final")]
    assert await finished(streamer, "final, interrupted") == [MessageRef("chat-1", "0")]
    assert sink.ops()[2:] == [(2.0, "edit", "0", "final, interrupted")]
    await streamer.aclose()


def test_the_policy_splits_by_the_adapters_measure() -> None:
    def units(text: Text) -> int:  # UTF-16 code units, as Telegram counts them
        return len(text.markdown.encode("utf-16-le")) // 2

    policy = StreamPolicy(Capabilities(max_text_len=10, min_edit_interval_s=1.0, text_length=units))
    policy.finish(Text.of("😀" * 8))  # 8 characters, 16 units
    first = policy.next_action(0.0)
    assert isinstance(first, Action) and first.text == Text.of("😀" * 5)
    policy.succeeded(first, MessageRef("c", "0"))
    second = policy.next_action(0.0)
    assert isinstance(second, Action) and second.text == Text.of("😀" * 3)
    # A measure given to the policy wins over the adapter's.
    caps = Capabilities(max_text_len=10, min_edit_interval_s=1.0, text_length=units)
    explicit = StreamPolicy(caps, length=lambda text: sum(1 for _ in text.markdown))  # code points
    explicit.finish(Text.of("😀" * 8))
    action = explicit.next_action(0.0)
    assert isinstance(action, Action) and action.text == Text.of("😀" * 8)


async def test_a_thought_cut_across_messages_reaches_the_sink_as_a_thought_in_each() -> None:
    streamer, sink, _ = make()
    body = " ".join(f"step{i}" for i in range(60))
    reply = Text((Prose("Answer follows."), Thought("Thinking", body, pending=True), Prose("Done.")))
    refs = await finished(streamer, reply)
    finals = [t for t, c in zip(sink.texts, sink.calls, strict=True) if c.ok and c.stage == "final"]
    assert len(finals) == len(refs) >= 4
    assert all(0 < len(t.markdown) <= CAPS.max_text_len for t in finals)  # measured as what was sent
    thoughts = [b for t in finals for b in t.blocks if isinstance(b, Thought)]
    assert len(thoughts) == len(finals)
    assert [t.continued for t in thoughts] == [False] + [True] * (len(thoughts) - 1)
    assert {(t.title, t.pending, t.tool) for t in thoughts} == {("Thinking", True, False)}
    assert all(isinstance(t.blocks[0], Thought) for t in finals[1:]), "each later message opens with it"
    assert " ".join(t.markdown for t in thoughts).split() == body.split()
    assert finals[0].blocks[0] == Prose("Answer follows.") and finals[-1].blocks[-1] == Prose("Done.")
