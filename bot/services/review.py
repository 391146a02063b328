"""What staff do to responses: review, tag, group into concerns, reply, reveal an address.

Every function here changes something and writes its audit entry in the same transaction.
"""

from __future__ import annotations

from sqlmodel import Session

from bot.community import VIEWPOINTS
from bot.runtime import Runtime
from storage import audit, inbox, outbox
from storage.db import transaction
from storage.models import Contact, Response

STAFF_REPLY_KIND = "staff_reply"
CLEAR_VIEWPOINT = "clear"  # what the forms send to take a viewpoint off
MAX_TAG = 64
MAX_REPLY = 1600


class ReviewError(ValueError):
    """The change cannot be made as asked; the message says why."""


def _existing(session: Session, ids: list[int]) -> list[int]:
    found = [r.id for r, _ in inbox.by_ids(session, ids)]
    if not found:
        raise ReviewError("choose at least one response")
    return [i for i in found if i is not None]


def mark_reviewed(rt: Runtime, ids: list[int], actor: str) -> int:
    """Mark responses reviewed."""
    with transaction(rt.db) as session:
        ids = _existing(session, ids)
        changed = inbox.set_status(session, ids, "reviewed")
        audit.record(
            session,
            actor=actor,
            action="response.review",
            at=rt.now(),
            target="response",
            detail={"ids": ids},
        )
    return changed


def tag(rt: Runtime, ids: list[int], label: str, actor: str) -> str:
    """Put a label on responses (trimmed, lower-cased, so "Elm St" and "elm st" are one tag)."""
    label = " ".join(label.split()).lower()
    if not label or len(label) > MAX_TAG:
        raise ReviewError(f"a tag is 1-{MAX_TAG} characters")
    with transaction(rt.db) as session:
        ids = _existing(session, ids)
        inbox.add_tag(session, ids, label)
        audit.record(
            session,
            actor=actor,
            action="response.tag",
            at=rt.now(),
            target="response",
            detail={"ids": ids, "tag": label},
        )
    return label


def set_viewpoint(rt: Runtime, ids: list[int], value: str, actor: str) -> str | None:
    """Read responses as supportive, neutral or critical of the agency, or clear that reading.

    Only the shared words are stored, so the charts can count them; anything else is refused
    before a row is touched. Returns the viewpoint set (None when cleared).
    """
    value = value.strip().lower()
    if value not in (*VIEWPOINTS, CLEAR_VIEWPOINT):
        raise ReviewError(f"a viewpoint is {', '.join(VIEWPOINTS)}, or {CLEAR_VIEWPOINT}")
    viewpoint = None if value == CLEAR_VIEWPOINT else value
    with transaction(rt.db) as session:
        ids = _existing(session, ids)
        inbox.set_viewpoint(session, ids, viewpoint)
        audit.record(
            session,
            actor=actor,
            action="response.viewpoint",
            at=rt.now(),
            target="response",
            detail={"ids": ids, "viewpoint": viewpoint},
        )
    return viewpoint


def group(
    rt: Runtime, ids: list[int], actor: str, *, concern_id: int | None = None, title: str = ""
) -> int:
    """Group responses into an existing concern, or a new one with a title; returns its id."""
    title = " ".join(title.split())[:200]
    with transaction(rt.db) as session:
        ids = _existing(session, ids)
        if concern_id is not None:
            if inbox.concern(session, concern_id) is None:
                raise ReviewError(f"there is no concern {concern_id}")
        elif title:
            created = inbox.create_concern(session, title, actor, rt.now())
            assert created.id is not None
            concern_id = created.id
            audit.record(
                session,
                actor=actor,
                action="concern.create",
                at=rt.now(),
                target="concern",
                target_id=concern_id,
                detail={"title": title},
            )
        else:
            raise ReviewError("name the new concern or pick an existing one")
        inbox.group(session, concern_id, ids)
        audit.record(
            session,
            actor=actor,
            action="concern.group",
            at=rt.now(),
            target="concern",
            target_id=concern_id,
            detail={"ids": ids},
        )
    return concern_id


def reply(rt: Runtime, response_id: int, text: str, actor: str) -> int:
    """Write to one resident on their channel, through the outbox (held in quiet hours)."""
    text = text.strip()
    if not text or len(text) > MAX_REPLY:
        raise ReviewError(f"a reply is 1-{MAX_REPLY} characters")
    now = rt.now()
    with transaction(rt.db) as session:
        pair = _one(session, response_id)
        response, contact = pair
        if contact.opted_out_at is not None:
            raise ReviewError("this resident opted out (STOP): they cannot be written to")
        (row,) = outbox.enqueue(
            session,
            [
                {
                    "contact_id": contact.id,
                    "channel": contact.channel,
                    "kind": STAFF_REPLY_KIND,
                    "priority": 0,
                    "proactive": True,
                    "text": text,
                    "language": contact.language or response.language,
                    "created_at": now,
                    "next_attempt_at": now,
                }
            ],
        )
        session.flush()
        audit.record(
            session,
            actor=actor,
            action="response.reply",
            at=now,
            target="response",
            target_id=response_id,
            detail={"outbox_id": row.id, "length": len(text)},
        )
        assert row.id is not None
        return row.id


def reveal_address(rt: Runtime, response_id: int, actor: str) -> str:
    """The full phone number or chat id, for an admin; the look is audited."""
    with transaction(rt.db) as session:
        _, contact = _one(session, response_id)
        audit.record(
            session,
            actor=actor,
            action="contact.reveal",
            at=rt.now(),
            target="contact",
            target_id=contact.id,
            detail={"response": response_id},
        )
        return contact.address


def _one(session: Session, response_id: int) -> tuple[Response, Contact]:
    pairs = inbox.by_ids(session, [response_id])
    if not pairs:
        raise LookupError(f"no response {response_id}")
    return pairs[0]
