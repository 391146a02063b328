"""The host around the engine: one inbound message becomes one transaction of rows."""

from __future__ import annotations

import logging
import uuid
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlmodel import Session

from bot import engine, linking
from bot.events import (
    ArrivedThrough,
    AskedWhoIsHeard,
    ContactView,
    EraseMe,
    Event,
    Inbound,
    LinkContact,
    MeetingView,
    PartnerView,
    RecordResponse,
    RecordRsvp,
    Reply,
    RequestLink,
    SetConsent,
    SetLanguage,
    SetNeighbourhood,
    SetOptOut,
    SetProfile,
    SetReminderArea,
    TagConversation,
)
from bot.runtime import Runtime
from bot.services import privacy
from storage import calls, links, outbox
from storage import conversations as store
from storage import inbound as inbound_queue
from storage import meetings as meeting_store
from storage import partners as partner_store
from storage.db import transaction
from storage.models import Contact, InboundQueue

log = logging.getLogger(__name__)
MAX_CONFLICT_RETRIES = 5
MAX_ATTEMPTS = 5  # a queued message that raises this often is a bug: it waits for staff


class SessionConflictError(RuntimeError):
    """Another message for the same contact changed the session first; replay this one."""


@dataclass(frozen=True)
class Receipt:
    """What receiving a message did, for the webhook's answer and for tests."""

    duplicate: bool
    contact_id: int | None = None
    message_id: int | None = None
    replies: list[Reply] = field(default_factory=list)


def accept(rt: Runtime, message: Inbound) -> bool:
    """Keep a webhook's message for the worker to answer; False for a redelivery.

    This is all a webhook does before its 200: one insert, committed. The conversation runs
    in the worker (`answer_waiting`), so a surge costs the web server almost nothing.
    """
    stored = inbound_queue.store(
        rt.db,
        channel=message.channel,
        address=message.address,
        provider_id=message.provider_id,
        text=message.text,
        media=message.media,
        opt_out=message.opt_out,
        received_at=message.received_at or rt.now(),
    )
    if stored:
        rt.inbound_stored.set()
    return stored


def answer_waiting(rt: Runtime, limit: int | None = None) -> int:
    """Answer stored messages, oldest first and one resident's in order; returns how many.

    Each message is answered and taken off the queue in one transaction: a worker killed
    half-way leaves it waiting, and the next worker answers it once. A message whose turn
    raises (a bug) is tried again later, and after MAX_ATTEMPTS is kept unanswered
    (`_give_up`) so that it stops holding up the resident's later messages.
    """
    answered = conflicts = 0
    while limit is None or answered < limit:
        try:
            if not _answer_next(rt):
                break
        except SessionConflictError:
            conflicts += 1
            if conflicts >= MAX_CONFLICT_RETRIES:
                log.warning("a resident's session kept changing; their message waits")
                break
            continue
        conflicts = 0
        answered += 1
    return answered


def _answer_next(rt: Runtime) -> bool:
    """Answer the next waiting message; False when nothing waits."""
    now = rt.now()
    taken: list[tuple[int, int, Inbound]] = []  # plain values: the rollback expires the row
    try:
        with transaction(rt.db) as session:
            row = inbound_queue.next_waiting(session, now)
            if row is None:
                return False
            assert row.id is not None
            message = _queued(row)
            taken.append((row.id, row.attempts, message))
            _receive_once(rt, session, message)
            inbound_queue.remove(session, row.id)
            return True
    except SessionConflictError:
        raise  # another turn for this resident won: replay this one from the start
    except Exception:
        if not taken:
            raise  # the queue itself could not be read: the database is away
        row_id, attempts, message = taken[0]
        if attempts + 1 < MAX_ATTEMPTS:
            log.exception("queued message %s failed on attempt %s", row_id, attempts + 1)
            with transaction(rt.db) as session:
                inbound_queue.attempt_failed(
                    session, row_id, now=now, retry_in=_retry_in(attempts), give_up=False
                )
        else:
            log.exception(
                "queued message %s failed %s times; kept unanswered", row_id, attempts + 1
            )
            _give_up(rt, row_id, message, now)
        return True


def _give_up(rt: Runtime, row_id: int, message: Inbound, now: datetime) -> None:
    """Keep a message no turn could answer as a plain message, and honour it if it is STOP.

    The resident's words are kept like any other's (erasure and retention cover them; the
    queue row and its copy of the address go), and a STOP is honoured without the turn
    that failed, so nothing more is sent to someone who asked for nothing more.
    """
    try:
        with transaction(rt.db) as session:
            contact, _created = store.find_or_add_contact(
                session, message.channel, message.address, now
            )
            assert contact.id is not None
            _record(session, contact.id, message, message.received_at or now)
            if message.opt_out == "STOP" or rt.understanding.read(message.text).has("stop"):
                store.update_contact(session, contact.id, opted_out_at=now)
                outbox.cancel_pending_for(
                    session, contact.id, "opted out", outbox.OPT_OUT_EXEMPT_KINDS
                )
                calls.opt_out_twins(session, contact, now)
            inbound_queue.remove(session, row_id)
    except Exception:  # even that fails: the row stays, marked, for an operator to look at
        log.exception("queued message %s could not be kept either; marked failed", row_id)
        with transaction(rt.db) as session:
            inbound_queue.attempt_failed(
                session, row_id, now=now, retry_in=_retry_in(MAX_ATTEMPTS), give_up=True
            )


def _queued(row: InboundQueue) -> Inbound:
    """A stored message as the channel first handed it over."""
    return Inbound(
        channel=row.channel,
        address=row.address,
        text=row.text,
        provider_id=row.provider_id,
        received_at=row.received_at,
        media=tuple(row.media or ()),
        opt_out=row.opt_out,
    )


def _retry_in(attempts: int) -> timedelta:
    """Seconds before trying a failing message again: 1, 4, 16, 64 …"""
    return timedelta(seconds=4**attempts)


def receive(rt: Runtime, inbound: Inbound) -> Receipt:
    """Apply one inbound message exactly once, serialising turns per contact."""
    for _ in range(MAX_CONFLICT_RETRIES):
        try:
            with transaction(rt.db) as session:
                return _receive_once(rt, session, inbound)
        except SessionConflictError:
            log.info("session changed underneath a turn; replaying it")
    raise SessionConflictError("a contact's session kept changing; giving up on this delivery")


def contact_for(
    rt: Runtime, session: Session, channel: str, address: str, now: datetime
) -> tuple[Contact, bool]:
    """The contact for an address, made if new, and whether it was.

    A new contact starts stopped when its address said STOP before its data was erased (an
    erased resident's address leaves their contact; writing again makes a new one), or on
    its other phone channel (one STOP covers calls and texts): STOP holds until START.
    """
    contact, created = store.find_or_add_contact(session, channel, address, now)
    assert contact.id is not None
    if created and _stopped_before(rt, session, contact):
        store.update_contact(session, contact.id, opted_out_at=now)
        contact.opted_out_at = now
    return contact, created


def _stopped_before(rt: Runtime, session: Session, contact: Contact) -> bool:
    phone = contact.channel in calls.PHONE_CHANNELS
    channels = calls.PHONE_CHANNELS if phone else (contact.channel,)
    return any(
        privacy.is_marked(rt, session, c, contact.address) for c in channels
    ) or calls.twin_opted_out(session, contact)


def _receive_once(rt: Runtime, session: Session, inbound: Inbound) -> Receipt:
    now = inbound.received_at or rt.now()
    contact, _created = contact_for(rt, session, inbound.channel, inbound.address, now)
    assert contact.id is not None
    message_id = _record(session, contact.id, inbound, now)
    if message_id is None:
        return Receipt(duplicate=True, contact_id=contact.id)
    row = store.load_session(session, contact.id)
    world = engine.World(
        catalog=rt.catalog,
        understanding=rt.understanding,
        detector=rt.detector,
        agency=rt.settings.agency_name,
        agency_names=rt.settings.agency_names,
        contact=rt.settings.contact,
        privacy=privacy.facts(rt),
        now=now,
        idle=timedelta(minutes=rt.settings.session_idle_minutes),
        conversation_id=uuid.uuid4().hex,
        meetings=_meetings(rt, session, now, contact.reminder_neighbourhood),
        link_channels=tuple(name for name in linking.LINKABLE if name in rt.channels),
        link_code_ok=_link_code_ok(session, inbound, contact, row.state or {}, now),
        partners=_partners(session),
        who_is_heard=rt.settings.who_is_heard,
    )
    rsvp_meeting, open_prompt = meeting_store.awaiting(session, contact.id, now)
    resident = links.resident_contacts(session, contact)  # every channel of theirs
    view = ContactView(
        contact.language,
        contact.language_source,
        contact.opted_out_at is not None,
        linked=len(resident) > 1,
        rsvp_meeting=rsvp_meeting,
        open_prompt=open_prompt,
        neighbourhood=contact.neighbourhood,
        reminded=meeting_store.reminded(session, contact.id, now),
        heard_asked=any(c.heard_asked_at is not None for c in resident),
    )
    turn = engine.handle(inbound, view, row.state or {}, world)
    _apply(rt, session, contact, message_id, turn.events, now)
    state = turn.state
    saved = store.save_session(
        session,
        row,
        state=state,
        status="active" if engine.is_active(state) else state.get("stage", "idle"),
        flow=state.get("flow"),
        expires_at=datetime.fromisoformat(state["expires_at"]) if "expires_at" in state else None,
        now=now,
    )
    if not saved:
        raise SessionConflictError(f"contact {contact.id}")
    # A resident who writes is reachable, whatever a provider once said of the address.
    store.update_contact(session, contact.id, last_seen_at=now, unreachable_at=None)
    return Receipt(False, contact.id, message_id, turn.replies)


def _record(session: Session, contact_id: int, inbound: Inbound, now: datetime) -> int | None:
    """Keep the message verbatim on its contact; None when this provider id is already kept."""
    return store.record_inbound(
        session,
        contact_id=contact_id,
        channel=inbound.channel,
        provider_id=inbound.provider_id,
        text=inbound.text,
        media=inbound.media,
        now=now,
    )


def _partners(session: Session) -> tuple[PartnerView, ...]:
    """Active partner organisations: the engine matches their keywords and link codes."""
    return tuple(
        PartnerView(id=p.id, name=p.name, code=p.code, keywords=dict(p.keywords or {}))
        for p in partner_store.listed(session)
        if p.id is not None
    )


def _link_code_ok(
    session: Session, inbound: Inbound, contact: Contact, state: dict[str, object], now: datetime
) -> bool:
    """Whether the code this chat was opened with (or is confirming) can still link it."""
    code = inbound.extra.get("payload") or state.get("pending_link")
    if not isinstance(code, str) or not code:
        return False
    row = links.usable_code(session, code, inbound.channel, now)
    return row is not None and row.contact_id != contact.id


def _apply(
    rt: Runtime,
    session: Session,
    contact: Contact,
    message_id: int,
    events: list[Event],
    now: datetime,
) -> None:
    """One handler per event type, all in the caller's transaction."""
    assert contact.id is not None
    opted_out = contact.opted_out_at is not None
    reply_kind = "reply"
    partner_id = contact.partner_id
    for event in events:
        if isinstance(event, EraseMe):
            # Before the confirmation is queued: it must survive, and it is the last message
            # this address gets (the worker's job removes the address once it has gone).
            privacy.erase(rt, session, contact.id, actor="resident")
        elif isinstance(event, RecordResponse):
            store.add_response(
                session,
                contact_id=contact.id,
                message_id=message_id,
                conversation=event.conversation,
                flow=event.flow,
                topic=event.flow,
                item=event.item,
                kind=event.kind,
                text=event.text,
                value=event.value,
                language=event.language,
                urgent=event.urgent,
                sensitive=event.sensitive,
                prompt_id=event.prompt_id,
                partner_id=partner_id,
                created_at=now,
            )
        elif isinstance(event, TagConversation):
            values = {
                k: v
                for k in ("topic", "place", "follow_up_consent", "urgent", "sensitive")
                if (v := getattr(event, k)) is not None
            }
            store.tag_conversation(session, event.conversation, **values)
        elif isinstance(event, SetLanguage):
            store.update_contact(
                session, contact.id, language=event.language, language_source=event.source
            )
        elif isinstance(event, SetOptOut):
            opted_out = event.opted_out
            if opted_out:
                store.update_contact(session, contact.id, opted_out_at=now)
            else:  # START also ends a block: the resident is writing to us again
                store.update_contact(session, contact.id, opted_out_at=None, blocked_at=None)
                privacy.forget_mark(rt, session, contact.channel, contact.address)
            if opted_out:
                reply_kind = "opt_out"
                calls.opt_out_twins(session, contact, now)
                # A linked resident's follow-ups stay: the worker routes them to another channel.
                outbox.cancel_pending_for(
                    session,
                    contact.id,
                    "opted out",
                    outbox.OPT_OUT_EXEMPT_KINDS,
                    keep_proactive=links.is_linked(session, contact),
                )
        elif isinstance(event, SetConsent):
            values = {}
            if event.follow_up is not None:
                values["follow_up_consent"] = event.follow_up
            if event.reminders is not None:
                values["reminder_consent"] = event.reminders
            store.update_contact(session, contact.id, **values)
        elif isinstance(event, ArrivedThrough):
            partner_id = event.partner_id
            partner_store.arrived_through(session, contact.id, partner_id)
        elif isinstance(event, SetProfile):
            values = {k: v for k in ("age_band", "years_here") if (v := getattr(event, k))}
            store.update_contact(session, contact.id, **values)
        elif isinstance(event, AskedWhoIsHeard):  # once per resident, whichever channel
            for each in links.resident_contacts(session, contact):
                assert each.id is not None
                store.update_contact(session, each.id, heard_asked_at=now)
        elif isinstance(event, SetNeighbourhood):
            store.update_contact(session, contact.id, neighbourhood=event.neighbourhood)
        elif isinstance(event, RequestLink):
            _offer_link(rt, session, contact.id, message_id, event, now)
        elif isinstance(event, LinkContact):
            if links.redeem(session, event.code, contact.id, contact.channel, now) is None:
                log.warning("link code could not be redeemed after it was confirmed")
        elif isinstance(event, SetReminderArea):
            store.update_contact(session, contact.id, reminder_neighbourhood=event.neighbourhood)
        elif isinstance(event, RecordRsvp):
            meeting_store.save_rsvp(
                session,
                meeting_id=event.meeting_id,
                contact_id=contact.id,
                attending=event.attending,
                party=event.party,
                text=event.text,
                now=now,
            )
        elif isinstance(event, Reply):
            kind = "help" if opted_out and reply_kind == "reply" else reply_kind
            outbox.enqueue(
                session,
                [
                    {
                        "contact_id": contact.id,
                        "in_reply_to": message_id,
                        "channel": contact.channel,
                        "kind": kind,
                        "priority": 0,
                        "text": event.text,
                        "choices": [c.__dict__ for c in event.choices] or None,
                        "language": event.language,
                        "created_at": now,
                        "next_attempt_at": now,
                    }
                ],
            )


def _meetings(
    rt: Runtime, session: Session, now: datetime, neighbourhood: str | None
) -> tuple[MeetingView, ...]:
    """Upcoming meetings in their own time zone, narrowed to the resident's neighbourhood."""
    from bot.services.meetings import upcoming_views

    return upcoming_views(rt, session, now, neighbourhood)


def _offer_link(
    rt: Runtime,
    session: Session,
    contact_id: int,
    message_id: int,
    event: RequestLink,
    now: datetime,
) -> None:
    """Mint a one-time code and queue the deep link; the worker fills in the bot's name."""
    code = linking.new_code()
    links.add_code(
        session,
        code=code,
        contact_id=contact_id,
        channel=event.channel,
        now=now,
        expires=now + linking.LINK_TTL,
    )
    text = rt.catalog.text(
        "link_offer",
        event.language,
        agency=rt.settings.agency_for(event.language),
        link=linking.deep_link(code),
    )
    outbox.enqueue(
        session,
        [
            {
                "contact_id": contact_id,
                "in_reply_to": message_id,
                "channel": store.channel_of(session, contact_id),
                "kind": linking.LINK_KIND,
                "priority": 0,
                "text": text,
                "language": event.language,
                "created_at": now,
                "next_attempt_at": now,
            }
        ],
    )
