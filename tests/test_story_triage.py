"""Stories: danger, crisis and violence get who to call, first and alone, in the resident's own
language, on SMS and Telegram; opt-outs however they are typed; only START re-subscribes."""

from __future__ import annotations

import re
from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.services import broadcasts
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from storage.models import Response
from tests.conftest import Clock
from tests.fakes.telegram_api import FakeTelegram
from tests.sms_kit import SmsLine, sms_line
from tests.stories import play
from tests.telegram_kit import TelegramResident, channel_of, telegram_settings

# (language, message, what the first reply must say, urgent, sensitive) per class and language.
SAFETY = [
    ("en", "someone is breaking into my house right now", "Call 911 now", True, False),
    ("en", "I want to kill myself", "call or text 988", True, True),
    ("en", "my husband hits me when he drinks", "1-800-799-7233", False, True),
    ("es", "alguien está entrando a mi casa", "Llame al 911 ya", True, False),
    ("es", "me quiero morir", "envíe un mensaje al 988", True, True),
    ("es", "mi esposo me pega cuando toma", "Usted merece estar a salvo", False, True),
    ("vi", "có người đột nhập vào nhà tôi", "Xin gọi 911 ngay", True, False),
    ("vi", "tôi muốn tự tử", "gọi hoặc nhắn tin 988", True, True),
    ("vi", "chồng tôi đánh tôi mỗi tối", "Quý vị xứng đáng được an toàn", False, True),
    ("zh", "有人闯进我家了", "请立即拨打911", True, False),
    ("zh", "我想自杀", "988", True, True),
    ("zh", "我老公经常打我", "您有权获得安全", False, True),
]
MENU = re.compile(r"^1 ", re.MULTILINE)  # a menu lists its choices as numbered lines


def _responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return [r for r, _ in conversations.list_responses(session)]


@pytest.fixture
def line(settings: Settings, clock: Clock) -> Iterator[SmsLine]:
    """The agency's SMS line, talking to a FakeTwilio."""
    with sms_line(settings, clock) as sms:
        yield sms


@pytest.mark.parametrize(("language", "text", "says", "urgent", "sensitive"), SAFETY)
def test_over_sms_who_to_call_comes_first_and_alone(
    line: SmsLine, language: str, text: str, says: str, urgent: bool, sensitive: bool
) -> None:
    phone = line.phone("+15558675310")
    [reply] = phone.text(text)
    assert says in reply
    assert not MENU.search(reply)
    [response] = _responses(line.rt)
    assert response.text == text  # the words are kept, verbatim
    assert response.language == language
    assert (response.urgent, response.sensitive) == (urgent, sensitive)


@pytest.fixture
def telegram(settings: Settings, clock: Clock) -> Iterator[tuple[Runtime, FakeTelegram]]:
    with FakeTelegram() as fake:
        rt = build_runtime(telegram_settings(settings, fake), clock=clock)
        yield rt, fake
        channel = rt.channels.get("telegram")
        if channel is not None:
            channel_of(rt).close()
        rt.db.dispose()


@pytest.mark.parametrize(("language", "text", "says", "urgent", "sensitive"), SAFETY)
def test_over_telegram_who_to_call_comes_first_and_alone(
    telegram: tuple[Runtime, FakeTelegram],
    language: str,
    text: str,
    says: str,
    urgent: bool,
    sensitive: bool,
) -> None:
    from bot.app import create_app

    rt, fake = telegram
    client: FlaskClient = create_app({"TESTING": True}, runtime=rt).test_client()
    # Telegram says the phone is set to English; the message's own language wins.
    resident = TelegramResident(client, rt, fake, language_code="en")
    [reply] = resident.say(text)
    assert says in reply
    assert resident.last_markup is None  # no buttons, no menu
    [response] = _responses(rt)
    assert (response.language, response.urgent, response.sensitive) == (
        language,
        urgent,
        sensitive,
    )


def test_when_safe_the_resident_goes_on_and_is_listened_to(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("someone is breaking into my house right now", [("Call 911 now", "tell us more")]),
            (
                "ok they left. the police came. it was the 3rd time",
                [("kept your words", "1 A safety")],
            ),
            ("1", ["Anything else we should know"]),
        ],
    )
    said = [(r.item, r.urgent) for r in _responses(rt)]
    assert said == [("opening", True), ("more", True)]


def test_danger_mid_conversation_interrupts_and_the_question_waits(
    rt: Runtime, resident: Simulator
) -> None:
    play(
        resident,
        [
            ("Cars race on Elm every night", ["kept your words"]),
            ("1", ["Anything else we should know"]),
            ("wait there is a man with a gun outside right now", [("Call 911 now",)]),
            ("It happens after 10pm", ["Where is this happening?"]),
        ],
    )
    assert all(r.urgent for r in _responses(rt))


def test_crisis_and_violence_are_sensitive_and_complaints_are_not(
    rt: Runtime, resident: Simulator
) -> None:
    resident.say("I want to kill myself")
    Simulator(rt, "sim-2").say("my boyfriend choked me last night")
    Simulator(rt, "sim-3").say("the police keep harassing my son outside his school")
    flags = {r.text: (r.urgent, r.sensitive) for r in _responses(rt)}
    assert flags["I want to kill myself"] == (True, True)
    assert flags["my boyfriend choked me last night"] == (False, True)
    assert flags["the police keep harassing my son outside his school"] == (False, False)


def test_a_safety_reply_reaches_a_resident_who_opted_out(rt: Runtime, resident: Simulator) -> None:
    play(
        resident,
        [
            ("STOP", ["You won't get more messages"]),
            ("hello?", []),  # still silence
            ("there is a fire in my building", ["Call 911 now"]),  # but never about danger
        ],
    )


@pytest.mark.parametrize(
    "stop",
    [
        "stop please",
        "please stop",
        "unsubscribe me please",
        "alto por favor",
        "baja",
        "STOP STOP",
        "🛑",
        "stopp",
        "s t o p",
        "ngưng",
        "đừng gửi nữa",
        "退訂",
        "take me off this list",
    ],
)
def test_however_stop_is_typed_a_broadcast_skips_the_resident(line: SmsLine, stop: str) -> None:
    phone = line.phone("+15558675310")
    phone.text("The streetlight on Oak is out")
    [confirmation] = phone.text(stop)
    assert "START" in confirmation
    broadcasts.create_broadcast(
        line.rt,
        {
            "en": "Meeting Thursday",
            "es": "Reunión el jueves",
            "vi": "Họp thứ Năm",
            "zh": "周四开会",
        },
    )
    line.drain()
    assert phone.inbox() == []


@pytest.mark.parametrize("word", ["ok", "okay", "please", "sure", "s", "claro", "好的", "嗯"])
def test_ok_after_stop_does_not_re_subscribe(line: SmsLine, word: str) -> None:
    phone = line.phone("+15558675310")
    phone.text("STOP")
    assert phone.text(word) == []
    assert line.contact("+15558675310").opted_out_at is not None
    broadcasts.create_broadcast(line.rt, {"en": "Meeting Thursday"}, fallback_to_default=True)
    line.drain()
    assert phone.inbox() == []


def test_yes_after_stop_re_subscribes_like_twilio(line: SmsLine) -> None:
    phone = line.phone("+15558675310")
    phone.text("STOP")
    [welcome] = phone.text("YES")
    assert "Welcome back" in welcome
    assert line.contact("+15558675310").opted_out_at is None


def test_a_stop_word_in_a_sentence_keeps_the_resident(line: SmsLine) -> None:
    phone = line.phone("+15558675310")
    [reply] = phone.text("Stop signs are missing on Elm and I'd like to stop by the station")
    assert "kept your words" in reply
    assert line.contact("+15558675310").opted_out_at is None


@pytest.mark.parametrize(
    ("said", "answer"),
    [
        ("auxilio", "Llame al 911"),
        ("socorro", "Llame al 911"),
        ("cứu với", "Xin gọi 911"),
        ("救命", "请立即拨打911"),
    ],
)
def test_too_short_to_detect_the_words_choose_the_language(
    resident: Simulator, said: str, answer: str
) -> None:
    [reply] = resident.say(said)
    assert answer in reply
