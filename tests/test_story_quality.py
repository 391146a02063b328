"""Stories: what native speakers and a newcomer found, each now a conversation that reads well.

The topic menu never loops; words the resident already wrote are used; closings match the
answer; everyone hears once that the line is not for emergencies; HELP gives a person to reach;
the agency, meetings and dates speak the resident's language; thanks after the end is thanks.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import meetings
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import Response
from tests.conftest import Clock
from tests.dashboard import api_token
from tests.stories import play


def _responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return [r for r, _ in conversations.list_responses(session)]


# 1. The topic menu does not loop --------------------------------------------------------------


def test_twice_no_topic_the_words_are_kept_and_filed_for_staff_to_sort(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("The bus shelter on 4th has been smashed for a month", ["kept your words"]),
            ("I just want someone to fix it", ["added that"]),
            ("SKIP", [("kept your words and staff will sort them", "Where is this happening?")]),
            ("4th and Main", ["may we text you"]),
            ("no", ["Staff read every message"]),
        ],
    )
    said = [(r.item, r.topic) for r in _responses(rt)]
    assert said == [("opening", "unsorted"), ("more", "unsorted")]


@pytest.mark.parametrize(
    ("language", "opening", "named", "asks"),
    [
        ("en", "I have a question for you", "cameras", "Which technology"),
        ("es", "Tengo una pregunta", "cámaras", "¿Sobre qué tecnología"),
        ("zh", "我有一个问题想问", "摄像头", "是关于哪种技术"),
        ("en", "I have a question for you", "meeting", "reminders of meetings"),
        ("en", "I have a question for you", "policy", "new or proposed policy"),
    ],
)
def test_a_topic_named_in_words_is_understood(
    rt: Runtime, language: str, opening: str, named: str, asks: str
) -> None:
    resident = Simulator(rt, f"sim-{language}-{named}", language=language)
    resident.say(opening)
    assert any(asks in reply for reply in resident.say(named))


# 2. What the resident already said is used --------------------------------------------------


def test_an_opening_that_names_a_technology_skips_the_questions_it_answers(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            (
                "Do your officers wear body cameras?",
                [("Not for emergencies", "body cameras", "turn them on"), "Any other question"],
            ),
        ],
    )
    said = [(r.item, r.kind, r.topic) for r in _responses(rt)]
    assert said == [("opening", "text", "technology"), ("which", "choice", "technology")]


def test_a_second_question_during_the_technology_flow_is_kept_and_acknowledged(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("Do you use license plate readers?", ["plate", "Any other question"]),
            ("Who can see the data?", ["neighborhood"]),
            ("and do you share it with ICE?", [("we've kept that too", "neighborhood")]),
        ],
    )
    kept = [r.text for r in _responses(rt)]
    assert "and do you share it with ICE?" in kept


def test_a_neighbourhood_already_known_is_not_asked_again(rt: Runtime, resident: Simulator) -> None:
    play(
        resident,
        [
            ("MEETINGS", ["No community meetings", "reminders of meetings"]),
            ("yes", ["Which neighborhood?"]),
            ("Elmwood", ["Reply MEETINGS any time"]),
            ("Do your officers wear body cameras?", ["body cameras", "Any other question"]),
            ("no thanks", ["may we text you"]),  # Elmwood is known: not asked again
        ],
    )


def test_an_opening_about_a_meeting_goes_straight_to_meetings(resident: Simulator) -> None:
    play(
        resident, [("When is the next community meeting?", ["No community meetings", "reminders"])]
    )


# 3. The closing matches the answer ----------------------------------------------------------


@pytest.mark.parametrize(
    ("answer", "closing", "not_said"),
    [("yes", "we'll text you", ""), ("no", "staff read every one", "text you")],
)
def test_the_closing_matches_yes_or_no(
    resident: Simulator, answer: str, closing: str, not_said: str
) -> None:
    resident.say("Do you use drones over the park?")
    resident.say("SKIP")
    resident.say("Northside")
    [end] = resident.say(answer)
    assert closing in end
    assert "If you said yes" not in end
    if not_said:
        assert not_said not in end


# 4. Not for emergencies, once per conversation ----------------------------------------------


def test_a_resident_who_opens_with_a_concern_hears_once_that_this_is_not_for_emergencies(
    resident: Simulator,
) -> None:
    first = resident.say("Someone keeps dumping trash behind the laundromat")
    assert first[0].startswith("Not for emergencies: call 911.")
    later = resident.say("1") + resident.say("It is every weekend") + resident.say("Oak St")
    assert not any("call 911" in reply for reply in later)


def test_a_resident_who_says_hi_hears_it_in_the_welcome_only(resident: Simulator) -> None:
    [welcome] = resident.say("hi")
    assert welcome.count("911") == 1
    assert "911" not in resident.say("The park lights are out")[0]


# 5. HELP gives a person to reach ------------------------------------------------------------


def test_help_gives_the_agencys_contact_and_says_rates_may_apply(
    settings: Settings, clock: Clock
) -> None:
    rt = build_runtime(settings.with_overrides(contact="311 or springfield.gov/talk"), clock=clock)
    create_app({"TESTING": True}, runtime=rt)
    [help_text] = Simulator(rt, "sim-help").say("HELP")
    assert "To talk to a person: 311 or springfield.gov/talk." in help_text
    assert "Msg & data rates may apply" in help_text
    rt.db.dispose()


# 6. The agency, meetings and dates in the resident's language -------------------------------


def test_the_agency_is_named_as_each_language_knows_it(settings: Settings, clock: Clock) -> None:
    names = {"zh": "春田市警察局", "es": "Policía de Springfield"}
    rt = build_runtime(settings.with_overrides(agency_names=names), clock=clock)
    create_app({"TESTING": True}, runtime=rt)
    assert "春田市警察局社区热线" in Simulator(rt, "sim-zh").say("你好")[0]
    assert "Policía de Springfield" in Simulator(rt, "sim-es").say("hola")[0]
    assert "Springfield Police" in Simulator(rt, "sim-en").say("hi")[0]
    rt.db.dispose()


def test_meetings_are_told_in_each_language_with_dates_as_it_writes_them(
    rt: Runtime, client: FlaskClient
) -> None:
    created = client.post(
        "/api/v1/meetings",
        headers=api_token(rt, "staff"),
        json={
            "title": "Northside community meeting",
            "titles": {"es": "Reunión comunitaria del norte", "zh": "北区社区会议"},
            "starts_at": "2026-12-03T18:30:00-05:00",
            "location": "Northside Library",
            "locations": {"es": "Biblioteca del norte"},
        },
    )
    assert created.status_code == 201, created.get_json()
    es = Simulator(rt, "sim-es", language="es").say("REUNIONES")[0]
    assert "Reunión comunitaria del norte, jueves, 3 de diciembre, 6:30" in es
    assert "Biblioteca del norte" in es
    zh = Simulator(rt, "sim-zh", language="zh").say("会议")[0]
    assert "北区社区会议, 12月3日星期四 下午6:30" in zh
    assert "Northside Library" in zh  # no Chinese place given: the one staff wrote
    en = Simulator(rt, "sim-en", language="en").say("MEETINGS")[0]
    assert "Thursday, December 3, 6:30" in en
    ics = client.get(f"/meetings/{created.get_json()['id']}.ics?lang=es").get_data(as_text=True)
    assert "SUMMARY:Reunión comunitaria del norte" in ics


def test_a_meeting_title_in_an_unknown_language_is_refused(rt: Runtime) -> None:
    from bot.services.validation import InvalidInputError

    with pytest.raises(InvalidInputError, match=r"titles\.fr"):
        meetings.create_meeting(
            rt,
            title="Meeting",
            titles={"fr": "Réunion"},
            starts_at=datetime(2026, 12, 3, 23, 30, tzinfo=UTC),
            location="Library",
        )


def test_public_pages_speak_the_readers_language(client: FlaskClient) -> None:
    spanish = client.get("/you-said-we-did?lang=es").get_data(as_text=True)
    assert "Ustedes dijeron, nosotros hicimos" in spanish
    assert "Todavía no hay nada publicado." in spanish
    assert "You said" not in spanish
    browser = client.get("/you-said-we-did", headers={"Accept-Language": "vi-VN,vi;q=0.9"})
    assert "Quý vị đã nói, chúng tôi đã làm" in browser.get_data(as_text=True)
    home = client.get("/", headers={"Accept-Language": "zh-CN,zh;q=0.9"}).get_data(as_text=True)
    assert "本热线不处理紧急情况" in home
    assert 'href="/simulator"' in home
    assert 'href="/staff/login"' in home


# 7. Thanks after the end ----------------------------------------------------------------------


@pytest.mark.parametrize(
    ("language", "thanks", "welcome"),
    [
        ("vi", "cảm ơn ạ", "Không có gì"),
        ("vi", "dạ cảm ơn", "Không có gì"),
        ("zh", "謝謝", "不客气"),
        ("es", "gracias!!", "De nada"),
        ("en", "Thank you so much!", "You're welcome"),
    ],
)
def test_thanks_after_the_end_is_answered_with_youre_welcome(
    rt: Runtime, language: str, thanks: str, welcome: str
) -> None:
    resident = Simulator(rt, f"sim-{language}-{thanks}", language=language)
    resident.say("MEETINGS")
    resident.say("no")  # the meetings flow ends here
    reply, *offers = resident.say(thanks)
    assert reply.startswith(welcome)
    # 謝謝 is Traditional: where zh-Hant is offered too, it is offered once, never switched to.
    assert offers == ([rt.catalog.text("offer_language", "zh-Hant")] if offers else [])
