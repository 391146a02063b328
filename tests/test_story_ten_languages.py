"""Stories with all ten languages offered: residents are answered in the language they write.

Expected words come from the catalog itself (the first words of a message), so the stories
check which language and which message a resident gets, and survive a translator's rewording.
"""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from bot.config import Settings
from bot.dates import format_when
from bot.runtime import Runtime
from bot.simulate import Simulator
from storage import conversations
from storage.db import transaction
from tests.stories import play

TEN = ("en", "es", "vi", "zh", "zh-Hant", "tl", "ko", "ar", "ru", "ht")

# What a resident new to the line might write first, in each of the new languages.
FIRST_WORDS = {
    "tl": "Magandang araw po, gusto ko pong ireklamo ang mga kotseng mabilis sa kalye namin",
    "ko": "안녕하세요, 저희 동네 가로등이 일주일째 꺼져 있어서 밤에 너무 어둡습니다",
    "ar": "مرحبا، أريد أن أسأل عن كاميرات الشرطة في حيّنا",
    "ru": "Здравствуйте, у нас во дворе каждую ночь очень громко играет музыка",
    "ht": "Bonjou, mwen vle pale ak nou sou machin ki kouri twò vit nan lari nou an",
    "zh-Hant": "你好，我們社區的路燈壞了很久，晚上走路很危險",
}

# Words that choose each new language, as residents would type them.
LANGUAGE_WORDS = {
    "tl": "TAGALOG",
    "ko": "한국어",
    "ar": "العربية",
    "ru": "РУССКИЙ",
    "ht": "KREYOL",
    "zh-Hant": "繁體中文",
}

# Danger now, as residents of each new language write it: who to call comes first and alone.
EMERGENCIES = {
    "tl": "Tulong po! May pumasok na magnanakaw sa bahay namin",
    "ko": "도와주세요 누가 집에 침입했어요",
    "ar": "النجدة! في حريق في البناية",
    "ru": "Помогите! У соседей пожар",
    "ht": "Anmwe! Gen yon moun ak zam devan kay mwen",
    "zh-Hant": "救命呀！有賊爆格入屋！",
}


@pytest.fixture
def settings(settings: Settings) -> Settings:
    """The test agency, offering every language Townline ships."""
    return settings.with_overrides(languages=TEN)


def _opening(rt: Runtime, message: str, language: str) -> str:
    """The first words of a message as sent: enough to tell which one, and in which language."""
    text = rt.catalog.text(message, language, agency=rt.settings.agency_for(language))
    return text[:12]


def _language(rt: Runtime, address: str) -> str | None:
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", address)
        assert contact is not None
        return contact.language


@pytest.mark.parametrize("language", sorted(FIRST_WORDS))
def test_a_first_message_is_answered_in_its_own_language(
    rt: Runtime, resident: Simulator, language: str
) -> None:
    play(resident, [(FIRST_WORDS[language], [_opening(rt, "topic_question", language)])])
    assert _language(rt, resident.address) == language


@pytest.mark.parametrize("language", sorted(LANGUAGE_WORDS))
def test_a_language_word_switches_to_it(rt: Runtime, resident: Simulator, language: str) -> None:
    play(
        resident,
        [
            ("The streetlight on Maple has been out for a week", ["Thank you"]),
            (
                LANGUAGE_WORDS[language],
                [_opening(rt, "language_set", language), _opening(rt, "menu_question", language)],
            ),
        ],
    )
    assert _language(rt, resident.address) == language


@pytest.mark.parametrize("language", sorted(EMERGENCIES))
def test_danger_in_a_new_language_gets_who_to_call_first_and_alone(
    rt: Runtime, resident: Simulator, language: str
) -> None:
    replies = resident.say(EMERGENCIES[language])
    assert replies[0].startswith(_opening(rt, "emergency", language)), replies
    assert "911" in replies[0]


def test_traditional_characters_are_answered_in_traditional_and_simplified_in_simplified(
    rt: Runtime,
) -> None:
    traditional = Simulator(rt, "trad")
    simplified = Simulator(rt, "simp")
    play(traditional, [("我想反映一下樓下噪音的問題", [_opening(rt, "topic_question", "zh-Hant")])])
    play(simplified, [("我想反映一下楼下噪音的问题", [_opening(rt, "topic_question", "zh")])])
    assert _language(rt, "trad") == "zh-Hant"
    assert _language(rt, "simp") == "zh"


def test_cantonese_asks_for_traditional_chinese(rt: Runtime, resident: Simulator) -> None:
    play(resident, [("廣東話", [_opening(rt, "language_set", "zh-Hant")])])
    assert _language(rt, resident.address) == "zh-Hant"


def test_a_meeting_reminder_reads_its_date_in_haitian_creole() -> None:
    """CLDR has no Kreyol day names; the line has its own, not "M12 3, Thu"."""
    when = format_when(datetime(2026, 12, 3, 23, 30, tzinfo=UTC), "America/New_York", "ht")
    assert when == "jedi 3 desanm, 18:30"
