"""Builders for Telegram Update payloads shaped like the real Bot API sends them.

Each builder returns a plain dict (the JSON Telegram would POST to a webhook or return from
getUpdates), so tests can feed it to `Update.de_json`, a webhook endpoint, or
`FakeTelegram.queue_updates`. update_id and message_id increase across calls.
"""

from __future__ import annotations

import itertools
import secrets
import time
from typing import Any

BOT_ID = 7000000001
BOT_TOKEN = f"{BOT_ID}:AAFakeTownlineTestToken_0123456789ab"
BOT_USER: dict[str, Any] = {
    "id": BOT_ID,
    "is_bot": True,
    "first_name": "Townline",
    "username": "townline_test_bot",
}


def make_user(
    user_id: int = 912345678,
    first_name: str = "Ana",
    *,
    last_name: str | None = None,
    username: str | None = None,
    language_code: str | None = "en",
) -> dict[str, Any]:
    """A resident's User object; Telegram omits optional fields rather than sending null."""
    user: dict[str, Any] = {"id": user_id, "is_bot": False, "first_name": first_name}
    optional = {"last_name": last_name, "username": username, "language_code": language_code}
    user.update({key: value for key, value in optional.items() if value is not None})
    return user


def private_chat(user: dict[str, Any]) -> dict[str, Any]:
    """The private Chat Telegram pairs with a user (chat.id == user.id)."""
    chat = {"id": user["id"], "first_name": user["first_name"], "type": "private"}
    chat.update({key: user[key] for key in ("last_name", "username") if key in user})
    return chat


def _file_ids(prefix: str) -> dict[str, str]:
    """Opaque file_id / file_unique_id pair in Telegram's base64url style."""
    return {
        "file_id": prefix + secrets.token_urlsafe(48),
        "file_unique_id": "AQAD" + secrets.token_urlsafe(9),
    }


class UpdateBuilder:
    """Stateful builder so update_id / message_id keep increasing like in a real chat."""

    def __init__(
        self,
        *,
        user: dict[str, Any] | None = None,
        bot_user: dict[str, Any] | None = None,
        first_update_id: int = 850_000_001,
        first_message_id: int = 1,
    ) -> None:
        """Defaults give one resident talking to the Townline test bot in a private chat."""
        self.user = user or make_user()
        self.bot_user = bot_user or BOT_USER
        self._update_ids = itertools.count(first_update_id)
        self._message_ids = itertools.count(first_message_id)

    # -- building blocks ----------------------------------------------------------------

    def _message(self, sender: dict[str, Any] | None, **content: Any) -> dict[str, Any]:
        """A Message from `sender` (default: the resident) in their private chat."""
        sender = sender or self.user
        return {
            "message_id": next(self._message_ids),
            "from": sender,
            "chat": private_chat(sender),
            "date": int(time.time()),
            **content,
        }

    def _update(self, kind: str, payload: dict[str, Any]) -> dict[str, Any]:
        """Wrap a payload in an Update with the next update_id."""
        return {"update_id": next(self._update_ids), kind: payload}

    # -- message updates ------------------------------------------------------------------

    def text_message(
        self, text: str, *, user: dict[str, Any] | None = None, language_code: str | None = None
    ) -> dict[str, Any]:
        """Plain text from a resident; `language_code` overrides the sender's app language."""
        sender = dict(user or self.user)
        if language_code is not None:
            sender["language_code"] = language_code
        return self._update("message", self._message(sender, text=text))

    def start_command(
        self, payload: str | None = None, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """`/start` as sent by a t.me/<bot>?start=<payload> deep link (payload after a space)."""
        text = f"/start {payload}" if payload else "/start"
        entities = [{"offset": 0, "length": len("/start"), "type": "bot_command"}]
        return self._update("message", self._message(user, text=text, entities=entities))

    def edited_message(
        self, text: str, *, message_id: int | None = None, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A resident editing an earlier text (same message_id, adds edit_date)."""
        message = self._message(user, text=text)
        if message_id is not None:
            message["message_id"] = message_id
        message["edit_date"] = message["date"] + 5
        return self._update("edited_message", message)

    def photo_message(
        self, caption: str | None = None, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A photo: Telegram sends several PhotoSize renditions, smallest first."""
        sizes = [(90, 68, 1_400), (320, 240, 17_900), (800, 600, 78_200), (1280, 960, 151_000)]
        photo = [
            {**_file_ids("AgACAgEAAxkBAAI"), "file_size": size, "width": w, "height": h}
            for w, h, size in sizes
        ]
        content: dict[str, Any] = {"photo": photo}
        if caption is not None:
            content["caption"] = caption
        return self._update("message", self._message(user, **content))

    def sticker_message(
        self, emoji: str = "👍", *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A regular static sticker, which carries no text for the bot to read."""
        thumbnail = {**_file_ids("AAMCAgADGQEAAI"), "file_size": 5_400, "width": 128, "height": 128}
        sticker = {
            **_file_ids("CAACAgIAAxkBAAI"),
            "width": 512,
            "height": 512,
            "emoji": emoji,
            "set_name": "TownlineTestStickers",
            "is_animated": False,
            "is_video": False,
            "type": "regular",
            "thumbnail": thumbnail,
            "file_size": 24_800,
        }
        return self._update("message", self._message(user, sticker=sticker))

    def location_message(
        self, latitude: float, longitude: float, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """A shared location pin."""
        location = {"latitude": latitude, "longitude": longitude}
        return self._update("message", self._message(user, location=location))

    # -- other update kinds ---------------------------------------------------------------

    def callback_query(
        self,
        data: str,
        *,
        user: dict[str, Any] | None = None,
        message_text: str = "Was this helpful?",
        reply_markup: dict[str, Any] | None = None,
    ) -> dict[str, Any]:
        """A button press on an inline keyboard the bot sent earlier in the chat."""
        sender = user or self.user
        markup = reply_markup or {"inline_keyboard": [[{"text": "Yes", "callback_data": data}]]}
        bot_message = self._message(self.bot_user, text=message_text, reply_markup=markup)
        bot_message["chat"] = private_chat(sender)
        query = {
            "id": str(secrets.randbelow(9 * 10**18) + 10**18),
            "from": sender,
            "message": bot_message,
            "chat_instance": str(-(secrets.randbelow(9 * 10**18) + 10**18)),
            "data": data,
        }
        return self._update("callback_query", query)

    def my_chat_member(
        self, old_status: str, new_status: str, *, user: dict[str, Any] | None = None
    ) -> dict[str, Any]:
        """The bot's own membership changing in a private chat (block / unblock)."""
        sender = user or self.user

        def member(status: str) -> dict[str, Any]:
            """ChatMember for the bot; `kicked` requires until_date (0 = forever)."""
            entry: dict[str, Any] = {"user": self.bot_user, "status": status}
            if status == "kicked":
                entry["until_date"] = 0
            return entry

        change = {
            "chat": private_chat(sender),
            "from": sender,
            "date": int(time.time()),
            "old_chat_member": member(old_status),
            "new_chat_member": member(new_status),
        }
        return self._update("my_chat_member", change)

    def bot_blocked(self, *, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """What Telegram sends when a resident blocks the bot (member -> kicked)."""
        return self.my_chat_member("member", "kicked", user=user)

    def bot_unblocked(self, *, user: dict[str, Any] | None = None) -> dict[str, Any]:
        """What Telegram sends when a resident unblocks the bot (kicked -> member)."""
        return self.my_chat_member("kicked", "member", user=user)


# Module-level shortcuts sharing one builder, for tests that don't care about the ids.
_DEFAULT = UpdateBuilder()
text_message = _DEFAULT.text_message
start_command = _DEFAULT.start_command
edited_message = _DEFAULT.edited_message
photo_message = _DEFAULT.photo_message
sticker_message = _DEFAULT.sticker_message
location_message = _DEFAULT.location_message
callback_query = _DEFAULT.callback_query
my_chat_member = _DEFAULT.my_chat_member
bot_blocked = _DEFAULT.bot_blocked
bot_unblocked = _DEFAULT.bot_unblocked
