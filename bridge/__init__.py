"""Bridge: Gradio chat apps as streaming chat bots.

The public surface — the only names adapters and tests should import from ``bridge`` itself. The
Gradio client lives in :mod:`bridge.gradio` (whose ``__all__`` is its public surface).
"""

from bridge.adapter import Adapter, Capabilities, Deliver, Stage, repeating
from bridge.commands import HELP as COMMANDS
from bridge.config import AdapterConfig, string_ids
from bridge.errors import (
    AppError,
    AppUnreachable,
    AuthError,
    BridgeError,
    ConfigError,
    ContextLost,
    DiscoveryError,
    FileTooLarge,
    InvalidParam,
    MessageGone,
    PlatformError,
    ProtocolError,
    QueueFull,
    RateLimited,
    SpaceBroken,
    SpaceNotReady,
    Unsupported,
    UpstreamError,
)
from bridge.gradio.params import Param
from bridge.host import AdapterState, AppInputs, Host
from bridge.httpserver import HttpRequest, HttpResponse, Routes
from bridge.model import (
    Attachment,
    Author,
    Choice,
    ConversationKey,
    FilePart,
    Incoming,
    LocalFile,
    MessageRef,
    Reply,
    ReplyPart,
    TextPart,
    ThoughtPart,
)
from bridge.ratelimit import SlidingWindow
from bridge.router import AccessRules
from bridge.splitting import split_markdown, splits_cluster

__version__ = "0.1.0"

__all__ = [
    "COMMANDS",
    "AccessRules",
    "Adapter",
    "AdapterConfig",
    "AdapterState",
    "AppError",
    "AppInputs",
    "AppUnreachable",
    "Attachment",
    "AuthError",
    "Author",
    "BridgeError",
    "Capabilities",
    "Choice",
    "ConfigError",
    "ContextLost",
    "ConversationKey",
    "Deliver",
    "DiscoveryError",
    "FilePart",
    "FileTooLarge",
    "Host",
    "HttpRequest",
    "HttpResponse",
    "Incoming",
    "InvalidParam",
    "LocalFile",
    "MessageGone",
    "MessageRef",
    "Param",
    "PlatformError",
    "ProtocolError",
    "QueueFull",
    "RateLimited",
    "Reply",
    "ReplyPart",
    "Routes",
    "SlidingWindow",
    "SpaceBroken",
    "SpaceNotReady",
    "Stage",
    "TextPart",
    "ThoughtPart",
    "Unsupported",
    "UpstreamError",
    "__version__",
    "repeating",
    "split_markdown",
    "splits_cluster",
    "string_ids",
]
