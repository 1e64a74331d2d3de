"""The text of a message as it crosses the adapter contract: :class:`Text`, a sequence of typed blocks.

A :class:`Text` is what one message shows, in order: :class:`Prose` (Markdown: the app's answer, a
status line, a note) and :class:`Thought` (a thought or tool note, with its title kept apart from its
Markdown). An adapter renders each block by its type (a thought collapsed, quoted or in spoilers, as
its platform can); it never has to recognise a thought in Markdown. :attr:`Text.markdown` is one
generic Markdown rendering of the whole, for platforms that show Markdown as it is (a terminal).

Values are frozen and compare by value: the streamer compares texts to skip edits that change nothing.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass


@dataclass(frozen=True, slots=True)
class Prose:
    """Markdown shown as it is (after the platform's rendering)."""

    markdown: str


@dataclass(frozen=True, slots=True)
class Thought:
    """A thought or tool note (a Gradio message with ``metadata.title``).

    ``title`` is one line of the app's, shown emphasised (:attr:`heading`); ``markdown`` is its text.
    ``tool``: a note about a tool the app used, not a thought. ``pending``: the app is still writing
    it. ``continued``: this is the rest of a thought cut across messages, whose beginning (and
    heading) the previous message shows; the core repeats the title so the piece reads on its own.
    """

    title: str
    markdown: str = ""
    tool: bool = False
    pending: bool = False
    continued: bool = False

    @property
    def heading(self) -> str:
        """The core's title line, as Markdown: ``💭 **Title**`` (``🔧`` for a tool), then `` (continued)``
        for a continued piece and `` …`` while pending. Adapters show it as the thought's first line."""
        icon = "🔧" if self.tool else "💭"
        return (
            f"{icon} **{self.title}**"
            + (" (continued)" if self.continued else "")
            + (" …" if self.pending else "")
        )

    @property
    def quote(self) -> str:
        """The thought as a Markdown blockquote: its heading, then its text (each line quoted)."""
        lines = [f"> {self.heading}"]
        if self.markdown:
            lines.extend(f"> {line}" if line else ">" for line in self.markdown.split("\n"))
        return "\n".join(lines)


Block = Prose | Thought


@dataclass(frozen=True, slots=True)
class Text:
    """What one message shows: its blocks, in order (none for an empty text)."""

    blocks: tuple[Block, ...] = ()

    @classmethod
    def of(cls, markdown: str) -> Text:
        """Markdown as a text of one :class:`Prose` block (no block for ``""``): status lines, notes,
        errors. Markdown that looks like a thought (``> 💭 **x**``) is prose: only a :class:`Thought`
        is one."""
        return cls((Prose(markdown),) if markdown else ())

    def __add__(self, other: Text) -> Text:
        """This text's blocks, then ``other``'s (shown a blank line apart)."""
        return Text(self.blocks + other.blocks)

    @property
    def blank(self) -> bool:
        """It shows nothing: no block, or only prose of whitespace."""
        return all(isinstance(b, Prose) and not b.markdown.strip() for b in self.blocks)

    @property
    def markdown(self) -> str:
        """The whole as one Markdown text: blocks a blank line apart, a thought as its :attr:`Thought.quote`.

        For platforms that show Markdown as it is, and for logs and tests; it is no encoding (a prose
        quote can read like a thought here)."""
        parts = (b.quote if isinstance(b, Thought) else b.markdown for b in self.blocks)
        return "\n\n".join(part for part in parts if part)


TextLength = Callable[[Text], int]
"""How long a text is once rendered, in a platform's unit (``Capabilities.text_length``)."""


def markdown_length(text: Text) -> int:
    """The length of :attr:`Text.markdown` in code points: the measure of a platform that shows it."""
    return len(text.markdown)
