"""Stories: what residents are told about privacy, erasure on request, retention, legal hold.

A resident asks who reads this and hears the agency's own figures in their language; asks to
be forgotten and is, except what a legal hold keeps (which staff see); a STOP outlives the
erasure. Retention cuts old words loose from numbers and, later, removes the words, while
the charts keep their counts and a held response survives.
"""

from __future__ import annotations

import pytest
from flask import Flask
from flask.testing import FlaskClient
from sqlmodel import select

from bot.runtime import Runtime
from bot.services import broadcasts, privacy
from bot.services.charts import chart_data
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import AuditEntry, Contact, Message, OptOutMark, Outbox, Response
from tests.conftest import Clock
from tests.dashboard import log_in, post_form, raise_concern, staff_account

CONCERN = "Cars race down Elm Street every night after 10pm"


def _responses(rt: Runtime, address: str | None = None) -> list[tuple[Response, Contact]]:
    with transaction(rt.db) as session:
        pairs = conversations.list_responses(session)
    return [(r, c) for r, c in pairs if address is None or c.address == address]


def _all_responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Response).order_by(Response.id)))  # type: ignore[arg-type]


def _actions(rt: Runtime) -> list[str]:
    with transaction(rt.db) as session:
        return [e.action for e in session.exec(select(AuditEntry).order_by(AuditEntry.id))]  # type: ignore[arg-type]


@pytest.mark.parametrize(
    ("language", "ask", "says"),
    [
        (
            "en",
            "PRIVACY",
            ["community staff read your words", "365 days", "public records", "DELETE MY DATA"],
        ),
        ("en", "who reads this?", ["do not see your number"]),
        ("es", "PRIVACIDAD", ["365 días", "BORRAR MIS DATOS"]),
        ("es", "¿quién lee esto?", ["BORRAR MIS DATOS"]),
        ("vi", "QUYỀN RIÊNG TƯ", ["365 ngày", "XÓA DỮ LIỆU CỦA TÔI"]),
        ("zh", "隐私", ["365天", "删除我的数据"]),
        ("zh", "隱私", ["365天"]),  # Traditional characters too
    ],
)
def test_privacy_is_answered_in_the_residents_language(
    rt: Runtime, language: str, ask: str, says: list[str]
) -> None:
    [reply] = Simulator(rt, f"sim-privacy-{language}").say(ask)
    for words in says:
        assert words in reply
    assert "immigration" not in reply.lower()  # only when the agency declares it


def test_privacy_says_what_the_agency_set(rt: Runtime) -> None:
    rt.settings = rt.settings.with_overrides(
        retain_contact_days=90,
        retain_words_days=730,
        no_immigration_questions=True,
        public_url="https://line.city.gov",
    )
    [reply] = Simulator(rt, "sim-privacy-set").say("PRIVACY")
    assert "after 90 days" in reply
    assert "Your words are deleted after 730 days" in reply
    assert "We never ask about immigration status." in reply
    assert reply.endswith("https://line.city.gov/privacy")


def test_help_points_to_privacy(rt: Runtime) -> None:
    [reply] = Simulator(rt, "sim-help").say("HELP")
    assert "PRIVACY" in reply


def test_a_resident_erases_their_data_and_a_held_response_stays(rt: Runtime) -> None:
    held = raise_concern(
        rt, "sim-held", "en", "The officer at the traffic stop was rude", "Oak Ave"
    )
    privacy.hold_response(rt, held.id, True, actor="records@city.gov")  # type: ignore[arg-type]
    resident = Simulator(rt, "sim-held")
    resident.say(CONCERN)
    [ask] = resident.say("delete my data")
    assert "can't be undone" in ask
    [done] = resident.say("1")
    assert "deleted" in done
    assert "legal hold" in done

    words = {r.id: r for r in _all_responses(rt)}
    assert words[held.id].text == "The officer at the traffic stop was rude"  # on hold: kept
    assert words[held.id].erasure_requested_at is not None  # and staff can see it was asked
    others = [r for r in words.values() if r.id != held.id]
    assert others
    assert all(r.text == "" and r.erased_reason == "request" for r in others)
    with transaction(rt.db) as session:
        inbound = {m.text for m in session.exec(select(Message))} - {""}
    assert inbound == {"The officer at the traffic stop was rude"}  # only what the hold needs
    assert privacy.finish_erasures(rt) == 1  # the confirmation went: the address goes too
    with transaction(rt.db) as session:
        assert conversations.find_contact(session, "simulator", "sim-held") is None
        texts = [o.text for o in session.exec(select(Outbox))]
    assert CONCERN not in " ".join(texts)
    assert "privacy.erase" in _actions(rt)


def test_no_keeps_everything(rt: Runtime) -> None:
    resident = Simulator(rt, "sim-keep")
    resident.say(CONCERN)
    resident.say("BORRAR MIS DATOS")
    [kept] = resident.say("no")
    assert "No se borró nada" in kept
    assert [r.text for r, _ in _responses(rt, "sim-keep")] == [CONCERN]


def test_stop_outlives_erasure_until_start(rt: Runtime, clock: Clock) -> None:
    resident = Simulator(rt, "sim-stopper")
    resident.say(CONCERN)
    resident.say("STOP")
    resident.say("DELETE MY DATA")  # a resident who stopped may still ask to be forgotten
    [done] = resident.say("1")  # (after STOP, "yes" is an opt-in word: the number answers)
    assert "deleted" in done
    privacy.finish_erasures(rt)
    with transaction(rt.db) as session:
        assert len(list(session.exec(select(OptOutMark)))) == 1  # a keyed hash, no number
        assert conversations.find_contact(session, "simulator", "sim-stopper") is None

    again = Simulator(rt, "sim-stopper")  # the same phone writes again
    assert again.say("hello?") == []  # still stopped: silence until START
    Simulator(rt, "sim-someone-else").say("hi")
    sent = broadcasts.create_broadcast(rt, {"en": "Meeting Thursday at the library."})
    assert sent.recipients == 1  # the other resident only; not the erased, not the stopped
    clock.advance(minutes=1)
    assert again.say("START")
    with transaction(rt.db) as session:
        assert list(session.exec(select(OptOutMark))) == []


def test_an_admin_erases_a_resident_who_asked_in_person(rt: Runtime, client: FlaskClient) -> None:
    response = raise_concern(rt, "sim-walkin", "es", "Los carros van rápido en Elm", "Elm")
    staff_account(rt, "ana@city.gov", "admin")
    log_in(client, "ana@city.gov")
    path = f"/staff/responses/{response.id}"
    assert "Erase this resident" in client.get(path).get_data(as_text=True)
    unconfirmed = post_form(client, path + "/erase", {})
    assert unconfirmed.status_code == 302  # type: ignore[attr-defined]
    assert _all_responses(rt)[0].text == "Los carros van rápido en Elm"
    post_form(client, path + "/erase", {"confirm": "yes"})
    page = client.get(path).get_data(as_text=True)
    assert "Erased at the resident&#39;s request" in page
    assert all(r.text == "" for r in _all_responses(rt))
    with transaction(rt.db) as session:
        assert conversations.find_contact(session, "simulator", "sim-walkin") is None
    assert "privacy.erase" in _actions(rt)


def test_viewers_cannot_hold_or_erase(rt: Runtime, client: FlaskClient) -> None:
    response = raise_concern(rt, "sim-v", "en", CONCERN, "Elm St")
    staff_account(rt, "vic@city.gov", "viewer")
    log_in(client, "vic@city.gov")
    path = f"/staff/responses/{response.id}"
    assert post_form(client, path + "/hold", {"op": "hold"}).status_code == 403  # type: ignore[attr-defined]
    assert post_form(client, path + "/erase", {"confirm": "yes"}).status_code == 403  # type: ignore[attr-defined]


def test_retention_unlinks_then_removes_words_and_charts_keep_their_counts(
    rt: Runtime, clock: Clock
) -> None:
    rt.settings = rt.settings.with_overrides(retain_contact_days=30, retain_words_days=60)
    old = raise_concern(rt, "sim-old", "en", CONCERN, "Elm St")
    held = raise_concern(rt, "sim-held", "es", "Los carros van rápido en Elm", "Elm")
    privacy.hold_response(rt, held.id, True, actor="records@city.gov")  # type: ignore[arg-type]
    clock.advance(days=31)
    recent = raise_concern(rt, "sim-old", "en", "The streetlight on Oak is out", "Oak")
    before = chart_data(rt)

    dry = privacy.run_retention(rt, dry_run=True)
    assert dry.responses_unlinked > 0
    assert dry.held >= 1
    assert [r.contact_id for r in _all_responses(rt) if r.id == old.id] == [old.contact_id]

    report = privacy.run_retention(rt)
    assert report.responses_unlinked == dry.responses_unlinked
    by_id = {r.id: r for r in _all_responses(rt)}
    assert by_id[old.id].contact_id != old.contact_id  # cut loose from the number…
    assert by_id[old.id].text == CONCERN  # …words kept for now
    assert by_id[recent.id].contact_id == old.contact_id  # recent: still linked
    assert by_id[held.id].contact_id == held.contact_id  # on hold: untouched
    after = chart_data(rt)
    assert (after.channels, after.languages, after.neighbourhoods) == (
        before.channels,
        before.languages,
        before.neighbourhoods,
    )
    assert after.topics_by_week == before.topics_by_week

    clock.advance(days=30)  # 61 days after the first concern
    before = chart_data(rt)
    privacy.run_retention(rt)
    by_id = {r.id: r for r in _all_responses(rt)}
    assert by_id[old.id].text == ""
    assert by_id[old.id].erased_reason == "retention"
    assert by_id[held.id].text == "Los carros van rápido en Elm"
    assert by_id[recent.id].text == "The streetlight on Oak is out"
    assert chart_data(rt).topics_by_week == before.topics_by_week
    assert _actions(rt).count("retention.run") == 2


def test_retention_runs_once_a_day(rt: Runtime, clock: Clock) -> None:
    assert privacy.run_retention_if_due(rt) is not None
    assert privacy.run_retention_if_due(rt) is None
    clock.advance(hours=23)
    assert privacy.run_retention_if_due(rt) is None
    clock.advance(hours=1)
    assert privacy.run_retention_if_due(rt) is not None


def test_legal_holds_on_a_concern_are_audited_and_protect_its_responses(
    rt: Runtime, client: FlaskClient
) -> None:
    response = raise_concern(rt, "sim-c", "en", CONCERN, "Elm St")
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    post_form(
        client,
        "/staff/responses/bulk",
        {"op": "group", "ids": [str(response.id)], "concern_title": "Elm racing"},
    )
    with transaction(rt.db) as session:
        from storage import inbox

        [(concern, _)] = inbox.concerns(session)
    post_form(client, f"/staff/concerns/{concern.id}/hold", {"op": "hold"})
    assert "LEGAL HOLD" in client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    with transaction(rt.db) as session:
        result = privacy.erase(rt, session, response.contact_id, actor="resident")
    assert result.held == 1
    assert _all_responses(rt)[0].text == CONCERN
    post_form(client, f"/staff/concerns/{concern.id}/hold", {"op": "release"})
    assert _actions(rt).count("hold.set") == 1
    assert _actions(rt).count("hold.release") == 1


@pytest.mark.parametrize(
    ("lang", "title"), [("en", "Privacy"), ("es", "Privacidad"), ("vi", "riêng tư"), ("zh", "隐私")]
)
def test_the_public_privacy_page_speaks_each_language(
    rt: Runtime, app: Flask, lang: str, title: str
) -> None:
    Simulator(rt, "sim-page").say(CONCERN)
    page = app.test_client().get(f"/privacy?lang={lang}").get_data(as_text=True)
    assert title.lower() in page.lower()
    assert "365" in page
    assert ">1<" in page.replace(": 1<", ">1<") or ": 1" in page or "：1" in page
    linked = app.test_client().get(f"/you-said-we-did?lang={lang}").get_data(as_text=True)
    assert "/privacy?lang=" + lang in linked


def test_the_worker_finishes_erasures_and_runs_retention(rt: Runtime, clock: Clock) -> None:
    """The scheduled job (in the worker holding the lock) removes the address once the
    confirmation has gone, and runs retention once a day."""
    from bot.worker import Worker

    resident = Simulator(rt, "sim-worker")
    resident.say(CONCERN)
    resident.say("DELETE MY DATA")
    resident.say("1")
    worker = Worker(rt)
    assert worker.run_scheduled()
    with transaction(rt.db) as session:
        assert conversations.find_contact(session, "simulator", "sim-worker") is None
    assert _actions(rt).count("retention.run") == 1
    worker.run_scheduled()
    assert _actions(rt).count("retention.run") == 1  # once a day
    clock.advance(days=1)
    worker.run_scheduled()
    assert _actions(rt).count("retention.run") == 2
