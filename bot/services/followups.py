"""Who hears back about an action, in which language, and publishing it through the outbox."""

from __future__ import annotations

from collections import Counter
from dataclasses import dataclass, field

from sqlmodel import Session

from bot.guard import has_unstorable
from bot.runtime import Runtime
from bot.segments import SegmentInfo, count_segments
from storage import actions, audit, calls, outbox, partners
from storage.db import transaction
from storage.models import Action, Contact, Response

FOLLOW_UP_KIND = "follow_up"
FOLLOW_UP_PRIORITY = 10  # bulk: conversational replies (0) go first
MAX_MESSAGE = 1600  # what one SMS can carry, reassembled


class FollowUpError(ValueError):
    """An action cannot be published as it stands; the message says what to fix."""


@dataclass(frozen=True)
class Recipient:
    """One resident to tell, once, however many of their responses the action answers."""

    contact: Contact
    language: str
    response_ids: tuple[int, ...]
    partner: str | None = None  # the partner the resident came through, thanked in the text


@dataclass
class Plan:
    """What publishing would do now: recipients, what is held back, what is missing."""

    action: Action
    recipients: list[Recipient] = field(default_factory=list)
    sensitive_held: list[Response] = field(default_factory=list)  # not included one by one
    sensitive_included: list[Response] = field(default_factory=list)
    no_consent: int = 0
    opted_out: int = 0
    missing_languages: list[str] = field(default_factory=list)  # a recipient needs, no text
    untranslated: list[str] = field(default_factory=list)  # agency languages with no text
    segments: dict[str, SegmentInfo] = field(default_factory=dict)

    def by_language(self) -> dict[str, int]:
        """How many recipients read each language."""
        return dict(Counter(r.language for r in self.recipients))


def recipient_language(rt: Runtime, contact: Contact, response: Response) -> str:
    """The resident's stored language, else the response's, else the agency default."""
    for language in (contact.language, response.language):
        if language in rt.settings.languages:
            return language
    return rt.settings.default_language


def plan(rt: Runtime, session: Session, action: Action) -> Plan:
    """Consenting, not opted out, reachable; sensitive responses only when staff included them."""
    assert action.id is not None
    result = Plan(action)
    grouped: dict[int, tuple[Contact, str, list[int], list[int]]] = {}
    for link, response, contact in actions.responses(session, action.id):
        assert response.id is not None
        assert contact.id is not None
        if response.sensitive:
            target = result.sensitive_included if link.include_sensitive else result.sensitive_held
            target.append(response)
            if not link.include_sensitive:
                continue
        if not response.follow_up_consent:
            result.no_consent += 1
            continue
        if contact.opted_out_at or contact.unreachable_at or contact.erased_at:
            result.opted_out += 1
            continue
        contact = calls.follow_up_contact(session, contact)  # a caller who asked for texts
        assert contact.id is not None
        entry = grouped.setdefault(
            contact.id, (contact, recipient_language(rt, contact, response), [], [])
        )
        entry[2].append(response.id)
        if response.partner_id is not None:
            entry[3].append(response.partner_id)
    names = _partner_names(session, {p for *_, ps in grouped.values() for p in ps})
    result.recipients = [
        Recipient(c, lang, tuple(ids), names.get(ps[0]) if ps else None)
        for c, lang, ids, ps in grouped.values()
    ]
    texts = {lang: text for lang, text in action.messages.items() if text.strip()}
    needed = sorted({r.language for r in result.recipients})
    result.missing_languages = [lang for lang in needed if lang not in texts]
    result.untranslated = [lang for lang in rt.settings.languages if lang not in texts]
    # The longest a message in each language will be: a partner's thanks adds a line.
    longest = dict(texts)
    for r in result.recipients:
        if r.language in texts and len(text := _text(rt, texts, r)) > len(longest[r.language]):
            longest[r.language] = text
    result.segments = {lang: count_segments(text) for lang, text in longest.items()}
    return result


def _partner_names(session: Session, ids: set[int]) -> dict[int, str]:
    """Partner names by id, for the follow-ups that thank them."""
    found = (partners.get(session, i) for i in ids)
    return {p.id: p.name for p in found if p is not None and p.id is not None}


def _text(rt: Runtime, texts: dict[str, str], recipient: Recipient) -> str:
    """The follow-up in the recipient's language, saying so when a partner helped them be heard."""
    text = texts[recipient.language]
    if recipient.partner and recipient.language in rt.catalog.languages:
        helped = rt.catalog.text("partner_helped", recipient.language, partner=recipient.partner)
        text = f"{text}\n{helped}"
    return text


def _topic(session: Session, action_id: int) -> str | None:
    """The topic most of the action's responses were about, for the public page."""
    topics = Counter(r.topic for _, r, _ in actions.responses(session, action_id) if r.topic)
    return topics.most_common(1)[0][0] if topics else None


def check_messages(rt: Runtime, messages: object) -> dict[str, str]:
    """Messages must map agency languages to text; blank ones are dropped (flagged later)."""
    if not isinstance(messages, dict):
        raise FollowUpError('"message" must be an object of language code to text')
    clean: dict[str, str] = {}
    for lang, text in messages.items():
        if lang not in rt.settings.languages:
            raise FollowUpError(
                f"unknown language {lang!r}; use one of {', '.join(rt.settings.languages)}"
            )
        if not isinstance(text, str) or len(text) > MAX_MESSAGE:
            raise FollowUpError(f"the {lang} message must be text of at most {MAX_MESSAGE} chars")
        if has_unstorable(text):
            raise FollowUpError(f"the {lang} message holds characters that cannot be stored")
        if text.strip():
            clean[lang] = text.strip()
    return clean


def create_draft(
    rt: Runtime,
    session: Session,
    *,
    title: str,
    messages: dict[str, str],
    response_ids: list[int],
    actor: str,
    concern_id: int | None = None,
    include_sensitive: list[int] | None = None,
) -> Action:
    """A draft action on some responses, audited; nothing is sent until it is published."""
    action = actions.create(
        session,
        title=title.strip()[:200],
        messages=messages,
        response_ids=response_ids,
        created_by=actor,
        now=rt.now(),
        concern_id=concern_id,
        include_sensitive=include_sensitive or (),
    )
    audit.record(
        session,
        actor=actor,
        action="action.create",
        at=rt.now(),
        target="action",
        target_id=action.id,
        detail={"title": action.title, "responses": len(response_ids), "concern": concern_id},
    )
    return action


def publish(rt: Runtime, action_id: int, actor: str) -> Plan:
    """Publish a draft in its own transaction."""
    with transaction(rt.db) as session:
        action = actions.get(session, action_id)
        if action is None:
            raise LookupError(f"no action {action_id}")
        return publish_in(rt, session, action, actor)


def publish_in(rt: Runtime, session: Session, action: Action, actor: str) -> Plan:
    """Mark published, one outbox row per recipient, the links and the audit entry, together."""
    now = rt.now()
    assert action.id is not None
    if action.status != "draft":
        raise FollowUpError("this action was already published")
    if not action.title.strip():
        raise FollowUpError("give the action a title")
    result = plan(rt, session, action)
    if result.missing_languages:
        raise FollowUpError(
            "write the message in every language its recipients read; missing: "
            + ", ".join(result.missing_languages)
        )
    needed = {r.language for r in result.recipients}
    drafts = action.drafts or {}
    unchecked = sorted(
        lang for lang, d in drafts.items() if lang in needed and not d.get("reviewed")
    )
    if unchecked and not rt.settings.send_unreviewed_translations:
        raise FollowUpError(
            "a person must review the machine-drafted languages before they are sent: "
            + ", ".join(unchecked)
        )
    texts = {
        lang: (
            f"{text}\n{rt.catalog.text('machine_translation_note', lang)}"
            if lang in unchecked and lang in rt.catalog.languages
            else text
        )
        for lang, text in action.messages.items()
    }
    if not actions.mark_published(session, action.id, now, _topic(session, action.id)):
        raise FollowUpError("this action was already published")
    rows = outbox.enqueue(
        session,
        [
            {
                "contact_id": r.contact.id,
                "channel": r.contact.channel,
                "kind": FOLLOW_UP_KIND,
                "priority": FOLLOW_UP_PRIORITY,
                "proactive": True,
                "text": _text(rt, texts, r),
                "language": r.language,
                "created_at": now,
                "next_attempt_at": now,
            }
            for r in result.recipients
        ],
    )
    session.flush()
    for recipient, row in zip(result.recipients, rows, strict=True):
        assert recipient.contact.id is not None
        assert row.id is not None
        actions.add_recipient(
            session,
            action_id=action.id,
            contact_id=recipient.contact.id,
            outbox_id=row.id,
            language=recipient.language,
        )
    audit.record(
        session,
        actor=actor,
        action="action.publish",
        at=now,
        target="action",
        target_id=action.id,
        detail={
            "recipients": len(result.recipients),
            "sensitive_included": [r.id for r in result.sensitive_included],
        },
    )
    return result


@dataclass(frozen=True)
class Delivery:
    """Counts for an action page or the API: sent includes delivered, failed undelivered."""

    recipients: int
    sent: int
    delivered: int
    failed: int
    pending: int


FAILED_DELIVERY = ("failed", "undelivered")


def state_of(status: str, delivery_status: str | None) -> str:
    """One word per recipient: pending, sent, delivered, failed or cancelled."""
    if status == outbox.FAILED or delivery_status in FAILED_DELIVERY:
        return "failed"
    if status == outbox.CANCELLED:
        return "cancelled"
    if status == outbox.SENT:
        return "delivered" if delivery_status in ("delivered", "read") else "sent"
    return "pending"


def delivery(session: Session, action_id: int) -> Delivery:
    """Tally the action's outbox rows as they stand now."""
    states = Counter(
        state_of(row.status, row.delivery_status)
        for _, row, _ in actions.recipients(session, action_id)
    )
    total = sum(states.values())
    return Delivery(
        recipients=total,
        sent=states["sent"] + states["delivered"],
        delivered=states["delivered"],
        failed=states["failed"],
        pending=states["pending"],
    )
