"""Messages as JSON, for the durable inbox: :class:`~bridge.model.Incoming`, :class:`MessageRef` and
the :class:`~bridge.text.Text` of a reply.

Attachments travel as what they are: a reference the adapter fetches later (``source``), a local
path, or (for adapters that hand over bytes) the bytes in base64. ``encode_incoming`` with
``keep_data=False`` drops in-memory bytes and marks the message, so a message too large to record
whole is still recorded; resuming it then tells the user the files were lost.
"""

from __future__ import annotations

import base64
from pathlib import Path
from typing import Any

from bridge.model import Attachment, Author, ConversationKey, Incoming, MessageRef
from bridge.text import Block, Prose, Text, Thought

FILES_LOST = "files_lost"


def encode_ref(ref: MessageRef) -> dict[str, Any]:
    """A message handle as JSON."""
    return {"chat": ref.chat, "id": ref.id, "thread": ref.thread, "data": [list(p) for p in ref.data]}


def decode_ref(data: dict[str, Any]) -> MessageRef:
    """Inverse of :func:`encode_ref`."""
    pairs = tuple((str(k), str(v)) for k, v in data.get("data") or ())
    thread = data.get("thread")
    return MessageRef(str(data["chat"]), str(data["id"]), None if thread is None else str(thread), pairs)


def encode_text(text: Text) -> list[dict[str, Any]]:
    """A text as JSON: one object per block, ``{"prose": markdown}`` or a thought's fields."""
    return [
        {"prose": b.markdown}
        if isinstance(b, Prose)
        else {"thought": b.title, "markdown": b.markdown, "tool": b.tool, "pending": b.pending}
        for b in text.blocks
    ]


def decode_text(data: Any) -> Text:
    """Inverse of :func:`encode_text`; a string (what journals of earlier versions hold) is prose."""
    if isinstance(data, str):
        return Text.of(data)
    blocks: list[Block] = []
    for item in data:
        if "prose" in item:
            blocks.append(Prose(str(item["prose"])))
        else:
            markdown, tool, pending = str(item["markdown"]), bool(item["tool"]), bool(item["pending"])
            blocks.append(Thought(str(item["thought"]), markdown, tool, pending))
    return Text(tuple(blocks))


def encode_incoming(msg: Incoming, *, keep_data: bool = True) -> dict[str, Any]:
    """``msg`` as JSON (see the module docstring for attachments)."""
    files: list[dict[str, Any]] = []
    lost = False
    for att in msg.attachments:
        item: dict[str, Any] = {"name": att.name, "mime": att.mime_type, "size": att.declared_size}
        if att.source:
            item["source"] = [list(p) for p in att.source]
        elif att.path is not None:
            item["path"] = str(att.path)
        elif keep_data and att.data is not None:
            item["data"] = base64.b64encode(att.data).decode("ascii")
        else:
            lost = True
            continue
        files.append(item)
    key = msg.key
    return {
        "key": {"adapter": key.adapter, "chat": key.chat, "thread": key.thread, "user": key.user},
        "author": {
            "id": msg.author.id,
            "name": msg.author.name,
            "names": list(msg.author.names),
            "is_bot": msg.author.is_bot,
        },
        "text": msg.text,
        "attachments": files,
        "reply_to": encode_ref(msg.reply_to) if msg.reply_to is not None else None,
        "command": msg.command,
        "args": msg.args,
        "params": dict(msg.params),
        "shared": msg.shared,
        "id": msg.id,
        FILES_LOST: lost,
    }


def decode_incoming(data: dict[str, Any]) -> Incoming:
    """Inverse of :func:`encode_incoming`."""
    author = data["author"]
    attachments = []
    for item in data.get("attachments") or ():
        common: dict[str, Any] = {"name": str(item["name"]), "mime_type": item.get("mime")}
        if item.get("size") is not None:
            common["declared_size"] = int(item["size"])
        if "source" in item:
            source = tuple((str(k), str(v)) for k, v in item["source"])
            attachments.append(Attachment(source=source, **common))
        elif "path" in item:
            attachments.append(Attachment(path=Path(item["path"]), **common))
        else:
            attachments.append(Attachment(data=base64.b64decode(item["data"]), **common))
    return Incoming(
        key=ConversationKey(**data["key"]),
        author=Author(
            id=str(author["id"]),
            name=author.get("name"),
            names=tuple(author.get("names") or ()),
            is_bot=bool(author.get("is_bot")),
        ),
        text=str(data.get("text") or ""),
        attachments=tuple(attachments),
        reply_to=decode_ref(data["reply_to"]) if data.get("reply_to") else None,
        command=data.get("command"),
        args=str(data.get("args") or ""),
        params=dict(data.get("params") or {}),
        shared=bool(data.get("shared")),
        id=data.get("id"),
    )
