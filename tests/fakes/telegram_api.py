"""Local fake of the Telegram Bot API, driven by the real `telegram.Bot`.

Point the real client at it with `Bot(token, base_url=fake.bot_base_url)`. PTB builds request
URLs as `base_url + token + "/" + method` (`_parse_base_url` in telegram/_bot.py), so
`bot_base_url` is exactly `f"{fake.url}/bot"`: an extra trailing slash yields `/bot/<token>/getMe`,
which the fake (like Telegram) answers 404, and PTB turns that into `InvalidToken` at
`initialize()`.
"""

from __future__ import annotations

import json
import re
import threading
import time
from collections import deque
from collections.abc import Callable, Iterable
from typing import Any

from telegram import Bot
from telegram.request import HTTPXRequest

from tests.fakes._http import FakeHTTPServer, RecordedRequest, Reply
from tests.fakes.telegram_updates import BOT_TOKEN, BOT_USER

_PATH = re.compile(r"^/bot(?P<token>[^/]+)/(?P<method>[A-Za-z]+)$")

# Bot API parameters whose form-encoded value is JSON (PTB json.dumps every non-str value).
_JSON_FIELDS = frozenset(
    {
        "reply_markup",
        "entities",
        "caption_entities",
        "allowed_updates",
        "link_preview_options",
        "reply_parameters",
    }
)
_INT_FIELDS = frozenset(
    {"message_id", "offset", "limit", "timeout", "cache_time", "max_connections", "chat_id"}
)
_BOOL_FIELDS = frozenset(
    {"show_alert", "drop_pending_updates", "disable_notification", "protect_content"}
)

_DESCRIPTIONS = {
    400: "Bad Request",
    401: "Unauthorized",
    403: "Forbidden: bot was blocked by the user",
    404: "Not Found",
    409: "Conflict",
    500: "Internal Server Error",
    502: "Bad Gateway",
}
MAX_POLL_WAIT = 0.5  # cap on getUpdates long-polling so tests stay fast


def telegram_error(
    error_code: int,
    description: str | None = None,
    *,
    retry_after: int | None = None,
    migrate_to_chat_id: int | None = None,
) -> Reply:
    """An error in the Bot API's shape; the HTTP status equals error_code, as on Telegram."""
    if error_code == 429 and retry_after is None:
        retry_after = 5  # Telegram always says how long to back off
    if description is None:
        default = f"Too Many Requests: retry after {retry_after}" if error_code == 429 else None
        description = default or _DESCRIPTIONS.get(error_code, "Error")
    payload: dict[str, Any] = {"ok": False, "error_code": error_code, "description": description}
    parameters = {"retry_after": retry_after, "migrate_to_chat_id": migrate_to_chat_id}
    if any(value is not None for value in parameters.values()):
        payload["parameters"] = {k: v for k, v in parameters.items() if v is not None}
    return Reply(error_code, payload)


def _ok(result: Any, description: str | None = None) -> Reply:
    """A successful Bot API answer."""
    payload: dict[str, Any] = {"ok": True, "result": result}
    if description:
        payload["description"] = description
    return Reply(200, payload)


def _decode(key: str, value: Any) -> Any:
    """Turn one form value back into the type the Bot API would read it as."""
    if not isinstance(value, str):
        return value
    if key in _JSON_FIELDS:
        return json.loads(value)
    if key in _INT_FIELDS and re.fullmatch(r"-?\d+", value):
        return int(value)
    if key in _BOOL_FIELDS and value in ("true", "false"):
        return value == "true"
    return value


def _chats_in(update: dict[str, Any]) -> Iterable[dict[str, Any]]:
    """Every Chat object inside an update, so replies can echo the real chat shape."""
    for value in update.values():
        if isinstance(value, dict):
            if isinstance(value.get("chat"), dict):
                yield value["chat"]
            yield from _chats_in(value)


class FakeTelegram(FakeHTTPServer):
    """Fake Bot API at `/bot{token}/{method}` with scriptable errors and a getUpdates queue."""

    def __init__(self, token: str = BOT_TOKEN, *, delay: float = 0.0) -> None:
        """`token` must match the one given to `Bot`; `delay` stalls every answer."""
        self.token = token
        self.delay = delay
        bot_id = int(token.split(":", 1)[0])
        self.bot_user: dict[str, Any] = {
            **BOT_USER,
            "id": bot_id,
            "can_join_groups": True,
            "can_read_all_group_messages": False,
            "supports_inline_queries": False,
            "can_connect_to_business": False,
            "has_main_web_app": False,
        }
        self.webhook: dict[str, Any] = {}
        self._failures: dict[str, deque[Reply]] = {}
        self._blocked: set[int] = set()
        self._updates: list[dict[str, Any]] = []
        self._chats: dict[int, dict[str, Any]] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._message_ids = iter(range(10_001, 10**9))
        super().__init__()
        self._updates_ready = threading.Condition(self._lock)
        self._methods: dict[str, Callable[[dict[str, Any]], Reply]] = {
            "getme": lambda _params: _ok(self.bot_user),
            "sendmessage": self._send_message,
            "answercallbackquery": self._answer_callback_query,
            "setwebhook": self._set_webhook,
            "deletewebhook": self._delete_webhook,
            "getwebhookinfo": self._get_webhook_info,
            "getupdates": self._get_updates,
            "editmessagereplymarkup": self._edit_message_reply_markup,
        }

    @property
    def bot_base_url(self) -> str:
        """Value for `Bot(token, base_url=...)`: ends in "/bot", no trailing slash."""
        return f"{self.url}/bot"

    def bot(self) -> Bot:
        """A real `telegram.Bot` on this fake that ignores HTTP(S)_PROXY; use `async with`."""
        requests = [HTTPXRequest(httpx_kwargs={"trust_env": False}) for _ in range(2)]
        return Bot(
            self.token,
            base_url=self.bot_base_url,
            request=requests[0],
            get_updates_request=requests[1],
        )

    # -- programming the fake -------------------------------------------------------------

    def fail_next(
        self,
        method: str,
        error_code: int = 400,
        description: str | None = None,
        *,
        retry_after: int | None = None,
        migrate_to_chat_id: int | None = None,
        delay: float = 0.0,
    ) -> None:
        """Queue one Bot API error for the next call of `method` (FIFO per method)."""
        reply = telegram_error(
            error_code, description, retry_after=retry_after, migrate_to_chat_id=migrate_to_chat_id
        )
        reply.delay = delay
        with self._lock:
            self._failures.setdefault(method.lower(), deque()).append(reply)

    def block(self, chat_id: int) -> None:
        """Model a resident who blocked the bot: every send to them answers 403."""
        with self._lock:
            self._blocked.add(chat_id)

    def unblock(self, chat_id: int) -> None:
        """Undo `block`."""
        with self._lock:
            self._blocked.discard(chat_id)

    def queue_updates(self, updates: Iterable[dict[str, Any]]) -> None:
        """Make updates available to getUpdates (and waiting long-polls)."""
        with self._updates_ready:
            for update in updates:
                self._updates.append(update)
                self._chats.update({chat["id"]: chat for chat in _chats_in(update)})
            self._updates_ready.notify_all()

    # -- inspecting what happened ---------------------------------------------------------

    def calls(self, method: str) -> list[dict[str, Any]]:
        """Decoded parameters of every call to `method`, oldest first."""
        wanted = method.lower()
        return [
            request.params
            for request in self.requests
            if (match := _PATH.match(request.path)) and match["method"].lower() == wanted
        ]

    def sent_messages(self) -> list[dict[str, Any]]:
        """Message objects returned by successful sendMessage calls."""
        with self._lock:
            return [message for message in self._messages.values() if "text" in message]

    @property
    def pending_updates(self) -> list[dict[str, Any]]:
        """Updates not yet confirmed by a getUpdates offset."""
        with self._lock:
            return list(self._updates)

    # -- request handling -----------------------------------------------------------------

    def decode_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Decode JSON-in-form fields like reply_markup, and numeric ids."""
        return {key: _decode(key, value) for key, value in params.items()}

    def handle(self, request: RecordedRequest) -> Reply:
        """Check the token, then answer a scripted failure or the method's normal result."""
        match = _PATH.match(request.path)
        if not match:
            return telegram_error(404)
        if match["token"] != self.token:
            return telegram_error(401)
        method = match["method"].lower()
        if method not in self._methods:
            return telegram_error(404)
        with self._lock:
            queue = self._failures.get(method)
            scripted = queue.popleft() if queue else None
        reply = scripted or self._methods[method](request.params)
        reply.delay = reply.delay or self.delay
        return reply

    def _message(self, chat_id: int, **content: Any) -> dict[str, Any]:
        """A Message from the bot, echoing the chat as Telegram knows it."""
        chat = self._chats.get(chat_id)
        if chat is None and chat_id > 0:
            chat = {"id": chat_id, "first_name": "Resident", "type": "private"}
        elif chat is None:
            kind = "supergroup" if str(chat_id).startswith("-100") else "group"
            chat = {"id": chat_id, "title": "Test group", "type": kind}
        sender = {key: self.bot_user[key] for key in ("id", "is_bot", "first_name", "username")}
        message_id = next(self._message_ids)
        message = {"message_id": message_id, "from": sender, "chat": chat, "date": int(time.time())}
        return message | {key: value for key, value in content.items() if value}

    def _send_message(self, params: dict[str, Any]) -> Reply:
        """sendMessage with the validation errors Telegram gives for common mistakes."""
        chat_id, text = params.get("chat_id"), params.get("text", "")
        if chat_id in (None, ""):
            return telegram_error(400, "Bad Request: chat_id is empty")
        if not isinstance(chat_id, int):
            return telegram_error(400, "Bad Request: chat not found")
        if not text.strip():
            return telegram_error(400, "Bad Request: message text is empty")
        if len(text) > 4096:
            return telegram_error(400, "Bad Request: message is too long")
        with self._lock:
            if chat_id in self._blocked:
                return telegram_error(403)
            markup = params.get("reply_markup")
            inline = markup if isinstance(markup, dict) and "inline_keyboard" in markup else None
            message = self._message(chat_id, text=text, reply_markup=inline)
            self._messages[(chat_id, message["message_id"])] = message
        return _ok(message)

    def _answer_callback_query(self, params: dict[str, Any]) -> Reply:
        """answerCallbackQuery just acknowledges (the spinner on the button stops)."""
        if not params.get("callback_query_id"):
            return telegram_error(400, "Bad Request: QUERY_ID_INVALID")
        return _ok(True)

    def _edit_message_reply_markup(self, params: dict[str, Any]) -> Reply:
        """Swap or remove a message's inline keyboard, as after a button press."""
        if params.get("inline_message_id"):
            return _ok(True)
        chat_id, message_id = params.get("chat_id"), params.get("message_id")
        if not isinstance(chat_id, int) or not isinstance(message_id, int):
            return telegram_error(400, "Bad Request: message identifier is not specified")
        markup = params.get("reply_markup") or None
        if markup and not markup.get("inline_keyboard"):
            markup = None
        with self._lock:
            # Messages sent outside this fake (e.g. built by telegram_updates) are synthesised.
            message = self._messages.get((chat_id, message_id)) or self._message(chat_id)
            if message.get("reply_markup") == markup:
                return telegram_error(
                    400,
                    "Bad Request: message is not modified: specified new message content and "
                    "reply markup are exactly the same as a current content and reply markup "
                    "of the message",
                )
            message = {**message, "message_id": message_id, "edit_date": int(time.time())}
            message.pop("reply_markup", None)
            if markup:
                message["reply_markup"] = markup
            self._messages[(chat_id, message_id)] = message
        return _ok(message)

    def _set_webhook(self, params: dict[str, Any]) -> Reply:
        """setWebhook; an empty url removes the webhook, as on Telegram."""
        url = params.get("url", "")
        if not url:
            return self._delete_webhook(params)
        with self._lock:
            if params.get("drop_pending_updates"):
                self._updates.clear()
            already = self.webhook.get("url") == url
            self.webhook = {
                "url": url,
                "max_connections": params.get("max_connections", 40),
                "allowed_updates": params.get("allowed_updates"),
                "secret_token": params.get("secret_token"),
            }
        return _ok(True, "Webhook is already set" if already else "Webhook was set")

    def _delete_webhook(self, params: dict[str, Any]) -> Reply:
        """deleteWebhook, optionally dropping pending updates."""
        with self._lock:
            if params.get("drop_pending_updates"):
                self._updates.clear()
            existed = bool(self.webhook)
            self.webhook = {}
        return _ok(True, "Webhook was deleted" if existed else "Webhook is already deleted")

    def _get_webhook_info(self, _params: dict[str, Any]) -> Reply:
        """getWebhookInfo; the secret token is never echoed back."""
        with self._lock:
            info: dict[str, Any] = {
                "url": self.webhook.get("url", ""),
                "has_custom_certificate": False,
                "pending_update_count": len(self._updates),
            }
            if self.webhook:
                info["max_connections"] = self.webhook["max_connections"]
                info["ip_address"] = "127.0.0.1"
                if self.webhook["allowed_updates"]:
                    info["allowed_updates"] = self.webhook["allowed_updates"]
        return _ok(info)

    def _get_updates(self, params: dict[str, Any]) -> Reply:
        """getUpdates: an offset confirms (forgets) older updates; long-poll briefly if empty."""
        if self.webhook:
            return telegram_error(
                409,
                "Conflict: can't use getUpdates method while webhook is active; "
                "use deleteWebhook to delete the webhook first",
            )
        offset, limit = params.get("offset"), params.get("limit") or 100
        allowed = set(params.get("allowed_updates") or ())
        deadline = time.monotonic() + min(float(params.get("timeout") or 0), MAX_POLL_WAIT)
        with self._updates_ready:
            while True:
                if isinstance(offset, int) and offset < 0:
                    self._updates = self._updates[offset:]
                elif isinstance(offset, int):
                    self._updates = [u for u in self._updates if u["update_id"] >= offset]
                ready = [u for u in self._updates if not allowed or allowed & u.keys()]
                remaining = deadline - time.monotonic()
                if ready or remaining <= 0 or self._closing.is_set():
                    return _ok(ready[:limit])
                self._updates_ready.wait(remaining)
