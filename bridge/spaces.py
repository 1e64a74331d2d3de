"""One connected Gradio app per configured Space, connected lazily and reconnected after failures.

The bridge starts even when a Space is asleep or down: the first turn connects (waking the
Space, with its status shown to the user), and a turn that finds the app unreachable drops the
connection so the next turn connects afresh.
"""

from __future__ import annotations

import asyncio
from dataclasses import dataclass, field

from bridge.gradio.client import GradioClient
from bridge.gradio.events import SpaceStatus
from bridge.gradio.http import ClientOptions
from bridge.gradio.hub import StatusCallback


@dataclass(frozen=True, slots=True)
class SpaceSettings:
    """How to reach one app (resolved secrets included; never logged)."""

    name: str
    src: str
    hf_token: str | None = None
    auth: tuple[str, str] | None = None
    api_name: str | None = None
    options: ClientOptions = field(default_factory=ClientOptions)

    def __repr__(self) -> str:
        return f"SpaceSettings(name={self.name!r}, src={self.src!r}, api_name={self.api_name!r})"


class SpaceHandle:
    """A lazily connected :class:`GradioClient` shared by every conversation of a Space."""

    def __init__(self, settings: SpaceSettings) -> None:
        self.settings = settings
        self._client: GradioClient | None = None
        self._lock = asyncio.Lock()

    @property
    def name(self) -> str:
        """The Space's name in the config."""
        return self.settings.name

    async def client(self, on_status: StatusCallback | None = None) -> GradioClient:
        """The connected client, connecting (and waking the Space) on first use."""
        if self._client is not None:
            return self._client
        async with self._lock:
            if self._client is None:
                s = self.settings
                self._client = await GradioClient.connect(
                    s.src,
                    hf_token=s.hf_token,
                    auth=s.auth,
                    api_name=s.api_name,
                    on_status=on_status or _ignore,
                    options=s.options,
                )
            return self._client

    async def invalidate(self, failed: GradioClient) -> None:
        """Forget ``failed`` (a turn found the app unreachable through it); the next use reconnects.

        Many turns share one connection and notice its failure one after another: once a
        reconnect has replaced ``failed``, a late report changes nothing, so the new connection
        (and every turn already running on it) is left alone.
        """
        async with self._lock:
            if self._client is not failed:
                return
            self._client = None
        await failed.aclose()

    async def aclose(self) -> None:
        """Close the connection."""
        async with self._lock:
            client, self._client = self._client, None
        if client is not None:
            await client.aclose()


def _ignore(_: SpaceStatus) -> None:
    return None
