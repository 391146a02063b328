"""Stories: STOP, START, HELP, MENU and emergency words act before any flow, in every language."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import Contact, Response
from tests.stories import play


def _contact(rt: Runtime, address: str) -> Contact:
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", address)
        assert contact is not None
        return contact


def _responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return [r for r, _ in conversations.list_responses(session)]


@pytest.mark.parametrize(
    ("word", "confirmation"),
    [
        ("STOP", "You won't get more messages"),
        ("stop texting me", "You won't get more messages"),
        ("Unsubscribe", "You won't get more messages"),
        ("no más", "Ya no recibirá mensajes"),
        ("dừng lại", "Quý vị sẽ không nhận"),
        ("退订", "您将不再收到"),
    ],
)
def test_stop_in_any_language_opts_out_at_once_with_one_confirmation(
    rt: Runtime, resident: Simulator, word: str, confirmation: str
) -> None:
    play(
        resident,
        [
            ("The streetlights on Oak Avenue have been out for weeks", ["kept your words"]),
            (word, [confirmation]),
            (word, []),  # only one confirmation, however often they say it
            ("hello? is anyone there", []),  # silence until START, but the words are kept
        ],
    )
    assert _contact(rt, resident.address).opted_out_at is not None


def test_start_opts_back_in_and_the_resident_is_listened_to(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("STOP", ["You won't get more messages"]),
            ("START", ["Welcome back"]),
            ("The bus stop on Main has no light", ["kept your words"]),
        ],
    )
    assert _contact(rt, resident.address).opted_out_at is None


def test_yes_reverses_an_opt_out_like_twilio_does(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("STOP", ["You won't get more"]), ("yes", ["Welcome back"])])
    assert _contact(rt, resident.address).opted_out_at is None


def test_a_stop_inside_a_sentence_is_not_an_opt_out(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("Cars never stop at the stop sign on 3rd", ["kept your words"])])
    assert _contact(rt, resident.address).opted_out_at is None


@pytest.mark.parametrize(
    ("word", "fragment"),
    [("HELP", "call 911"), ("ayuda", "llame al 911"), ("giúp", "911"), ("帮助", "911")],
)
def test_help_says_who_we_are_and_that_this_is_not_for_emergencies(
    resident: Simulator, word: str, fragment: str
) -> None:
    play(resident, [(word, [(fragment, "STOP")])])


def test_help_still_answers_an_opted_out_resident(resident: Simulator) -> None:
    play(resident, [("STOP", ["You won't get more"]), ("HELP", [("911", "START")])])


def test_menu_restarts_and_asks_for_their_words_before_any_question(resident: Simulator) -> None:
    play(
        resident,
        [
            ("Someone keeps parking on the sidewalk", ["kept your words"]),
            ("MENU", [("What would you like to talk about?", "1 A safety concern")]),
            ("2", ["Tell us in your own words"]),
            ("Why do officers park in the bike lane?", ["new or proposed policy"]),
        ],
    )


@pytest.mark.parametrize(
    "text",
    [
        "Someone is breaking in next door right now",
        "a man has a gun outside the store",
        "Mi vecino está herido y sangrando",
        "Có người bị thương ở ngoài đường",
        "救命 有人闯入我家",
    ],
)
def test_emergency_words_get_911_alone_at_once_and_the_words_are_flagged_urgent(
    rt: Runtime, resident: Simulator, text: str
) -> None:
    [reply] = resident.say(text)  # who to call, alone: no menu in the same turn
    assert "911" in reply
    [response] = _responses(rt)  # nothing they said is lost
    assert response.text == text
    assert response.urgent


def test_urgency_marks_the_whole_conversation(rt: Runtime, resident: Simulator) -> None:
    resident.say("There is a fight outside the bar on Pine")
    resident.say("1")
    resident.say("now one of them has a knife")
    assert all(r.urgent for r in _responses(rt))


def test_sensitive_words_mark_the_conversation_for_care(rt: Runtime, resident: Simulator) -> None:
    resident.say("My neighbour hears domestic violence next door most nights")
    [response] = _responses(rt)
    assert response.sensitive
    assert not response.urgent


def test_meetings_keyword_starts_the_meetings_flow(resident: Simulator) -> None:
    play(
        resident,
        [
            ("MEETINGS", ["No community meetings are scheduled", "reminders of meetings"]),
            ("yes", ["Which neighborhood?"]),
            ("Elmwood", ["Reply MEETINGS any time"]),
        ],
    )
