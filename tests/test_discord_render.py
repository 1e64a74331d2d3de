"""Discord rendering: the core's Markdown made Discord-safe, bounded growth, streaming-safe fences."""

from __future__ import annotations

import functools
import random
import re

import pytest

from adapters.discord.render import MAX_GROWTH, to_discord
from adapters.discord.send import BLANK, content_length, message_content
from bridge import Prose, Text, Thought, ThoughtPart
from bridge.textsplit import split_text
from bridge.wording import thought as thought_of

MODES = ("quote", "spoiler")


def fenced_blocks(text: str) -> list[str]:
    """The contents of the closed top-level ``` blocks, the way Discord reads them (first ``` to next)."""
    return re.findall(r"```[^\n]*\n(.*?)\n?```", text, re.DOTALL)


def test_discord_markdown_passes_through_unchanged() -> None:
    text = (
        "# Title\n## Sub\n### Third\n\n**bold** *it* _it_ ~~strike~~ `code` ||spoiler||\n\n"
        "- one\n- two\n  - nested\n1. first\n\n> a quote\n> more\n\n[a link](https://example.com)\n"
        "-# subtext\n\n```py\nprint('hi')\n```\n@everyone @here <@123> stay readable"
    )
    for mode in MODES:
        assert to_discord(Text.of(text), mode) == text


def test_deep_headings_become_bold_lines() -> None:
    text = "#### Step **one**\n##### five ###\n###### six\n####\n  ## indented ##\n#hashtag"
    assert to_discord(Text.of(text)) == "**Step one**\n**five**\n**six**\n\n## indented\n#hashtag"


def test_tables_go_into_an_aligned_code_block() -> None:
    text = "Results:\n\n| Name | **Score** |\n|:-----|------:|\n| Alice | `30` |\n| Bob<br>Jr | 4 |\n\nDone."
    assert to_discord(Text.of(text)) == (
        "Results:\n\n```\nName   | Score\n-------+------\nAlice  | 30\nBob Jr | 4\n```\n\nDone."
    )


def test_table_alignment_counts_wide_characters() -> None:
    out = to_discord(Text.of("| 名前 | x |\n|---|---|\n| ab | y |"))
    assert out == "```\n名前 | x\n-----+--\nab   | y\n```"


def test_a_table_still_streaming_is_shown_as_code() -> None:
    assert to_discord(Text.of("| a | b |\n|--")) == "```\na | b\n--+--\n```"
    assert to_discord(Text.of("| a | b |")) == "| a | b |"  # no delimiter row yet: not a table
    assert to_discord(Text.of("| a | b |\n|---|---|\n| 1 |")) == "```\na | b\n--+--\n1 |\n```"


def test_pipes_without_a_delimiter_row_are_text() -> None:
    text = "a | b\nc | d\n\nx || y"
    assert to_discord(Text.of(text)) == text


def test_images_become_links() -> None:
    text = 'See ![a cat](https://x.y/cat.png "Cat") and ![](https://x.y/dog.png) or [![logo](l.png)](https://x.y)'
    assert (
        to_discord(Text.of(text))
        == 'See [a cat](https://x.y/cat.png "Cat") and https://x.y/dog.png or [logo](https://x.y)'
    )
    assert to_discord(Text.of("`![not](an image)`")) == "`![not](an image)`"
    assert to_discord(Text.of("\\![escaped](x)")) == "\\![escaped](x)"


def test_br_becomes_a_line_break_that_stays_in_its_quote() -> None:
    assert to_discord(Text.of("one<br>two<BR/>three<br />four")) == "one\ntwo\nthree\nfour"
    assert to_discord(Text.of("> one<br>two")) == "> one\n> two"
    assert to_discord(Text.of("`a<br>b` c<br>d")) == "`a<br>b` c\nd"


def test_rules_underline_and_tilde_fences() -> None:
    assert to_discord(Text.of("a\n\n---\n\n* * *\n\nb")) == "a\n\n———\n\n———\n\nb"
    assert (
        to_discord(Text.of("__bold__ and __init__ but not snake__case__x"))
        == "**bold** and **init** but not snake__case__x"
    )
    assert to_discord(Text.of("~~~python extra words\nx = 1\n~~~")) == "```python\nx = 1\n```"
    assert (
        to_discord(Text.of("````md\n```py\nx\n```\n````")) == "````md\n```py\nx\n```\n````"
    )  # a fence inside stays


def test_fenced_code_content_is_never_touched() -> None:
    code = "#### not a heading\n| a | b |\n|---|---|\n![img](x.png) <br> __x__\n> 💭 **T**\n---"
    for mode in MODES:
        out = to_discord(Text.of(f"Intro\n\n```text\n{code}\n```\n\nOutro"), mode)
        assert out == f"Intro\n\n```text\n{code}\n```\n\nOutro"
        assert to_discord(Text.of(f"```\n{code}"), mode) == f"```\n{code}\n```"


def test_unterminated_fences_from_streaming_are_closed() -> None:
    assert to_discord(Text.of("Here:\n```python\nprint(1)")) == "Here:\n```python\nprint(1)\n```"
    assert to_discord(Text.of("```python\nprint(1)\n")) == "```python\nprint(1)\n```"
    assert (
        to_discord(Text.of("```python\nprint(1)\n``")) == "```python\nprint(1)\n```"
    )  # closing fence being typed
    assert to_discord(Text.of("```python")) == "```python\n```"
    assert to_discord(Text.of("> ```\n> quoted code\n\nafter")) == "> ```\n> quoted code\n> ```\n\nafter"


def test_every_streamed_prefix_renders_with_balanced_fences() -> None:
    reply = (
        "Sure! Here is a table:\n\n| Lang | Year |\n|------|------|\n| Python | 1991 |\n| Rust | 2015 |\n\n"
        "And code:\n\n```python\ndef f(x):\n    return x * 2  # `doubled`\n```\n\n#### Notes\n"
        "- ![diagram](https://x.y/d.png)\n- line<br>break\n\n~~~\nraw ~~~ text\n~~~\n\nThe end."
    )
    for mode in MODES:
        for end in range(len(reply) + 1):
            out = to_discord(Text.of(reply[:end]), mode)
            assert len(out) <= end + MAX_GROWTH
            assert out.count("```") % 2 == 0, (reply[:end], out)
            assert to_discord(Text.of(out), mode) == out
    final = to_discord(Text.of(reply))
    assert fenced_blocks(final)[1] == "def f(x):\n    return x * 2  # `doubled`"


def thought(title: str, text: str, status: str | None = None) -> Text:
    return Text((thought_of(ThoughtPart(title, text, status)),))


def test_thoughts_stay_quotes_in_quote_mode() -> None:
    text = thought("Thinking", "step one\n\nstep two", "pending") + Text.of("The answer.")
    assert text.markdown.startswith("> 💭 **Thinking** …\n> step one\n>\n")
    assert to_discord(text, "quote") == "> 💭 **Thinking** …\n> step one\n> \n> step two\n\nThe answer."


def test_thoughts_become_spoilers_with_code_outside() -> None:
    body = "Let me compute.\nStill thinking.\n\n```python\nprint(2 + 2)\n```\n\nResult: a || b"
    text = thought("Used tool calculator", body) + Text.of("It is **4**.")
    assert to_discord(text, "spoiler") == (
        "🔧 **Used tool calculator**\n||Let me compute.\nStill thinking.||\n\n"
        "```python\nprint(2 + 2)\n```\n\n||Result: a |\u200b| b||\n\nIt is **4**."
    )


def test_spoiler_thought_details() -> None:
    assert to_discord(thought("Plan", "", "pending"), "spoiler") == "💭 **Plan** …"
    assert (
        to_discord(thought("Plan", "ends with a pipe |"), "spoiler")
        == "💭 **Plan**\n||ends with a pipe |\u200b||"
    )
    streaming = thought("Plan", "```py\nx = 1", "pending")  # an open fence inside the thought
    assert to_discord(streaming, "spoiler") == "💭 **Plan** …\n```py\nx = 1\n```"
    table = thought("Plan", "| a | b |\n|---|---|\n| 1 | 2 |\nso")
    assert to_discord(table, "spoiler") == "💭 **Plan**\n```\na | b\n--+--\n1 | 2\n```\n||so||"
    continued = Text((Thought("Plan", "rest", tool=True, continued=True),))
    assert to_discord(continued, "spoiler") == "🔧 **Plan** (continued)\n||rest||"


@pytest.mark.parametrize("mode", MODES)
def test_app_text_that_reads_like_a_thought_stays_a_quote(mode: str) -> None:
    for plain_quote in ("> 💭 **x**\n> not a thought", "> just a quote\n> 💭 **not a title here**"):
        assert to_discord(Text.of(plain_quote), mode) == plain_quote  # type: ignore[arg-type]


def test_growth_is_bounded_and_rewrites_give_way_to_it() -> None:
    many_tables = "\n\n".join(f"| a{i} | b |\n|---|---|\n| 1 | 2 |" for i in range(40))
    out = to_discord(Text.of(many_tables))
    assert len(out) <= len(many_tables) + MAX_GROWTH
    assert out.startswith("```\na0 | b\n---+--\n1  | 2\n```")  # aligned tables are shorter here
    lists = thought("T", "\n".join(["x"] * 300))
    assert len(to_discord(lists, "spoiler")) <= len(lists.markdown) + MAX_GROWTH
    paragraphs = thought("T", "\n\n".join(["x"] * 200))  # "||x||" is 2 longer than "> x"
    assert paragraphs.markdown == "> 💭 **T**\n" + "\n>\n".join(["> x"] * 200)
    assert to_discord(paragraphs, "spoiler") == paragraphs.markdown  # too long as spoilers: kept as the quote


def test_line_endings_and_edge_inputs() -> None:
    assert to_discord(Text.of("")) == ""
    assert to_discord(Text.of("a\r\nb\rc")) == "a\nb\nc"
    assert to_discord(Text.of("\n\n")) == "\n\n"
    assert to_discord(Text.of(">")) == "> "


SOUP = [
    "\n", "\n\n", " ", "a", "word", "|", " | ", "---", "-", "#", "####", "> ", ">", "```", "```py", "~~~",
    "`", "**", "__", "_", "*", "![", "](", ")", "[", "]", "<br>", "💭 **T**", "🔧 **Tool**", "||",
    "http://x/y.png", "é", "表", "\t", "!", "\\", "\r\n",
]  # fmt: skip


@pytest.mark.parametrize("seed", range(4))
def test_random_markdown_soup(seed: int) -> None:
    """Never raises, growth bounded, idempotent when nothing gave way, and code content survives."""
    rng = random.Random(seed)
    for _ in range(1500):
        text = "".join(rng.choices(SOUP, k=rng.randint(0, 40)))
        code = "".join(rng.choices([s for s in SOUP if "`" not in s and "\n" not in s], k=8))
        for mode in MODES:
            out = to_discord(Text.of(text), mode)
            assert len(out) <= len(text) + MAX_GROWTH
            assert to_discord(Text.of(out), mode) == out, (text, out)
            assert to_discord(Text.of(f"```\n{code}\n```\n\n{text}"), mode).startswith(f"```\n{code}\n```\n")
            # The same soup as typed blocks: a thought between prose, rendered by its type.
            typed = Text((Prose(text), Thought(code, text, pending=bool(len(text) % 2)), Prose(code)))
            out = to_discord(typed, mode)
            assert len(out) <= len(typed.markdown) + MAX_GROWTH
            assert to_discord(Text.of(out), mode) == out, (typed, out)
            assert out.endswith(to_discord(Text.of(code), mode))


# -- message content: what a message carries for each chunk the core split by content_length ------------


@pytest.mark.parametrize(
    ("source", "shown"), [("#", "\\#"), ("# #", "\\# \\#"), ("##\n\n###", "\\#\\#\n\n\\#\\#\\#")]
)
def test_a_chunk_that_renders_to_nothing_shows_its_markdown_escaped(source: str, shown: str) -> None:
    assert to_discord(Text.of(source)).strip() == ""
    for mode in MODES:
        assert message_content(Text.of(source), mode) == shown


def test_content_is_never_blank_and_drops_trailing_whitespace() -> None:
    assert message_content(Text.of("")) == BLANK and message_content(Text.of(" \n\n")) == BLANK
    assert message_content(Text.of("**bold**\n\n\n")) == "**bold**"
    assert message_content(thought("T", "why"), "spoiler") == to_discord(thought("T", "why"), "spoiler")
    assert message_content(thought("T", "why\n"), "spoiler") == "💭 **T**\n||why||"


def test_content_length_counts_code_points_of_the_content() -> None:
    assert content_length(Text.of("😀 **x**")) == 7  # Discord's API is Python: len(), not UTF-16
    assert content_length(Text.of("#")) == 2
    assert content_length(Text.of("```py\nx")) == len("```py\nx\n```")  # the fence closed by to_discord


def long_markdown() -> str:
    """About 7,500 characters: sections of prose, lists, tables and python blocks."""
    parts = []
    for n in range(1, 25):
        parts.append(
            f"## Section {n}\n\nParagraph {n} has *emphasis*, `code` and a [link](https://x.org/{n})."
        )
        parts.append("| a | b |\n|---|---|\n| 1 | 2 |" if n % 5 == 0 else "- one\n- two\n  - nested")
        parts.append(
            "```python\n" + "\n".join(f"def f_{n}_{i}(x):\n    return x + {i}" for i in range(6)) + "\n```"
        )
    return "\n\n".join(parts)


def test_a_long_reply_split_by_the_core_fits_and_keeps_its_words() -> None:
    source = long_markdown() + "\n\n" + "👍🏽 " * 1500 + "\n\n# \n\n#"
    chunks = split_text(Text.of(source), 2000, content_length)
    contents = [message_content(chunk) for chunk in chunks]
    assert all(0 < len(content) <= 2000 and content.strip() for content in contents)
    assert all(content.count("```") % 2 == 0 for content in contents)
    words = re.findall(r"\w+", to_discord(Text.of(source)))
    shown = iter(w for content in contents for w in re.findall(r"\w+", content))
    assert all(any(w == s for s in shown) for w in words), "a word was lost"
    assert sum(content.count("👍🏽") for content in contents) == 1500


def test_a_thought_cut_across_messages_is_spoilered_in_both() -> None:
    body = "\n\n".join(f"step {i}: " + "reasoning " * 30 for i in range(12))  # about 3,800 characters
    spoiler = functools.partial(content_length, thoughts="spoiler")
    chunks = split_text(Text((Prose("Answer."), Thought("Thinking", body))), 2000, spoiler)
    assert len(chunks) >= 2
    contents = [message_content(chunk, "spoiler") for chunk in chunks]
    assert all(len(content) <= 2000 for content in contents)  # the spoiler marks counted
    assert contents[0].startswith("Answer.\n\n💭 **Thinking**\n||step 0: ")
    for content in contents[1:]:
        assert content.startswith("💭 **Thinking** (continued)\n||step ")
    for content in contents:  # every line of the thought's text, after its heading, is in a spoiler
        lines = content.split("\n")
        after = lines[next(n for n, line in enumerate(lines) if line.startswith("💭 **Thinking**")) + 1 :]
        assert all(line.startswith("||") and line.endswith("||") for line in after if line), content[:300]
    assert "".join(contents).count("reasoning") == 12 * 30
