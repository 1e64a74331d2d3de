"""The asyncio streaming Gradio client the bridge stands on (see :mod:`bridge.gradio.client`)."""

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
