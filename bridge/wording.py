"""What users read, written once for every platform: reply text, status lines, error replies.

(Named for what it holds: an adapter's ``render.py`` is markup; this is the core's wording.)

A reply becomes a :class:`~bridge.text.Text`: its text parts prose, its thoughts and tool notes
:class:`~bridge.text.Thought` blocks (whose heading, ``💭 **Title**`` or ``🔧`` for tool use, is
also the core's wording: :attr:`~bridge.text.Thought.heading`).
"""

from __future__ import annotations

from bridge.errors import (
    AppError,
    AppUnreachable,
    AuthError,
    BridgeError,
    ContextLost,
    DiscoveryError,
    FileTooLarge,
    InvalidParam,
    QueueFull,
    SpaceBroken,
    SpaceNotReady,
    Unsupported,
)
from bridge.gradio.events import ProgressUpdate, Queued
from bridge.model import Reply, TextPart, ThoughtPart
from bridge.sessions import StoreError
from bridge.text import Block, Prose, Text, Thought

STOPPED = "_(stopped)_"
IDLE = "_(the app stopped responding, so the reply ends here)_"
TOO_LONG = "_(the app took too long, so the reply ends here)_"
INTERRUPTED = "_(interrupted: the bridge is shutting down)_"
INTERRUPTED_DURABLE = "_(interrupted: the bridge is restarting; the answer follows when it is back)_"
RESUME_UNSAFE = (
    "⚠️ Your message was interrupted when the bridge restarted, and this app cannot safely be asked "
    "twice. Please send it again."
)
FILES_LOST = (
    "⚠️ Your message was interrupted when the bridge restarted and its files were lost. Please send it again."
)
RETRYING = "⚠️ The app cannot be reached right now; trying again…"
STORE_WAIT = "⏳ Waiting for the bridge's storage…"
STORE_DOWN = (
    "⚠️ The bridge cannot reach its storage right now, so it cannot answer. "
    "Please send your message again in a few minutes."
)
UNDELIVERED = "⚠️ The reply was interrupted: the platform refused it ({error})."
CONTEXT_RESET = "_(The app had lost this conversation and its earlier context could not be restored.)_"
# Files, both ways (bridge.files applies the limits; these are what the user reads about them).
TOO_MANY_FILES = "📎 Please send at most {limit} files at once."
FILE_UNFETCHED = "📎 Your file could not be fetched: {error}"
REPLY_FILE_TOO_LARGE = "📎 {name} is too large to send here (limit {limit_mb:.0f} MB)."
REPLY_FILE_UNFETCHED = "📎 {name} could not be fetched from the app: {error}"
REPLY_FILES_UNSENT = "📎 The files could not be sent here: {error}"


def reply_text(reply: Reply, show_thoughts: bool = True) -> Text:
    """The reply as a text: its text parts (prose) and thoughts in order, blank parts and files omitted."""
    blocks: list[Block] = []
    for part in reply.parts:
        if isinstance(part, TextPart) and part.text.strip():
            blocks.append(Prose(part.text))
        elif isinstance(part, ThoughtPart) and show_thoughts:
            blocks.append(thought(part))
    return Text(tuple(blocks))


def thought(part: ThoughtPart) -> Thought:
    """A thought or tool note as a block: its title on one line, its text without surrounding blanks.

    A title that starts like a tool call's (``Used tool``, ``Calling``…) makes it a tool note.
    """
    title = " ".join(part.title.strip().splitlines())
    tool = title.lower().startswith(("used tool", "tool", "calling", "called"))
    text = part.text.replace("\r\n", "\n").replace("\r", "\n").strip()
    return Thought(title, text, tool=tool, pending=part.status == "pending")


def queued_status(event: Queued) -> str:
    """``⏳ In queue: #2 of 5, about 12 s``."""
    if event.rank is None:
        return "⏳ In queue…"
    text = f"⏳ In queue: #{event.rank + 1}"
    if event.queue_size:
        text += f" of {event.queue_size}"
    if event.eta:
        text += f", about {event.eta:.0f} s"
    return text


def progress_status(event: ProgressUpdate) -> str:
    """``⏳ stepping 2/3 (67%)`` for the innermost reported level."""
    if not event.steps:
        return "⏳ Working…"
    step = event.steps[-1]
    text = f"⏳ {step.desc or 'Working'}"
    if step.index is not None and step.length:
        text += f" {step.index}/{step.length}"
    frac = step.fraction
    if frac is not None:
        text += f" ({frac:.0%})"
    return text


def error_reply(exc: BaseException) -> str:
    """A readable reply for an error during a turn; the conversation goes on afterwards."""
    if isinstance(exc, AppError):
        if exc.message:
            return f"⚠️ The app reported an error: {exc.message}"
        return "⚠️ The app failed without saying why. Try again, or rephrase your message."
    if isinstance(exc, QueueFull):
        return "⏳ The app is busy right now (its queue is full). Please try again in a moment."
    if isinstance(exc, SpaceNotReady | SpaceBroken):
        return f"⚠️ {exc}"
    if isinstance(exc, AppUnreachable):
        return "⚠️ The app cannot be reached right now. Please try again in a moment."
    if isinstance(exc, AuthError):
        return "⚠️ The bridge could not log in to the app. The bot's operator has to fix its credentials."
    if isinstance(exc, DiscoveryError):
        return "⚠️ The app does not offer a chat endpoint the bridge can use."
    if isinstance(exc, Unsupported):
        return "📎 This app takes text only, so attachments cannot be sent to it. Send your message as text."
    if isinstance(exc, FileTooLarge):
        return f"📎 {exc}. Send a smaller file."  # a user's file over the bridge's or the app's limit
    if isinstance(exc, InvalidParam):
        return f"⚠️ {exc}"
    if isinstance(exc, ContextLost):
        return f"⚠️ {exc}"
    if isinstance(exc, StoreError):
        return STORE_DOWN
    if isinstance(exc, BridgeError):
        return f"⚠️ {exc}"
    return "⚠️ Something went wrong in the bridge while answering. Please try again."


STORE_BUSY = (
    "⚠️ The bridge cannot reach its storage right now and has too many messages waiting. "
    "Please send your message again in a few minutes."
)
GAVE_UP = (
    "⚠️ The bridge stopped {n} times while answering this message, so it gives up on it. "
    "Please rephrase it or send it again."
)
