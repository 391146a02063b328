"""`townline flows check` on calls: texts that lose a sentence aloud, texts with nothing left
to say or a link still in them, spoken variants that belong to no text, and which languages a
call speaks. Each test builds its own small flows folder, so the shipped texts may change."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest
import yaml
from click.testing import CliRunner

from bot.cli import main
from bot.flowcheck import Findings, lint, spoken_texts
from flows.catalog import KEYWORD_GROUPS, Catalog, load_catalog
from flows.voice import REQUIRED, VoiceBook, split_sentences

LANGUAGES = ("en", "es", "ht")  # ht has no voice: not offered on calls

MESSAGES: dict[str, dict[str, str]] = {
    "welcome": {
        "en": "Hi, this is {agency}. Tell us what's on your mind.",
        "es": "Hola, somos {agency}. Cuéntenos qué le preocupa.",
        "ht": "Bonjou, se {agency}. Di nou sa k ap tracas ou.",
    },
    "menu_question": {
        "en": "What would you like to talk about? Reply with a number:",
        "es": "¿De qué le gustaría hablar? Elija un número:",
        "ht": "Sou kisa ou ta renmen pale? Reponn ak yon nimewo:",
    },
    "choice_yes": {"en": "Yes", "es": "Sí", "ht": "Wi"},
    "choice_no": {"en": "No", "es": "No", "ht": "Non"},
    "ask_place": {
        "en": "Where does it happen? Reply SKIP to leave it out.",
        "es": "¿Dónde ocurre? Puede saltar esta pregunta.",
        "ht": "Ki kote sa rive? Reponn SOTE pou kite l.",
    },
}

FLOW: dict[str, Any] = {
    "id": "parks",
    "version": 1,
    "menu": 1,
    "label": {"en": "Parks", "es": "Parques", "ht": "Pak"},
    "steps": [
        {
            "id": "what",
            "type": "open",
            "text": {
                "en": "What did you see? Write it in your own words.",
                "es": "¿Qué vio? Cuéntenos con sus palabras.",
                "ht": "Kisa ou te wè? Ekri l ak pwòp mo pa w.",
            },
        },
        {"id": "where", "type": "place", "text": "ask_place"},
        {
            "id": "hear_back",
            "type": "consent",
            "text": {
                "en": "May we tell you what we do about it?",
                "es": "¿Podemos contarle lo que hagamos?",
                "ht": "Èske nou ka di w sa nou fè?",
            },
        },
    ],
    "end": {
        "en": "Thank you. Text us any time.",
        "es": "Gracias. Escríbanos cuando quiera.",
        "ht": "Mèsi. Ekri nou nenpòt lè.",
    },
    "end_declined": {
        "en": "Thank you, we won't write back.",
        "es": "Gracias, no le escribiremos.",
        "ht": "Mèsi, nou p ap ekri w.",
    },
}

VOICE: dict[str, Any] = {
    "version": 1,
    "voices": {
        "en": {"voice": "Polly.Joanna-Neural", "language": "en-US", "speech": "en-US"},
        "es": {"voice": "Polly.Lupe-Neural", "language": "es-US", "speech": "es-US"},
        "ht": None,
    },
    "messages": {key: {"en": "Press {digit}.", "es": "Oprima {digit}."} for key in REQUIRED},
    "spoken": {
        "menu_question": {
            "en": "What would you like to talk about?",
            "es": "¿De qué le gustaría hablar?",
        },
    },
    "written": {"en": ["reply", "text us", "write"], "es": ["responda", "escríbanos"]},
}


def _keywords() -> dict[str, Any]:
    groups = {
        group: {lang: [f"{group}{n}"] for n, lang in enumerate(LANGUAGES)}
        for group in KEYWORD_GROUPS
    }
    words = {"en": ["ENGLISH"], "es": ["ESPAÑOL"], "ht": ["KREYÒL"]}
    return {"version": 1, "keywords": groups, "languages": words}


def _write(path: Path, data: dict[str, Any]) -> None:
    path.write_text(yaml.safe_dump(data, allow_unicode=True, sort_keys=False), "utf-8")


def flows_folder(
    tmp_path: Path,
    messages: dict[str, dict[str, str]] | None = None,
    flow: dict[str, Any] | None = None,
    spoken: dict[str, dict[str, str]] | None = None,
    voices: dict[str, Any] | None = None,
) -> Path:
    """A small flows folder of our own (pages and triage come from the shipped ones)."""
    folder = tmp_path / "flows"
    (folder / "topics").mkdir(parents=True)
    _write(folder / "messages.yaml", {"version": 1, "messages": {**MESSAGES, **(messages or {})}})
    _write(folder / "keywords.yaml", _keywords())
    _write(folder / "knowledge.yaml", {"version": 1, "answers": {}})
    _write(folder / "topics" / "parks.yaml", flow or FLOW)
    voice = {**VOICE, "spoken": {**VOICE["spoken"], **(spoken or {})}}
    if voices is not None:
        voice["voices"] = voices
    _write(folder / "voice.yaml", voice)
    return folder


def catalog_of(tmp_path: Path, languages: tuple[str, ...] = LANGUAGES, **changes: Any) -> Catalog:
    return load_catalog(languages, flows_folder(tmp_path, **changes))


def voice_lines(findings: Findings) -> list[str]:
    return [line for line in findings.report if line.startswith(("spoken.", "calls:", "WARNING"))]


def problems(findings: Findings) -> dict[tuple[str, str], str]:
    """(spoken key, language) -> the problem, for every voice line that reports one."""
    out = {}
    for line in findings.report:
        if line.startswith("spoken."):
            where, lang, rest = line.split(maxsplit=2)
            out[(where.removeprefix("spoken."), lang)] = rest
    return out


def test_a_text_that_loses_a_sentence_aloud_is_a_warning_naming_the_sentence(
    tmp_path: Path,
) -> None:
    findings = lint(catalog_of(tmp_path))
    found = problems(findings)
    assert found[("ask_place", "en")] == (
        'WARNING: aloud drops "Reply SKIP to leave it out." (no spoken variant)'
    )
    # Spanish is read with its own written phrases: its question reads well aloud.
    assert ("ask_place", "es") not in found
    # A flow's own texts, by the key their variant goes under.
    assert found[("parks.what", "en")].startswith('WARNING: aloud drops "Write it in your own')
    assert (
        found[("parks.end", "en")] == 'WARNING: aloud drops "Text us any time." (no spoken variant)'
    )
    assert found[("parks.end", "es")].startswith('WARNING: aloud drops "Escríbanos cuando')
    assert found[("parks.end_declined", "en")].startswith("ERROR: nothing left aloud")
    # A step that speaks a shared message is checked once, as the message.
    assert not any(key == "parks.where" for key, _ in found)
    # menu_question has a spoken variant in both voiced languages; ht is not voiced.
    assert not any(key == "menu_question" or lang == "ht" for key, lang in found)
    assert findings.warnings == len([p for p in found.values() if p.startswith("WARNING")])


def test_a_spoken_variant_silences_the_warning(tmp_path: Path) -> None:
    spoken = {
        "ask_place": {"en": "Where does it happen? You can skip this question."},
        "parks.what": {"en": "What did you see? Tell us in your own words."},
        "parks.end": {"en": "Thank you for calling.", "es": "Gracias por llamar."},
        "parks.end_declined": {"en": "Thank you. We won't call back."},
    }
    findings = lint(catalog_of(tmp_path, spoken=spoken))
    assert problems(findings) == {}
    assert (findings.errors, findings.warnings) == (0, 0)


@pytest.mark.parametrize(
    ("text", "quoted"),
    [
        ("Please reply with a number from 1 to 5.", '"Please reply with a number from 1 to 5."'),
        ("More: {url}", '"More: {url}"'),
        ("Add it to your calendar: {link}", '"Add it to your calendar: {link}"'),
    ],
)
def test_a_message_with_nothing_left_aloud_is_an_error(
    tmp_path: Path, text: str, quoted: str
) -> None:
    messages = {"lonely": {"en": text, "es": "Gracias.", "ht": "Mèsi."}}
    findings = lint(catalog_of(tmp_path, messages=messages))
    assert problems(findings)[("lonely", "en")] == (
        f"ERROR: nothing left aloud: {quoted} is written-only; add a spoken variant"
    )
    assert ("lonely", "es") not in problems(findings)
    assert findings.errors == 2  # with parks.end_declined in English


def test_a_long_dropped_sentence_is_cut_and_several_are_joined(tmp_path: Path) -> None:
    long = "Reply MEETINGS any time to see what's coming up, or STOP to stop these reminders."
    messages = {"two": {"en": f"Thanks. {long} Or write to us.", "es": "Gracias.", "ht": "Mèsi."}}
    [line] = [
        line
        for line in lint(catalog_of(tmp_path, messages=messages)).report
        if line.startswith("spoken.two")
    ]
    assert line.endswith(
        'WARNING: aloud drops "Reply MEETINGS any time to see what\'s coming up, or STOP to…"'
        ' + "Or write to us." (no spoken variant)'
    )


def test_a_spoken_variant_that_still_says_a_link_is_an_error(tmp_path: Path) -> None:
    spoken = {"welcome": {"en": "Hi, this is {agency}. See www.springfield.gov for more."}}
    findings = lint(catalog_of(tmp_path, spoken=spoken))
    assert problems(findings)[("welcome", "en")] == (
        "ERROR: spoken variant still says a link ('www.')"
    )


def test_a_variant_for_no_text_is_a_warning_with_a_hint(tmp_path: Path) -> None:
    spoken = {
        "ask_plaec": {"en": "Where does it happen?"},  # a typo
        "parks.wher": {"es": "¿Dónde?"},  # a step that is not there
        "parks.where": {"en": "Where?"},  # the step speaks ask_place: never said
    }
    findings = lint(catalog_of(tmp_path, spoken=spoken))
    found = problems(findings)
    assert found[("ask_plaec", "en")] == (
        "WARNING: is no message id or flow text (flow.step, flow.end) (did you mean ask_place?)"
    )
    assert found[("parks.wher", "es")].startswith("WARNING: is no message id or flow text")
    assert found[("parks.where", "en")] == (
        "WARNING: never said: this step speaks message ask_place; put the variant there"
    )


def test_the_voices_and_the_languages_not_offered_on_calls_are_an_info_line(
    tmp_path: Path,
) -> None:
    findings = lint(catalog_of(tmp_path))
    [info] = [line for line in findings.report if line.startswith("calls:")]
    assert info == (
        "calls: en Polly.Joanna-Neural, es Polly.Lupe-Neural;"
        " not offered on calls: ht (callers hear en)"
    )
    assert "WARNING" not in info
    assert "ERROR" not in info
    assert findings.voices == {"en": "Polly.Joanna-Neural", "es": "Polly.Lupe-Neural"}
    # The voice section comes before the closing totals.
    report = findings.report
    assert report.index(info) < len(report) - 1
    assert report[-1].startswith("every message once, segments:")


def test_every_language_voiced_says_so_without_a_not_offered_part(tmp_path: Path) -> None:
    findings = lint(catalog_of(tmp_path, languages=("en", "es")))
    [info] = [line for line in findings.report if line.startswith("calls:")]
    assert info == "calls: en Polly.Joanna-Neural, es Polly.Lupe-Neural"


def test_a_first_language_without_a_voice_is_a_warning(tmp_path: Path) -> None:
    warning = (
        "WARNING: ht, the first language, has no voice in voice.yaml:"
        " with Twilio set up, the line will not start"
    )
    findings = lint(catalog_of(tmp_path / "a", languages=("ht", "en")))
    assert "calls: en Polly.Joanna-Neural; not offered on calls: ht" in findings.report
    assert warning in findings.report
    alone = lint(catalog_of(tmp_path / "b", languages=("ht",)))
    assert voice_lines(alone) == ["calls: no configured language has a voice", warning]
    assert (alone.errors, alone.warnings) == (0, 1)  # and nothing is checked aloud


def test_the_spoken_keys_are_message_ids_and_the_flows_own_texts(tmp_path: Path) -> None:
    keys = set(spoken_texts(catalog_of(tmp_path)))
    assert keys == {*MESSAGES, "parks.what", "parks.hear_back", "parks.end", "parks.end_declined"}


def test_the_command_fails_on_a_voice_error_and_counts_it(
    database_url: str, monkeypatch: pytest.MonkeyPatch, tmp_path: Path
) -> None:
    monkeypatch.chdir(tmp_path)
    folder = flows_folder(tmp_path)
    env = {
        "DATABASE_URL": database_url,
        "TOWNLINE_FLOWS_DIR": str(folder),
        "TOWNLINE_LANGUAGES": ",".join(LANGUAGES),
    }
    result = CliRunner().invoke(main, ["flows", "check"], env=env)
    assert result.exit_code == 1, result.output
    assert "calls: en Polly.Joanna-Neural, es Polly.Lupe-Neural; not offered on calls: ht" in (
        result.output
    )
    assert "spoken.parks.end_declined" in result.output
    # ask_place en, parks.what en, parks.end en+es; parks.end_declined en is the error.
    assert result.output.rstrip().endswith("1 flows in 3 languages: 1 errors, 4 warnings")


def test_a_link_or_a_number_with_a_point_is_not_cut_into_sentences() -> None:
    assert split_sentences("Details at https://city.gov/townhall.html today. Call 311.") == [
        "Details at https://city.gov/townhall.html today.",
        "Call 311.",
    ]
    assert split_sentences("Starts at 6.30 pm! Bring a friend?Yes.") == [
        "Starts at 6.30 pm!",
        "Bring a friend?Yes.",
    ]
    assert split_sentences("会议在图书馆。欢迎参加！") == ["会议在图书馆。", "欢迎参加！"]


def test_a_list_is_said_line_by_line_and_a_listed_link_is_left_off() -> None:
    book = VoiceBook(written={"en": ("reply",)})
    text = "Meetings:\nTown hall, Thu 6:30 pm, Library / https://meet.example.org/x\nWalk, Sat"
    assert book.aloud(text, "en") == "Meetings: Town hall, Thu 6:30 pm, Library. Walk, Sat"
    # A link that is what the sentence says is not half-said: the sentence goes.
    assert book.aloud("Thanks! Read more at https://city.gov/x. Reply STOP.", "en") == "Thanks!"
    assert book.speakable("https://city.gov/only-a-link", "en") == ""
    said = book.speakable("Patrols start Monday: https://city.gov/x", "en")
    assert said == "Patrols start Monday:"
