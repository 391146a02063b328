"""Stories: a resident's language is chosen by them, remembered, never switched behind them."""

from __future__ import annotations

from bot.events import Inbound
from bot.runtime import Runtime
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import Contact
from tests.stories import play


def _contact(rt: Runtime, address: str, channel: str = "simulator") -> Contact:
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, channel, address)
        assert contact is not None
        return contact


def test_a_language_word_switches_and_asks_the_same_question_again(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("The park on Maple closes too early for the night shift workers", ["1 A safety"]),
            ("ESPAÑOL", ["Muy bien, le escribiremos en español", "¿De qué le gustaría hablar?"]),
            ("1", ["¿Hay algo más que debamos saber"]),
            ("中文", ["好的", "还有什么需要我们了解"]),
            ("TIENG VIET", ["Vâng", "Còn điều gì chúng tôi nên biết"]),
        ],
    )
    contact = _contact(rt, resident.address)
    assert (contact.language, contact.language_source) == ("vi", "explicit")


def test_the_first_words_choose_the_language_of_a_new_resident(
    rt: Runtime, resident: Simulator
) -> None:
    play(resident, [("Hay un hoyo enorme en la calle y los carros no lo ven", ["¿De qué tema"])])
    assert _contact(rt, resident.address).language == "es"


def test_chinese_script_alone_is_enough(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("路灯坏了", ["谢谢"])])
    assert _contact(rt, resident.address).language == "zh"


def test_a_single_word_never_decides_the_language(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("ok", ["Thank you, we've kept your words"])])
    assert _contact(rt, resident.address).language is None


def test_a_chosen_language_is_kept_but_another_is_offered_once(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("ENGLISH", ["OK, we'll write to you in English."]),
            (
                "Hay muchos carros estacionados en la banqueta de mi cuadra",
                ["Thank you, we've kept your words", "Responda ESPAÑOL"],
            ),
            ("Y también en la esquina de la escuela primaria", ["Thank you, we've added that"]),
        ],
    )
    assert _contact(rt, resident.address).language == "en"


def test_a_channel_hint_is_used_but_never_overrides_a_choice(rt: Runtime) -> None:
    from bot.conversation import receive
    from bot.worker import Worker

    def say(text: str, n: int) -> None:
        receive(rt, Inbound("simulator", "hinted", text, f"h{n}", language_hint="es-MX"))

    say("ok", 1)
    assert _contact(rt, "hinted").language == "es"
    say("ENGLISH", 2)
    say("ok", 3)
    assert _contact(rt, "hinted").language == "en"
    Worker(rt).drain()
