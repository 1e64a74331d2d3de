"""Nothing a reply says is lost: property tests of every splitter and renderer, on random replies.

Random replies (prose: paragraphs, headings, lists, emphasis, links, code spans, fenced code, quotes,
quotes that read like the core's thoughts, emoji sequences, combining marks, astral characters,
``#``-only lines, lone markup; and typed thoughts holding such blocks) go through the core splitter
and each platform's pipeline (the core splits with the adapter's measure, the adapter renders each
chunk). Every message must fit its platform's limit, show something and keep grapheme clusters
whole, a thought cut across messages must arrive as a thought in each, and together the messages
must hold all of the reply's visible text, in order.

Hypothesis runs derandomized (a fixed seed) with a bounded number of examples, so CI is repeatable.
"""

from __future__ import annotations

import string
import unicodedata
from collections.abc import Callable

import regex
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from adapters.discord.adapter import DiscordAdapter
from adapters.discord.config import DiscordConfig
from adapters.discord.render import to_discord
from adapters.discord.send import message_content
from adapters.telegram.adapter import TelegramAdapter
from adapters.telegram.config import TelegramConfig
from adapters.telegram.render import (
    MAX_LEN,
    message,
    render,
    render_all,
    split_rendered,
    text_length,
    utf16_len,
)
from bridge import Prose, Text, TextLength, Thought, splits_cluster
from bridge.splitting import split_pieces
from bridge.textsplit import decode, encode, sections, split_text
from tests.test_telegram_render import assert_valid

PROPERTY = settings(
    derandomize=True,
    max_examples=200,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.data_too_large],
)

# -- random replies --------------------------------------------------------------------------------------

CLUSTERS = [
    "👩\u200d💻",  # ZWJ sequence
    "👨\u200d👩\u200d👧\u200d👦",  # family: one cluster, 11 UTF-16 units
    "👍🏽",  # skin tone modifier
    "🇫🇷",  # flag (regional indicator pair)
    "🇯🇵🇺🇦",  # two flags in a row
    "🏴\U000e0067\U000e0062\U000e0073\U000e0063\U000e0074\U000e007f",  # tag sequence (Scotland)
    "❤\ufe0f",  # variation selector
    "1\ufe0f\u20e3",  # keycap
    "e\u0301",  # combining acute
    "a\u0300\u0301\u0302",  # stacked combining marks
    "\u1100\u1161\u11a8",  # Hangul jamo (one syllable)
    "क्षि",  # Devanagari conjunct
    "𠀋",  # astral CJK
    "𡈽𡌛",
    "\U0001d4d7\U0001d4ee\U0001d4f5",  # mathematical script letters (astral)
    "😀",
    "שלום",  # RTL
    "表現",
    " \u0301",  # a combining mark on a space
]
WORDS = ["alpha", "beta", "naïve", "x", "word", "end.", "1.", "42", "δέλτα", "z" * 45, "https://x.org/a_b"]
MARKUP = [
    "*",
    "**",
    "_",
    "__",
    "`",
    "~~",
    "[",
    "]",
    "](",
    ")",
    "\\",
    "\\*",
    "&amp;",
    "&#128512;",
    "<br>",
    "|",
]
LONE = ["#", "##", "# #", "**", ">", "> ", "`", "*", "-", "```", "|", "\\", "||", "~~", "[]()"]
URLS = ["https://example.com", "https://example.com/a/very/long/path?q=1&r=2", "http://x", "tg://user?id=1"]

lone = st.sampled_from(LONE)
atom = st.one_of(st.sampled_from(WORDS), st.sampled_from(CLUSTERS), st.sampled_from(MARKUP))
phrase = st.lists(atom, min_size=1, max_size=12).map(" ".join)
word_run = st.lists(st.sampled_from(WORDS + CLUSTERS), min_size=1, max_size=30).map("".join)  # no spaces


@st.composite
def inline(draw: st.DrawFn) -> str:
    """One line of inline Markdown: phrases, some wrapped in emphasis, code, links or strikethrough."""
    parts = []
    for _ in range(draw(st.integers(1, 5))):
        text = draw(st.one_of(phrase, word_run))
        kind = draw(st.sampled_from(["plain", "plain", "bold", "italic", "code", "link", "strike", "open"]))
        if kind == "bold":
            text = f"**{text}**"
        elif kind == "italic":
            text = f"*{text}*"
        elif kind == "code":
            text = f"`{text}`"
        elif kind == "link":
            text = f"[{text}]({draw(st.sampled_from(URLS))})"
        elif kind == "strike":
            text = f"~~{text}~~"
        elif kind == "open":  # unbalanced markup, as a streamed or sloppy reply has
            text = draw(st.sampled_from(["**", "*", "`", "[", "~~"])) + text
        parts.append(text)
    return " ".join(parts)


@st.composite
def block(draw: st.DrawFn, thoughts: bool = True) -> str | Thought:
    """One block: Markdown, or (when ``thoughts``) a typed thought of a few Markdown blocks."""
    kinds = ["para", "para", "heading", "list", "ordered", "nested", "quote", "lookalike", "fence", "rule"]
    kind = draw(st.sampled_from([*kinds, "lone", *(["thought", "thought"] if thoughts else [])]))
    if kind == "thought":
        title = draw(st.sampled_from(["Thinking", "Used tool search", "Plan `x`", ""]))
        inner = draw(st.lists(block(thoughts=False), min_size=1, max_size=3))
        body = "\n\n".join(str(b) for b in inner) * draw(st.integers(1, 6))
        return Thought(title, body, tool=title.startswith("Used"), pending=draw(st.booleans()))
    lines = draw(st.lists(inline(), min_size=1, max_size=4))
    if kind == "para":
        return "\n".join(lines)
    if kind == "heading":
        return "#" * draw(st.integers(1, 6)) + " " + lines[0]
    if kind == "list":
        return "\n".join(f"- {line}" for line in lines)
    if kind == "ordered":
        return "\n".join(f"{i}. {line}" for i, line in enumerate(lines, 1))
    if kind == "nested":
        return "\n".join(f"{'  ' * (i % 3)}- {line}" for i, line in enumerate(lines))
    if kind == "quote":
        return "\n".join(f"> {line}" for line in lines)
    if kind == "lookalike":  # app text quoting what the core's thoughts look like, or its markers
        title = draw(st.sampled_from(["💭 **Thinking**", "🔧 **Used tool search**", "\ufdd0\ufde2Plan"]))
        return "\n".join([f"> {title}", *(f"> {line}" if line else ">" for line in lines)])
    if kind == "fence":
        lang = draw(st.sampled_from(["", "python", "c++", "js"]))
        code = "\n".join(draw(st.lists(st.one_of(phrase, word_run), min_size=1, max_size=8)))
        close = draw(st.sampled_from(["\n```", "\n```", ""]))  # unclosed: the reply is still streaming
        return f"```{lang}\n{code}{close}"
    if kind == "rule":
        return draw(st.sampled_from(["---", "***", "___"]))
    return draw(lone)


@st.composite
def reply(draw: st.DrawFn) -> Text:
    """A reply: Markdown blocks joined by blank lines (sometimes single newlines) into prose, with
    thoughts between, repeated to make it long.

    One in eight is only lone markup (``#``, ``**``, ``>``…), which renders to nothing on some platforms.
    """
    if draw(st.integers(0, 7)) == 0:
        return Text.of("\n".join(draw(st.lists(lone, min_size=1, max_size=3))))
    drawn = draw(st.lists(block(), min_size=1, max_size=8))
    seps = [draw(st.sampled_from(["\n\n", "\n\n", "\n", "\n\n\n"])) for _ in drawn]
    blocks: list[Prose | Thought] = []
    prose = ""
    for b, sep in list(zip(drawn, seps, strict=True)) * draw(st.integers(1, 12)):
        if isinstance(b, Thought):
            blocks += [Prose(prose.rstrip("\n"))] if prose else []
            blocks.append(b)
            prose = ""
        else:
            prose += b + sep
    end = draw(st.sampled_from(["", "\n", "  "]))
    return Text((*blocks, *([Prose(prose.rstrip("\n") + end)] if prose else [])))


# -- what must hold ----------------------------------------------------------------------------------------


def boundaries(text: str) -> set[int]:
    """The grapheme cluster boundaries of ``text`` (``regex`` ``\\X``)."""
    return {0} | {m.end() for m in regex.finditer(r"\X", text)}


def visible(text: str) -> list[str]:
    """What a reader sees of ``text``: its characters but whitespace, invisible format characters and
    noncharacters (U+FDD0 to U+FDEF: the core removes them from app text, they are its markers)."""
    return [
        c
        for c in text
        if not c.isspace() and unicodedata.category(c) != "Cf" and not "\ufdd0" <= c <= "\ufdef"
    ]


def words(text: str) -> list[str]:
    """The visible characters that are not ASCII punctuation (the Markdown syntax characters)."""
    return [c for c in visible(text) if c not in string.punctuation]


def assert_subsequence(wanted: list[str], got: list[str]) -> None:
    """``wanted`` appears in ``got`` in order (other characters may come between)."""
    it = iter(got)
    for n, c in enumerate(wanted):
        if not any(g == c for g in it):
            context = "".join(wanted[max(0, n - 20) : n + 5])
            raise AssertionError(f"visible character {n} ({c!r}) lost, near {context!r}")


TELEGRAM = TelegramAdapter("tg", TelegramConfig(space="s", token_env="T"), lambda _: "0:t").capabilities
DISCORD = {
    mode: DiscordAdapter(
        "dc", DiscordConfig(space="s", token_env="D", thoughts=mode), lambda _: "t"
    ).capabilities
    for mode in ("quote", "spoiler")
}


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def check_split(text: str, limit: int, measure: Callable[[str], int]) -> list[str]:
    """The core splitter's invariants; the chunks."""
    pieces = split_pieces(text, limit, measure)
    assert "".join(p.body for p in pieces) == text
    cuts = boundaries(text)
    pos = 0
    for piece in pieces:
        assert piece.body
        assert measure(piece.text) <= limit, (measure(piece.text), piece)
        assert pos in cuts, f"cut at {pos} splits a grapheme cluster: {text[pos - 3 : pos + 3]!r}"
        pos += len(piece.body)
    return [p.text for p in pieces]


def thoughts_of(chunks: list[Text]) -> list[Thought]:
    """The thoughts the messages show, each continued piece joined to the thought it continues."""
    joined: list[Thought] = []
    for chunk in chunks:
        for n, b in enumerate(chunk.blocks):
            if not isinstance(b, Thought):
                continue
            assert not b.continued or n == 0, "only a message's first block continues a thought"
            if b.continued:
                assert joined and (joined[-1].title, joined[-1].tool) == (b.title, b.tool), (
                    "continues no thought"
                )
                joined.append(Thought(b.title, joined.pop().markdown + "\n" + b.markdown, b.tool, b.pending))
            else:
                joined.append(b)
    return joined


def check_text_split(text: Text, limit: int, measure: TextLength) -> list[Text]:
    """The typed split's invariants, on top of the splitter's (which hold of the encoded text); the pieces.

    Each piece fits by ``measure`` of the very text sent. A piece starting inside a thought opens with
    that thought, continued (unless the limit leaves no room for its title line: then it is cut as text),
    and then the thoughts shown are the reply's, none lost or made up, their text all there, in order.
    """
    encoded = encode(text)
    found = sections(encoded)
    pieces = split_pieces(encoded, limit, lambda chunk: measure(decode(chunk)), found)
    chunks = split_text(text, limit, measure)
    assert chunks == [decode(p.text) for p in pieces]
    assert "".join(p.body for p in pieces) == encoded
    reopened, pos = True, 0
    for piece, chunk in zip(pieces, chunks, strict=True):
        assert piece.body and chunk.blocks and measure(chunk) <= limit, (measure(chunk), chunk)
        inside = next((s for s in found if s.body <= pos < s.end), None)
        if inside is not None and piece.head.startswith(inside.head):
            first = chunk.blocks[0]
            assert isinstance(first, Thought) and first.continued, chunk
        reopened = reopened and (inside is None or piece.head.startswith(inside.head))
        pos += len(piece.body)
    assert reopened or limit < 150, "a thought was cut without its title line at a roomy limit"
    if reopened:
        shown, sent = thoughts_of(chunks), [b for b in text.blocks if isinstance(b, Thought)]
        assert [(t.title.strip(), t.tool, t.pending) for t in shown] == [
            (t.title, t.tool, t.pending) for t in sent
        ]
        for got, want in zip(shown, sent, strict=True):
            assert_subsequence(visible(want.markdown), visible(got.markdown))
    return chunks


# -- (a) the core splitter ---------------------------------------------------------------------------------


@PROPERTY
@given(reply(), st.sampled_from([60, 150, 500, 2000]), st.sampled_from(["len", "utf16"]))
def test_core_splitter_keeps_its_invariants(reply: Text, limit: int, unit: str) -> None:
    text = reply.markdown  # thoughts as quotes: Markdown the splitter must cut like any other
    measure = len if unit == "len" else utf16
    chunks = check_split(text, limit, measure)
    # Complete chunks stay as they are while the text grows (the streamer leaves them alone).
    for n in sorted({len(text) // 3, len(text) // 2, len(text) - 1} - {0}):
        prefix = split_pieces(text[:n], limit, measure)
        assert [p.text for p in prefix[:-1]] == chunks[: len(prefix) - 1], n


@PROPERTY
@given(reply(), st.sampled_from([60, 150, 500, 2000]), st.sampled_from(["len", "utf16"]))
def test_typed_split_keeps_thoughts_typed_across_messages(text: Text, limit: int, unit: str) -> None:
    def measure(chunk: Text) -> int:
        return len(chunk.markdown) if unit == "len" else utf16(chunk.markdown)

    chunks = check_text_split(text, limit, measure)
    # Complete pieces stay as they are while the text grows (the last block growing, as when streamed).
    encoded = encode(text)
    for n in sorted({len(encoded) // 3, len(encoded) // 2, len(encoded) - 1} - {0}):
        grown = decode(encoded[:n])
        if encode(grown) == encoded[:n]:  # a prefix the text can have had (not cut in a title line)
            prefix = split_text(grown, limit, measure)
            assert prefix[:-1] == chunks[: len(prefix) - 1], n


@PROPERTY
@given(reply(), st.integers(0, 10_000))
def test_splits_cluster_agrees_with_regex(reply: Text, at: int) -> None:
    text = reply.markdown
    cuts = boundaries(text)
    for p in range(1, len(text)):
        if (at + p) % 7 == 0:  # a sample of the offsets keeps this fast
            assert splits_cluster(text, p) == (p not in cuts), (p, text[p - 2 : p + 2])


# -- (b) Telegram: core split with the adapter's measure, then render ------------------------------------
#
# Visible text is checked at the platform's own limit. Smaller limits (1,000, 300) often leave a list
# item, a link's text or an inline code span longer than the room, so the cut falls inside it and the
# Markdown around the cut can read differently in the two messages (a bullet, or markup characters, may
# show differently): there the messages must still fit, show something, and be valid. Measured by hand
# over 2,000 replies of this generator: visible text lost in 0 at 4,096, 1 at 1,000, 69 at 300; before
# the core split by the rendered length, 23 lost text (the adapter kept the first piece + " …").


@PROPERTY
@given(reply(), st.sampled_from([MAX_LEN, MAX_LEN, 1000, 300]))
def test_telegram_messages_fit_and_keep_every_visible_character(text: Text, limit: int) -> None:
    assert TELEGRAM.max_text_len == MAX_LEN and TELEGRAM.text_length is text_length
    chunks = check_text_split(text, limit, TELEGRAM.text_length)
    sent = []
    for chunk in chunks:
        body, entities = message(chunk)
        assert body.strip(), f"blank message for {chunk!r}"
        assert utf16_len(body) <= limit
        assert_valid(body, entities, MAX_LEN)
        # Every thought (a piece of one too) is collapsed; a quote of the app's never is.
        kinds = [e.type for e in render_all(chunk)[1] if e.type.endswith("blockquote")]
        assert kinds.count("expandable_blockquote") == sum(isinstance(b, Thought) for b in chunk.blocks)
        sent.append(body)
    if limit == MAX_LEN:
        assert_subsequence(visible(render(text)[0]), visible("".join(sent)))


# -- (c) Discord ------------------------------------------------------------------------------------------
#
# As for Telegram; Discord shows Markdown, so its syntax characters may be spent differently in the
# pieces and the words (every visible character but ASCII punctuation) are checked. Over 2,000 random
# replies: words lost in 0 at 2,000, 5 at 1,000, 16 at 300; before, 35 replies made a blank message.


@PROPERTY
@given(reply(), st.sampled_from(["quote", "spoiler"]), st.sampled_from([2000, 2000, 1000, 300]))
def test_discord_messages_fit_and_keep_every_visible_word(text: Text, mode: str, limit: int) -> None:
    caps = DISCORD[mode]
    assert caps.max_text_len == 2000
    chunks = check_text_split(text, limit, caps.text_length)
    sent = []
    for chunk in chunks:
        content = message_content(chunk, mode)  # type: ignore[arg-type]
        assert content.strip(), f"blank message for {chunk!r}"
        assert len(content) <= limit  # Discord counts code points
        sent.append(content)
    if limit == caps.max_text_len:
        assert_subsequence(words(to_discord(text, mode)), words("".join(sent)))  # type: ignore[arg-type]


# -- (d) Telegram's split of rendered text -----------------------------------------------------------------


@PROPERTY
@given(reply(), st.sampled_from([MAX_LEN, 200, 700]))
def test_split_rendered_fits_and_drops_only_whitespace(text: Text, limit: int) -> None:
    full, entities = render(text)
    parts = split_rendered(full, entities, limit)
    cuts = boundaries(full)
    pos = 0
    for part, part_entities in parts:
        assert_valid(part, part_entities, limit)
        found = full.find(part, pos)
        assert found >= 0 and not full[pos:found].strip(), "only whitespace may go between parts"
        assert found in cuts and found + len(part) in cuts, "a part splits a grapheme cluster"
        pos = found + len(part)
    assert not full[pos:].strip()
