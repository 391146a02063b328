"""How the line speaks on a call: voices per language, words only a call says, and the
spoken form of messages written for a screen. Loaded with the flows and checked the same way.

A message is spoken from its `spoken` variant when it has one; otherwise its sentences that
hold a phrase only writing understands ("Reply with a number") are left out, because the
call says how to answer in its own words ("For safety, press 1").
"""

from __future__ import annotations

import re
import string
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import yaml

Text = Mapping[str, str]
VOICE_NAME = re.compile(r"^(Polly|Google)\.[A-Za-z0-9.-]{2,60}$|^(man|woman|alice)$")
LANGUAGE_CODE = re.compile(r"^[a-z]{2,3}(-[A-Za-z0-9]{2,8}){0,3}$")
# Words a call must be able to say; `{digit}`/`{label}` are filled by the voice channel.
REQUIRED = (
    "voice_not_emergency",
    "voice_pick_language",
    "voice_press",
    "voice_press_scale",
    "voice_speak",
    "voice_no_input",
    "voice_more",
    "voice_goodbye",
    "voice_call_intro",
    "voice_call_options",
    "voice_call_goodbye",
    "voice_call_more",
    "voice_call_or_text",
    "voice_by_text",
    "voice_texts_stopped",
    "voice_stopped",
)
PLACEHOLDERS = {"agency", "digit", "label", "title", "when", "where", "count", "partner"}
# Sentence ends in the scripts Townline speaks (Latin, CJK, Arabic).
# Latin full stops end a sentence only before a space (not inside "example.org/a.b").
_SENTENCE = re.compile(r"(?<=[.!?])\s+|(?<=[。！？؟])\s*")
URL = re.compile(r"https?://|\{(link|url)\}|www\.", re.IGNORECASE)
LINK = re.compile(r"(?:https?://|www\.)\S+", re.IGNORECASE)
# A link given as one item of a list ("Main Library / https://…", "…, 6:30 pm, https://…").
LISTED_LINK = re.compile(r"\s*[,/|·]\s*(?:https?://|www\.)\S+", re.IGNORECASE)


@dataclass(frozen=True)
class Voice:
    """Who reads a language aloud, and what speech recognition listens for."""

    voice: str  # Twilio's name: Polly.Joanna-Neural, Google.vi-VN-Standard-A …
    language: str  # the <Say> language (BCP-47)
    speech: str  # the <Gather> speech recognition language


@dataclass(frozen=True)
class VoiceBook:
    """Everything a call needs from the flows, for the configured languages."""

    voices: Mapping[str, Voice] = field(default_factory=dict)  # voiced languages only
    messages: Mapping[str, Text] = field(default_factory=dict)
    spoken: Mapping[str, Text] = field(default_factory=dict)
    written: Mapping[str, tuple[str, ...]] = field(default_factory=dict)

    def voiced(self, language: str) -> bool:
        return language in self.voices

    def text(self, message_id: str, language: str, **values: str) -> str:
        """A call-only message, filled."""
        return _fill(self.messages[message_id][language], values)

    def variant(self, key: str, language: str, **values: str) -> str | None:
        """The spoken variant of a message or flow text, when the flows give one."""
        text = self.spoken.get(key, {}).get(language)
        return _fill(text, values) if text else None

    def aloud(self, text: str, language: str) -> str:
        """Text written for a screen, as it can be said: written-only sentences left out,
        and a link listed beside a place ("Library / https://…") left off its line."""
        phrases = self.written.get(language, ())
        kept = []
        for sentence in split_sentences(text):
            sentence = LISTED_LINK.sub("", sentence).strip()
            if sentence and not written_only(sentence, phrases):
                kept.append(sentence)
        # Lines of a list run together aloud unless each ends as a sentence does.
        return " ".join([_ended(s) for s in kept[:-1]] + kept[-1:]).strip()

    def speakable(self, text: str, language: str) -> str:
        """What a call says of any text (a follow-up staff wrote, a reminder): as much as
        reads aloud, else the text without its links; never a link read letter by letter."""
        return self.aloud(text, language) or LINK.sub("", text).strip()


def split_sentences(text: str) -> list[str]:
    """Sentences, and each line of a list as one of its own."""
    return [s.strip() for line in text.splitlines() for s in _SENTENCE.split(line) if s.strip()]


def _ended(sentence: str) -> str:
    if sentence[-1] in ".!?。！？؟:;…":
        return sentence
    return sentence + ("。" if "\u3000" <= sentence[-1] <= "\u9fff" else ".")


def written_only(sentence: str, phrases: Sequence[str]) -> bool:
    """Whether a sentence only makes sense on a screen (a reply keyword, a link)."""
    folded = sentence.casefold()
    return bool(URL.search(sentence)) or any(
        re.search(rf"(?<!\w){re.escape(p.casefold())}(?!\w)", folded) for p in phrases
    )


def _fill(template: str, values: Mapping[str, str]) -> str:
    class Defaulting(dict[str, str]):
        def __missing__(self, key: str) -> str:
            return ""

    return string.Formatter().vformat(template, (), Defaulting(values))


def load_voice(path: Path, languages: Sequence[str], fail: Callable[[str, str], None]) -> VoiceBook:
    """Read voice.yaml for the configured languages; every problem goes to `fail`."""
    if not path.exists():
        return VoiceBook()
    data: Any = yaml.safe_load(path.read_text(encoding="utf-8")) or {}
    if not isinstance(data, dict):
        fail("voice.yaml", "must be a mapping")
        return VoiceBook()
    voices = _voices(data.get("voices") or {}, languages, fail)
    messages: dict[str, dict[str, str]] = {}
    raw_messages = data.get("messages") or {}
    for key in REQUIRED:
        if key not in raw_messages:
            fail(f"voice.yaml messages {key}", "missing")
    for key, value in raw_messages.items():
        messages[key] = _texts(f"voice.yaml messages {key}", value, list(voices), fail, True)
    spoken = {
        str(key): _texts(f"voice.yaml spoken {key}", value, list(voices), fail, False)
        for key, value in (data.get("spoken") or {}).items()
    }
    written: dict[str, tuple[str, ...]] = {}
    for lang, phrases in (data.get("written") or {}).items():
        if not isinstance(phrases, list) or not all(isinstance(p, str) and p for p in phrases):
            fail(f"voice.yaml written {lang}", "must be a list of phrases")
            continue
        written[str(lang)] = tuple(phrases)
    return VoiceBook(voices=voices, messages=messages, spoken=spoken, written=written)


def _voices(
    raw: Any, languages: Sequence[str], fail: Callable[[str, str], None]
) -> dict[str, Voice]:
    if not isinstance(raw, dict):
        fail("voice.yaml voices", "must map each language to a voice, or null")
        return {}
    voices: dict[str, Voice] = {}
    for lang in languages:
        item = raw.get(lang)
        if item is None:
            continue  # not voiced: Twilio has no voice for it, or none is set yet
        where = f"voice.yaml voices {lang}"
        if not isinstance(item, dict):
            fail(where, "must be {voice, language, speech}")
            continue
        voice, code = item.get("voice"), item.get("language")
        speech = item.get("speech") or code
        if not isinstance(voice, str) or not VOICE_NAME.match(voice):
            fail(where, f"voice {voice!r} is not a Twilio voice name (Polly.…, Google.…)")
            continue
        if not all(isinstance(c, str) and LANGUAGE_CODE.match(c) for c in (code, speech)):
            fail(where, "language and speech must be language codes like en-US")
            continue
        voices[lang] = Voice(voice=voice, language=code, speech=speech)
    return voices


def _texts(
    where: str,
    value: Any,
    languages: Sequence[str],
    fail: Callable[[str, str], None],
    required: bool,
) -> dict[str, str]:
    if not isinstance(value, dict):
        fail(where, "must map languages to text")
        return {}
    out: dict[str, str] = {}
    for lang in languages:
        text = value.get(lang)
        if text is None:
            if required:
                fail(where, f"missing text in '{lang}'")
            continue
        if not isinstance(text, str) or not text.strip():
            fail(where, f"'{lang}' must be text")
            continue
        names = {n for _, n, _, _ in string.Formatter().parse(text) if n}
        if unknown := names - PLACEHOLDERS:
            fail(where, f"'{lang}' has unknown placeholders {sorted(unknown)}")
        out[lang] = text
    return out
