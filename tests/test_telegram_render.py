"""Telegram rendering: Markdown → plain text + entities (UTF-16 offsets), and entity-aware splitting."""

from __future__ import annotations

import itertools
import random

import pytest

from adapters.telegram.render import (
    BLANK,
    MAX_ENTITIES,
    MAX_LEN,
    Entity,
    message,
    render,
    render_chunks,
    split_rendered,
    text_length,
    utf16_len,
)
from adapters.telegram.send import rendered
from bridge import PlatformError, Prose, Reply, Text, TextPart, Thought, ThoughtPart
from bridge.textsplit import split_text
from bridge.wording import reply_text

FORMAT = {"bold", "italic", "underline", "strikethrough", "spoiler"}
QUOTES = {"blockquote", "expandable_blockquote"}


def E(type: str, offset: int, length: int, **extra: str) -> Entity:
    return Entity(type, offset, length, **extra)


def assert_valid(text: str, entities: list[Entity], limit: int | None = None) -> None:
    """Everything Telegram needs of a message, plus this module's stricter contract."""
    size = utf16_len(text)
    # Offsets that do not fall inside a surrogate pair.
    boundaries = {utf16_len(text[:i]) for i in range(len(text) + 1)}
    assert len(entities) <= MAX_ENTITIES
    if limit is not None:
        assert 0 < size <= limit
    for e in entities:
        assert e.length > 0 and e.offset >= 0 and e.offset + e.length <= size, e
        assert {e.offset, e.offset + e.length} <= boundaries, e
        assert (e.language is not None) <= (e.type == "pre"), e
        assert (e.url is not None) == (e.type == "text_link"), e
        if e.url is not None:
            assert e.url.lower().startswith(("http://", "https://", "tg://")), e
    for outer in entities:
        for inner in entities:
            if outer is inner:
                continue
            a, b = (outer.offset, outer.offset + outer.length), (inner.offset, inner.offset + inner.length)
            disjoint = a[1] <= b[0] or b[1] <= a[0]
            inside = a[0] <= b[0] and b[1] <= a[1]
            assert disjoint or inside or (b[0] <= a[0] and a[1] <= b[1]), f"partial overlap {outer} {inner}"
            if inside and not disjoint:
                # Equal ranges may nest either way round.
                assert may_contain(outer, inner) or (a == b and may_contain(inner, outer)), (outer, inner)


def may_contain(outer: Entity, inner: Entity) -> bool:
    """Telegram's nesting rules, with a repeated type counted as redundant (never produced)."""
    if outer.type in ("pre", "code") or outer.type == inner.type:
        return False
    if outer.type in QUOTES:
        return inner.type not in QUOTES
    return outer.type in FORMAT or inner.type in FORMAT


def rejoin(full: str, parts: list[str]) -> None:
    """``parts`` are ``full`` in order, with only whitespace dropped between them (at the cuts)."""
    pos = 0
    for i, part in enumerate(parts):
        found = full.find(part, pos)
        assert found >= 0, f"part {i} is not in the text"
        assert full[pos:found].strip(" \t\n") == "", f"non-whitespace dropped before part {i}"
        pos = found + len(part)
    assert full[pos:].strip(" \t\n") == ""


# -- formatting ------------------------------------------------------------------------------------------


def test_plain_text_passes_through_without_entities() -> None:
    assert render(Text.of("hello, world")) == ("hello, world", [])
    assert render(Text.of("")) == ("", [])


def test_inline_styles() -> None:
    assert render(Text.of("**b** __B__ *i* _i_ ~~s~~ `c`")) == (
        "b B i i s c",
        [
            *(E("bold", 0, 1), E("bold", 2, 1), E("italic", 4, 1), E("italic", 6, 1)),
            *(E("strikethrough", 8, 1), E("code", 10, 1)),
        ],
    )
    assert render(Text.of("***both***")) == ("both", [E("italic", 0, 4), E("bold", 0, 4)])


def test_fenced_code_becomes_pre_with_its_language() -> None:
    text, entities = render(Text.of("Intro:\n\n```python\nprint(1)\n\nprint(2)\n```\n\nDone."))
    assert text == "Intro:\n\nprint(1)\n\nprint(2)\n\nDone."
    assert entities == [E("pre", 8, 18, language="python")]
    assert render(Text.of("```\nno language\n```")) == ("no language", [E("pre", 0, 11)])
    assert render(Text.of("    indented code")) == ("indented code", [E("pre", 0, 13)])


def test_markup_inside_code_stays_literal() -> None:
    assert render(Text.of("`**not bold**` and `<b>`")) == (
        "**not bold** and <b>",
        [E("code", 0, 12), E("code", 17, 3)],
    )
    text, entities = render(Text.of("```md\n**x** _y_ [z](https://a.org)\n```"))
    assert (text, entities) == ("**x** _y_ [z](https://a.org)", [E("pre", 0, 28, language="md")])


def test_links_only_for_urls_telegram_accepts() -> None:
    text, entities = render(
        Text.of(
            "[site](https://example.com/a?b=1) [tg](tg://user?id=42) [rel](/docs) [ftp](ftp://x.org) "
            "[local](http://localhost) [js](javascript:alert(1)) <https://auto.org>"
        )
    )
    assert text == "site tg rel ftp local [js](javascript:alert(1)) https://auto.org"
    assert entities == [
        E("text_link", 0, 4, url="https://example.com/a?b=1"),
        E("text_link", 5, 2, url="tg://user?id=42"),
        E("text_link", 48, 16, url="https://auto.org"),
    ]


def test_nesting_follows_telegram_rules() -> None:
    # Code inside a link cannot be both: the link wins. Bold may contain code and links.
    assert render(Text.of("[`code`](https://x.org)")) == ("code", [E("text_link", 0, 4, url="https://x.org")])
    assert render(Text.of("**bold `code` [l](https://x.org)**")) == (
        "bold code l",
        [E("bold", 0, 11), E("code", 5, 4), E("text_link", 10, 1, url="https://x.org")],
    )
    # Quotes never nest: the inner quote's text stays inside the outer one.
    assert render(Text.of("> outer\n>> inner")) == ("outer\n\ninner", [E("blockquote", 0, 12)])
    # A bold heading with bold inside is one bold entity.
    assert render(Text.of("# A **b** c")) == ("A b c", [E("bold", 0, 5)])


def test_headings_lists_and_rules() -> None:
    text, entities = render(
        Text.of(
            "# Title\n\nIntro *text*.\n\n- one\n- two\n  - nested\n\n1. first\n2. second\n\n---\n\n## End"
        )
    )
    assert text == "Title\n\nIntro text.\n\n• one\n• two\n   • nested\n\n1. first\n2. second\n\n———\n\nEnd"
    assert entities == [E("bold", 0, 5), E("italic", 13, 4), E("bold", 70, 3)]
    assert render(Text.of("- loose\n\n- list"))[0] == "• loose\n\n• list"
    assert render(Text.of("3) three\n4) four"))[0] == "3) three\n4) four"


def test_blockquotes_and_expandable_thoughts() -> None:
    assert render(Text.of("> quoted *words*\n> next line")) == (
        "quoted words\nnext line",
        [E("blockquote", 0, 22), E("italic", 7, 5)],
    )
    thought = Thought("Thinking", "step one\n\nstep two", pending=True)
    text, entities = render(Text((Prose("Before"), thought, Prose("After"))))
    assert text == "Before\n\n💭 Thinking …\nstep one\n\nstep two\n\nAfter"
    assert entities == [E("expandable_blockquote", 8, 32), E("bold", 11, 8)]
    text, entities = render(Text((Thought("Used tool search", "query", tool=True),)))
    assert text == "🔧 Used tool search\nquery"
    assert entities[0] == E("expandable_blockquote", 0, utf16_len(text))
    text, entities = render(Text((Thought("Plan", "> quoted\n\n**bold**"),)))  # quotes never nest
    assert text == "💭 Plan\n\nquoted\n\nbold"
    assert [e.type for e in entities] == ["expandable_blockquote", "bold", "bold"]


def test_app_text_that_reads_like_a_thought_is_a_plain_quote() -> None:
    text, entities = render(Text.of("> 💭 **x**\n> not a thought"))
    assert text == "💭 x\nnot a thought"
    assert entities == [E("blockquote", 0, utf16_len(text)), E("bold", 3, 1)]


@pytest.mark.parametrize("title", ["Thinking", "Used tool calculator"])
def test_the_cores_thoughts_render_expandable(title: str) -> None:
    reply = Reply((TextPart("Answer."), ThoughtPart(title, "line 1\n\nline 2", "done")))
    text, entities = render(reply_text(reply))
    quote = entities[0]
    assert quote.type == "expandable_blockquote"
    assert quote.offset == utf16_len("Answer.\n\n") and quote.offset + quote.length == utf16_len(text)
    assert E("bold", quote.offset + 3, len(title)) in entities


# -- UTF-16 offsets and scripts ---------------------------------------------------------------------------


def test_offsets_count_utf16_code_units() -> None:
    assert utf16_len("😀") == 2 and utf16_len("é") == 1 and utf16_len("👍🏽") == 4
    assert render(Text.of("😀 **hi**")) == ("😀 hi", [E("bold", 3, 2)])
    assert render(Text.of("👨‍👩‍👧 `x` 🇺🇦 *y*")) == ("👨‍👩‍👧 x 🇺🇦 y", [E("code", 9, 1), E("italic", 16, 1)])


def test_rtl_text_with_formatting() -> None:
    assert render(Text.of("مرحبا **بالعالم**")) == ("مرحبا بالعالم", [E("bold", 6, 7)])
    assert render(Text.of("שלום _עולם_ `code`")) == ("שלום עולם code", [E("italic", 5, 4), E("code", 10, 4)])


# -- partial and adversarial input -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "source",
    [
        "**bold without end",
        "`unclosed",
        "snake_case_words stay literal",
        "<b>not html</b> & a < b > c",
        "~~strike",
        "[text](https://unfinished",
        "2 * 3 * 4",
        "_ * ~ ` < > [ ] ( ) #hashtag",
    ],
)
def test_unbalanced_markup_stays_literal(source: str) -> None:
    assert render(Text.of(source)) == (source, [])


def test_unclosed_fence_is_still_pre() -> None:
    assert render(Text.of("```python\nprint(1)")) == ("print(1)", [E("pre", 0, 8, language="python")])
    assert render(Text.of("Look:\n```js\nlet a = `x")) == (
        "Look:\n\nlet a = `x",
        [E("pre", 7, 10, language="js")],
    )


@pytest.mark.parametrize("source", ["#", "```", ">", "   ", "\n\n", "[](https://x.org)", "**"])
def test_input_that_renders_to_nothing_falls_back_to_itself(source: str) -> None:
    assert render(Text.of(source)) == (source, [])


def test_lone_surrogates_are_replaced_and_pairs_joined() -> None:
    assert render(Text.of("a \ud83d b")) == ("a \ufffd b", [])
    assert render(Text.of("\ud83d\ude00 **x**")) == ("😀 x", [E("bold", 3, 1)])


def test_entities_beyond_the_cap_are_dropped_latest_first() -> None:
    text, entities = render(Text.of(" ".join(f"**w{i}**" for i in range(150))))
    assert len(entities) == MAX_ENTITIES
    assert entities[-1] == E("bold", text.index("w99"), 3)


TRICKY = """# Heading with *emph* and `code`

Some **bold _nested italic_ text** and ~~strike~~, a [link](https://example.com/path_(x)) and
snake_case_words, 2 * 3 * 4, a < b > c, <b>tags</b>, &amp; entities,
😀👨‍👩‍👧 emoji and עברית **מודגש** / العربية _مائل_.

> 💭 **Thinking** …
> inner `code` and *partial

- item **one
- item `two`
  1. nested [link](tg://user?id=1)

```python
def f(x):
    return x * 2  # **not bold**
```

***both*** __under__ ||spoiler|| ![img](https://img.org/a.png) [bad](javascript:x)
"""


def test_every_prefix_of_a_tricky_document_renders_validly() -> None:
    for end in range(len(TRICKY) + 1):
        source = TRICKY[:end]
        text, entities = render(Text.of(source))
        assert_valid(text, entities)
        assert bool(text) == bool(source), repr(source)


def test_random_markup_soup_renders_and_splits_validly() -> None:
    rng = random.Random(20260704)
    alphabet = [*"*_~`<>[]()#!|\\-+.", "\n", "\n\n", " ", "  ", "a", "b", "😀", "ش", "א", "```", "> "]
    alphabet += ["http://x.org", "](", "**", "__", "~~"]
    for _ in range(1500):
        source = "".join(rng.choice(alphabet) for _ in range(rng.randint(1, 40)))
        text, entities = render(Text.of(source))
        assert_valid(text, entities)
        assert text, repr(source)
        limit = rng.randint(2, 30)
        parts = render_chunks(Text.of(source), limit)
        for part_text, part_entities in parts:
            assert_valid(part_text, part_entities, limit)
        rejoin(text, [p for p, _ in parts])


# -- splitting ---------------------------------------------------------------------------------------------


def long_reply() -> str:
    """About 13,000 characters of prose and ```python blocks, one block alone longer than a message."""
    rng = random.Random(7)
    words = ["alpha", "**beta**", "gamma", "_delta_", "`eps`", "zeta😀", "[eta](https://eta.org)", "θ"]
    blocks = []
    for i in range(6):
        blocks.append(" ".join(rng.choice(words) for _ in range(120)))
        lines = 40 if i != 3 else 260  # block 3 is ~6,000 characters on its own
        code = "\n".join(f"    value_{n} = compute({n}, '😀' * {n})  # step {n}" for n in range(lines))
        blocks.append(f"```python\ndef block_{i}():\n{code}\n```")
    return "\n\n".join(blocks)


def is_code(line: str) -> bool:
    return line.startswith(("    value_", "def block_"))


def test_a_long_reply_with_code_blocks_splits_cleanly() -> None:
    source = long_reply()
    assert len(source) > 10_000
    full, _ = render(Text.of(source))
    chunks = render_chunks(Text.of(source))
    assert len(chunks) >= 3
    rejoin(full, [t for t, _ in chunks])
    for text, entities in chunks:
        assert_valid(text, entities, 4096)
        # Cuts fall at line or word boundaries, never inside a word or a UTF-16 pair.
        assert not text[-1].isspace()
    cut_blocks = 0
    for (before, before_entities), (after, after_entities) in itertools.pairwise(chunks):
        if is_code(before.split("\n")[-1]) and is_code(after.split("\n")[0]):
            cut_blocks += 1  # the cut went through a code block: both halves stay python code
            last = before_entities[-1] if before_entities else None
            assert last is not None and last.type == "pre" and last.language == "python"
            assert last.offset + last.length == utf16_len(before)
            assert after_entities[0] == E("pre", 0, after_entities[0].length, language="python")
    assert cut_blocks >= 1, "the 6,000-character block must be cut"
    # Every code line is inside a python pre entity in its chunk, and no prose is.
    for text, entities in chunks:
        pres = [(e.offset, e.offset + e.length) for e in entities if e.type == "pre"]
        assert all(e.language == "python" for e in entities if e.type == "pre")
        pos = 0
        for line in text.split("\n"):
            start = utf16_len(text[:pos])
            in_pre = any(a <= start and start + utf16_len(line) <= b for a, b in pres)
            assert in_pre == is_code(line), line
            pos += len(line) + 1


def test_split_prefers_paragraphs_then_lines_then_words() -> None:
    text = "a" * 6 + "\n\n" + "b" * 4 + "\n" + "c c"
    assert [t for t, _ in split_rendered(text, [], 12)] == ["aaaaaa", "bbbb\nc c"]
    assert [t for t, _ in split_rendered(text, [], 7)] == ["aaaaaa", "bbbb", "c c"]
    assert [t for t, _ in split_rendered("one two three", [], 8)] == ["one two", "three"]
    assert [t for t, _ in split_rendered("abcdefghij", [], 4)] == ["abcd", "efgh", "ij"]


def test_split_clips_entities_into_both_parts_and_rebases_offsets() -> None:
    text, entities = render(
        Text.of("intro\n\n**bold words that run across the cut** tail\n\n```py\nx = 1\ny = 2\n```")
    )
    parts = split_rendered(text, entities, 20)
    # Word boundaries in the second half of the room beat the paragraph boundary in the first half.
    assert parts == [
        ("intro\n\nbold words", [E("bold", 7, 10)]),
        ("that run across the", [E("bold", 0, 19)]),
        ("cut tail", [E("bold", 0, 3)]),
        ("x = 1\ny = 2", [E("pre", 0, 11, language="py")]),
    ]
    parts = split_rendered("x = 1\ny = 2", [E("pre", 0, 11, language="py")], 6)
    assert parts == [("x = 1", [E("pre", 0, 5, language="py")]), ("y = 2", [E("pre", 0, 5, language="py")])]


def test_split_counts_utf16_and_never_splits_a_pair() -> None:
    text = "😀" * 3000  # 6,000 UTF-16 units, no boundaries
    parts = split_rendered(text, [E("bold", 0, 6000)], 4095)
    assert [utf16_len(t) for t, _ in parts] == [4094, 1906]
    assert [e for _, es in parts for e in es] == [E("bold", 0, 4094), E("bold", 0, 1906)]
    # Grapheme clusters (ZWJ family, skin tone) are not cut when a later cut point exists.
    family = "👨‍👩‍👧"  # 8 units
    assert [t for t, _ in split_rendered(family * 3, [], 12)] == [family, family, family]
    # A space carrying a combining mark is not a word boundary.
    assert [t for t, _ in split_rendered("abcd \u0301efg", [], 5)] == ["abcd", " \u0301efg"]


def test_split_edge_cases() -> None:
    assert split_rendered("", []) == []
    assert split_rendered("short", [E("italic", 0, 5)]) == [("short", [E("italic", 0, 5)])]
    with pytest.raises(ValueError, match="at least 2"):
        split_rendered("text", [], 1)
    # Each part keeps its own cap of entities.
    source = "\n\n".join(" ".join(f"*w{i}*" for i in range(80)) for _ in range(3))
    parts = render_chunks(Text.of(source), 400)
    assert len(parts) == 3 and all(len(es) == 80 for _, es in parts)
    assert len(render(Text.of(source))[1]) == MAX_ENTITIES


def test_entity_to_dict_has_the_bot_api_shape() -> None:
    assert E("bold", 1, 2).to_dict() == {"type": "bold", "offset": 1, "length": 2}
    assert E("pre", 0, 3, language="py").to_dict() == {
        "type": "pre",
        "offset": 0,
        "length": 3,
        "language": "py",
    }
    link = E("text_link", 0, 1, url="https://x.org").to_dict()
    assert link == {"type": "text_link", "offset": 0, "length": 1, "url": "https://x.org"}


# -- messages: what the adapter sends for each chunk the core split by text_length -----------------------


def test_a_message_is_the_rendering_and_never_blank() -> None:
    assert message(Text.of("**hi** there")) == render(Text.of("**hi** there"))
    assert message(Text.of("#")) == ("#", [])  # renders to nothing: the Markdown itself
    assert message(Text.of("")) == (BLANK, []) and message(Text.of(" \n\n ")) == (BLANK, [])


def test_text_length_counts_the_rendered_text_in_utf16_units() -> None:
    assert text_length(Text.of("**😀** [link](https://example.com)")) == utf16_len("😀 link") == 7
    assert text_length(Text.of("```python\nx = 1\n```")) == 5
    assert text_length(Text.of("")) == 1  # "…"


def test_a_long_reply_split_by_the_core_fits_and_keeps_every_visible_character() -> None:
    source = long_reply() + "\n\n" + "👨‍👩‍👧‍👦 " * 900  # ends with 9,900 UTF-16 units of emoji
    chunks = split_text(Text.of(source), MAX_LEN, text_length)
    messages = [message(chunk) for chunk in chunks]
    for text, entities in messages:
        assert_valid(text, entities, MAX_LEN)
        assert not text.endswith(" …")
    visible = [c for c in render(Text.of(source))[0] if not c.isspace()]
    shown = iter(c for text, _ in messages for c in text if not c.isspace())
    assert all(any(c == s for s in shown) for c in visible), "a visible character was lost"
    assert sum(text.count("👨‍👩‍👧‍👦") for text, _ in messages) == 900
    for text, entities in messages:  # code lines stay in python pre entities
        pres = [(e.offset, e.offset + e.length) for e in entities if e.type == "pre"]
        for line in text.split("\n"):
            if is_code(line):
                at = utf16_len(text[: text.index(line)])
                assert any(a <= at < b for a, b in pres), line


def test_a_thought_cut_across_messages_is_expandable_in_both() -> None:
    body = "\n\n".join(f"step {i}: " + "reasoning " * 40 for i in range(12))  # about 5,000 units
    chunks = split_text(Text((Prose("Answer."), Thought("Thinking", body))), MAX_LEN, text_length)
    assert len(chunks) == 2
    assert chunks[1].blocks[0] == Thought("Thinking", chunks[1].blocks[0].markdown, continued=True)
    (first, first_entities), (second, second_entities) = (message(chunk) for chunk in chunks)
    assert utf16_len(first) <= MAX_LEN and utf16_len(second) <= MAX_LEN
    at = utf16_len("Answer.\n\n")
    assert first_entities[0] == E("expandable_blockquote", at, utf16_len(first) - at)
    assert second.startswith("💭 Thinking (continued)\nstep ")
    assert second_entities[0] == E("expandable_blockquote", 0, utf16_len(second))
    assert (first + second).count("reasoning") == 12 * 40


def test_the_adapter_refuses_a_chunk_over_the_limit_rather_than_cut_it() -> None:
    with pytest.raises(PlatformError, match="bug") as caught:
        rendered(Text.of("😀" * 2049))  # 4,098 units: the core never hands this over
    assert caught.value.permanent
    body, _ = rendered(Text.of("😀" * 2048))
    assert utf16_len(body) == MAX_LEN
