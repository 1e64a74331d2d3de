"""Platform-neutral values: conversation keys per scope, reply text, attachments."""

from __future__ import annotations

import json

import pytest

from bridge.model import Attachment, ConversationKey, FilePart, Reply, TextPart, ThoughtPart
from bridge.serialize import decode_text, encode_text
from bridge.text import Prose, Text, Thought
from bridge.wording import reply_text


def test_keys_per_scope() -> None:
    k = ConversationKey.for_scope
    assert k("tg", "chat", "c", "u1") == k("tg", "chat", "c", "u2") == ConversationKey("tg", "c")
    assert k("tg", "chat", "c", "u1", "t9") == ConversationKey("tg", "c", "t9")
    assert k("tg", "user", "c", "u1") != k("tg", "user", "c", "u2")
    assert k("tg", "thread", "c", "u1", "t1") == k("tg", "thread", "c", "u2", "t1")
    assert k("tg", "thread", "c", "u1") != k("tg", "thread", "c", "u2")
    assert str(ConversationKey("tg", "c", "t", "u")) == "tg:c/t@u"


def test_a_reply_becomes_typed_blocks() -> None:
    reply = Reply(
        (
            ThoughtPart("Thinking", "step one\r\nstep two\n", "done"),
            ThoughtPart("  Used tool\nsearch ", "", "pending"),
            TextPart("**42**"),
            TextPart("  "),
            FilePart(url="http://x/f.png", name="f.png"),
        )
    )
    text = reply_text(reply)
    assert text.blocks == (
        Thought("Thinking", "step one\nstep two"),
        Thought("Used tool search", "", tool=True, pending=True),
        Prose("**42**"),
    )
    assert text.markdown.startswith(
        "> 💭 **Thinking**\n> step one\n> step two\n\n> 🔧 **Used tool search** …"
    )
    assert text.markdown.endswith("\n\n**42**")
    assert reply_text(reply, show_thoughts=False) == Text.of("**42**")
    assert len(reply.files) == 1


def test_text_values() -> None:
    assert Text.of("") == Text() and Text().blank and Text.of(" \n").blank and not Text.of("x").blank
    assert not Text((Thought(""),)).blank  # a thought always shows its heading
    assert Text.of("a") + Text() + Text.of("b") == Text((Prose("a"), Prose("b")))
    assert (Text.of("a") + Text.of("b")).markdown == "a\n\nb"
    assert Thought("Plan", pending=True, continued=True).heading == "💭 **Plan** (continued) …"
    assert Thought("Plan", "a\n\nb").quote == "> 💭 **Plan**\n> a\n>\n> b"
    assert hash(Text.of("x")) == hash(Text.of("x")) and {Text.of("x"): 1}[Text.of("x")] == 1
    assert Text.of("> 💭 **x**\n> not a thought").blocks == (Prose("> 💭 **x**\n> not a thought"),)


def test_attachment_needs_exactly_one_source(tmp_path) -> None:  # type: ignore[no-untyped-def]
    with pytest.raises(ValueError):
        Attachment(name="x")
    p = tmp_path / "a.txt"
    p.write_text("hey")
    assert Attachment.from_path(p).size == 3 and Attachment.from_path(p).mime_type == "text/plain"


def test_the_core_scopes_keys_adapters_build_without_users() -> None:
    plain, threaded = ConversationKey("tg", "-5"), ConversationKey("tg", "-5", "77")
    assert plain.scoped("chat", "u1") == plain
    assert plain.scoped("user", "u1") == ConversationKey("tg", "-5", None, "u1")
    assert plain.scoped("thread", "u1") == ConversationKey("tg", "-5", None, "u1")  # no thread: per user
    assert threaded.scoped("thread", "u1") == threaded
    assert threaded.scoped("user", "u1") == ConversationKey("tg", "-5", "77", "u1")
    already = ConversationKey("tg", "-5", None, "u2")
    assert already.scoped("user", "u1") is already  # an adapter's own keying is kept


def test_a_text_survives_the_journal_as_json() -> None:
    text = Text((Prose("a **b**"), Thought("T", "c\n\nd", tool=True, pending=True), Prose("e")))
    assert decode_text(json.loads(json.dumps(encode_text(text)))) == text
    assert decode_text("> 💭 **T**\n> c") == Text.of("> 💭 **T**\n> c")  # what earlier journals hold
