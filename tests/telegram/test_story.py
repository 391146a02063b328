"""Stories on Telegram: the same flows as SMS, by buttons and by typing, in two languages."""

from __future__ import annotations

from flask.testing import FlaskClient

from bot.runtime import Runtime
from storage import conversations
from storage.db import transaction
from tests.conftest import LANGUAGES
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_kit import TelegramResident, channel_of


def test_a_whole_conversation_by_buttons(ana: TelegramResident, rt: Runtime) -> None:
    assert ana.say("There is speeding on Elm Street every night") == [
        "Not for emergencies: call 911. "  # once a conversation, before the first question
        "Thank you, we've kept your words as you wrote them. So the right people read them, "
        "what is this about? Reply with a number:"
    ]
    assert ana.buttons()[0] == "A safety concern"
    [details] = ana.press("A safety concern")
    assert "Anything else we should know" in details
    assert ana.say("It happens after 10pm") == [
        "Where is this happening? A street, landmark or neighborhood helps. "
        "Reply SKIP to leave it out."
    ]
    [consent] = ana.say("Elm and 5th")
    assert "may we text you what was done?" in consent
    assert ana.buttons() == ["Yes", "No"]
    [thanks] = ana.press("Yes")
    assert "Thank you for raising this" in thanks
    with transaction(rt.db) as session:
        rows = conversations.list_responses(session)
    said = [(r.item, r.text, r.topic, r.place, r.follow_up_consent) for r, _ in rows]
    assert said == [
        ("opening", "There is speeding on Elm Street every night", "safety", "Elm and 5th", True),
        ("details", "It happens after 10pm", "safety", "Elm and 5th", True),
    ]


def test_buttons_are_inline_keyboards_and_presses_are_acknowledged_first(
    ana: TelegramResident, fake: FakeTelegram
) -> None:
    ana.say("The streetlights on Oak Avenue are out")
    topics = ana.last_markup
    assert topics is not None
    assert all(len(row) == 1 for row in topics["inline_keyboard"])  # long labels, one per row
    assert topics["inline_keyboard"][0][0]["callback_data"] == "topic:safety"
    assert "1 A safety" not in fake.calls("sendMessage")[-1]["text"]  # no numbered list
    ana.press("A safety concern")
    [ack] = fake.calls("answerCallbackQuery")
    methods = [r.path.rsplit("/", 1)[1] for r in fake.requests]
    assert methods.index("answerCallbackQuery") < len(methods) - 1  # before the reply
    assert methods[-1] == "sendMessage"
    assert ack["callback_query_id"]


def test_a_whole_conversation_by_typing_in_spanish(
    client: FlaskClient, rt: Runtime, fake: FakeTelegram
) -> None:
    maria = TelegramResident(client, rt, fake, user_id=933, language_code="es")
    try:
        [topic] = maria.say("Hay carros a alta velocidad en la calle Elm todas las noches")
        assert "guardamos sus palabras" in topic
        assert maria.buttons()[0] == "Seguridad"
        [details] = maria.say("1")  # typing the number works as well as the button
        assert "¿Hay algo más que debamos saber" in details
        [place] = maria.say("Pasa después de las 10 de la noche")
        assert "¿Dónde está pasando?" in place
        [consent] = maria.say("Elm y 5")
        assert "¿podemos avisarle por mensaje" in consent
        assert maria.buttons() == ["Sí", "No"]
        [thanks] = maria.say("sí")  # and typing the word
        assert "Gracias" in thanks
    finally:
        channel_of(rt).close()


def test_the_language_code_is_a_hint_never_over_an_explicit_choice(
    client: FlaskClient, rt: Runtime, fake: FakeTelegram
) -> None:
    """Her app says Spanish; she chooses English; she stays in English however she writes."""
    lucia = TelegramResident(client, rt, fake, user_id=944, language_code="es")
    try:
        [welcome] = lucia.say("hola")
        assert welcome.startswith("Hola, este es el canal comunitario")
        [chosen, question] = lucia.say("ENGLISH")
        assert chosen == "OK, we'll write to you in English."
        assert "own words" in question
        [topic, offer] = lucia.say("Hay mucho ruido en el parque por las noches")
        assert topic.startswith("Thank you, we've kept your words")  # still English
        assert offer == "Responda ESPAÑOL para seguir en español."  # offered, never imposed
        [details] = lucia.press("A safety concern")
        assert details.startswith("Thank you. Anything else")
    finally:
        channel_of(rt).close()


def test_the_language_menu_by_command_and_button(ana: TelegramResident) -> None:
    [menu] = ana.deliver(ana.updates.text_message("/language"))
    assert menu["text"] == "Choose your language:"
    names = {"en": "English", "es": "Español", "vi": "Tiếng Việt", "zh": "中文"}
    assert ana.buttons()[:4] == list(names.values())  # in TOWNLINE_LANGUAGES order, by own name
    assert len(ana.buttons()) == len(LANGUAGES)
    [chosen] = ana.press("Tiếng Việt")
    assert chosen == "Vâng, chúng tôi sẽ nhắn cho quý vị bằng tiếng Việt."
    [topic] = ana.say("Đèn đường ở đường Oak bị hỏng mấy tuần rồi")
    assert "Cảm ơn quý vị" in topic
