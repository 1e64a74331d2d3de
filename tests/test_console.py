"""The console adapter in process, room by room: what it prints, what it delivers, how it maps errors."""

from __future__ import annotations

import io
from pathlib import Path

import pytest

from adapters.console.adapter import ConsoleAdapter
from adapters.console.config import ConsoleConfig
from bridge import (
    AdapterState,
    AppInputs,
    Choice,
    ConversationKey,
    Host,
    Incoming,
    LocalFile,
    PlatformError,
    Text,
)
from bridge.sessions import MemoryStore

ASSETS = Path(__file__).parent / "apps" / "assets"
KEY = ConversationKey("term", "console")


def console(
    stdin: str = "", *, tty: bool = False, **config: object
) -> tuple[ConsoleAdapter, io.StringIO, io.StringIO]:
    out, err = io.StringIO(), io.StringIO()
    cfg = ConsoleConfig(space="app", **config)
    return ConsoleAdapter("term", cfg, stdin=io.StringIO(stdin), stdout=out, stderr=err, tty=tty), out, err


class Recorder:
    """A host that records what the adapter delivers."""

    def __init__(self, store: MemoryStore | None = None, *, durable: bool = True) -> None:
        self.got: list[Incoming] = []
        self.ready = 0
        self.durable = durable
        self.store = store or MemoryStore()

    def host(self) -> Host:
        async def deliver(msg: Incoming) -> bool:
            self.got.append(msg)
            return self.durable

        async def inputs() -> AppInputs:
            return AppInputs()

        def ready() -> None:
            self.ready += 1

        return Host(deliver, AdapterState(self.store, "term"), inputs, None, ready)


async def test_line_mode_prints_final_text_once_and_status_on_stderr() -> None:
    adapter, out, err = console()
    ref = await adapter.send(KEY, Text.of("…"), stage="status")
    assert await adapter.edit(ref, Text.of("⏳ In queue: #2 of 5"), stage="status") == ref
    await adapter.edit(ref, Text.of("partial answ"), stage="partial")
    assert await adapter.edit(ref, Text.of("the answer\n"), stage="final") == ref
    assert out.getvalue() == "the answer\n"  # a script reads exactly the answer
    assert err.getvalue() == "[⏳ In queue: #2 of 5]\n"  # the placeholder says nothing


async def test_a_terminal_redraws_the_reply_in_place_then_prompts() -> None:
    adapter, out, _ = console(tty=True)
    ref = await adapter.send(KEY, Text.of("…"), stage="status")
    await adapter.edit(ref, Text.of("one"), stage="partial")
    await adapter.edit(ref, Text.of("one two"), stage="partial")
    await adapter.edit(ref, Text.of("one two"), stage="partial")  # not modified: nothing drawn
    await adapter.edit(ref, Text.of("one two three"), stage="final")
    back = "\x1b[1F\x1b[J"
    assert out.getvalue() == (f"\x1b[2m…\x1b[0m\n{back}one\n{back}one two\n{back}one two three\n> ")


async def test_lines_become_messages_with_ids_and_files_named_not_read() -> None:
    notes = ASSETS / "notes.txt"
    adapter, _, err = console(f"hi\n\n/file {notes} look\n/file\n/file /no/such.txt x\n")
    rec = Recorder()
    await adapter.run(rec.host())
    assert rec.ready == 1
    assert [m.text for m in rec.got] == ["hi", "look"]
    assert all(m.key == KEY and m.author.id == "you" for m in rec.got)
    ids = [m.id for m in rec.got]
    assert len(set(ids)) == 2 and all(i and i.endswith((":1", ":2")) for i in ids)
    (att,) = rec.got[1].attachments
    assert not att.fetched and att.declared_size == notes.stat().st_size  # the turn fetches it
    fetched = await adapter.fetch(att)
    assert fetched.path == notes.resolve() and fetched.mime_type == "text/plain"
    assert "usage: /file PATH [message]" in err.getvalue() and "no such file: /no/such.txt" in err.getvalue()


async def test_a_file_gone_before_its_turn_is_a_permanent_platform_error(tmp_path: Path) -> None:
    doomed = tmp_path / "doomed.txt"
    doomed.write_text("x")
    adapter, _, _ = console(f"/file {doomed}\n")
    rec = Recorder()
    await adapter.run(rec.host())
    doomed.unlink()
    with pytest.raises(PlatformError) as caught:
        await adapter.fetch(rec.got[0].attachments[0])
    assert caught.value.permanent


async def test_choices_are_numbered_and_the_next_line_picks_even_after_a_restart() -> None:
    store = MemoryStore()
    adapter, _, err = console()
    rec = Recorder(store)
    await adapter.run(rec.host())  # no input: it only restores (nothing) and ends
    ref = await adapter.send(KEY, Text.of("Shall I?"))
    await adapter.offer(ref, [Choice("Yes, please.", "Yes"), Choice("No, thanks.", "No")])
    assert err.getvalue() == "[choices: [1] Yes  [2] No (type the number)]\n"
    restarted, _, _ = console("2\n2\n")
    await restarted.run(rec.host())
    assert [m.text for m in rec.got] == ["No, thanks.", "2"]  # only the next line picks


async def test_one_shot_delivers_its_message_and_reads_no_stdin() -> None:
    notes = ASSETS / "notes.txt"
    adapter, _, _ = console("never read\n", message="hello", attach=[str(notes)])
    rec = Recorder()
    await adapter.run(rec.host())
    assert [(m.text, len(m.attachments)) for m in rec.got] == [("hello", 1)]


async def test_a_message_only_held_in_memory_is_said_so() -> None:
    adapter, _, err = console("hi\n")
    await adapter.run(Recorder(durable=False).host())
    assert "kept in memory until it is back" in err.getvalue()


async def test_a_closed_stdout_is_a_permanent_platform_error() -> None:
    adapter, out, _ = console()
    out.close()
    with pytest.raises(PlatformError) as caught:
        await adapter.send(KEY, Text.of("hello"))
    assert caught.value.permanent


async def test_files_the_app_returns_are_saved_under_names_not_taken(tmp_path: Path) -> None:
    adapter, _, err = console(files_dir=str(tmp_path / "out"))
    notes = ASSETS / "notes.txt"
    sent = LocalFile(notes, "notes.txt", "text/plain", notes.stat().st_size)
    await adapter.send_files(KEY, [sent, sent])
    assert sorted(p.name for p in (tmp_path / "out").iterdir()) == ["notes-1.txt", "notes.txt"]
    assert err.getvalue().count("[📎 file: saved ") == 2
