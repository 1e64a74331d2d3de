"""Interaction responses of the fake Discord (:mod:`tests.fakes.discord`): the callback route and the
interaction webhook (``@original``, follow-ups). Neither route carries ``Authorization``.

Timing uses the fake's clock: a callback later than ``response_window`` (3 s) after the dispatch gets 404
10062 "Unknown interaction"; a second callback 400 40060 "Interaction has already been acknowledged.";
webhook calls later than ``token_ttl`` (15 min) 401 50027 "Invalid Webhook Token", and before the
callback 404 10015 "Unknown Webhook". Callback types: 4 message, 5 deferred (a loading message, flag
128), 6 deferred update and 7 update (components only), 8 autocomplete (autocomplete only: ≤25
``choices``, names 1-100, values of the focused option's type, strings ≤100), 9 modal.
``?with_response=1`` answers 200 with the InteractionCallbackResponse JSON (else 204). As on Discord, the
first follow-up after a type-5 defer whose message is still loading replaces that message.
"""

from __future__ import annotations

from typing import Any, NamedTuple

from tests.fakes.discord.checks import WEBHOOK_PARSE
from tests.fakes.discord.model import StoredInteraction, StoredMessage
from tests.fakes.discord.reads import Reads
from tests.fakes.discord.rest import Handler, Req
from tests.fakes.discord.rules import (
    ACKNOWLEDGED,
    BAD_WEBHOOK_TOKEN,
    EPHEMERAL,
    LOADING,
    error,
    form_error,
    too_long,
    unknown,
)

CALLBACK_TYPES = {2: (4, 5, 9), 3: (4, 5, 6, 7, 9), 4: (8,), 5: (4, 5, 6, 7)}


def _focused(options: list[dict[str, Any]]) -> dict[str, Any] | None:
    for o in options:
        if o.get("focused"):
            return o
        found = _focused(o.get("options") or [])
        if found is not None:
            return found
    return None


def check_suggestions(data: Any, asked: dict[str, Any]) -> None:
    """An autocomplete answer (``data.choices``) for the interaction ``data`` ``asked``."""
    choices = (data or {}).get("choices") if isinstance(data, dict) else None
    if not isinstance(choices, list):
        raise form_error("data.choices", "Must be an array.", "BASE_TYPE_ARRAY")
    if len(choices) > 25:
        raise too_long("data.choices", 25)
    kind = (_focused(asked.get("options") or []) or {}).get("type", 3)
    for j, choice in enumerate(choices):
        name = choice.get("name") if isinstance(choice, dict) else None
        if not isinstance(name, str) or not 1 <= len(name) <= 100:
            raise form_error(
                f"data.choices.{j}.name", "Must be between 1 and 100 in length.", "BASE_TYPE_BAD_LENGTH"
            )
        value = choice.get("value")
        ok = (str,) if kind == 3 else (int,) if kind == 4 else (int, float)
        if not isinstance(value, ok) or isinstance(value, bool) or (kind == 3 and not 1 <= len(value) <= 100):
            raise form_error(f"data.choices.{j}.value", "Invalid choice value", "BASE_TYPE_INVALID")


class Callback(NamedTuple):
    """An accepted interaction callback: interaction id, callback type, ``data``."""

    interaction_id: str
    type: int
    data: Any


class Interactions(Reads):
    """Interaction routes; ``response_window``, ``token_ttl`` and ``callbacks`` are set by
    ``FakeDiscord.__init__``."""

    response_window: float
    token_ttl: float
    callbacks: list[Callback]

    def _routes(self) -> list[tuple[str, str, str, Handler, str]]:
        hook = "/webhooks/{application_id}/{interaction_token}"
        orig, one = hook + "/messages/@original", hook + "/messages/{message_id}"
        return [
            *super()._routes(),
            (
                "interaction_callback",
                "POST",
                "/interactions/{interaction_id}/{interaction_token}/callback",
                self._callback,
                "token",
            ),
            ("get_original", "GET", orig, self._get_webhook_message, "token"),
            ("edit_original", "PATCH", orig, self._edit_webhook_message, "token"),
            ("delete_original", "DELETE", orig, self._delete_webhook_message, "token"),
            ("followup", "POST", hook, self._followup, "token"),
            ("get_followup", "GET", one, self._get_webhook_message, "token"),
            ("edit_followup", "PATCH", one, self._edit_webhook_message, "token"),
            ("delete_followup", "DELETE", one, self._delete_webhook_message, "token"),
        ]

    # --------------------------------------------------------------------------------------- lookups
    def _by_token(self, req: Req) -> StoredInteraction:
        token = req.params["interaction_token"]
        inter = next((i for i in self.interactions.values() if i.token == token), None)
        if req.params["application_id"] != self.app_id:
            raise unknown("webhook")
        if inter is None or self.budgets.clock() - inter.at > self.token_ttl:
            raise error(BAD_WEBHOOK_TOKEN)
        if inter.response_type is None:
            raise unknown("webhook")
        return inter

    def _webhook_target(self, req: Req, inter: StoredInteraction) -> StoredMessage:
        mid = req.params.get("message_id") or inter.original_id
        if mid is None or (mid != inter.original_id and mid not in inter.followups):
            raise unknown("message")
        msg = self.messages.get(mid)
        if msg is None or msg.deleted:
            raise unknown("message")
        return msg

    def _edited_message(self, req: Req) -> str | None:
        if req.name not in ("edit_original", "edit_followup"):
            return super()._edited_message(req)
        inter = next(
            (i for i in self.interactions.values() if i.token == req.params["interaction_token"]), None
        )
        return req.params.get("message_id") or (inter.original_id if inter else None)

    # ---------------------------------------------------------------------------------------- routes
    async def _callback(self, req: Req) -> Any:
        inter = self.interactions.get(req.params["interaction_id"])
        if inter is None or inter.token != req.params["interaction_token"]:
            raise unknown("interaction")
        if self.budgets.clock() - inter.at > self.response_window:
            raise unknown("interaction")
        if inter.response_type is not None:
            raise error(ACKNOWLEDGED)
        body = req.body if isinstance(req.body, dict) else {}
        kind, data = body.get("type"), body.get("data")
        allowed = CALLBACK_TYPES.get(inter.type, ())
        if kind not in allowed:
            choices = ", ".join(map(str, allowed))
            raise form_error("type", f"Value must be one of {{{choices}}}.", "BASE_TYPE_CHOICES")
        msg: StoredMessage | None = None
        channel = self.channels[inter.channel_id]
        if kind == 8:
            check_suggestions(data, inter.payload["data"])
        if kind == 4:
            msg = self._new_message(channel, self.bot_id, from_bot=True, type=20 if inter.type == 2 else 0)
            msg.interaction_id = inter.id
            self._compose(
                msg, data, req.uploads, route="interaction", prefix="data.", default_parse=WEBHOOK_PARSE
            )
            await self._publish(msg, inter, original=True)
        elif kind == 5:
            msg = self._new_message(channel, self.bot_id, from_bot=True, type=20 if inter.type == 2 else 0)
            msg.interaction_id = inter.id
            flags = int((data or {}).get("flags") or 0) & EPHEMERAL
            self._compose(
                msg,
                {"flags": flags | LOADING},
                [],
                route="interaction",
                default_parse=WEBHOOK_PARSE,
                allow_empty=True,
            )
            await self._publish(msg, inter, original=True)
        elif kind in (6, 7):
            msg = self.messages[inter.message_id or ""]
            inter.original_id = msg.id
            if kind == 7:
                self._compose(
                    msg, data, req.uploads, route="interaction", prefix="data.", default_parse=WEBHOOK_PARSE
                )
                await self._dispatch_message(msg, "MESSAGE_UPDATE")
        inter.response_type = kind
        self.callbacks.append(Callback(inter.id, kind, data))
        if req.query.get("with_response") not in ("1", "true", "True"):
            return None
        answer: dict[str, Any] = {
            "interaction": {
                "id": inter.id,
                "type": inter.type,
                "response_message_id": msg.id if msg else None,
                "response_message_loading": kind == 5,
                "response_message_ephemeral": bool(msg and msg.flags & EPHEMERAL),
            },
            "resource": {"type": kind},
        }
        if msg is not None and kind != 6:
            answer["resource"]["message"] = self.message_payload(msg)
        return answer

    async def _publish(self, msg: StoredMessage, inter: StoredInteraction, *, original: bool) -> None:
        self._store(msg)
        if original:
            inter.original_id = msg.id
        else:
            inter.followups.append(msg.id)
        await self._dispatch_message(msg, "MESSAGE_CREATE")

    async def _get_webhook_message(self, req: Req) -> Any:
        inter = self._by_token(req)
        return self.message_payload(self._webhook_target(req, inter))

    async def _edit_webhook_message(self, req: Req) -> Any:
        inter = self._by_token(req)
        msg = self._webhook_target(req, inter)
        self._compose(msg, req.body, req.uploads, route="webhook", default_parse=WEBHOOK_PARSE)
        await self._dispatch_message(msg, "MESSAGE_UPDATE")
        return self.message_payload(msg)

    async def _delete_webhook_message(self, req: Req) -> Any:
        msg = self._webhook_target(req, self._by_token(req))
        msg.deleted = True
        await self._dispatch_message(msg, "MESSAGE_DELETE")
        return None

    async def _followup(self, req: Req) -> Any:
        inter = self._by_token(req)
        original = self.messages.get(inter.original_id or "")
        if (
            inter.response_type == 5
            and original is not None
            and original.flags & LOADING
            and not original.deleted
        ):
            self._compose(original, req.body, req.uploads, route="webhook", default_parse=WEBHOOK_PARSE)
            await self._dispatch_message(original, "MESSAGE_UPDATE")
            msg = original
        else:
            msg = self._new_message(self.channels[inter.channel_id], self.bot_id, from_bot=True)
            msg.interaction_id = inter.id
            self._compose(msg, req.body, req.uploads, route="webhook", default_parse=WEBHOOK_PARSE)
            await self._publish(msg, inter, original=False)
        return self.message_payload(msg) if req.query.get("wait") in ("1", "true", "True") else None
