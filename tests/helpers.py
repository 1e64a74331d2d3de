"""Small helpers shared by the scenario tests."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from typing import Any

from bridge.gradio import ChatSession, ChatTurn, GradioClient, ReplyUpdate, TurnDone
from bridge.model import Attachment


async def chat(
    client: GradioClient,
    session: ChatSession,
    text: str,
    *,
    attachments: Sequence[Attachment] = (),
    params: Mapping[str, Any] | None = None,
    **kw: Any,
) -> tuple[list[Any], TurnDone]:
    """Run one turn; return every event and the TurnDone."""
    events: list[Any] = []
    async for event in ChatTurn(client, session, text, attachments, params, **kw):
        events.append(event)
    done = events[-1]
    assert isinstance(done, TurnDone), events
    return events, done


def texts(events: list[Any]) -> list[str]:
    """The reply texts of the ReplyUpdate events, in order."""
    return [e.reply.text for e in events if isinstance(e, ReplyUpdate)]
