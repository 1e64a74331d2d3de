"""What users saw, read from the Telegram fake's record: for each user message its answers, and the
figures the replica scenarios assert on.

Replies come from the ``replica`` test app (:mod:`tests.apps.replica`): ``turn N: <text>`` while it
streams, ``… (end)`` when final. A bot message answers a user message when it replies to it
(``reply_to_message``), or, without a reply link, when its text echoes the message's text. Its current
text is **final** (the app's whole answer), a **note** (the bridge's "interrupted…"/"send it again"), or
**partial** (a placeholder or a stream cut short). A message is answered once when exactly one of its
replies is final or a note. Times come from ``fake.succeeded``: the first successful sendMessage or
editMessageText that put a final or note text on the message's reply (or, for private chats, that sent
it). Every user message pushed must have a text unique within its chat.
"""

from __future__ import annotations

import itertools
import re
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram import FakeTelegram

END = "(end)"
_REPLY = re.compile(r"turn (\d+): (.*)", re.S)
_FINAL = re.compile(r"turn (\d+): (.*?)(?: \.)* \(end\)", re.S)
NOTES = ("interrupted", "send it again")


def parse(text: str) -> tuple[str, int, str]:
    """``(kind, turn, echoed text)`` of a bot text; kind is ``final``, ``note``, ``partial`` or ``other``."""
    text = text.strip()
    if m := _FINAL.fullmatch(text):
        return "final", int(m.group(1)), m.group(2)
    kind = "note" if any(n in text.lower() for n in NOTES) else "partial"
    if m := _REPLY.match(text):
        return kind, int(m.group(1)), m.group(2)
    return (kind if kind == "note" else "other"), 0, ""


@dataclass
class Asked:
    """One user message and what answered it."""

    chat: int
    message_id: int
    update_id: int
    text: str
    replies: list[str] = field(default_factory=list)  # current texts of the bot messages answering it
    answered_at: float | None = None  # monotonic time of its first final or note
    turn: int = 0  # the app's turn number in its final answer (0: none)

    @property
    def answers(self) -> list[str]:
        """The replies that are final or notes."""
        return [r for r in self.replies if parse(r)[0] in ("final", "note")]


@dataclass
class Report:
    """The figures of one scenario (see the module docstring)."""

    asked: list[Asked]
    bot_wide_429: int
    per_chat_429: Counter[int | str]
    count_429: int
    deliveries: list[tuple[int, int]]  # the fake's webhook_deliveries: (update_id, status; 0 = no answer)

    @property
    def exactly_once(self) -> list[Asked]:
        return [a for a in self.asked if len(a.answers) == 1]

    @property
    def duplicates(self) -> list[Asked]:
        return [a for a in self.asked if len(a.answers) > 1]

    @property
    def unanswered(self) -> list[Asked]:
        return [a for a in self.asked if not a.answers]

    @property
    def leftovers(self) -> list[Asked]:
        """Answered messages that also kept a partial reply (a second, stale message)."""
        return [a for a in self.asked if a.answers and len(a.replies) > len(a.answers)]

    @property
    def notes(self) -> list[Asked]:
        return [a for a in self.asked if any(parse(r)[0] == "note" for r in a.answers)]

    def order_violations(self) -> dict[int, int]:
        """Per chat, how many consecutive pairs of its answered messages were answered out of order:
        the later message's final came first, or its turn number is not higher (written from the same
        or an older history). Chats without violations are left out."""
        out: dict[int, int] = {}
        by_chat: dict[int, list[Asked]] = {}
        for a in self.asked:
            by_chat.setdefault(a.chat, []).append(a)
        for chat, items in by_chat.items():
            done = [a for a in items if a.answered_at is not None and a.turn]
            bad = sum(
                1
                for x, y in itertools.pairwise(done)
                if (y.answered_at or 0) < (x.answered_at or 0) or y.turn <= x.turn
            )
            if bad:
                out[chat] = bad
        return out

    def first_answer_after(self, t0: float, messages: Iterable[Asked]) -> dict[int, float | None]:
        """Seconds from ``t0`` to each message's first final or note (None: none yet), by update id."""
        return {
            a.update_id: (None if a.answered_at is None else round(a.answered_at - t0, 2)) for a in messages
        }

    def summary(self) -> dict[str, Any]:
        """The figures, for failure messages and the log."""
        return {
            "messages": len(self.asked),
            "exactly_once": len(self.exactly_once),
            "duplicates": len(self.duplicates),
            "unanswered": len(self.unanswered),
            "leftover_partials": len(self.leftovers),
            "notes": len(self.notes),
            "order_violations": sum(self.order_violations().values()),
            "chats_out_of_order": len(self.order_violations()),
            "bot_wide_429": self.bot_wide_429,
            "chat_429": sum(self.per_chat_429.values()),
            "all_429": self.count_429,
            "webhook_attempts": len(self.deliveries),
            "updates_redelivered": sum(1 for n in Counter(u for u, _ in self.deliveries).values() if n > 1),
            "webhook_failures": dict(Counter(s for _, s in self.deliveries if not 200 <= s < 300)),
        }


def _reply_target(params: dict[str, Any]) -> int | None:
    reply = params.get("reply_parameters")
    if isinstance(reply, dict) and isinstance(reply.get("message_id"), int):
        return int(reply["message_id"])
    target = params.get("reply_to_message_id")
    return target if isinstance(target, int) else None


def report(fake: FakeTelegram) -> Report:
    """The :class:`Report` of everything users sent to ``fake`` so far."""
    asked: list[Asked] = []
    by_text: dict[tuple[int, str], Asked] = {}
    by_id: dict[tuple[int, int], Asked] = {}
    for update in fake.pushed:
        msg = update.get("message")
        if msg is None:
            continue
        a = Asked(
            int(msg["chat"]["id"]), int(msg["message_id"]), int(update["update_id"]), msg.get("text", "")
        )
        asked.append(a)
        by_text[(a.chat, a.text)] = a
        by_id[(a.chat, a.message_id)] = a
    replied_by: dict[tuple[int, int], Asked] = {}  # bot message → the user message it answers
    for a in asked:
        for m in fake.sent(a.chat):
            target = (m.extra.get("reply_to_message") or {}).get("message_id")
            echoed = parse(m.text or "")[2]
            if m.deleted:
                continue
            if target == a.message_id or (target is None and echoed == a.text):
                a.replies.append(m.text or "")
                replied_by[(a.chat, m.message_id)] = a
    for at, method, params in fake.succeeded:
        if method not in ("sendMessage", "editMessageText") or not isinstance(params.get("chat_id"), int):
            continue
        chat, (kind, turn, echoed) = params["chat_id"], parse(str(params.get("text") or ""))
        if kind not in ("final", "note"):
            continue
        target = _reply_target(params) if method == "sendMessage" else None
        found = (
            by_id.get((chat, target))
            if target is not None
            else replied_by.get((chat, params.get("message_id") or 0))
        ) or by_text.get((chat, echoed))
        if found is not None and found.answered_at is None:
            found.answered_at, found.turn = at, turn if kind == "final" else 0
    refused = fake.budgets.refused
    per_chat = Counter(chat for chat, limit in refused if limit != "global")
    bot_wide = sum(limit == "global" for _, limit in refused)
    return Report(asked, bot_wide, per_chat, fake.count_429, list(fake.webhook_deliveries))
