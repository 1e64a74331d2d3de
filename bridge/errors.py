"""One exception tree for the whole bridge.

Every error a caller may need to tell apart is a subclass of :class:`BridgeError`;
adapters translate their platform library's exceptions into these at the boundary::

    BridgeError
    ├── ConfigError            the config file or an env var it names is wrong
    ├── InvalidParam           a value for an app's additional input breaks its constraints
    ├── FileTooLarge           an upload or a download exceeds a size limit
    ├── UpstreamError          anything about the Gradio app
    │   ├── AppUnreachable     connection refused, timeouts, 5xx, dropped streams
    │   ├── AuthError          wrong or missing credentials (launch(auth=…), HF token)
    │   ├── SpaceNotReady      a Space is asleep, building or starting and did not come up in time
    │   ├── SpaceBroken        a Space is in an error stage (BUILD_ERROR, RUNTIME_ERROR, PAUSED, …)
    │   ├── DiscoveryError     the app exposes nothing the bridge can chat with
    │   ├── QueueFull          the app's queue refused the job (HTTP 503)
    │   ├── AppError           the app raised (gr.Error or an exception shown with show_error)
    │   │   └── InputRejected  the app's validator refused the input (gr.validate)
    │   ├── ContextLost        the app forgot the conversation and it could not be restored
    │   ├── Unsupported        the app cannot take this input (files for a text-only app)
    │   └── ProtocolError      the app answered something the bridge does not understand
    └── PlatformError          a chat platform call failed (``permanent``: refused for good)
        ├── RateLimited        the platform asked to wait ``retry_after`` seconds
        └── MessageGone        the message to edit no longer exists (deleted): post a new one

Messages are written for the person who has to act on them: they say what happened and what to
do next, and never contain a secret.
"""

from __future__ import annotations


class BridgeError(Exception):
    """Base of every error the bridge raises on purpose."""


class ConfigError(BridgeError):
    """The configuration is invalid; ``path`` names the offending key (``adapters.tg.token_env``)."""

    def __init__(self, message: str, path: str | None = None) -> None:
        super().__init__(f"{path}: {message}" if path else message)
        self.path = path


class InvalidParam(BridgeError):
    """A value for an app input violates the input's type or constraints."""

    def __init__(self, name: str, message: str) -> None:
        super().__init__(f"{name}: {message}")
        self.name = name


class FileTooLarge(BridgeError):
    """A file is over a size limit; ``size`` may be None when only the limit was crossed mid-stream."""

    def __init__(self, name: str, limit: int, size: int | None = None) -> None:
        got = f" ({size:,} bytes)" if size is not None else ""
        super().__init__(f"{name}{got} is larger than the limit of {limit:,} bytes")
        self.name = name
        self.limit = limit
        self.size = size


class UpstreamError(BridgeError):
    """Something went wrong talking to the Gradio app."""


class AppUnreachable(UpstreamError):
    """The app could not be reached or dropped the connection."""


class AuthError(UpstreamError):
    """The app or the Hub refused our credentials."""


class SpaceNotReady(UpstreamError):
    """A Space did not reach RUNNING within the wait limit; ``stage`` is the last stage seen."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


class SpaceBroken(UpstreamError):
    """A Space is in a stage it cannot leave by itself (an error, paused, no app file)."""

    def __init__(self, message: str, stage: str) -> None:
        super().__init__(message)
        self.stage = stage


class DiscoveryError(UpstreamError):
    """The app has no endpoint the bridge can use as a chat."""


class QueueFull(UpstreamError):
    """The app's queue is full; try again later."""


class AppError(UpstreamError):
    """The app raised an error; ``message`` is the app's own text (None when it hides details)."""

    def __init__(self, message: str | None, title: str | None = None) -> None:
        text = message if message else "the app failed without details (it does not enable show_error)"
        super().__init__(f"{title}: {text}" if title and title != "Error" else text)
        self.message = message
        self.title = title


class InputRejected(AppError):
    """The app's own input validation (``validator=`` / ``gr.validate``) refused the message or a setting."""


class ContextLost(UpstreamError):
    """The app lost the conversation's server-side state and it could not be restored."""


class Unsupported(UpstreamError):
    """The app cannot take this kind of input (for example files, when it is text-only)."""


class ProtocolError(UpstreamError):
    """The app sent data that does not match the Gradio protocol the bridge knows."""


class PlatformError(BridgeError):
    """A chat platform call failed.

    ``permanent`` is True when repeating the call cannot help: the bot may not post there, the chat
    is gone, the token is rejected, the request itself is invalid. Otherwise (network errors, 5xx,
    the platform unreachable) the call may work later, and the final text of a reply is retried
    with back-off until the delivery deadline.
    """

    def __init__(self, message: str, *, permanent: bool = False) -> None:
        super().__init__(message)
        self.permanent = permanent


class RateLimited(PlatformError):
    """The platform asked us to wait ``retry_after`` seconds before the next call."""

    def __init__(self, retry_after: float, message: str = "rate limited") -> None:
        super().__init__(f"{message} (retry after {retry_after:g} s)")
        self.retry_after = retry_after


class MessageGone(PlatformError):
    """The message an edit was meant for no longer exists (someone deleted it); send a new one."""

    def __init__(self, message: str = "the message to edit no longer exists") -> None:
        super().__init__(message, permanent=True)
