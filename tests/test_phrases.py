"""The phrase notation agencies write triage phrases in: what each mark means, and its errors."""

from __future__ import annotations

import re

import pytest

from flows.anchors import anchors
from flows.phrases import PhraseError, compile_phrase, fold, prepare


def matches(phrase: str, message: str, marks_matter: bool = False) -> bool:
    text = prepare(message)
    form = text if marks_matter else fold(text)
    return re.search(compile_phrase(phrase, marks_matter=marks_matter), form) is not None


@pytest.mark.parametrize(
    ("phrase", "message", "expected"),
    [
        ("break in", "someone tried to BREAK IN!!", True),
        ("break in", "breakfast in bed", False),  # whole words only
        ("break/broke/breaking in/into", "they broke into the shed", True),
        ("burglar*", "two burglars next door", True),
        ("(take me off|remove me) .. list", "please take me off your mailing list", True),
        ("(take me off|remove me) .. list", "take me off of the big long mailing list", False),
        ("stop ... me", "stop sending these messages to me", True),
        ("someone? is inside", "is inside", True),
        ("help me|help us", "please help us", True),
        ("ayudenme", "AYÚDENME por favor", True),  # accents folded
        ("stop", "stoooop", True),  # a letter may repeat
        ("don't text me", "dont text me", True),  # apostrophes dropped both sides
        ("non emergency", "this is a non-emergency", True),  # punctuation is a space
        ("枪", "他有槍", True),  # Traditional read as Simplified
        ("有人 .. 闯入", "有人刚刚闯入我家", True),
        ("打911", "快打911", True),  # Han and digits in one word
        ("break in", "有人break in我家", True),  # English inside Chinese
    ],
)
def test_the_notation(phrase: str, message: str, expected: bool) -> None:
    assert matches(phrase, message) is expected


@pytest.mark.parametrize(
    ("phrase", "message", "expected"),
    [
        ("cháy nhà", "CHÁY NHÀ rồi", True),
        ("cháy nhà", "chay nha roi", True),  # typed with no marks: any marked form
        ("cháy", "đang chạy bộ", False),  # a mark the resident typed must agree
        ("dừng lại", "dung lai", True),
        ("bắn! tôi", "nó bắn tôi", True),
        ("bắn! tôi", "ban toi", False),  # "!" : only as written ("ban toi" is "my friend")
    ],
)
def test_marks_that_tell_words_apart(phrase: str, message: str, expected: bool) -> None:
    assert matches(phrase, message, marks_matter=True) is expected


@pytest.mark.parametrize(
    "phrase", ["(unclosed", "closed)", "..", "a ..", ".. a", "a .. ... b", "wo*rd", "x?", "(a|)"]
)
def test_a_phrase_the_notation_cannot_read_is_refused(phrase: str) -> None:
    with pytest.raises(PhraseError):
        compile_phrase(phrase)


def test_anchors_name_words_every_match_must_hold() -> None:
    assert anchors("(take me off|remove me) .. list") == {("word", "take"), ("word", "remove")}
    assert anchors("someone? is inside") == {("word", "is")}
    assert anchors("burglar*") == {("prefix", "burglar")}
    assert anchors("有人 .. 闯入") == {("wide", "有人")}


@pytest.mark.parametrize(
    "written", ["حريق", "الحريق", "والحريق", "بالحريق", "فحريق", "للحريق", "وبحريق", "حَرِيق"]
)
def test_an_arabic_word_matches_with_the_little_words_joined_to_it(written: str) -> None:
    """ "and", "with", "the" are written onto the next word in Arabic; marks are optional."""
    pattern = re.compile(compile_phrase("حريق"))
    assert pattern.search(fold(prepare(written)))


def test_an_arabic_word_does_not_match_inside_another() -> None:
    pattern = re.compile(compile_phrase("حريق"))
    assert not pattern.search(fold(prepare("حريقه")))  # its own suffix: only with حريق*


def test_a_korean_syllable_is_matched_whole_not_by_its_first_letter() -> None:
    """Hangul syllables decompose into letters; 불 (fire) must not match 바 or 비."""
    pattern = re.compile(compile_phrase("불이야"))
    assert pattern.search(fold(prepare("불이야!!")))
    assert not pattern.search(fold(prepare("비이야")))


def test_a_short_arabic_word_takes_no_joined_letters() -> None:
    """ما (not) must not match لما (when): joined letters are for words of three letters or more."""
    pattern = re.compile(compile_phrase("ما"))
    assert pattern.search(fold(prepare("ما بدي")))
    assert not pattern.search(fold(prepare("لما تبعتولي")))
