"""The chat scenarios, against real Gradio servers of every supported version (see conftest)."""

from __future__ import annotations

import asyncio
import itertools
import re
from pathlib import Path

import pytest

from bridge.errors import AppError, AuthError, FileTooLarge, InvalidParam, Unsupported
from bridge.gradio import ChatSession, ChatTurn, GradioClient, Log, ProgressUpdate, ReplyUpdate
from bridge.model import Attachment, FilePart, ThoughtPart
from tests.helpers import chat, texts

ASSETS = Path(__file__).parent / "apps" / "assets"


def turn_of(text: str) -> int:
    m = re.search(r"turn=(\d+)", text)
    assert m, text
    return int(m.group(1))


async def test_discovers_chain_and_params(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        ep = client.chat
        assert ep.kind == "chain"
        assert not ep.multimodal and ep.generator
        params = {p.name: p for p in ep.params}
        assert list(params) == ["temperature", "style", "shout", "max_words"]
        temp = params["temperature"]
        assert (temp.component, temp.minimum, temp.maximum, temp.step, temp.default) == (
            "slider",
            0,
            2,
            0.1,
            0.7,
        )
        assert [v for _, v in params["style"].choices or ()] == ["plain", "formal", "pirate"]
        assert params["shout"].component == "checkbox" and params["shout"].default is False
    async with await GradioClient.connect(apps["mm"]) as client:
        assert client.chat.kind == "chain" and client.chat.multimodal


async def test_streams_and_remembers(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        session = ChatSession()
        events, done = await chat(client, session, "hello there")
        partials = texts(events)
        assert len(partials) >= 3, partials  # really streamed, word by word
        assert all(b.startswith(a) for a, b in itertools.pairwise(partials))
        assert "turn=1 n=0" in done.reply.text and "echo: hello there" in done.reply.text
        _, done = await chat(client, session, "again")
        assert turn_of(done.reply.text) == 2
        assert session.turns == 2
        _, fresh = await chat(client, ChatSession(), "new")
        assert turn_of(fresh.reply.text) == 1


async def test_params_reach_the_app_and_are_validated(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        _, done = await chat(
            client, ChatSession(), "hi", params={"Temperature": "1.5", "style": "formal", "shout": "yes"}
        )
        assert "TEMP=1.5 STYLE=FORMAL SHOUT=TRUE" in done.reply.text
        for bad in (
            {"temperature": 5},
            {"temperature": 0.15},
            {"style": "loud"},
            {"shout": "maybe"},
            {"colour": "red"},
        ):
            with pytest.raises(InvalidParam):
                ChatTurn(client, ChatSession(), "hi", params=bad)


async def test_conversations_run_concurrently_and_stay_apart(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        a, b = ChatSession(), ChatSession()
        await chat(client, a, "one")
        results = await asyncio.gather(
            chat(client, a, "a2"), chat(client, b, "b1"), chat(client, ChatSession(), "c1")
        )
        assert [turn_of(done.reply.text) for _, done in results] == [2, 1, 1]


async def test_stored_history_reseeds_a_fresh_session(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        old = ChatSession()
        await chat(client, old, "first")
        await chat(client, old, "second")
        stored = old.to_dict()
    async with await GradioClient.connect(apps["text"]) as client:
        moved = ChatSession.from_dict({**stored, "session_hash": "f" * 32})
        _, done = await chat(client, moved, "third")
        assert turn_of(done.reply.text) == 3
        assert not done.context_reset


async def test_app_error_before_stream_leaves_session_unchanged(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        session = ChatSession()
        await chat(client, session, "hi")
        before = session.to_dict()
        with pytest.raises(AppError) as err:
            await chat(client, session, "boom")
        assert err.value.message == "boom-boom"  # unquoted on every version
        assert session.to_dict() == before
        _, done = await chat(client, session, "after")
        assert turn_of(done.reply.text) == 2


async def test_app_error_mid_stream_after_partials(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        seen: list[str] = []
        with pytest.raises(AppError) as err:
            async for event in ChatTurn(client, ChatSession(), "mid"):
                if isinstance(event, ReplyUpdate):
                    seen.append(event.reply.text)
        assert err.value.message == "mid-fail"
        assert seen and seen[0].startswith("partial answer")


async def test_plain_exception_shown_and_hidden(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        with pytest.raises(AppError) as err:
            await chat(client, ChatSession(), "crash")
        assert err.value.message == "plain crash"
    async with await GradioClient.connect(apps["quiet"]) as client:
        with pytest.raises(AppError) as err:
            await chat(client, ChatSession(), "crash")
        assert "secret internals" not in str(err.value)


async def test_progress_and_logs_are_events(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        events, done = await chat(client, ChatSession(), "progress")
        progress = [e for e in events if isinstance(e, ProgressUpdate)]
        assert progress and any(s.desc == "stepping" for e in progress for s in e.steps)
        logs = {(e.level, e.message) for e in events if isinstance(e, Log)}
        assert ("info", "note info") in logs and ("warning", "careful") in logs
        assert "progress done" in done.reply.text


async def test_cancel_keeps_partial_reply(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as client:
        session = ChatSession()
        turn = ChatTurn(client, session, "slow")
        updates = 0
        async for event in turn:
            if isinstance(event, ReplyUpdate):
                updates += 1
                if updates == 2:
                    await turn.cancel()
        assert event.cancelled and event.reply.text.startswith("w0 w1")
        assert len(event.reply.text.split()) < 30
        _, done = await chat(client, session, "next")
        assert turn_of(done.reply.text) == 2  # the stopped turn is remembered, as in the browser


async def test_login_and_relogin(apps: dict[str, str]) -> None:
    with pytest.raises(AuthError):
        await GradioClient.connect(apps["auth"])
    with pytest.raises(AuthError):
        await GradioClient.connect(apps["auth"], auth=("alice", "wrong"))
    async with await GradioClient.connect(apps["auth"], auth=("alice", "wonderland")) as client:
        session = ChatSession()
        await chat(client, session, "hi")
        client.http.cookies.clear()  # what an app restart does to our login
        _, done = await chat(client, session, "again")
        assert turn_of(done.reply.text) == 2


async def test_attachments_in(apps: dict[str, str]) -> None:
    png, txt = ASSETS / "green.png", ASSETS / "notes.txt"
    async with await GradioClient.connect(apps["mm"]) as client:
        files = [Attachment.from_path(png), Attachment(name="n.txt", data=txt.read_bytes())]
        _, done = await chat(client, ChatSession(), "look", attachments=files)
        text = done.reply.text
        assert "files=2" in text and "text=look" in text
        assert str(png.stat().st_size) in text and str(txt.stat().st_size) in text
        with pytest.raises(FileTooLarge):
            await chat(client, ChatSession(), "big", attachments=files, upload_limit=10)
    async with await GradioClient.connect(apps["text"]) as client:
        with pytest.raises(Unsupported):
            ChatTurn(client, ChatSession(), "x", [Attachment(name="a.txt", data=b"a")])


async def test_files_out_download(apps: dict[str, str], tmp_path: Path) -> None:
    async with await GradioClient.connect(apps["mm"]) as client:
        _, done = await chat(client, ChatSession(), "image please")
        images = [f for f in done.reply.files if f.kind == "image"]
        assert images, done.reply
        saved = await client.download(images[0], tmp_path, 1_000_000)
        assert saved.path.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
        with pytest.raises(FileTooLarge):
            await client.download(images[0], tmp_path / "small", 10)
        assert not list((tmp_path / "small").iterdir())
        _, done = await chat(client, ChatSession(), "filedict")
        (doc,) = done.reply.files
        saved = await client.download(doc, tmp_path, 1_000_000)
        assert saved.path.read_bytes() == (ASSETS / "notes.txt").read_bytes()
        foreign = FilePart(url="http://example.invalid/x.png", name="x.png")
        with pytest.raises(Exception, match="not served by the app"):
            await client.download(foreign, tmp_path, 1000)


async def test_thoughts_and_tool_notes(apps: dict[str, str], major: int) -> None:
    async with await GradioClient.connect(apps["thought"]) as client:
        events, done = await chat(client, ChatSession(), "think")
        assert "final answer: 42" in done.reply.text
        if major >= 5:
            titles = [p.title for p in done.reply.parts if isinstance(p, ThoughtPart)]
            assert titles == ["Thinking", "Used tool search"]
        seen = [
            p
            for e in events
            if isinstance(e, ReplyUpdate)
            for p in e.reply.parts
            if isinstance(p, ThoughtPart)
        ]
        assert seen and seen[0].title == "Thinking"  # visible while streaming, on every version


async def test_blocks_chatbot_endpoint(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["blocks"]) as client:
        assert client.chat.kind == "chain" and client.chat.chain_text == "Message.submit → respond"
        session = ChatSession()
        _, d1 = await chat(client, session, "hi")
        _, d2 = await chat(client, session, "again")
        assert (turn_of(d1.reply.text), turn_of(d2.reply.text)) == (1, 2)
        _, d3 = await chat(client, ChatSession(), "fresh")
        assert turn_of(d3.reply.text) == 1


async def test_explicit_public_endpoint(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["text"]) as probe:
        name = probe.chat.api_name
    assert name
    async with await GradioClient.connect(apps["text"], api_name=name) as client:
        ep = client.chat
        assert ep.kind == "public"
        session = ChatSession()
        _, d1 = await chat(client, session, "hi", params={"style": "pirate"})
        _, d2 = await chat(client, session, "again")
        assert "style=pirate" in d1.reply.text
        assert (turn_of(d1.reply.text), turn_of(d2.reply.text)) == (1, 2)  # history in the app's State
        # several events of one session share one stream
        defaults = {p.slot: p.default for p in ep.params}
        jobs = [
            await client.submit(
                ep.fn_index,
                [f"m{i}" if k == "message" else defaults.get(slot) for slot, k in enumerate(ep.slots)],
                session.session_hash,
            )
            for i in range(3)
        ]
        results = await asyncio.gather(*(job.wait() for job in jobs))
        assert [type(r).__name__ for r in results] == ["Completed"] * 3
        assert [str(r.data[ep.output_index]).endswith(f"m{i}") for i, r in enumerate(results)] == [True] * 3
