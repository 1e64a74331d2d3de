"""What a platform shows, as the contract scenarios read it: :class:`PlatformView` and :class:`Shown`.

A view is written once per adapter, over that adapter's fake platform (or a test account on the
real one). It reads what a person in one chat would see and does what they would do (press a
button), and it can make the platform answer "too many requests". Reads are plain methods (the
scenarios poll them); actions are coroutines.
"""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from dataclasses import dataclass
from typing import Literal, Protocol, runtime_checkable

from bridge.model import ConversationKey, MessageRef

Feature = Literal["edits", "partials", "typing", "rate_limits", "press", "stop"]
"""What a view may lack (``PlatformView.lacks``):

* ``edits``: the platform does not show that a message was edited (``Shown.edits`` stays 0);
* ``partials``: text sent or edited with a stage other than ``final`` is not shown (a terminal in line
  mode prints final text only);
* ``typing``: there is no "typing…" indicator;
* ``rate_limits``: the platform never answers "too many requests" (``rate_limit_next`` cannot work);
* ``press``: quick replies cannot be pressed through the fake;
* ``stop``: the platform has no stop gesture (a button under a reply being written).
"""


@dataclass(frozen=True, slots=True)
class Shown:
    """One of the bot's messages as the platform shows it now.

    ``text`` as displayed (rendered: the scenarios use plain text, which renders as itself);
    ``edits``: how many times it was edited; ``choices``: labels of the quick replies under it, in
    order; ``stop``: a stop control is shown on it.
    """

    text: str
    edits: int = 0
    choices: tuple[str, ...] = ()
    stop: bool = False


@runtime_checkable
class PlatformView(Protocol):
    """The platform as seen from one chat, where the scenarios talk.

    ``key`` is the conversation the scenarios send to (a chat the bot may post in, no user: the core
    scopes keys, adapters do not). ``lacks`` maps each :data:`Feature` the platform (or its fake) does
    not have to the reason, shown when a scenario is skipped for it.
    """

    key: ConversationKey
    lacks: Mapping[Feature, str]

    def messages(self) -> Sequence[Shown]:
        """The bot's text messages in the chat that are still there, oldest first (files excluded)."""
        ...

    def previews(self) -> Sequence[str]:
        """Texts shown as a live preview that is not a message (Telegram's drafts); ``()`` if none."""
        ...

    def files(self) -> Sequence[tuple[str | None, bytes]]:
        """Files the bot sent to the chat: ``(name, bytes)``, name None where the platform shows none
        (a photo)."""
        ...

    def typing(self) -> int:
        """How many times "typing…" was shown in the chat so far."""
        ...

    def rate_limited(self) -> int:
        """How many "too many requests" answers the platform gave so far (asked for or not)."""
        ...

    def refusals(self) -> Sequence[str]:
        """Every other error answer the platform gave (a text too long, a bad request), readable."""
        ...

    async def rate_limit_next(self) -> None:
        """Make the platform answer the bot's next send and next edit with "too many requests"."""
        ...

    async def press(self, ref: MessageRef, label: str) -> None:
        """Press the quick reply labelled ``label`` on message ``ref``, as a user of the chat."""
        ...

    async def stop(self, ref: MessageRef) -> None:
        """Make the platform's stop gesture on message ``ref`` (a reply being written)."""
        ...
