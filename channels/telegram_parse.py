"""Turn a Telegram update into neutral records: a conversation turn, or an event with no reply.

Telegram quirks end here: commands become keywords or `Inbound.extra["command"]`,
button presses become `Inbound.choice`, `from.language_code` becomes a language hint, and
member-status changes become blocked / unblocked. See https://core.telegram.org/bots/api#update
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from telegram import CallbackQuery, Message, Update

from bot.events import Inbound
from bot.guard import has_unstorable, storable

NAME = "telegram"
KEY_PREFIX = "#"  # callback_data for a choice whose value is too long: "#<key>", read as typed
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data
MAX_CALLBACK_ID = 64  # Telegram's ids are about 20 characters; the outbox column holds more

# Commands and what they mean to the engine. /start and /language are engine commands;
# /help and /stop are the keywords HELP and STOP typed as a command. They are not
# `Inbound.opt_out`: that marks a provider that already acted (and confirmed) itself.
_KEYWORD_COMMANDS = {"help": "HELP", "stop": "STOP"}
_ENGINE_COMMANDS = {"start", "language"}

TURN, RECORD, BLOCKED, UNBLOCKED, IGNORE = "turn", "record", "blocked", "unblocked", "ignore"


class MalformedUpdateError(ValueError):
    """The body is not a Telegram update we can read; the webhook answers 400."""


@dataclass(frozen=True)
class Parsed:
    """What an update means: `kind` says whether the engine takes a turn or it is only kept."""

    kind: str
    address: str | None = None
    inbound: Inbound | None = None  # for TURN
    text: str = ""  # for RECORD: what to keep in the transcript
    callback_id: str | None = None  # a button press to acknowledge


def parse(update: Update, provider_id: str, now: datetime) -> Parsed:
    """Classify one update; only private chats with a person are conversations."""
    if update.callback_query is not None:
        return _callback(update.callback_query, provider_id, now)
    if update.my_chat_member is not None:
        change = update.my_chat_member
        if change.chat.type != "private":
            return Parsed(IGNORE)
        status = change.new_chat_member.status
        address = _address(change.chat.id)
        if status == "kicked":
            return Parsed(BLOCKED, address)
        if status == "member" and change.old_chat_member.status == "kicked":
            return Parsed(UNBLOCKED, address)
        return Parsed(IGNORE, address)
    if update.edited_message is not None:
        edited = update.edited_message
        if not _from_person(edited):
            return Parsed(IGNORE)
        # An edit is kept for staff to read, but answering it again would confuse the chat.
        text = _text(edited.text) or _text(edited.caption)
        return Parsed(RECORD, _address(edited.chat.id), text=text)
    message = update.message
    if message is None or not _from_person(message):
        return Parsed(IGNORE)
    return Parsed(TURN, _address(message.chat.id), inbound=_message(message, provider_id, now))


def _address(chat_id: object) -> str:
    """A chat id is an integer (up to 52 bits, says Telegram); anything else is malformed."""
    if not isinstance(chat_id, int) or isinstance(chat_id, bool) or abs(chat_id) >= 2**52:
        raise MalformedUpdateError("chat.id must be an integer")
    return str(chat_id)


def _text(value: object) -> str:
    """Text as a resident sent it, less what cannot be stored; anything but text is malformed."""
    if value is None:
        return ""
    if not isinstance(value, str):
        raise MalformedUpdateError("text must be a string")
    return storable(value)


def _from_person(message: Message) -> bool:
    """A resident in a private chat, not a group, a channel post or another bot."""
    user = message.from_user
    return message.chat.type == "private" and user is not None and not user.is_bot


def _message(message: Message, provider_id: str, now: datetime) -> Inbound:
    """Text, a command, or media with an optional caption, as one Inbound."""
    hint = message.from_user.language_code if message.from_user else None
    hint = hint if isinstance(hint, str) and len(hint) <= 16 else None
    text = _text(message.text) or _text(message.caption)
    base = {
        "channel": NAME,
        "address": _address(message.chat.id),
        "provider_id": provider_id,
        "received_at": now,
        "language_hint": hint,
    }
    command, _, payload = text.partition(" ")
    command = command[1:].split("@", 1)[0].lower() if command.startswith("/") else ""
    if message.text and command in _KEYWORD_COMMANDS:
        return Inbound(**base, text=_KEYWORD_COMMANDS[command])
    if message.text and command in _ENGINE_COMMANDS:
        extra = {"command": command}
        if command == "start" and payload.strip():
            extra["payload"] = payload.strip()[:64]
        return Inbound(**base, text="", extra=extra)
    if message.location is not None:
        # A shared pin is a place: kept as a geo URI (RFC 5870), readable in any language.
        loc = message.location
        text = f"geo:{loc.latitude:.5f},{loc.longitude:.5f}"
    media = _media(message)
    return Inbound(**base, text=text, media=media)


def _media(message: Message) -> tuple[str, ...]:
    """Telegram file ids (fetching a file is a provider call, so it is left to staff tools)."""
    if message.photo:
        return (f"telegram:file/{message.photo[-1].file_id}",)
    for item in (message.document, message.video, message.voice, message.audio):
        if item is not None:
            return (f"telegram:file/{item.file_id}",)
    return ()


def _callback(query: CallbackQuery, provider_id: str, now: datetime) -> Parsed:
    """A button press: its value is the choice, its label the words staff will read."""
    callback_id = _callback_id(query.id)
    message = query.message
    chat = message.chat if message is not None else None
    if chat is None or chat.type != "private" or not query.data:
        return Parsed(IGNORE, callback_id=callback_id)
    if not isinstance(query.data, str) or len(query.data.encode()) > MAX_CALLBACK_BYTES:
        raise MalformedUpdateError("callback_data must be a string of at most 64 bytes")
    data, address = storable(query.data), _address(chat.id)
    hint = query.from_user.language_code if isinstance(query.from_user.language_code, str) else None
    if data.startswith(KEY_PREFIX):  # a long value sent as its key: read it as typed
        text, choice = data[len(KEY_PREFIX) :], None
    else:
        text, choice = _label_of(query) or data, data
    inbound = Inbound(NAME, address, text, provider_id, now, choice=choice, language_hint=hint)
    return Parsed(TURN, address, inbound=inbound, callback_id=callback_id)


def _callback_id(value: object) -> str:
    """The id to acknowledge a press with: Telegram's opaque string, stored in the outbox.

    PTB does not check types, so a forged update could put a number, a list or half a
    surrogate pair here, which the outbox row then fails to store (a poison update).
    """
    if (
        not isinstance(value, str)
        or not value
        or len(value) > MAX_CALLBACK_ID
        or has_unstorable(value)
    ):
        raise MalformedUpdateError("callback_query.id must be a short string")
    return value


def _label_of(query: CallbackQuery) -> str | None:
    """The pressed button's text, found on the keyboard of the message it was under.

    The keyboard is echoed back by the client, so a label that is not text is ignored (the
    choice's value stands in for it) rather than stored as what the resident pressed.
    """
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data and isinstance(button.text, str):
                return storable(button.text) or None
    return None


def callback_data(choice: dict[str, str]) -> str:
    """The engine's choice value, or the typed key when the value exceeds Telegram's 64 bytes."""
    value = choice["value"]
    if len(value.encode()) <= MAX_CALLBACK_BYTES and not value.startswith(KEY_PREFIX):
        return value
    return KEY_PREFIX + choice["key"]
