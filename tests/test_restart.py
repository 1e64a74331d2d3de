"""The app restarts between turns (history wiped server-side) or dies mid-stream."""

from __future__ import annotations

import asyncio
import socket

import pytest

from bridge.errors import AppUnreachable
from bridge.gradio import ChatSession, ChatTurn, GradioClient, ReplyUpdate
from tests.conftest import AppServer
from tests.helpers import chat


def _port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


async def _start(version: str, port: int) -> AppServer:
    server = AppServer(version, ("text",), "--port", str(port))
    await asyncio.to_thread(server.wait_ready)
    return server


async def test_conversation_survives_app_restart(gradio_version: str) -> None:
    port = _port()
    server = await _start(gradio_version, port)
    try:
        async with await GradioClient.connect(f"http://127.0.0.1:{port}") as client:
            session = ChatSession()
            await chat(client, session, "one")
            await chat(client, session, "two")
            await asyncio.to_thread(server.stop)
            server = await _start(gradio_version, port)
            _, done = await chat(client, session, "three")
            assert "turn=3" in done.reply.text
            assert not done.context_reset
    finally:
        await asyncio.to_thread(server.stop)


async def test_app_dying_mid_stream_is_a_clear_error(gradio_version: str) -> None:
    port = _port()
    server = await _start(gradio_version, port)
    try:
        async with await GradioClient.connect(f"http://127.0.0.1:{port}") as client:
            session = ChatSession()
            before = session.to_dict()
            with pytest.raises(AppUnreachable):
                async for event in ChatTurn(client, session, "slow"):
                    if isinstance(event, ReplyUpdate):
                        server.proc.kill()
            assert session.to_dict() == before
    finally:
        await asyncio.to_thread(server.stop)
