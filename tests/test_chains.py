"""Apps built the way Gradio's guides teach, driven through their own event chains (issue 10).

Each recipe app (``tests/apps``: ``twostep``, ``mmchain``, ``threestep``, ``extras``, and the
single-step ``blocks``) runs on every supported gradio version and goes through what a user does:
``bridge info``, ``bridge ask``, a two-turn ``bridge serve`` whose stored history reads user 1,
bot 1, user 2, bot 2, and an app restart in the middle of a conversation.
"""

from __future__ import annotations

import asyncio
import re
import subprocess
import sys
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from bridge import conversation
from bridge.errors import AppError, DiscoveryError, FileTooLarge
from bridge.gradio import ChatSession, GradioClient
from bridge.gradio.appinfo import ChatEndpoint
from bridge.gradio.messages import reply_from_chatbot
from bridge.model import Attachment, ConversationKey
from bridge.sessions import open_store
from tests.conftest import AppServer
from tests.helpers import chat, texts
from tests.test_restart import _port
from tests.test_serve_console import serve, start_serve, write_config

ASSETS = Path(__file__).parent / "apps" / "assets"
# recipe → (the chain bridge info names, the reply to "hi" on turn 1)
RECIPES = {
    "twostep": ("Message.submit → user → bot", "two turn=1 echo: hi"),
    "mmchain": ("multimodaltextbox.submit → add_message → bot_response", "mm turn=1 files=0 text=hi"),
    "threestep": ("Message.submit → check → user → bot", "three turn=1 calls=1 tone=plain echo: hi"),
    "blocks": ("Message.submit → respond", "blocks turn=1 echo: hi"),
}


def bridge(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "bridge.cli", *args],
        capture_output=True,
        text=True,
        timeout=120,
        stdin=subprocess.DEVNULL,
        check=False,
    )


def turns_of(history: list[Any], fmt: str | None) -> list[tuple[str, str]]:
    """The history as (role, text) pairs, whatever the version's format."""
    out: list[tuple[str, str]] = []
    for entry in history:
        if fmt == "tuples":
            user, bot = entry
            if user is not None:
                out.append(("user", user if isinstance(user, str) else "<file>"))
            if bot is not None:
                out.append(("assistant", bot if isinstance(bot, str) else "<file>"))
            continue
        content = entry["content"]
        if isinstance(content, list):
            content = " ".join(str(p.get("text")) for p in content if p.get("type") == "text") or "<file>"
        out.append((entry["role"], content if isinstance(content, str) else "<file>"))
    return out


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_info_names_the_chain(apps: dict[str, str], recipe: str) -> None:
    out = bridge("info", apps[recipe])
    assert out.returncode == 0, out.stderr
    chain, _ = RECIPES[recipe]
    assert f"Chat: {chain} (the app's event chain" in out.stdout
    assert ("text and files (multimodal)" in out.stdout) == (recipe == "mmchain")


def test_info_lists_settings_state_and_outputs_of_a_three_step_chain(apps: dict[str, str]) -> None:
    out = bridge("info", apps["threestep"]).stdout
    section = out.split("Named endpoints")[0]
    assert "settings (--param NAME=VALUE):\n    - tone: dropdown, one of 'plain', 'warm'" in section
    assert "Message" not in section.split("settings")[1]  # the box is the message, not a setting
    assert "also shown after the reply: Stats [markdown]" in section
    assert "1 gr.State value(s); they start over when the app restarts" in section
    assert "step check runs JavaScript in the browser first" in section


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_ask_prints_the_final_reply_exactly_once(apps: dict[str, str], recipe: str) -> None:
    out = bridge("ask", apps[recipe], "hi")
    assert out.returncode == 0, out.stderr
    _, reply = RECIPES[recipe]
    assert out.stdout.startswith(reply + "\n") and out.stdout.count(reply) == 1, out.stdout


def test_ask_prints_a_rewritten_reply_once(apps: dict[str, str]) -> None:
    out = bridge("ask", apps["text"], "rewrite")
    assert out.returncode == 0 and out.stdout == "the answer\n", (out.stdout, out.stderr)


def test_api_name_of_an_event_that_takes_no_message_is_refused(apps: dict[str, str]) -> None:
    out = bridge("ask", apps["twostep"], "hi", "--api-name", "lambda")  # the Clear button's event
    assert out.returncode == 3 and "/lambda cannot be used as a chat" in out.stderr, out.stderr


def test_ask_with_a_setting_and_a_refused_message(apps: dict[str, str], major: int) -> None:
    out = bridge("ask", apps["threestep"], "hi", "--param", "tone=warm")
    assert "tone=warm echo: hi" in out.stdout, out.stderr
    out = bridge("ask", apps["threestep"], "forbidden words")  # gr.Error in the validating step
    assert out.returncode == 1 and "That message is not allowed here." in out.stderr
    if major >= 5:  # gradio's validator= refuses before running: bad input, exit 2
        out = bridge("ask", apps["threestep"], "x" * 300)
        assert out.returncode == 2, (out.returncode, out.stderr)
        assert "Messages must be at most 200 characters." in out.stderr


@pytest.mark.parametrize("recipe", sorted(RECIPES))
def test_serve_keeps_the_apps_history(apps: dict[str, str], recipe: str, tmp_path: Path) -> None:
    cfg = write_config(tmp_path, apps[recipe])
    out = serve(cfg, "hi\nagain\n")
    assert out.returncode == 0, out.stderr
    answers = [line for line in out.stdout.splitlines() if "turn=" in line]
    assert len(answers) == 2 and "turn=1" in answers[0] and "turn=2" in answers[1], out.stdout

    async def stored() -> tuple[list[Any], ChatEndpoint]:
        store = open_store(f"sqlite:///{tmp_path / 'state.db'}")
        try:
            state = await conversation.load(store, ConversationKey("term", "console"))
        finally:
            await store.close()
        async with await GradioClient.connect(apps[recipe]) as client:
            return state.session.history, client.chat

    history, ep = asyncio.run(stored())
    roles = turns_of(history, ep.history_format)
    assert [r for r, _ in roles] == ["user", "assistant", "user", "assistant"], roles
    assert [t for r, t in roles if r == "user"] == ["hi", "again"]
    assert "turn=2" in roles[3][1]


async def test_multimodal_add_message_gets_the_files(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["mmchain"]) as client:
        session = ChatSession()
        await chat(client, session, "hi")
        events, done = await chat(
            client, session, "image look", attachments=[Attachment.from_path(ASSETS / "green.png")]
        )
        assert done.reply.text == "mm turn=2 files=1 text=image look"
        assert [f.name for f in done.reply.files] == ["green.png"]
        assert texts(events), "the bot step streams"


async def test_success_runs_only_after_the_validating_step(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["threestep"]) as client:
        session = ChatSession()
        await chat(client, session, "hi")
        before = session.to_dict()
        with pytest.raises(AppError, match="not allowed"):
            await chat(client, session, "forbidden")
        assert session.to_dict() == before  # the refused message is not remembered
        _, done = await chat(client, session, "again")
        assert done.reply.text.startswith("three turn=2 calls=2 tone=plain echo: again")
        assert done.reply.text.endswith("**Stats**\n**Answered** 2 message(s) in this session.")
        assert session.values  # the Markdown the chain wrote is kept with the conversation


async def test_additional_outputs_options_and_examples(
    apps: dict[str, str], major: int, tmp_path: Path
) -> None:
    async with await GradioClient.connect(apps["extras"]) as client:
        assert client.chat.examples == ("hello there", "what can you do?")
        _, done = await chat(client, ChatSession(), "hi")
        if major < 5:  # 4.x has neither options nor additional_outputs
            assert done.reply.text == "extras turn=1 echo: hi" and not done.reply.choices
            return
        assert [(c.value, c.label) for c in done.reply.choices] == [
            ("yes please", "yes please"),
            ("no", "No, thanks"),
        ]
        assert done.reply.text == (
            "extras turn=1 echo: hi\n\n**Snippet**\n```python\nprint('hi')\n```"
            '\n\n**Details**\n```json\n{\n  "turn": 1\n}\n```'
        )
        _, hidden = await chat(client, ChatSession(), "hi", show_outputs=False)
        assert hidden.reply.text == "extras turn=1 echo: hi"
        _, html = await chat(client, ChatSession(), "show html")  # gr.HTML inside the chat: its text
        assert html.reply.text == "extras turn=1 echo: show html\n\nHello world & all"
        _, plot = await chat(client, ChatSession(), "a plot")  # gr.Plot of a matplotlib figure: an image
        (part,) = plot.reply.files
        assert (part.name, part.kind, part.mime_type) == ("plot.png", "image", "image/png")
        saved = await client.download(part, tmp_path, 1_000_000)
        assert saved.path.read_bytes() == (ASSETS / "green.png").read_bytes()
        with pytest.raises(FileTooLarge):
            await client.download(part, tmp_path, 10)


async def test_api_name_runs_the_chain_it_belongs_to(apps: dict[str, str]) -> None:
    async with await GradioClient.connect(apps["mmchain"], api_name="bot_response") as client:
        assert client.chat.chain_text == RECIPES["mmchain"][0]
        _, done = await chat(client, ChatSession(), "hi")
        assert done.reply.text == "mm turn=1 files=0 text=hi"


async def test_api_name_of_a_step_that_is_no_chat_is_refused(apps: dict[str, str]) -> None:
    with pytest.raises(DiscoveryError, match="no endpoint named /nothing"):
        await GradioClient.connect(apps["twostep"], api_name="nothing")


@pytest.mark.parametrize("recipe", ["twostep", "threestep", "mmchain"])
async def test_conversation_survives_an_app_restart(gradio_version: str, recipe: str) -> None:
    port = _port()
    server = AppServer(gradio_version, (recipe,), "--port", str(port))
    await asyncio.to_thread(server.wait_ready)
    try:
        async with await GradioClient.connect(f"http://127.0.0.1:{port}") as client:
            session = ChatSession()
            await chat(client, session, "one")
            await asyncio.to_thread(server.stop)
            server = AppServer(gradio_version, (recipe,), "--port", str(port))
            await asyncio.to_thread(server.wait_ready)
            _, done = await chat(client, session, "two")
            assert re.search(r"turn=2\b", done.reply.text), done.reply.text
            fmt = client.chat.history_format
            assert reply_from_chatbot(client.app, session.history, fmt).text.startswith(done.reply.text[:8])
    finally:
        await asyncio.to_thread(server.stop)


def test_console_offers_choices_and_examples(current_apps: dict[str, str], tmp_path: Path) -> None:
    cfg = write_config(tmp_path, current_apps["extras"], state="memory://")
    proc = start_serve(cfg)
    assert proc.stdin is not None and proc.stdout is not None
    try:
        proc.stdin.write("hi\n")
        proc.stdin.flush()
        first = proc.stdout.readline()  # the answer; its choices are listed on stderr after it
        assert first.startswith("extras turn=1 echo: hi"), first
        while "**Details**" not in proc.stdout.readline():
            pass
        time.sleep(1.0)  # the choices are offered right after the final text
        out, err = proc.communicate("2\n/help\n", timeout=120)
    finally:
        if proc.poll() is None:
            proc.kill()
    assert "[choices: [1] yes please  [2] No, thanks (type the number)]" in err
    assert "extras turn=2 echo: no" in out  # "2" sent the second choice's value, not its label
    assert "Try one of the app's examples:\n• hello there\n• what can you do?" in out
    assert "[choices: [1] hello there  [2] what can you do? (type the number)]" in err


# Gradio's own chat demos (tests/apps/upstream, vendored unchanged; written for gradio 6).
CI_CHAIN = "textbox.submit → _clear_and_save_textbox → _submit_fn"
UPSTREAM_CHATS = {
    "chatbot_consecutive": "textbox.submit → user → bot",
    "chatbot_core_components_simple": "multimodaltextbox.submit → add_message → bot_response",
    "chatbot_multimodal": "multimodaltextbox.submit → add_message → bot_response",
    "chatbot_reasoning_tags": CI_CHAIN,
    "chatbot_simple": "textbox.submit → respond",
    "chatbot_streaming": "textbox.submit → user → bot",
    "chatbot_thoughts": "textbox.submit → lambda → simulate_thinking_chat",
    "chatinterface_echo_multimodal": "multimodal" + CI_CHAIN,
    "chatinterface_options": CI_CHAIN,
    "chatinterface_prefill": CI_CHAIN,
    "chatinterface_random_response": CI_CHAIN,
    "chatinterface_streaming_echo": CI_CHAIN,
    "chatinterface_system_prompt": CI_CHAIN,
    "chatinterface_thoughts": CI_CHAIN,
    "validator_chatinterface": CI_CHAIN,
}
# Demos with no message box a user could type into: a button fills the Chatbot.
UPSTREAM_NOT_CHATS = ("chatbot_editable", "chatbot_feedback", "chatbot_nested_thoughts", "chatbot_with_tools")


@pytest.fixture(scope="module")
def upstream() -> Iterator[dict[str, str]]:
    server = AppServer("6.31.0", tuple(f"upstream/{n}" for n in (*UPSTREAM_CHATS, *UPSTREAM_NOT_CHATS)))
    try:
        urls = server.wait_ready()
        yield {name.split("/", 1)[1]: url for name, url in urls.items()}
    finally:
        server.stop()


async def test_gradios_own_chat_demos_hold_a_conversation(upstream: dict[str, str]) -> None:
    async def converse(name: str) -> None:
        async with await GradioClient.connect(upstream[name]) as client:
            assert client.chat.chain_text == UPSTREAM_CHATS[name]
            session = ChatSession()
            _, one = await chat(client, session, "hello")
            _, two = await chat(client, session, "again")
            assert one.reply.text and two.reply.text, name
            roles = [r for r, _ in turns_of(session.history, client.chat.history_format)]
            users = [i for i, r in enumerate(roles) if r == "user"]
            assert len(users) == 2 and roles[-1] == "assistant" and roles[users[1] - 1] == "assistant", roles
            if name == "chatinterface_options":
                assert [c.label for c in two.reply.choices] == ["Yes", "No"]
                assert two.reply.choices[0].value == "Yes, that's correct."
            if name in ("chatbot_thoughts", "chatinterface_thoughts", "chatbot_reasoning_tags"):
                assert two.reply.thoughts

    await asyncio.gather(*(converse(name) for name in UPSTREAM_CHATS))


@pytest.mark.parametrize("name", UPSTREAM_NOT_CHATS)
def test_gradios_button_demos_are_refused_with_a_reason(upstream: dict[str, str], name: str) -> None:
    out = bridge("info", upstream[name])
    assert "Chat: none — this app's event chain is not supported: " in out.stdout
    out = bridge("ask", upstream[name], "hi")
    assert out.returncode == 3 and "this app's event chain is not supported: " in out.stderr


def test_gradios_validator_demo_refuses_through_bridge_ask(upstream: dict[str, str]) -> None:
    out = bridge("ask", upstream["validator_chatinterface"], "error")
    assert out.returncode == 2 and "Can't be error" in out.stderr, (out.returncode, out.stderr)
    out = bridge("ask", upstream["chatinterface_streaming_echo"], "hello")
    assert out.stdout == "You typed: hello\n"
