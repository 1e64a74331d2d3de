"""The asyncio streaming Gradio client the bridge stands on (see :mod:`bridge.gradio.client`).

Names are imported on first use (PEP 562): ``bridge.gradio.X`` modules that need no HTTP (values,
parameters) load without the client and httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from bridge.gradio.appinfo import AppInfo, ChatEndpoint, Dependency, Endpoint
    from bridge.gradio.chat import ChatTurn, ReplyUpdate, TurnDone, TurnEvent, resolve_params
    from bridge.gradio.client import GradioClient
    from bridge.gradio.events import (
        Cancelled,
        Completed,
        Failed,
        Heartbeat,
        JobEvent,
        Log,
        Output,
        ProgressStep,
        ProgressUpdate,
        Queued,
        SpaceStatus,
        Started,
    )
    from bridge.gradio.files import Downloaded
    from bridge.gradio.http import ClientOptions
    from bridge.gradio.params import Param
    from bridge.gradio.session import ChatSession, new_session_hash
    from bridge.gradio.streams import Job

_LAZY: dict[str, tuple[str, str]] = {
    "AppInfo": ("bridge.gradio.appinfo", "AppInfo"),
    "Cancelled": ("bridge.gradio.events", "Cancelled"),
    "ChatEndpoint": ("bridge.gradio.appinfo", "ChatEndpoint"),
    "ChatSession": ("bridge.gradio.session", "ChatSession"),
    "ChatTurn": ("bridge.gradio.chat", "ChatTurn"),
    "ClientOptions": ("bridge.gradio.http", "ClientOptions"),
    "Completed": ("bridge.gradio.events", "Completed"),
    "Dependency": ("bridge.gradio.appinfo", "Dependency"),
    "Downloaded": ("bridge.gradio.files", "Downloaded"),
    "Endpoint": ("bridge.gradio.appinfo", "Endpoint"),
    "Failed": ("bridge.gradio.events", "Failed"),
    "GradioClient": ("bridge.gradio.client", "GradioClient"),
    "Heartbeat": ("bridge.gradio.events", "Heartbeat"),
    "Job": ("bridge.gradio.streams", "Job"),
    "JobEvent": ("bridge.gradio.events", "JobEvent"),
    "Log": ("bridge.gradio.events", "Log"),
    "Output": ("bridge.gradio.events", "Output"),
    "Param": ("bridge.gradio.params", "Param"),
    "ProgressStep": ("bridge.gradio.events", "ProgressStep"),
    "ProgressUpdate": ("bridge.gradio.events", "ProgressUpdate"),
    "Queued": ("bridge.gradio.events", "Queued"),
    "ReplyUpdate": ("bridge.gradio.chat", "ReplyUpdate"),
    "SpaceStatus": ("bridge.gradio.events", "SpaceStatus"),
    "Started": ("bridge.gradio.events", "Started"),
    "TurnDone": ("bridge.gradio.chat", "TurnDone"),
    "TurnEvent": ("bridge.gradio.chat", "TurnEvent"),
    "new_session_hash": ("bridge.gradio.session", "new_session_hash"),
    "resolve_params": ("bridge.gradio.chat", "resolve_params"),
}

__all__ = [
    "AppInfo",
    "Cancelled",
    "ChatEndpoint",
    "ChatSession",
    "ChatTurn",
    "ClientOptions",
    "Completed",
    "Dependency",
    "Downloaded",
    "Endpoint",
    "Failed",
    "GradioClient",
    "Heartbeat",
    "Job",
    "JobEvent",
    "Log",
    "Output",
    "Param",
    "ProgressStep",
    "ProgressUpdate",
    "Queued",
    "ReplyUpdate",
    "SpaceStatus",
    "Started",
    "TurnDone",
    "TurnEvent",
    "new_session_hash",
    "resolve_params",
]

__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)
