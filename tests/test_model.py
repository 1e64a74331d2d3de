"""Platform-neutral values: conversation keys per scope, reply text, attachments."""

from __future__ import annotations

import pytest

from bridge.model import Attachment, ConversationKey, FilePart, Reply, TextPart, ThoughtPart
from bridge.wording import reply_markdown


def test_keys_per_scope() -> None:
    k = ConversationKey.for_scope
    assert k("tg", "chat", "c", "u1") == k("tg", "chat", "c", "u2") == ConversationKey("tg", "c")
    assert k("tg", "chat", "c", "u1", "t9") == ConversationKey("tg", "c", "t9")
    assert k("tg", "user", "c", "u1") != k("tg", "user", "c", "u2")
    assert k("tg", "thread", "c", "u1", "t1") == k("tg", "thread", "c", "u2", "t1")
    assert k("tg", "thread", "c", "u1") != k("tg", "thread", "c", "u2")
    assert str(ConversationKey("tg", "c", "t", "u")) == "tg:c/t@u"


def test_reply_markdown_marks_thoughts() -> None:
    reply = Reply(
        (
            ThoughtPart("Thinking", "step one\nstep two", "done"),
            ThoughtPart("Used tool search", ""),
            TextPart("**42**"),
            FilePart(url="http://x/f.png", name="f.png"),
        )
    )
    md = reply_markdown(reply)
    assert md.startswith("> 💭 **Thinking**\n> step one\n> step two")
    assert "> 🔧 **Used tool search**" in md and md.endswith("**42**")
    assert reply_markdown(reply, show_thoughts=False) == "**42**"
    assert reply.text == "**42**" and len(reply.files) == 1


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
