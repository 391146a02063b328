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

NAME = "telegram"
KEY_PREFIX = "#"  # callback_data for a choice whose value is too long: "#<key>", read as typed
MAX_CALLBACK_BYTES = 64  # Telegram's limit on callback_data

# Commands and what they mean to the engine. /start and /language are engine commands;
# /help and /stop are the keywords HELP and STOP typed as a command. They are not
# `Inbound.opt_out`: that marks a provider that already acted (and confirmed) itself.
_KEYWORD_COMMANDS = {"help": "HELP", "stop": "STOP"}
_ENGINE_COMMANDS = {"start", "language"}

TURN, RECORD, BLOCKED, UNBLOCKED, IGNORE = "turn", "record", "blocked", "unblocked", "ignore"


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
        address = str(change.chat.id)
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
        return Parsed(RECORD, str(edited.chat.id), text=edited.text or edited.caption or "")
    message = update.message
    if message is None or not _from_person(message):
        return Parsed(IGNORE)
    return Parsed(TURN, str(message.chat.id), inbound=_message(message, provider_id, now))


def _from_person(message: Message) -> bool:
    """A resident in a private chat, not a group, a channel post or another bot."""
    user = message.from_user
    return message.chat.type == "private" and user is not None and not user.is_bot


def _message(message: Message, provider_id: str, now: datetime) -> Inbound:
    """Text, a command, or media with an optional caption, as one Inbound."""
    hint = message.from_user.language_code if message.from_user else None
    text = message.text or message.caption or ""
    base = {
        "channel": NAME,
        "address": str(message.chat.id),
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
    message = query.message
    chat = message.chat if message is not None else None
    if chat is None or chat.type != "private" or not query.data:
        return Parsed(IGNORE, callback_id=query.id)
    data, address = query.data, str(chat.id)
    hint = query.from_user.language_code
    if data.startswith(KEY_PREFIX):  # a long value sent as its key: read it as typed
        text, choice = data[len(KEY_PREFIX) :], None
    else:
        text, choice = _label_of(query) or data, data
    inbound = Inbound(NAME, address, text, provider_id, now, choice=choice, language_hint=hint)
    return Parsed(TURN, address, inbound=inbound, callback_id=query.id)


def _label_of(query: CallbackQuery) -> str | None:
    """The pressed button's text, found on the keyboard of the message it was under."""
    message = query.message
    markup = getattr(message, "reply_markup", None)
    if markup is None:
        return None
    for row in markup.inline_keyboard:
        for button in row:
            if button.callback_data == query.data:
                return button.text
    return None


def callback_data(choice: dict[str, str]) -> str:
    """The engine's choice value, or the typed key when the value exceeds Telegram's 64 bytes."""
    value = choice["value"]
    if len(value.encode()) <= MAX_CALLBACK_BYTES and not value.startswith(KEY_PREFIX):
        return value
    return KEY_PREFIX + choice["key"]
