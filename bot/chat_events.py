"""Inbound provider events that are not a conversation turn: kept once, never answered.

A chat blocked or unblocked, an edited message, an update nothing acts on: each is stored as
an inbound message under the provider's id, so a redelivery is recognised like any message.
Acknowledging a button press is a provider call, so it is queued for the worker, first in line.
"""

from __future__ import annotations

from datetime import datetime

from sqlmodel import Session

from bot.runtime import Runtime
from storage import conversations as store
from storage import links, outbox
from storage.db import transaction
from storage.models import Contact

ACK_KIND = "ack"
ACK_PRIORITY = -10  # before any reply: Telegram shows a spinner until the press is answered


def record_event(
    rt: Runtime,
    *,
    channel: str,
    address: str | None,
    provider_id: str,
    text: str = "",
    blocked: bool | None = None,
) -> bool:
    """Keep one event exactly once; True if it was new. `blocked` marks a chat (un)blocked."""
    now = rt.now()
    with transaction(rt.db) as session:
        contact: Contact | None = None
        contact_id = None
        if address is not None:
            contact = store.get_or_create_contact(session, channel, address, now)
            contact_id = contact.id
        message_id = store.record_inbound(
            session,
            contact_id=contact_id,  # type: ignore[arg-type]
            channel=channel,
            provider_id=provider_id,
            text=text,
            media=(),
            now=now,
        )
        if message_id is None:
            return False
        if blocked is not None and contact is not None:
            _set_blocked(session, contact, blocked, now)
        return True


def _set_blocked(session: Session, contact: Contact, blocked: bool, now: datetime) -> None:
    """A block stops the chat like STOP; unblocking resumes it only if the block stopped it.

    `blocked_at` is set only when the block is what stopped the chat, so a resident who sent
    STOP before blocking stays stopped after unblocking, until they say START.
    """
    assert contact.id is not None
    if blocked and contact.opted_out_at is None:
        store.update_contact(session, contact.id, blocked_at=now, opted_out_at=now)
        outbox.cancel_pending_for(
            session,
            contact.id,
            "bot blocked",
            (ACK_KIND,),
            keep_proactive=links.is_linked(session, contact),
        )
    elif not blocked and contact.blocked_at is not None:
        store.update_contact(session, contact.id, blocked_at=None, opted_out_at=None)


def queue_ack(rt: Runtime, *, channel: str, contact_id: int, ref: str) -> None:
    """Queue the answer to a button press, ahead of every reply."""
    now = rt.now()
    with transaction(rt.db) as session:
        outbox.enqueue(
            session,
            [
                {
                    "contact_id": contact_id,
                    "channel": channel,
                    "kind": ACK_KIND,
                    "priority": ACK_PRIORITY,
                    "provider_ref": ref,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            ],
        )
