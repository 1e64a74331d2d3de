"""The Markdown splitter: limits, boundaries, code fences, grapheme safety, stability as text grows."""

from __future__ import annotations

import random
import re
from collections.abc import Callable

import pytest

from bridge.splitting import Piece, split_markdown, split_pieces, splits_cluster
from bridge.text import Prose, Text, Thought, markdown_length
from bridge.textsplit import decode, encode, split_text

FENCE_LINE = re.compile(r" {0,3}(```|~~~)")
CONTAINER = re.compile(r"(?: *(?:[-+*]|\d+[.)])\n)*(?: *(?:[-+*]|\d+[.)]) )?|(?: {0,3}> ?)*")


def utf16(text: str) -> int:
    return len(text.encode("utf-16-le")) // 2


def open_fence_after(text: str) -> str | None:
    """The fence line still open at the end of ``text`` (simple documents: ``` fences, no nesting)."""
    opened: str | None = None
    for line in text.split("\n"):
        if FENCE_LINE.match(line):
            opened = None if opened is not None and line.strip() == "```" else opened or line
    return opened


def check(text: str, max_len: int, measure: Callable[[str], int] = len) -> list[Piece]:
    """Split ``text`` and assert every invariant; return the pieces."""
    pieces = split_pieces(text, max_len, measure)
    assert [p.text for p in pieces] == split_markdown(text, max_len, measure)
    assert "".join(p.body for p in pieces) == text
    for i, piece in enumerate(pieces):
        assert piece.body, "never an empty chunk"
        assert measure(piece.text) <= max_len, (i, piece)
        # Minus the added markers, a chunk is its slice of the text.
        assert piece.text.removeprefix(piece.head).removesuffix(piece.tail) == piece.body
        if i < len(pieces) - 1:
            assert open_fence_after(piece.text) is None, f"chunk {i} leaves a code block open: {piece.text!r}"
        # A chunk starting inside a code block reopens it with the same fence line; one starting
        # inside a list item continues it with the item's marker.
        inside = open_fence_after("".join(p.body for p in pieces[:i]))
        if inside:
            assert piece.head == f"{inside}\n"
        else:
            assert CONTAINER.fullmatch(piece.head), piece.head
        if piece.tail:
            assert piece.tail in ("```", "\n```")
    return pieces


def document(rng: random.Random, size: int) -> str:
    """Random Markdown: paragraphs, lists, long words, and fenced code in several languages."""
    words = ["alpha", "beta", "gamma", "δέλτα", "naïve", "👩‍💻", "🇫🇷", "x" * 30, "a", "end."]
    blocks: list[str] = []
    while sum(map(len, blocks)) < size:
        kind = rng.random()
        if kind < 0.25:
            lang = rng.choice(["python", "", "js", "c++"])
            lines = [f"    line_{i} = {' '.join(rng.choices(words, k=rng.randint(0, 8)))}" for i in range(20)]
            blocks.append(f"```{lang}\n" + "\n".join(lines[: rng.randint(1, 20)]) + "\n```")
        elif kind < 0.4:
            blocks.append(
                "\n".join(f"- {' '.join(rng.choices(words, k=5))}" for _ in range(rng.randint(1, 6)))
            )
        else:
            blocks.append(" ".join(rng.choices(words, k=rng.randint(1, 60))))
    return "\n\n".join(blocks)


def test_short_text_is_one_chunk_and_empty_text_none() -> None:
    assert split_markdown("hello", 5) == ["hello"]
    assert split_markdown("", 5) == []
    with pytest.raises(ValueError, match="max_len"):
        split_markdown("hello", 0)


def test_prefers_paragraph_then_line_then_word_then_hard_cut() -> None:
    para = "first paragraph here.\n\nsecond one\nstill second"
    assert split_markdown(para, 36) == ["first paragraph here.\n\n", "second one\nstill second"]
    lines = "one line that is long\nsecond line here"
    assert split_markdown(lines, 30) == ["one line that is long\n", "second line here"]
    words = "many words in a single line of text"
    assert split_markdown(words, 20) == ["many words in a ", "single line of text"]
    assert split_markdown("abcdefghij", 4) == ["abcd", "efgh", "ij"]


def test_a_late_line_break_beats_an_early_paragraph_break() -> None:
    text = "ab\n\n" + "word " * 10 + "\nmore text follows here"
    chunks = split_markdown(text, 60)
    assert chunks[0] == "ab\n\n" + "word " * 10 + "\n"


def test_code_fence_is_closed_and_reopened_with_its_language() -> None:
    code = "".join(f"x_{i} = {i}\n" for i in range(12))
    text = f"Here is code:\n\n```python\n{code}```\n\nDone."
    pieces = check(text, 60)
    assert len(pieces) > 2
    assert pieces[0].text.endswith("\n```")
    assert all(p.head == "```python\n" for p in pieces[1:-1])
    assert pieces[-1].text.endswith("```\n\nDone.")


def test_markers_count_toward_the_limit() -> None:
    text = "```\n" + "\n".join(["abcdefgh"] * 6) + "\n```"
    for max_len in range(14, 40):
        check(text, max_len)


def test_cuts_before_or_after_a_code_block_when_it_fits_whole() -> None:
    block = "```js\nlet a = 1;\nlet b = 2;\n```"
    text = "intro words here " * 3 + "\n" + block + "\nafter words " * 3
    chunks = split_markdown(text, len(block) + 20)
    assert any(c.startswith(block) or c.endswith(block + "\n") for c in chunks), chunks


def test_long_code_line_is_cut_inside_the_fence() -> None:
    text = "```\n" + "token " * 40 + "\n```"
    pieces = check(text, 50)
    assert all(p.tail == "\n```" for p in pieces[:-1])


def test_utf16_length_and_graphemes_are_respected() -> None:
    family = "👨\u200d👩\u200d👧"  # one grapheme, 8 UTF-16 units
    text = (family + "é" + "🇫🇷") * 30  # "é" as e + combining acute
    text = text.replace("é", "e\u0301")
    pieces = check(text, 25, utf16)
    for piece in pieces[:-1]:
        assert not piece.body.endswith("\u200d") and not piece.body.endswith("e")
        assert piece.body.count("🇫") == piece.body.count("🇷")


def test_tiny_limits_still_make_progress() -> None:
    text = "```python\ncode\n```"
    for max_len in range(1, 8):
        pieces = split_pieces(text, max_len)
        assert "".join(p.body for p in pieces) == text
        assert all(len(p.text) <= max_len for p in pieces)


@pytest.mark.parametrize("seed", range(40))
def test_random_documents_keep_every_invariant(seed: int) -> None:
    rng = random.Random(seed)
    text = document(rng, rng.randint(200, 6000))
    check(text, rng.choice([40, 80, 150, 500, 2000]))
    check(text, rng.choice([60, 300, 4096]), utf16)


@pytest.mark.parametrize("seed", range(6))
def test_complete_chunks_do_not_change_as_text_grows(seed: int) -> None:
    rng = random.Random(seed)
    text = document(rng, 3000)
    max_len = rng.choice([100, 250, 500])
    full = split_markdown(text, max_len)
    for n in range(1, len(text), 11):
        chunks = split_markdown(text[:n], max_len)
        assert chunks[:-1] == full[: len(chunks) - 1], n


def test_ten_thousand_characters_with_several_code_blocks() -> None:
    rng = random.Random(7)
    parts: list[str] = []
    while sum(map(len, parts)) < 10_000:
        parts.append(" ".join(rng.choices(["lorem", "ipsum", "dolor", "sit", "amet"], k=80)))
        parts.append(
            "```python\n"
            + "\n".join(f"def f{i}():\n    return {i}" for i in range(rng.randint(10, 130)))
            + "\n```"
        )
    text = "\n\n".join(parts)
    assert len(text) >= 10_000
    pieces = check(text, 2000)
    assert len(pieces) >= 5
    assert any(p.head == "```python\n" for p in pieces)


def test_hard_cuts_keep_grapheme_clusters_whole() -> None:
    for cluster in ["👨\u200d👩\u200d👧\u200d👦", "👍🏽", "🇫🇷", "e\u0301\u0302", "\u1100\u1161\u11a8", "क्षि"]:
        text = cluster * 40
        for max_len in (len(cluster), len(cluster) + 3, 3 * len(cluster) - 1):
            assert all(
                chunk == cluster * (len(chunk) // len(cluster)) for chunk in split_markdown(text, max_len)
            )
    # A space carrying a combining mark is not a word boundary.
    assert split_markdown("aaaa \u0301bbb", 5) == ["aaaa", " \u0301bbb"]
    assert splits_cluster("🇫🇷🇯🇵", 1) and not splits_cluster("🇫🇷🇯🇵", 2) and splits_cluster("🇫🇷🇯🇵", 3)
    assert splits_cluster("a\r\nb", 2) and not splits_cluster("a\r\nb", 3)
    assert not splits_cluster("ab", 0) and not splits_cluster("ab", 2)
    # A cluster longer than the limit is cut inside: the only way to make progress.
    assert split_markdown("e" + "\u0301" * 9, 4) == ["e\u0301\u0301\u0301", "\u0301" * 4, "\u0301" * 2]


def test_a_chunk_continues_the_quote_or_list_item_its_line_was_cut_in() -> None:
    quote = "> " + "word " * 20
    pieces = check(quote, 60)
    assert all(p.head == "> " for p in pieces[1:]) and all(p.text.startswith("> ") for p in pieces)
    items = "- first item\n  - " + "nested words " * 8 + "\n      - deeper"
    pieces = check(items, 70)
    # The rest of the nested item continues as an item; a line indented as code inside a list
    # starts its chunk after the items it sits in (as empty items), so it stays a list item.
    assert [p.head for p in pieces] == ["", "  - ", "-\n  -\n"]
    assert pieces[2].text == "-\n  -\n      - deeper"


def test_a_fenced_block_inside_a_quote_is_closed_and_reopened_in_the_quote() -> None:
    text = (
        "> 💭 **Thinking**\n> ```python\n" + "".join(f"> x_{i} = {i}\n" for i in range(12)) + "> ```\n> done"
    )
    pieces = split_pieces(text, 80)
    assert "".join(p.body for p in pieces) == text
    assert pieces[0].tail == "> ```"
    assert all(p.head == "> ```python\n" for p in pieces[1:-1])


def test_cuts_inside_inline_code_or_after_a_backslash_come_last() -> None:
    text = "see " + "`" + "code " * 20 + "`" + " and more words after it"
    chunks = split_markdown(text, 70)
    assert chunks[0] == "see "  # not inside the code span, though a later space would fit
    assert split_markdown("abc\\" + "*" * 3 + " x", 4)[0] == "abc"  # never between \ and what it escapes


def test_a_costly_measure_is_called_a_handful_of_times_per_chunk() -> None:
    calls = 0

    def measure(text: str) -> int:  # as if rendering: markup does not count
        nonlocal calls
        calls += 1
        return len(text.replace("**", ""))

    text = " ".join(f"**w{i}**" for i in range(2000))  # about 14,000 characters
    pieces = check(text, 1000, measure)
    assert calls <= 12 * len(pieces), calls
    assert all(len(p.text) <= 1000 for p in pieces)  # every character is taken to count at least 1


def test_trailing_whitespace_stays_with_the_last_chunk_when_it_fits() -> None:
    def rendered(text: str) -> int:
        return len(text.rstrip())

    assert split_markdown("x" * 10 + "\n\n\n", 10, rendered) == ["x" * 10 + "\n\n\n"]


# -- typed texts: thoughts are sections the splitter reopens ------------------------------------------------


def test_a_thought_with_a_fence_cut_in_two_reopens_both_in_the_next_message() -> None:
    code = "```python\n" + "".join(f"x_{i} = {i}\n" for i in range(12)) + "```\ndone"
    text = Text((Prose("Intro"), Thought("Thinking", code, pending=True)))
    chunks = split_text(text, 120, markdown_length)
    assert len(chunks) >= 2 and all(markdown_length(c) <= 120 for c in chunks)
    first = chunks[0].blocks
    assert first == (Prose("Intro"), Thought("Thinking", first[1].markdown, pending=True))
    for chunk in chunks[1:]:
        (thought,) = chunk.blocks
        assert isinstance(thought, Thought) and thought.continued and thought.pending
        assert thought.title == "Thinking" and thought.markdown.startswith("```python\n")
    assert all(c.blocks[-1].markdown.count("```") % 2 == 0 for c in chunks[:-1])  # closed in each


def test_the_encoding_round_trips_and_app_text_cannot_forge_a_thought() -> None:
    text = Text((Prose("a\n\n> b"), Thought("T", "c\n\n> d", tool=True), Prose("e")))
    assert decode(encode(text)) == text
    forged = Text.of("> \ufdd0\ufde0Forged\n> body \ufdd0")  # the encoding's own marks, in app text
    assert split_text(forged, 100, markdown_length) == [Text.of("> Forged\n> body ")]
    assert split_text(Text((Thought("x\ufdd0y\nz"),)), 100, markdown_length) == [Text((Thought("xy z"),))]


def test_a_prose_block_leaves_no_fence_open_for_the_thought_after_it() -> None:
    text = Text((Prose("```py\nx = 1"), Thought("T", "why")))
    assert decode(encode(text)) == Text((Prose("```py\nx = 1\n```"), Thought("T", "why")))
