"""Privacy in practice: erasure on request, retention, legal holds, and the public figures.

The SQL (what exactly is removed and kept) is in storage/privacy.py; this module decides
when, keys opt-out marks, audits every step, and reports what it did in numbers staff and
residents can check.
"""

from __future__ import annotations

import hashlib
import hmac
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from sqlmodel import Session

from bot.engine import PrivacyFacts
from bot.runtime import Runtime
from storage import audit
from storage import privacy as store
from storage.db import transaction
from storage.meetings import aware

RUN_EVERY = timedelta(hours=24)
RETENTION_ACTION = "retention.run"
ERASE_ACTION = "privacy.erase"
RELEASE_ACTION = "records.release"


class PrivacyError(ValueError):
    """A hold or an erasure cannot be done as asked; the message says why."""


def facts(rt: Runtime) -> PrivacyFacts:
    """What PRIVACY tells residents: the settings the retention job enforces."""
    url = f"{rt.settings.public_url}/privacy" if rt.settings.public_url else ""
    return PrivacyFacts(
        contact_days=rt.settings.retain_contact_days,
        words_days=rt.settings.retain_words_days,
        no_immigration_questions=rt.settings.no_immigration_questions,
        url=url,
    )


def address_key(rt: Runtime, channel: str, address: str) -> str:
    """A keyed hash of an address: checkable against a number, useless without the key."""
    message = f"{channel}\x1f{address}".encode()
    return hmac.new(rt.settings.signing_key.encode(), message, hashlib.sha256).hexdigest()


def erase(
    rt: Runtime, session: Session, contact_id: int, actor: str, reason: str = store.REQUEST
) -> store.Erased:
    """Erase a resident (every contact linked with this one) in the caller's transaction.

    A STOP survives as a keyed hash; anything on legal hold stays and is marked so staff see
    that the resident asked. Audited with counts only, never the words or the address.
    """
    now = rt.now()
    group = store.linked_group(session, contact_id)
    if not group:
        raise PrivacyError(f"there is no resident {contact_id}")
    for channel, address in store.opted_out_addresses(session, group):
        store.add_mark(session, address_key(rt, channel, address), now)
    result = store.erase_contacts(session, group, now, reason)
    audit.record(
        session,
        actor=actor,
        action=ERASE_ACTION if reason == store.REQUEST else "retention.erase",
        at=now,
        target="contact",
        target_id=contact_id,
        detail={"contacts": result.contacts, "responses": result.responses, "held": result.held},
    )
    return result


def erase_by_staff(rt: Runtime, contact_id: int, actor: str) -> store.Erased:
    """An admin erases a resident who asked by phone or in person (from a response page)."""
    with transaction(rt.db) as session:
        result = erase(rt, session, contact_id, actor)
        store.wipe_addresses(session)  # nothing is to be sent to them: the address goes now
        return result


def finish_erasures(rt: Runtime) -> int:
    """Remove addresses whose last message (the erasure confirmation) has gone."""
    with transaction(rt.db) as session:
        return store.wipe_addresses(session)


def is_marked(rt: Runtime, session: Session, channel: str, address: str) -> bool:
    """Whether an address said STOP before it was erased."""
    return store.has_mark(session, address_key(rt, channel, address))


def forget_mark(rt: Runtime, session: Session, channel: str, address: str) -> None:
    """START: the mark has done its job."""
    store.drop_mark(session, address_key(rt, channel, address))


# ---- retention -------------------------------------------------------------------------------
@dataclass(frozen=True)
class RetentionReport:
    """What a retention run did (or, dry, would do)."""

    dry_run: bool
    contact_cutoff: datetime | None
    words_cutoff: datetime | None
    contacts: int  # contacts with rows past the cutoff
    responses_unlinked: int
    contacts_erased: int  # silent since the cutoff: address removed
    responses_words_removed: int
    held: int

    def lines(self) -> list[str]:
        """For the CLI and the audit log, in words an admin can read."""
        verb = "would" if self.dry_run else "did"
        out = []
        if self.contact_cutoff is None:
            out.append("numbers are kept (TOWNLINE_RETAIN_CONTACT_DAYS=0)")
        else:
            out.append(
                f"{verb} unlink {self.responses_unlinked} responses from before "
                f"{self.contact_cutoff:%Y-%m-%d} from {self.contacts} residents' numbers, "
                f"and remove {self.contacts_erased} silent residents' numbers"
            )
        if self.words_cutoff is None:
            out.append("words are kept (TOWNLINE_RETAIN_WORDS_DAYS unset)")
        else:
            out.append(
                f"{verb} remove the words of {self.responses_words_removed} responses from "
                f"before {self.words_cutoff:%Y-%m-%d}"
            )
        out.append(f"{self.held} responses on legal hold are left as they are")
        return out


def run_retention(rt: Runtime, dry_run: bool = False, actor: str = "retention") -> RetentionReport:
    """Unlink numbers and remove words past their time, keeping counts; audited unless dry."""
    now = rt.now()
    contact_days, words_days = rt.settings.retain_contact_days, rt.settings.retain_words_days
    contact_cutoff = now - timedelta(days=contact_days) if contact_days else None
    words_cutoff = now - timedelta(days=words_days) if words_days else None
    unlinked = erased = words = contacts = 0
    with transaction(rt.db) as session:
        held = store.held_total(session)
        if contact_cutoff is not None:
            due = store.contacts_with_rows_before(session, contact_cutoff)
            contacts = len(due)
            for contact_id in due:
                if dry_run:
                    unlinked += store.old_response_count(session, contact_id, contact_cutoff)
                    erased += store.is_silent_since(session, contact_id, contact_cutoff)
                    continue
                unlinked += store.unlink_before(session, contact_id, contact_cutoff, now)
                if store.is_silent_since(session, contact_id, contact_cutoff):
                    erase(rt, session, contact_id, actor, reason=store.RETENTION)
                    erased += 1
            if not dry_run:
                store.wipe_addresses(session)
        if words_cutoff is not None:
            if dry_run:
                words = store.words_before(session, words_cutoff)
            else:
                words = store.remove_words_before(session, words_cutoff, now)
        report = RetentionReport(
            dry_run, contact_cutoff, words_cutoff, contacts, unlinked, erased, words, held
        )
        if not dry_run:
            audit.record(
                session,
                actor=actor,
                action=RETENTION_ACTION,
                at=now,
                detail={
                    "unlinked": unlinked,
                    "contacts_erased": erased,
                    "words_removed": words,
                    "held": held,
                },
            )
    return report


def retention_due(rt: Runtime) -> bool:
    """Once a day: the last run is read from the audit log, which every worker shares."""
    with transaction(rt.db) as session:
        last = audit.last_at(session, RETENTION_ACTION)
    if last is None:
        return True
    return rt.now() - aware(last) >= RUN_EVERY


def run_retention_if_due(rt: Runtime) -> RetentionReport | None:
    """The worker's daily job (run only by the worker holding the scheduler lock)."""
    if not retention_due(rt):
        return None
    return run_retention(rt)


# ---- legal hold ------------------------------------------------------------------------------
def hold_response(rt: Runtime, response_id: int, held: bool, actor: str) -> None:
    """Put a response on legal hold (a records request, litigation) or release it; audited."""
    _hold(rt, "response", store.set_response_hold, response_id, held, actor)


def hold_concern(rt: Runtime, concern_id: int, held: bool, actor: str) -> None:
    """Hold (or release) a concern and every response grouped into it; audited."""
    _hold(rt, "concern", store.set_concern_hold, concern_id, held, actor)


def _hold(
    rt: Runtime,
    target: str,
    setter: Callable[[Session, int, datetime | None], bool],
    target_id: int,
    held: bool,
    actor: str,
) -> None:
    now = rt.now()
    with transaction(rt.db) as session:
        if not setter(session, target_id, now if held else None):
            raise PrivacyError(f"there is no {target} {target_id}")
        audit.record(
            session,
            actor=actor,
            action="hold.set" if held else "hold.release",
            at=now,
            target=target,
            target_id=target_id,
        )


# ---- the public page -------------------------------------------------------------------------
@dataclass(frozen=True)
class PublicCounts:
    """The live figures on /privacy."""

    responses_held: int
    erasures_this_year: int
    records_released_this_year: int


def public_counts(rt: Runtime) -> PublicCounts:
    """Responses whose words are held, erasures and records releases since 1 January."""
    now = rt.now()
    year_start = datetime(now.year, 1, 1, tzinfo=UTC)
    with transaction(rt.db) as session:
        return PublicCounts(
            responses_held=store.responses_held(session),
            erasures_this_year=audit.count_since(session, ERASE_ACTION, year_start),
            records_released_this_year=audit.count_since(session, RELEASE_ACTION, year_start),
        )
