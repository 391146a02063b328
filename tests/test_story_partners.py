"""Residents who come in through a partner organisation, and the optional "who is heard"
questions at a conversation's end: stories on the simulator, through the real engine."""

from __future__ import annotations

import pytest

from bot.config import Settings
from bot.conversation import receive
from bot.events import Inbound
from bot.runtime import Runtime
from bot.services import followups
from bot.simulate import Simulator
from storage import conversations, partners
from storage.db import transaction
from storage.models import Contact, Partner, Response
from tests.dashboard import raise_concern
from tests.stories import play

GRACE = {"en": "GRACE", "es": "VOZ", "vi": "GRACEVN", "zh": "GRACEZH"}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The agency asks the optional "who is heard" questions (the shipped default)."""
    return settings.with_overrides(who_is_heard=True)


@pytest.fixture
def grace(rt: Runtime) -> Partner:
    """Grace Church, with its own word in each of the test agency's languages."""
    with transaction(rt.db) as session:
        return partners.add(
            session,
            name="Grace Church",
            code="grace-church",
            keywords={
                lang: GRACE.get(lang, f"GRACE{lang.upper()}") for lang in rt.catalog.languages
            },
            languages=["en", "es"],
        )


def _contact(rt: Runtime, address: str) -> Contact:
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", address)
        assert contact is not None
        return contact


def _responses(rt: Runtime, contact_id: int) -> list[Response]:
    with transaction(rt.db) as session:
        return [r for r, _ in conversations.list_responses(session) if r.contact_id == contact_id]


def test_a_resident_texts_the_spanish_keyword_and_is_greeted_naming_the_partner(
    rt: Runtime, grace: Partner
) -> None:
    maria = Simulator(rt, "sim-maria")
    play(
        maria,
        [
            ("voz", [("Hola", "Grace Church", "911")]),
            ("Hay autos que corren muy rápido frente a la escuela", [("1",)]),
        ],
    )
    contact = _contact(rt, "sim-maria")
    assert contact.language == "es"
    assert contact.partner_id == grace.id
    [opening] = _responses(rt, contact.id or 0)
    assert opening.text == "Hay autos que corren muy rápido frente a la escuela"
    assert opening.partner_id == grace.id


def test_the_keyword_is_read_whatever_its_case_or_punctuation(rt: Runtime, grace: Partner) -> None:
    sam = Simulator(rt, "sim-sam")
    [greeting] = sam.say("Grace!")
    assert "through Grace Church" in greeting
    assert _contact(rt, "sim-sam").partner_id == grace.id


def test_a_resident_who_already_has_a_language_keeps_it(rt: Runtime, grace: Partner) -> None:
    lan = Simulator(rt, "sim-lan", language="vi")
    [greeting] = lan.say("VOZ")
    assert "Grace Church" in greeting
    assert greeting == rt.catalog.text(
        "partner_welcome", "vi", agency="Springfield Police", partner="Grace Church"
    )
    assert _contact(rt, "sim-lan").language == "vi"


def test_grace_street_is_an_answer_not_a_keyword_in_the_middle_of_a_conversation(
    rt: Runtime, grace: Partner
) -> None:
    ann = Simulator(rt, "sim-ann", language="en")
    ann.say("The streetlights on our block have been out for weeks")
    said = ann.say("1")  # safety
    for _ in range(4):
        if "Where" in said[-1]:
            break
        said = ann.say(_answer(said[-1]))
    assert "Where" in said[-1]
    said = ann.say("Grace")
    assert not any("through Grace Church" in line for line in said)
    assert _contact(rt, "sim-ann").partner_id is None


def test_an_archived_partner_s_keyword_is_just_a_word(rt: Runtime, grace: Partner) -> None:
    with transaction(rt.db) as session:
        partners.archive(session, grace.id or 0, rt.now())
    bo = Simulator(rt, "sim-bo", language="en")
    said = bo.say("GRACE")
    assert not any("Grace Church" in line for line in said)
    assert _contact(rt, "sim-bo").partner_id is None


def _answer(question: str) -> str:
    """What a resident answers to a flow's question: the first choice, a place, or no."""
    if "\n1 " in question:
        return "1"
    if "neighborhood" in question:
        return "Elmwood"
    if "Where" in question:
        return "Elm & 5th"
    return "no"


def _to_the_end(resident: Simulator, said: list[str]) -> list[str]:
    """Answer the flow's questions until its end (or the optional questions after it)."""
    for _ in range(10):
        if not said or "How old are you?" in said[-1] or said[-1].startswith("Thank you"):
            return said
        said = resident.say(_answer(said[-1]))
    raise AssertionError(f"the flow did not end: {said!r}")


def test_who_is_heard_asks_age_and_years_once_after_the_words_are_kept(
    rt: Runtime, grace: Partner
) -> None:
    ruth = Simulator(rt, "sim-ruth", language="en")
    ruth.say("My question is how long you keep camera footage")
    end = _to_the_end(ruth, ruth.say("2"))  # policy
    assert "only if you want to answer" in end[-1]
    assert "SKIP" in end[-1]
    assert "65 or older" in end[-1]
    play(
        ruth,
        [
            ("3", [("How long have you lived", "SKIP", "More than 5 years")]),
            ("skip", [("only ever count these answers in groups",)]),
        ],
    )
    contact = _contact(rt, "sim-ruth")
    assert (contact.age_band, contact.years_here) == ("30-44", None)
    assert contact.heard_asked_at is not None
    # A second conversation ends without the questions: they are asked once per resident.
    ruth.say("Thanks")
    ruth.say("Also, what is your policy on towing cars during snow storms?")
    said = _to_the_end(ruth, ruth.say("2"))
    assert said[-1].startswith("Thank you")
    assert not any("How old are you?" in line for line in said)


def test_an_age_typed_as_a_number_counts_and_other_words_end_the_questions(
    rt: Runtime,
) -> None:
    kim = Simulator(rt, "sim-kim", language="en")
    kim.say("Why do officers park on the sidewalk on Oak Street?")
    said = _to_the_end(kim, kim.say("2"))
    assert "How old are you?" in said[-1]
    said = kim.say("67")
    assert "How long have you lived" in said[-1]
    # Not an answer: the resident is telling us something more, and is listened to.
    said = kim.say("Actually there is also a broken streetlight by the park that worries me")
    assert not any("How long have you lived" in line for line in said)
    contact = _contact(rt, "sim-kim")
    assert (contact.age_band, contact.years_here) == ("65+", None)
    texts = [r.text for r in _responses(rt, contact.id or 0)]
    assert "Actually there is also a broken streetlight by the park that worries me" in texts


def test_who_is_heard_is_not_asked_after_a_sensitive_conversation(rt: Runtime) -> None:
    lee = Simulator(rt, "sim-lee", language="en")
    said = _to_the_end(lee, lee.say("My boyfriend hits me and I am scared to go home"))
    assert not any("How old are you?" in line for line in said)
    assert _contact(rt, "sim-lee").heard_asked_at is None


def test_an_agency_can_turn_the_questions_off(rt: Runtime) -> None:
    rt.settings = rt.settings.with_overrides(who_is_heard=False)
    joe = Simulator(rt, "sim-joe", language="en")
    joe.say("What is the policy on using drones over the park?")
    said = _to_the_end(joe, joe.say("2"))
    assert said[-1].startswith("Thank you")
    assert _contact(rt, "sim-joe").heard_asked_at is None


def test_a_telegram_start_link_names_the_partner(rt: Runtime, grace: Partner) -> None:
    receipt = receive(
        rt,
        Inbound(
            channel="telegram",
            address="4242",
            text="/start partner-grace-church",
            provider_id="tg-1",
            received_at=rt.now(),
            extra={"command": "start", "payload": "partner-grace-church"},
        ),
    )
    [greeting] = receipt.replies
    assert "through Grace Church" in greeting.text
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "telegram", "4242")
        assert contact is not None
        assert contact.partner_id == grace.id


def _at_the_age_question(resident: Simulator, opening: str) -> list[str]:
    resident.say(opening)
    said = _to_the_end(resident, resident.say("2"))  # a policy question
    assert "How old are you?" in said[-1]
    return said


def test_danger_during_the_questions_gets_911_alone_and_ends_them(rt: Runtime) -> None:
    eve = Simulator(rt, "sim-eve", language="en")
    _at_the_age_question(eve, "Why are the parking rules on Birch Street so confusing?")
    [alone] = eve.say("There is a man with a gun outside my door right now")
    assert "911" in alone
    eve.say("2")  # not an answer to a question nobody is asking any more
    contact = _contact(rt, "sim-eve")
    assert (contact.age_band, contact.years_here) == (None, None)
    words = [r.text for r in _responses(rt, contact.id or 0)]
    assert "There is a man with a gun outside my door right now" in words


def test_years_typed_as_a_number_and_a_short_non_answer_end_the_questions_politely(
    rt: Runtime,
) -> None:
    ida = Simulator(rt, "sim-ida", language="en")
    _at_the_age_question(ida, "What is the policy on officers using their phones while driving?")
    [years] = ida.say("2")
    assert "How long have you lived" in years
    assert ida.say("10 years") == [rt.catalog.text("heard_thanks", "en")]
    contact = _contact(rt, "sim-ida")
    assert (contact.age_band, contact.years_here) == ("18-29", "over-5")

    ned = Simulator(rt, "sim-ned", language="en")
    _at_the_age_question(ned, "What is the policy on officers using their phones while driving?")
    assert ned.say("why?") == [rt.catalog.text("heard_thanks", "en")]  # not pressed again
    assert _responses(rt, _contact(rt, "sim-ned").id or 0)[-1].text != "why?"


def test_a_resident_linked_across_channels_is_asked_once(rt: Runtime) -> None:
    pat = Simulator(rt, "sim-pat", language="en")
    _at_the_age_question(pat, "What is the rule on parking trailers on residential streets?")
    pat.say("skip")
    pat.say("skip")
    other = Simulator(rt, "sim-pat-phone-2", language="en")
    other.say("hello")
    first = _contact(rt, "sim-pat")
    with transaction(rt.db) as session:
        second = conversations.find_contact(session, "simulator", "sim-pat-phone-2")
        assert second is not None
        conversations.update_contact(session, second.id or 0, resident_id=first.id)
    other.say("MENU")
    other.say("What is the rule on leaf blowers early on Sunday mornings?")
    said = _to_the_end(other, other.say("2"))
    assert said[-1].startswith("Thank you")
    assert not any("How old are you?" in line for line in said)


def test_erasure_takes_the_who_is_heard_answers_with_it(rt: Runtime) -> None:
    zoe = Simulator(rt, "sim-zoe", language="en")
    _at_the_age_question(zoe, "What is the policy on towing abandoned cars on our street?")
    zoe.say("5")
    zoe.say("3")
    assert (_contact(rt, "sim-zoe").age_band, _contact(rt, "sim-zoe").years_here) == (
        "65+",
        "over-5",
    )
    zoe_id = _contact(rt, "sim-zoe").id
    zoe.say("delete my data")
    [done] = zoe.say("1")
    assert "deleted" in done
    with transaction(rt.db) as session:
        erased = {c.id: c for r, c in conversations.list_responses(session) if c.id == zoe_id}
    assert erased[zoe_id].erased_at is not None
    assert (erased[zoe_id].age_band, erased[zoe_id].years_here) == (None, None)


def test_the_follow_up_says_the_partner_helped(rt: Runtime, grace: Partner) -> None:
    rosa = Simulator(rt, "sim-rosa")
    rosa.say("VOZ")
    response = raise_concern(rt, "sim-rosa", "es", "No hay luz en la parada del autobús", "Elm")
    assert response.partner_id == grace.id
    with transaction(rt.db) as session:
        action = followups.create_draft(
            rt,
            session,
            title="Streetlights on Elm",
            messages={"en": "We fixed the lights.", "es": "Arreglamos las luces."},
            response_ids=[response.id or 0],
            actor="sam@city.gov",
        )
    followups.publish(rt, action.id or 0, actor="sam@city.gov")
    rosa.worker.drain()
    follow_up = rosa.replies()[-1]
    assert follow_up.startswith("Arreglamos las luces.")
    assert follow_up.endswith("Grace Church nos ayudó a escuchar su voz.")
