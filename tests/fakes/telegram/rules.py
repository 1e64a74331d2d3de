"""Telegram Bot API rules for the fake in :mod:`tests.fakes.telegram`: wire decoding, text and entity
validation, the ``HTML``/``MarkdownV2``/``Markdown`` parse modes, inline keyboards, bot commands and
flood budgets. Error descriptions follow the real server's wording, so bot code that matches on them
is exercised for real. Offsets and lengths are UTF-16 code units, as on the wire.
"""

from __future__ import annotations

import json
import math
import re
import time
from collections import Counter, deque
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from typing import Any

from tests.fakes.telegram.format import PARSERS, ParseError, u16


def _words(text: str) -> frozenset[str]:
    return frozenset(text.split())


TEXT_LIMIT = 4096
CAPTION_LIMIT = 1024
CALLBACK_DATA_LIMIT = 64  # bytes
KEYBOARD_LIMIT = 100  # buttons in one inline keyboard

# Parameters that PTB json-encodes on the wire (everything that is not a str); the rest stay raw.
JSON_KEYS = _words(
    "chat_id from_chat_id message_id message_ids message_thread_id draft_id reply_to_message_id entities "
    "caption_entities reply_markup reply_parameters link_preview_options commands scope offset limit "
    "timeout allowed_updates max_connections drop_pending_updates disable_notification protect_content "
    "allow_sending_without_reply show_alert cache_time duration width height supports_streaming "
    "has_spoiler disable_content_type_detection show_caption_above_media allow_paid_broadcast "
    "direct_messages_topic_id suggested_post_parameters revoke"
)
ENTITY_TYPES = _words(
    "mention hashtag cashtag bot_command url email phone_number bold italic underline strikethrough "
    "spoiler blockquote expandable_blockquote code pre text_link text_mention custom_emoji date_time"
)
CHAT_ACTIONS = _words(
    "typing upload_photo record_video upload_video record_voice upload_voice upload_document "
    "choose_sticker find_location record_video_note upload_video_note"
)


class ApiError(Exception):
    """A Bot API error reply: HTTP status = ``error_code``, ``description``, optional ``parameters``."""

    def __init__(self, status: int, description: str, parameters: dict[str, Any] | None = None) -> None:
        super().__init__(description)
        self.status, self.description, self.parameters = status, description, parameters

    def body(self) -> dict[str, Any]:
        out: dict[str, Any] = {"ok": False, "error_code": self.status, "description": self.description}
        if self.parameters:
            out["parameters"] = self.parameters
        return out


def bad(description: str) -> ApiError:
    return ApiError(400, f"Bad Request: {description}")


def unparsable(description: str) -> ApiError:
    return bad(f"can't parse entities: {description}")


def flood(retry_after: int) -> ApiError:
    return ApiError(429, f"Too Many Requests: retry after {retry_after}", {"retry_after": retry_after})


def decode_value(key: str, raw: str) -> Any:
    """PTB sends ``str`` values raw and json-encodes the rest; decode by parameter name."""
    if key not in JSON_KEYS:
        return raw
    try:
        return json.loads(raw)
    except ValueError:
        return raw  # e.g. chat_id="@channelname"


# ---------------------------------------------------------------------------------------------- entities
def check_entities(text: str, entities: Any) -> list[dict[str, Any]]:
    """Validate explicit ``entities`` against ``text``; return them sorted as Telegram stores them."""
    if not isinstance(entities, list):
        raise bad("can't parse entities JSON object")
    size, out = u16(text), []
    for e in entities:
        if not isinstance(e, dict) or e.get("type") not in ENTITY_TYPES:
            raise unparsable(f"unsupported entity type {e.get('type') if isinstance(e, dict) else e!r}")
        off, length = e.get("offset"), e.get("length")
        if not isinstance(off, int) or not isinstance(length, int) or off < 0 or length <= 0:
            raise unparsable(f"invalid entity offset/length {off}/{length}")
        if off + length > size:
            raise unparsable(f"entity at offset {off} with length {length} is beyond the end of the text")
        need = {"text_link": "url", "text_mention": "user", "custom_emoji": "custom_emoji_id"}.get(e["type"])
        if need and not e.get(need):
            raise unparsable(f"field {need!r} is required for {e['type']} entities")
        out.append(dict(e))
    return sorted(out, key=lambda e: (e["offset"], -e["length"]))


def _trim(text: str, entities: list[dict[str, Any]]) -> tuple[str, list[dict[str, Any]]]:
    """Telegram strips leading/trailing whitespace and clips entities to what is left."""
    body = text.strip()
    if not body:
        return "", []
    lead, size = u16(text[: len(text) - len(text.lstrip())]), u16(body)
    out = []
    for e in entities:
        start = max(e["offset"] - lead, 0)
        end = min(e["offset"] + e["length"] - lead, size)
        if end > start:
            out.append({**e, "offset": start, "length": end - start})
    return body, out


def formatted(
    p: dict[str, Any], key: str = "text", *, limit: int = TEXT_LIMIT, empty_ok: bool = False
) -> tuple[str, list[dict[str, Any]]]:
    """The stored (text, entities) of a text/caption parameter after parsing, trimming and limits."""
    raw = p.get(key)
    if raw is None and empty_ok:
        return "", []
    if not isinstance(raw, str):
        raise bad("message text is empty")
    ents_key = "entities" if key == "text" else f"{key}_entities"
    if p.get(ents_key) is not None:
        text, entities = raw, check_entities(raw, p[ents_key])
    elif p.get("parse_mode"):
        parser = PARSERS.get(str(p["parse_mode"]).lower())
        if parser is None:
            raise bad(f"unsupported parse_mode {p['parse_mode']}")
        try:
            text, entities = parser(raw)
        except ParseError as exc:
            raise unparsable(str(exc)) from None
    else:
        text, entities = raw, []
    text, entities = _trim(text, entities)
    if not text and not empty_ok:
        raise bad("message text is empty")
    if u16(text) > limit:
        raise bad("message is too long" if key == "text" else "message caption is too long")
    return text, entities


# ---------------------------------------------------------------------------------- markup and commands
_BUTTON_KINDS = _words(
    "callback_data url switch_inline_query switch_inline_query_current_chat web_app copy_text login_url pay"
)


def check_reply_markup(markup: Any) -> Any:
    """An inline keyboard as Telegram checks it: at most :data:`KEYBOARD_LIMIT` buttons, each with a
    non-blank text and one action; ``callback_data`` 1-64 bytes (an empty one counts as missing)."""
    if markup is None or not isinstance(markup, dict) or "inline_keyboard" not in markup:
        return markup
    rows = markup["inline_keyboard"]
    if not isinstance(rows, list) or not all(isinstance(r, list) for r in rows):
        raise bad('field "inline_keyboard" of the InlineKeyboardMarkup must be an Array of Arrays')
    if sum(len(r) for r in rows) > KEYBOARD_LIMIT:
        raise bad("reply markup is too long")
    for button in (b for r in rows for b in r):
        if not isinstance(button, dict) or not str(button.get("text") or "").strip():
            raise bad("BUTTON_TEXT_INVALID")  # wording not documented; the MTProto error's name
        data = button.get("callback_data")
        if data is not None and len(str(data).encode()) > CALLBACK_DATA_LIMIT:
            raise bad("BUTTON_DATA_INVALID")
        kinds = [k for k in _BUTTON_KINDS if button.get(k) is not None]
        if not kinds or (kinds == ["callback_data"] and data == ""):
            raise bad("can't parse inline keyboard button: Text buttons are unallowed in the inline keyboard")
    return markup


def check_commands(commands: Any) -> list[dict[str, str]]:
    if not isinstance(commands, list) or len(commands) > 100:
        raise bad(
            "BOT_COMMANDS_TOO_MUCH" if isinstance(commands, list) else "can't parse commands JSON object"
        )
    for c in commands:
        if not isinstance(c, dict) or not re.fullmatch(r"[a-z0-9_]{1,32}", str(c.get("command", ""))):
            raise bad("BOT_COMMAND_INVALID")
        if not 1 <= len(str(c.get("description", ""))) <= 256:
            raise bad("BOT_COMMAND_DESCRIPTION_INVALID")
    return commands


# --------------------------------------------------------------------------------------------- budgets
@dataclass
class Budgets:
    """Flood control: per chat a token bucket (``per_chat_per_s``, ``burst``), per group (chat_id < 0) at
    most ``per_group_per_min`` in any 60 s, overall a bucket of ``global_per_s``. ``None`` disables one.
    A rejected request consumes nothing; ``retry_after`` is whole seconds, at least 1. ``refused``
    counts the 429s by the budget that was over: ``"chat"``, ``"group"``, ``"global"`` (a 429 may count
    in several)."""

    per_chat_per_s: float | None = 1.0
    burst: int = 3
    per_group_per_min: int | None = 20
    global_per_s: float | None = 30.0
    clock: Callable[[], float] = time.monotonic
    _chats: dict[int | str, tuple[float, float]] = field(default_factory=dict)  # chat -> (tokens, at)
    _groups: dict[int | str, deque[float]] = field(default_factory=dict)
    _global: tuple[float, float] | None = None
    refused: Counter[str] = field(default_factory=Counter)

    @staticmethod
    def _bucket(
        state: tuple[float, float] | None, rate: float, cap: float, now: float
    ) -> tuple[float, float]:
        tokens, at = state if state is not None else (cap, now)
        return min(cap, tokens + (now - at) * rate), now

    def take(self, chat_id: int | str) -> None:
        now, waits = self.clock(), {"": 0.0}  # budget → seconds until it allows the request
        chat = glob = None
        if self.per_chat_per_s:
            chat = self._bucket(self._chats.get(chat_id), self.per_chat_per_s, self.burst, now)
            waits["chat"] = (1 - chat[0]) / self.per_chat_per_s
        if self.global_per_s:
            glob = self._bucket(self._global, self.global_per_s, self.global_per_s, now)
            waits["global"] = (1 - glob[0]) / self.global_per_s
        window = self._groups.setdefault(chat_id, deque()) if _is_group(chat_id) else None
        if window is not None and self.per_group_per_min:
            while window and window[0] <= now - 60:
                window.popleft()
            if len(window) >= self.per_group_per_min:
                waits["group"] = window[0] + 60 - now
        if (longest := max(waits.values())) > 1e-9:
            self.refused.update(k for k, w in waits.items() if w > 1e-9)
            raise flood(max(1, math.ceil(longest - 1e-9)))
        if chat is not None:
            self._chats[chat_id] = (chat[0] - 1, now)
        if glob is not None:
            self._global = (glob[0] - 1, now)
        if window is not None:
            window.append(now)


def _is_group(chat_id: int | str) -> bool:
    return isinstance(chat_id, int) and chat_id < 0


def entities_in(text: str) -> list[dict[str, Any]]:
    """The entities Telegram detects in an incoming plain text: a leading bot command, @mentions."""
    out = []
    if m := re.match(r"/[A-Za-z0-9_]{1,32}(?:@[A-Za-z0-9_]{3,32})?", text):
        out.append({"type": "bot_command", "offset": 0, "length": u16(m.group(0))})
    for m in re.finditer(r"(?<![\w@/])@[A-Za-z0-9_]{5,32}", text):
        out.append({"type": "mention", "offset": u16(text[: m.start()]), "length": u16(m.group(0))})
    return out


def decode_params(items: Iterable[tuple[str, Any]]) -> dict[str, Any]:
    """Decode form fields (str values by key; uploads pass through)."""
    return {k: decode_value(k, v) if isinstance(v, str) else v for k, v in items}
