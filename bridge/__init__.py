"""Bridge: Gradio chat apps as streaming chat bots.

The public surface — the only names adapters and tests should import from ``bridge`` itself. The
Gradio client lives in :mod:`bridge.gradio` (whose ``__all__`` is its public surface).

Names are imported on first use (PEP 562), so ``from bridge import Adapter`` in an adapter's module
loads only the contract and its values, not the relay, the Gradio client or httpx.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from bridge._lazy import lazy_exports as _lazy_exports

if TYPE_CHECKING:
    from bridge.adapter import (
        Adapter,
        AdapterState,
        AppInputs,
        Capabilities,
        Deliver,
        Host,
        Partitions,
        Stage,
        repeating,
    )
    from bridge.adapterconfig import AdapterConfig, string_ids
    from bridge.budget import Budget, BudgetSource, LocalBudget, reserve_all
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
    from bridge.httpserver import HttpRequest, HttpResponse, Routes
    from bridge.model import (
        COMMANDS,
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
        Setting,
        TextPart,
        ThoughtPart,
    )
    from bridge.ratelimit import SlidingWindow
    from bridge.router import AccessRules
    from bridge.splitting import split_markdown, splits_cluster
    from bridge.text import Block, Prose, Text, TextLength, Thought

__version__ = "0.1.0"

# Each public name → (module, attribute); a name is imported from its module the first time it is read.
_LAZY: dict[str, tuple[str, str]] = {
    "AccessRules": ("bridge.router", "AccessRules"),
    "Adapter": ("bridge.adapter", "Adapter"),
    "AdapterConfig": ("bridge.adapterconfig", "AdapterConfig"),
    "AdapterState": ("bridge.adapter", "AdapterState"),
    "AppError": ("bridge.errors", "AppError"),
    "AppInputs": ("bridge.adapter", "AppInputs"),
    "AppUnreachable": ("bridge.errors", "AppUnreachable"),
    "Attachment": ("bridge.model", "Attachment"),
    "AuthError": ("bridge.errors", "AuthError"),
    "Author": ("bridge.model", "Author"),
    "Block": ("bridge.text", "Block"),
    "Budget": ("bridge.budget", "Budget"),
    "BudgetSource": ("bridge.budget", "BudgetSource"),
    "BridgeError": ("bridge.errors", "BridgeError"),
    "COMMANDS": ("bridge.model", "COMMANDS"),
    "Capabilities": ("bridge.adapter", "Capabilities"),
    "Choice": ("bridge.model", "Choice"),
    "ConfigError": ("bridge.errors", "ConfigError"),
    "ContextLost": ("bridge.errors", "ContextLost"),
    "ConversationKey": ("bridge.model", "ConversationKey"),
    "Deliver": ("bridge.adapter", "Deliver"),
    "DiscoveryError": ("bridge.errors", "DiscoveryError"),
    "FilePart": ("bridge.model", "FilePart"),
    "FileTooLarge": ("bridge.errors", "FileTooLarge"),
    "Host": ("bridge.adapter", "Host"),
    "HttpRequest": ("bridge.httpserver", "HttpRequest"),
    "HttpResponse": ("bridge.httpserver", "HttpResponse"),
    "Incoming": ("bridge.model", "Incoming"),
    "LocalBudget": ("bridge.budget", "LocalBudget"),
    "InvalidParam": ("bridge.errors", "InvalidParam"),
    "LocalFile": ("bridge.model", "LocalFile"),
    "MessageGone": ("bridge.errors", "MessageGone"),
    "MessageRef": ("bridge.model", "MessageRef"),
    "Partitions": ("bridge.adapter", "Partitions"),
    "PlatformError": ("bridge.errors", "PlatformError"),
    "ProtocolError": ("bridge.errors", "ProtocolError"),
    "Prose": ("bridge.text", "Prose"),
    "QueueFull": ("bridge.errors", "QueueFull"),
    "RateLimited": ("bridge.errors", "RateLimited"),
    "Reply": ("bridge.model", "Reply"),
    "ReplyPart": ("bridge.model", "ReplyPart"),
    "Routes": ("bridge.httpserver", "Routes"),
    "Setting": ("bridge.model", "Setting"),
    "SlidingWindow": ("bridge.ratelimit", "SlidingWindow"),
    "SpaceBroken": ("bridge.errors", "SpaceBroken"),
    "SpaceNotReady": ("bridge.errors", "SpaceNotReady"),
    "Stage": ("bridge.adapter", "Stage"),
    "Text": ("bridge.text", "Text"),
    "TextLength": ("bridge.text", "TextLength"),
    "TextPart": ("bridge.model", "TextPart"),
    "Thought": ("bridge.text", "Thought"),
    "ThoughtPart": ("bridge.model", "ThoughtPart"),
    "Unsupported": ("bridge.errors", "Unsupported"),
    "UpstreamError": ("bridge.errors", "UpstreamError"),
    "repeating": ("bridge.adapter", "repeating"),
    "reserve_all": ("bridge.budget", "reserve_all"),
    "split_markdown": ("bridge.splitting", "split_markdown"),
    "splits_cluster": ("bridge.splitting", "splits_cluster"),
    "string_ids": ("bridge.adapterconfig", "string_ids"),
}

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
    "Block",
    "BridgeError",
    "Budget",
    "BudgetSource",
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
    "LocalBudget",
    "LocalFile",
    "MessageGone",
    "MessageRef",
    "Partitions",
    "PlatformError",
    "Prose",
    "ProtocolError",
    "QueueFull",
    "RateLimited",
    "Reply",
    "ReplyPart",
    "Routes",
    "Setting",
    "SlidingWindow",
    "SpaceBroken",
    "SpaceNotReady",
    "Stage",
    "Text",
    "TextLength",
    "TextPart",
    "Thought",
    "ThoughtPart",
    "Unsupported",
    "UpstreamError",
    "__version__",
    "repeating",
    "reserve_all",
    "split_markdown",
    "splits_cluster",
    "string_ids",
]


__getattr__, __dir__ = _lazy_exports(__name__, _LAZY)
