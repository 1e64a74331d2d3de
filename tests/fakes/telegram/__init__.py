"""A loopback fake of the Telegram Bot API, strict enough to drive the real python-telegram-bot against.

Serve it with :func:`serve_telegram` (an async context manager yielding the base URL) and point PTB at
``f"{url}/bot"`` / ``f"{url}/file/bot"``. Requests are ``POST /bot<token>/<method>`` (form, multipart or
JSON); answers are ``{"ok": true, "result": ...}`` or ``{"ok": false, "error_code", "description",
"parameters"}`` with that HTTP status. :mod:`~tests.fakes.telegram.api` owns the transport, getUpdates
(long poll; an offset confirms everything before it), set/delete/getWebhookInfo (pending updates are then
POSTed to the webhook with ``X-Telegram-Bot-Api-Secret-Token``: up to ``max_connections`` at once, one
chat's updates one after another, again after a non-2xx answer or ``webhook_timeout_s``; see
:mod:`~tests.fakes.telegram.updates`) and the test helpers;
:mod:`~tests.fakes.telegram.store` owns chats, messages, files and their methods;
:mod:`~tests.fakes.telegram.rules` the validation and budgets (:mod:`~tests.fakes.telegram.format` parses
``parse_mode`` text), :mod:`~tests.fakes.telegram.bridge` runs ``bridge serve`` on the fake.
Tests push updates (``push_text``, ``push_callback``, ``push_document``, ``push_photo``), inject failures
(``fail_next``), deliver an update again (``deliver_again``), await conditions (``wait_for``) and inspect
``calls``, ``succeeded`` (timed ok calls), ``budgets.refused`` (which limit each 429 hit), ``messages``,
``drafts``, ``sent_files``, ``callback_answers``, ``commands``, ``webhook_deliveries``, ``errors`` and
``count_429``.
File downloads (``GET /file/bot<token>/<file_path>``, the path getFile gave) are served at once, or at
``download_rate`` bytes/s when set (read on every chunk, so a test may lift it mid-download); ``downloading``
counts the downloads in progress and ``downloaded`` the file ids served in full.
Chats must be known (pushed to, or :meth:`FakeTelegram.add_chat`) unless ``strict_chats=False``.
"""

from tests.fakes.telegram.api import METHODS, FakeTelegram, serve_telegram
from tests.fakes.telegram.rules import ApiError
from tests.fakes.telegram.store import Draft, StoredFile, StoredMessage, make_user

__all__ = [
    "METHODS",
    "ApiError",
    "Draft",
    "FakeTelegram",
    "StoredFile",
    "StoredMessage",
    "make_user",
    "serve_telegram",
]
