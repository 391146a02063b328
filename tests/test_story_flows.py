"""Every flow, in every shipped language: a resident walks it and hears the flow's own words."""

from __future__ import annotations

import pytest

from bot.runtime import Runtime
from bot.simulate import Simulator
from flows.catalog import fill, step_text
from storage import conversations
from storage.db import transaction
from tests.conftest import LANGUAGES

OPENINGS = {
    "en": "Cars race down Elm Street every night and I worry about the kids",
    "es": "Los carros pasan a toda velocidad por la calle Elm cada noche",
    "vi": "Xe chạy rất nhanh trên đường Elm mỗi tối, tôi lo cho bọn trẻ",
    "zh": "每天晚上都有车在榆树街上飙车，我很担心孩子们",
    "zh-Hant": "每天晚上都有車在榆樹街上飆車，我很擔心孩子們",
    "tl": "Gabi-gabi may mga kotseng nagkakarera sa Elm Street at nag-aalala ako sa mga bata",
    "ko": "매일 밤 엘름 거리에서 차들이 과속해서 아이들이 걱정돼요",
    "ar": "كل ليلة تسير السيارات بسرعة كبيرة في شارع إلم وأنا قلق على الأطفال",
    "ru": "Каждую ночь по улице Элм гоняют машины, я волнуюсь за детей",
    "ht": "Chak swa machin ap kouri twò vit nan lari Elm, mwen pè pou timoun yo",
}
ANSWERS = {
    "en": "It is worst after ten at night",
    "es": "Es peor después de las diez de la noche",
    "vi": "Tệ nhất là sau mười giờ tối",
    "zh": "晚上十点以后最严重",
    "zh-Hant": "晚上十點以後最嚴重",
    "tl": "Pinakamalala pagkalipas ng alas-diyes ng gabi",
    "ko": "밤 10시 이후가 제일 심해요",
    "ar": "الوضع أسوأ بعد العاشرة ليلا",
    "ru": "Хуже всего после десяти вечера",
    "ht": "Se apre dizè diswa li pi mal",
}
FLOWS = ("safety", "policy", "technology", "interaction", "meetings")


def _answer_for(rt: Runtime, step_type: str, lang: str) -> str:
    """What a resident types at each kind of step, in their own language."""
    keywords = rt.catalog.keywords
    return {
        "open": ANSWERS[lang],
        "rating": "4",
        "choice": "1",
        "place": "Elm & 5th",
        "neighbourhood": "Elmwood",
        "consent": keywords["yes"][lang][0],
        "subscribe": keywords["yes"][lang][0],
    }[step_type]


@pytest.mark.parametrize("lang", LANGUAGES)
@pytest.mark.parametrize("flow_id", FLOWS)
def test_every_flow_in_every_language(rt: Runtime, flow_id: str, lang: str) -> None:
    catalog = rt.catalog
    flow = catalog.flow(flow_id)
    rt.settings = rt.settings.with_overrides(who_is_heard=True)
    resident = Simulator(rt, f"sim-{flow_id}-{lang}", language=lang)
    agency = {"agency": rt.settings.agency_name}

    replies = resident.say(OPENINGS[lang])
    # Once per conversation, before the first question: this is not an emergency line.
    note = catalog.text("not_emergency_note", lang)
    assert replies[0].startswith(f"{note} {catalog.text('topic_question', lang)}")
    for number, each in enumerate(catalog.menu_flows, start=1):
        assert f"\n{number} {each.label[lang]}" in replies[0]

    said = resident.say(str(flow.menu))
    for step in flow.steps:
        if step.type == "knowledge":
            entry = catalog.knowledge.get("body_cameras")
            assert said.pop(0) == (entry[lang] if entry else catalog.text("no_answer", lang))
            continue
        if step.type == "meetings":
            assert said.pop(0) == catalog.text("meetings_none", lang)
            continue
        assert said.pop(0).startswith(fill(step_text(catalog, step, lang), agency))
        assert said == []
        said = resident.say(_answer_for(rt, step.type, lang))
    # The flow's end, then the optional "who is heard" questions: age, years here, thanks.
    end, age = said
    assert end == fill(flow.end[lang], agency)
    assert age.startswith(catalog.text("heard_age", lang))
    assert f"\n5 {catalog.text('heard_age_65_plus', lang)}" in age
    [years] = resident.say("2")
    assert years.startswith(catalog.text("heard_years", lang))
    assert resident.say(rt.catalog.keywords["skip"][lang][0]) == [
        catalog.text("heard_thanks", lang)
    ]

    with transaction(rt.db) as session:
        rows = [r for r, _ in conversations.list_responses(session)]
    assert rows[0].item == "opening"
    assert rows[0].text == OPENINGS[lang]
    assert {r.language for r in rows} == {lang}
    assert {r.topic for r in rows} == {flow_id}
    with transaction(rt.db) as session:
        contact = conversations.find_contact(session, "simulator", f"sim-{flow_id}-{lang}")
    assert contact is not None
    assert (contact.age_band, contact.years_here) == ("18-29", None)
    if any(s.type == "place" for s in flow.steps):
        assert {r.place for r in rows} == {"Elm & 5th"}
    if any(s.type == "consent" for s in flow.steps):
        assert all(r.follow_up_consent for r in rows)
    ratings = {r.item: r.value for r in rows if r.kind == "rating"}
    if flow_id == "interaction":
        assert ratings == {"respect": 4, "heard": 4, "fairness": 4, "trust": 4}
