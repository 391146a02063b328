"""Broadcasts: a message per language to an audience, previewed, sent now or later, tracked.

A broadcast may be a listening prompt: an open question whose replies, for its window, are
kept as responses tied to it (the engine listens instead of starting the menu).
The functions here are what the API and the CLI call; they validate and raise
`InvalidInputError` with the field to fix.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any

from bot.guard import has_unstorable
from bot.runtime import Runtime
from bot.segments import count_segments
from bot.services.validation import InvalidInputError, parse_duration, parse_instant, string_list
from storage import broadcasts as store
from storage import outbox
from storage.db import transaction
from storage.meetings import aware
from storage.models import Broadcast

MAX_TEXT = 1600  # Twilio's limit for one message body
AUDIENCE_FIELDS = {"languages", "neighbourhoods", "channels", "subscribers"}
DEFAULT_PROMPT_WINDOW = "P3D"
SEND_AT_GRACE = timedelta(minutes=5)  # a send_at a little in the past means "now"


@dataclass(frozen=True)
class Audience:
    """Who a broadcast goes to; every empty filter means "everyone"."""

    languages: tuple[str, ...] = ()
    neighbourhoods: tuple[str, ...] = ()
    channels: tuple[str, ...] = ()
    subscribers: bool = False

    def as_dict(self) -> dict[str, Any]:
        """The stored form (and the API's)."""
        return {
            "languages": list(self.languages),
            "neighbourhoods": list(self.neighbourhoods),
            "channels": list(self.channels),
            "subscribers": self.subscribers,
        }


def parse_messages(rt: Runtime, value: Any) -> dict[str, str]:
    """`{"en": "...", "es": "..."}`: configured languages only, each text non-empty."""
    if not isinstance(value, Mapping) or not value:
        raise InvalidInputError("message", 'must be an object of texts by language, e.g. {"en": …}')
    messages = {}
    for lang, body in value.items():
        if lang not in rt.settings.languages:
            known = ", ".join(rt.settings.languages)
            raise InvalidInputError(f"message.{lang}", f"unknown language; configured: {known}")
        if not isinstance(body, str) or not body.strip():
            raise InvalidInputError(f"message.{lang}", "must be non-empty text")
        if has_unstorable(body):
            raise InvalidInputError(f"message.{lang}", "holds characters that cannot be stored")
        if len(body.strip()) > MAX_TEXT:
            raise InvalidInputError(f"message.{lang}", f"at most {MAX_TEXT} characters")
        messages[lang] = body.strip()
    return messages


def parse_audience(rt: Runtime, value: Any) -> Audience:
    """The audience object; absent or empty means every resident who has not opted out."""
    if value is None:
        return Audience()
    if not isinstance(value, Mapping):
        raise InvalidInputError("audience", "must be an object")
    unknown = sorted(set(value) - AUDIENCE_FIELDS)
    if unknown:
        raise InvalidInputError(f"audience.{unknown[0]}", f"unknown; use {sorted(AUDIENCE_FIELDS)}")
    languages = string_list(value.get("languages"), "audience.languages")
    for lang in languages:
        if lang not in rt.settings.languages:
            raise InvalidInputError("audience.languages", f"{lang!r} is not a configured language")
    channels = string_list(value.get("channels"), "audience.channels")
    for name in channels:
        if rt.channels and name not in rt.channels:
            raise InvalidInputError(
                "audience.channels", f"{name!r} is not a channel; known: {', '.join(rt.channels)}"
            )
    subscribers = value.get("subscribers", False)
    if not isinstance(subscribers, bool):
        raise InvalidInputError("audience.subscribers", "must be true or false")
    return Audience(
        tuple(languages),
        tuple(string_list(value.get("neighbourhoods"), "audience.neighbourhoods")),
        tuple(channels),
        subscribers,
    )


def _recipients(rt: Runtime, audience: Audience) -> Any:
    return store.audience(
        languages=audience.languages,
        neighbourhoods=audience.neighbourhoods,
        channels=audience.channels,
        subscribers=audience.subscribers,
        default_language=rt.settings.default_language,
    )


def preview(
    rt: Runtime, message: Any, audience: Any = None, fallback_to_default: bool = False
) -> dict[str, Any]:
    """A dry run: recipients and SMS encoding/segments per language, flagging missing texts.

    Residents whose language has no text are counted under `missing`; they get the default
    language's text only with `fallback_to_default` (staff decide), else nothing.
    """
    messages = parse_messages(rt, message)
    who = parse_audience(rt, audience)
    _check_fallback(rt, messages, fallback_to_default)
    default = rt.settings.default_language
    with transaction(rt.db) as session:
        counts = store.count_by_language(session, _recipients(rt, who), default)
    by_language: dict[str, dict[str, Any]] = {}
    missing: dict[str, int] = {}
    for lang in sorted(set(messages) | set(counts), key=_order(rt)):
        n = counts.get(lang, 0)
        if lang in messages:
            info = count_segments(messages[lang])
            by_language[lang] = {
                "recipients": n,
                "encoding": info.encoding,
                "segments": info.segments,
            }
        elif n:
            missing[lang] = n
    if fallback_to_default:
        for n in missing.values():
            by_language[default]["recipients"] += n
    total = sum(entry["recipients"] for entry in by_language.values())
    return {
        "recipients": total,
        "by_language": by_language,
        "missing": missing,
        "fallback_to_default": fallback_to_default,
    }


def _order(rt: Runtime) -> Any:
    languages = list(rt.settings.languages)
    return lambda lang: (languages.index(lang) if lang in languages else len(languages), lang)


def _check_fallback(rt: Runtime, messages: Mapping[str, str], fallback: bool) -> None:
    if not isinstance(fallback, bool):
        raise InvalidInputError("fallback_to_default", "must be true or false")
    if fallback and rt.settings.default_language not in messages:
        raise InvalidInputError(
            "fallback_to_default",
            f"needs a text in the default language ({rt.settings.default_language})",
        )


def create_broadcast(
    rt: Runtime,
    message: Any,
    audience: Any = None,
    *,
    send_at: Any = None,
    fallback_to_default: bool = False,
    prompt: bool = False,
    prompt_window: Any = None,
    created_by: str | None = None,
) -> Broadcast:
    """Store a broadcast; without `send_at` (or with one now) it is queued at once.

    Queueing is one INSERT ... SELECT in the same transaction as the broadcast row, so a
    broadcast either exists with all its rows or not at all. A later `send_at` leaves it to
    the scheduler. `prompt=True` makes it a listening prompt open for `prompt_window`.
    """
    messages = parse_messages(rt, message)
    who = parse_audience(rt, audience)
    _check_fallback(rt, messages, fallback_to_default)
    now = rt.now()
    when = now if send_at in (None, "") else parse_instant(send_at, "send_at")
    if when < now - SEND_AT_GRACE:
        raise InvalidInputError("send_at", "is in the past")
    when = max(when, now)
    if not isinstance(prompt, bool):
        raise InvalidInputError("prompt", "must be true or false")
    closes = None
    if prompt:
        window = parse_duration(prompt_window or DEFAULT_PROMPT_WINDOW, "prompt_window")
        if window <= timedelta(0):
            raise InvalidInputError("prompt_window", "must be longer than zero")
        closes = when + window
    elif prompt_window is not None:
        raise InvalidInputError("prompt_window", "only for a prompt (prompt: true)")
    with transaction(rt.db) as session:
        broadcast = store.add(
            session,
            messages=messages,
            audience=who.as_dict(),
            fallback_to_default=fallback_to_default,
            send_at=when,
            is_prompt=prompt,
            prompt_closes_at=closes,
            created_by=created_by,
            created_at=now,
        )
        if when <= now:
            assert broadcast.id is not None
            taken = store.take(session, broadcast.id, now)
            assert taken is not None
            _enqueue(rt, session, taken, now)
            session.refresh(broadcast)
    return broadcast


def _enqueue(rt: Runtime, session: Any, broadcast: Broadcast, now: datetime) -> int:
    """Queue a broadcast's rows (opted-out residents are left out here, and again at send)."""
    assert broadcast.id is not None
    who = parse_audience(rt, broadcast.audience)
    count = outbox.bulk_enqueue(
        session,
        _recipients(rt, who),
        texts=broadcast.messages,
        default_language=rt.settings.default_language,
        fallback=broadcast.fallback_to_default,
        values={
            "kind": "prompt" if broadcast.is_prompt else "broadcast",
            "broadcast_id": broadcast.id,
            "created_at": now,
            "next_attempt_at": now,
        },
    )
    store.set_recipients(session, broadcast.id, count)
    return count


def queue_due_broadcasts(rt: Runtime) -> int:
    """The scheduler's job: queue broadcasts whose time has come; returns rows queued."""
    now = rt.now()
    with transaction(rt.db) as session:
        due = store.due(session, now)
    queued = 0
    for broadcast_id in due:
        with transaction(rt.db) as session:
            broadcast = store.take(session, broadcast_id, now)
            if broadcast is not None:
                queued += _enqueue(rt, session, broadcast, now)
    return queued


def progress(rt: Runtime, broadcast_id: int) -> dict[str, Any]:
    """Where a broadcast has got: recipients, queued, sent, delivered, failed, held (and more)."""
    with transaction(rt.db) as session:
        broadcast = session.get(Broadcast, broadcast_id)
        if broadcast is None:
            raise LookupError(f"no broadcast {broadcast_id}")
        counts = store.progress(session, broadcast_id)
    counts.pop("rows")
    return {
        "id": broadcast_id,
        "status": broadcast.status,
        "send_at": aware(broadcast.send_at).isoformat(),
        "recipients": broadcast.recipients,
        **counts,
    }


def prompt_answers(rt: Runtime, prompt_id: int) -> list[dict[str, Any]]:
    """What residents answered a listening prompt, verbatim, for the inbox."""
    with transaction(rt.db) as session:
        rows = store.prompt_responses(session, prompt_id)
    return [
        {
            "id": r.id,
            "contact_id": r.contact_id,
            "conversation": r.conversation,
            "item": r.item,
            "text": r.text,
            "language": r.language,
            "created_at": aware(r.created_at).isoformat(),
        }
        for r in rows
    ]
