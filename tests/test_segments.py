"""Segment counts must match Twilio's calculator, the reference Twilio publishes for its billing.

Cases marked "calculator" are ported from TwilioDevEd/message-segment-calculator (tests/
index.test.js, segments.test.js, methods.test.js, charDetails.test.js); cases marked "live" are
its manual test plan (scripts/manual-test-plan.js), which issue #66 reports Twilio billed 16/16
as predicted. Bodies are built from escapes so invisible characters survive copy and paste.
"""

from __future__ import annotations

import unicodedata

import pytest

from bot.segments import SegmentInfo, count_segments, gsm7_replacement, is_gsm7

DIGITS = "1234567890" * 31
WINK = "\U0001f61c"  # 😜, two UTF-16 units
GRIN = "\U0001f600"  # 😀
FLAG_IT = "\U0001f1ee\U0001f1f9"  # 🇮🇹, one grapheme of four units
RAINBOW_FLAG = "\U0001f3f3\ufe0f\u200d\U0001f308"  # 🏳️‍🌈, one grapheme of six units
TRIPLE_ACCENT = "e\u0301\u0301\u0301"  # one grapheme of four units
GSM7_ESCAPES = ["|", "^", "€", "{", "}", "[", "]", "~", "\\"]


def smart_encode(text: str) -> str:
    """What Twilio's Smart Encoding sends instead of the text."""
    return "".join(r if (r := gsm7_replacement(ch)) is not None else ch for ch in text)


def nfc(text: str) -> str:
    """Precomposed form, whatever the editor saved."""
    return unicodedata.normalize("NFC", text)


# calculator "Basic tests": body, encoding, segments, messageSize and totalSize in bits.
@pytest.mark.parametrize(
    ("body", "encoding", "segments", "message_bits", "total_bits"),
    [
        pytest.param(DIGITS[:160], "GSM-7", 1, 1120, 1120, id="GSM-7 in one segment"),
        pytest.param(DIGITS[:161], "GSM-7", 2, 1127, 1223, id="GSM-7 in two segments"),
        pytest.param(DIGITS[:307], "GSM-7", 3, 2149, 2293, id="GSM-7 in three segments"),
        pytest.param(WINK + DIGITS[1:69], "UCS-2", 1, 1120, 1120, id="UCS-2 in one segment"),
        pytest.param(WINK + DIGITS[1:70], "UCS-2", 2, 1136, 1232, id="UCS-2 in two segments"),
        pytest.param(WINK + DIGITS[1:134], "UCS-2", 3, 2160, 2304, id="UCS-2 in three segments"),
        pytest.param(FLAG_IT + DIGITS[1:67], "UCS-2", 1, 1120, 1120, id="flag, one segment"),
        pytest.param(FLAG_IT + DIGITS[1:68], "UCS-2", 2, 1136, 1232, id="flag, two segments"),
        pytest.param(RAINBOW_FLAG + DIGITS[1:65], "UCS-2", 1, 1120, 1120, id="ZWJ, one segment"),
        pytest.param(RAINBOW_FLAG + DIGITS[1:66], "UCS-2", 2, 1136, 1232, id="ZWJ, two segments"),
    ],
)
def test_calculator_basic_cases(
    body: str, encoding: str, segments: int, message_bits: int, total_bits: int
) -> None:
    info = count_segments(body)
    assert info.encoding == encoding
    assert info.segments == segments
    assert info.units * (7 if encoding == "GSM-7" else 16) == message_bits
    # Every part of a split message carries a 48-bit header; a lone segment has none.
    assert message_bits + (48 * segments if segments > 1 else 0) == total_bits


# calculator "GSM-7 Escape Characters": an escape pair costs two septets.
@pytest.mark.parametrize("escape", GSM7_ESCAPES)
@pytest.mark.parametrize(("digits", "segments", "units"), [(158, 1, 160), (159, 2, 161)])
def test_calculator_escape_characters(escape: str, digits: int, segments: int, units: int) -> None:
    assert count_segments(escape + DIGITS[:digits]) == SegmentInfo("GSM-7", segments, units, (), ())


# calculator "One grapheme UCS-2 characters": accented letters GSM 03.38 lacks.
@pytest.mark.parametrize("letter", ["Á", "Ú", "ú", "ç", "í", "Í", "ó", "Ó"])
@pytest.mark.parametrize(("repeat", "segments"), [(70, 1), (71, 2)])
def test_calculator_letters_outside_gsm7(letter: str, repeat: int, segments: int) -> None:
    info = count_segments(letter * repeat)
    assert (info.encoding, info.segments, info.units) == ("UCS-2", segments, repeat)
    assert info.forcing_chars == (letter,)
    assert info.needless_chars == ()


@pytest.mark.parametrize(
    ("body", "encoding", "segments", "units"),
    [
        # calculator "Special tests" (issue #18): escapes cost one unit, not two, in UCS-2.
        pytest.param(GRIN + "]" * 68, "UCS-2", 1, 70, id="calculator: UCS-2 with ] x68"),
        pytest.param(GRIN + "]" * 69, "UCS-2", 2, 71, id="calculator: UCS-2 with ] x69"),
        # calculator "Line break styles tests": CR and LF are one septet each.
        pytest.param("\rabcde\r\n123", "GSM-7", 1, 11, id="calculator: CRLF"),
        pytest.param("\nabcde\n\n123\n", "GSM-7", 1, 12, id="calculator: LF"),
        # calculator issue #17: a letter with three combining accents is one grapheme.
        pytest.param(TRIPLE_ACCENT, "UCS-2", 1, 4, id="calculator: triple accent"),
        pytest.param(TRIPLE_ACCENT + "a" * 66, "UCS-2", 1, 70, id="calculator: triple accent 1"),
        pytest.param(TRIPLE_ACCENT + "a" * 67, "UCS-2", 2, 71, id="calculator: triple accent 2"),
        # calculator segments.test.js: 153 septets or 67 units per part once split.
        pytest.param(DIGITS[:306], "GSM-7", 2, 306, id="calculator: 153 x 2"),
        pytest.param(DIGITS[:307], "GSM-7", 3, 307, id="calculator: 153 x 2 + 1"),
        pytest.param(WINK + DIGITS[1:133], "UCS-2", 2, 134, id="calculator: 67 x 2"),
        pytest.param(WINK + DIGITS[1:134], "UCS-2", 3, 135, id="calculator: 67 x 2 + 1"),
        # calculator charDetails.test.js (issue #57): 70 units fit one UCS-2 segment.
        pytest.param(
            "|" * 24 + "{" + "|" * 28 + "\u221e" + "|" * 10 + "^" + "|" * 5,
            "UCS-2",
            1,
            70,
            id="calculator: extension chars in UCS-2",
        ),
        pytest.param("A" * 161, "GSM-7", 2, 161, id="calculator: A x161"),
        pytest.param("", "GSM-7", 1, 0, id="calculator: empty body"),
        # live (manual test plan, issue #66): what Twilio actually billed.
        pytest.param("a" * 80 + "\r\n" + "a" * 79, "GSM-7", 2, 161, id="live 1a: CRLF is 2"),
        pytest.param("a" * 80 + "\n" + "a" * 79, "GSM-7", 1, 160, id="live 1b: LF is 1"),
        pytest.param("a" * 200 + "\r\n" + "a" * 105, "GSM-7", 3, 307, id="live 1c: CRLF at 2/3"),
        pytest.param("\u00e9" * 70, "GSM-7", 1, 70, id="live 2a: precomposed e-acute"),
        pytest.param("e\u0301" * 70, "UCS-2", 3, 140, id="live 2b: decomposed e-acute"),
        pytest.param("e\u0301", "UCS-2", 1, 2, id="live 2c: one decomposed e-acute"),
        pytest.param("\u201cHi\u201d", "UCS-2", 1, 4, id="live 3a: curly quotes"),
        pytest.param("a\u201e\u200cbc", "UCS-2", 1, 5, id="live 3c: low quote and ZWNJ"),
        pytest.param(GRIN + "|", "UCS-2", 1, 3, id="live 4: emoji and pipe"),
        pytest.param("a" * 160, "GSM-7", 1, 160, id="live 5a: a x160"),
        pytest.param("a" * 161, "GSM-7", 2, 161, id="live 5b: a x161"),
        pytest.param("\u4e2d" * 70, "UCS-2", 1, 70, id="live 5c: Chinese x70"),
        pytest.param("\u4e2d" * 71, "UCS-2", 2, 71, id="live 5d: Chinese x71"),
        pytest.param("|", "GSM-7", 1, 2, id="live 5e: one pipe"),
        # calculator issue #39, which Twilio billed as 3: 306 septets, but pairs don't split.
        pytest.param("]" * 153, "GSM-7", 3, 306, id="live: ] x153"),
    ],
)
def test_published_cases(body: str, encoding: str, segments: int, units: int) -> None:
    info = count_segments(body)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)


@pytest.mark.parametrize(
    ("body", "segments", "units"),
    [
        ("\u201cHi\u201d", 1, 4),  # live 3b
        ("a\u201e\u200cbc", 1, 4),  # live 3d: the ZWNJ is dropped
    ],
)
def test_live_cases_with_smart_encoding(body: str, segments: int, units: int) -> None:
    assert count_segments(smart_encode(body)) == SegmentInfo("GSM-7", segments, units, (), ())


@pytest.mark.parametrize(
    ("body", "encoding", "segments", "units"),
    [
        # GSM-7 lone segment: 160 septets, an escape pair counting two.
        pytest.param("a" * 158 + "{", "GSM-7", 1, 160, id="escape at the end of 160"),
        pytest.param("a" * 159 + "{", "GSM-7", 2, 161, id="escape past 160"),
        pytest.param("\f" * 80, "GSM-7", 1, 160, id="form feed costs two"),
        # Once split, 153 septets per part, and an escape pair never straddles two parts.
        pytest.param("a" * 151 + "{" + "a" * 153, "GSM-7", 2, 306, id="escape ends part 1"),
        pytest.param("a" * 152 + "{" + "a" * 152, "GSM-7", 3, 306, id="escape would straddle"),
        pytest.param("]" * 152, "GSM-7", 2, 304, id="76 escape pairs per part"),
        # UCS-2 lone segment: 70 units, an emoji counting two.
        pytest.param("a" * 68 + GRIN, "UCS-2", 1, 70, id="emoji at the end of 70"),
        pytest.param("a" * 69 + GRIN, "UCS-2", 2, 71, id="emoji past 70"),
        # Once split, 67 units per part, and a surrogate pair never straddles two parts.
        pytest.param("a" * 65 + GRIN + "a" * 67, "UCS-2", 2, 134, id="emoji ends part 1"),
        pytest.param("a" * 66 + GRIN + "a" * 66, "UCS-2", 3, 134, id="emoji would straddle"),
        # The calculator keeps whole graphemes together, so a flag is not split either.
        pytest.param("a" * 63 + FLAG_IT + "a" * 67, "UCS-2", 2, 134, id="flag ends part 1"),
        pytest.param("a" * 65 + FLAG_IT + "a" * 65, "UCS-2", 3, 134, id="flag would straddle"),
        pytest.param("\u4e2d" * 134, "UCS-2", 2, 134, id="Chinese x134"),
        pytest.param("\u4e2d" * 135, "UCS-2", 3, 135, id="Chinese x135"),
        # An escaped surrogate pair reads as the emoji it encodes, as it would in JavaScript.
        pytest.param("\ud83d\ude00" + "a" * 68, "UCS-2", 1, 70, id="surrogate escapes"),
    ],
)
def test_segment_boundaries(body: str, encoding: str, segments: int, units: int) -> None:
    info = count_segments(body)
    assert (info.encoding, info.segments, info.units) == (encoding, segments, units)


def test_empty_body_is_one_gsm7_segment() -> None:
    # The calculator always opens a first segment; Twilio itself refuses an empty body (21602).
    assert count_segments("") == SegmentInfo("GSM-7", 1, 0, (), ())


# calculator methods.test.js, getNonGsmCharacters().
@pytest.mark.parametrize(
    ("body", "forcing"),
    [
        ("m\u00e1s", ("\u00e1",)),
        ("a b\nc\r\nd " + GRIN, (GRIN,)),
        (WINK + DIGITS[1:69], (WINK,)),
        (RAINBOW_FLAG + " ok " + FLAG_IT, (RAINBOW_FLAG, FLAG_IT)),
        ("e\u0301t\u00e9", ("e\u0301",)),
    ],
)
def test_forcing_chars_are_whole_graphemes(body: str, forcing: tuple[str, ...]) -> None:
    assert count_segments(body).forcing_chars == forcing


SPANISH_GSM7 = nfc("¡Qué bien! El niño y la cigüeña llegan mañana. ¿Vienes?")
SPANISH_UCS2 = nfc("¿Dónde está la comisaría? Necesito ayuda ahora mismo, por favor.")
VIETNAMESE = nfc("Xin chào, tôi cần giúp đỡ. Có người lạ đứng trước cửa nhà tôi từ tối qua.")
CHINESE = "请帮忙，我的车昨晚在超市门口被偷了。"


def test_spanish_with_gsm7_accents_stays_gsm7() -> None:
    # GSM 03.38 has é ñ ü ¿ ¡ (and è ù ì ò à), so this costs one 160-septet segment.
    assert is_gsm7(SPANISH_GSM7)
    info = count_segments(SPANISH_GSM7)
    assert info == SegmentInfo("GSM-7", 1, len(SPANISH_GSM7), (), ())


def test_spanish_with_acute_vowels_is_ucs2() -> None:
    # ó á í are not in GSM 03.38 and Smart Encoding leaves accented letters alone.
    info = count_segments(SPANISH_UCS2)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", 64, 1)
    assert info.forcing_chars == ("\u00f3", "\u00e1", "\u00ed")
    assert info.needless_chars == ()
    assert count_segments(SPANISH_UCS2 + "!" * 6).segments == 1
    assert count_segments(SPANISH_UCS2 + "!" * 7).segments == 2


def test_vietnamese_is_ucs2_except_its_gsm7_letters() -> None:
    info = count_segments(VIETNAMESE)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", len(VIETNAMESE), 2)
    assert len(VIETNAMESE) == 73  # over 70, so two parts
    # à is GSM-7, so it is not among the characters that forced UCS-2.
    assert "\u00e0" in VIETNAMESE
    assert "\u00e0" not in info.forcing_chars
    assert info.forcing_chars[:5] == ("ô", "ầ", "ú", "đ", "ỡ")
    assert info.needless_chars == ()


def test_decomposed_vietnamese_is_never_needless() -> None:
    # NFD ỡ is o + horn + combining tilde; U+0303 alone has a Smart Encoding entry (~), but a
    # whole accented letter is never a look-alike.
    decomposed = unicodedata.normalize("NFD", VIETNAMESE)
    info = count_segments(decomposed)
    assert info.encoding == "UCS-2"
    assert unicodedata.normalize("NFD", "ỡ") in info.forcing_chars
    assert info.needless_chars == ()
    assert info.units == len(decomposed)


def test_chinese_punctuation_is_needless_but_the_words_are_not() -> None:
    info = count_segments(CHINESE)
    assert (info.encoding, info.units, info.segments) == ("UCS-2", 18, 1)
    assert info.forcing_chars == tuple(CHINESE)  # 18 distinct characters
    assert info.needless_chars == ("\uff0c", "\u3002")
    assert count_segments(CHINESE * 4).segments == 2  # 72 units
    assert count_segments(CHINESE * 3 + CHINESE[:16]).segments == 1  # 70 units


@pytest.mark.parametrize(
    ("body", "forcing", "needless"),
    [
        pytest.param("\u201cHi\u201d", ("\u201c", "\u201d"), ("\u201c", "\u201d"), id="quotes"),
        pytest.param(
            "Can\u2019t come \u2014 sorry\u2026",
            ("\u2019", "\u2014", "\u2026"),
            ("\u2019", "\u2014", "\u2026"),
            id="apostrophe, dash, ellipsis",
        ),
        pytest.param(
            "\u201ca\u201d \u201cb\u201d", ("\u201c", "\u201d"), ("\u201c", "\u201d"), id="unique"
        ),
        pytest.param("a\u00a0b\u2013c", ("\u00a0", "\u2013"), ("\u00a0", "\u2013"), id="nbsp"),
        pytest.param(
            nfc("Está bien\u2019"), ("\u00e1", "\u2019"), ("\u2019",), id="accent is not needless"
        ),
        pytest.param(
            "Thanks " + GRIN + " \u2013 bye", (GRIN, "\u2013"), ("\u2013",), id="emoji is not"
        ),
        pytest.param("ma\u00f1ana n\u0303", ("n\u0303",), (), id="decomposed letter is not"),
        pytest.param("Plain GSM-7 {text} \u20ac5", (), (), id="nothing forced"),
    ],
)
def test_needless_chars(body: str, forcing: tuple[str, ...], needless: tuple[str, ...]) -> None:
    info = count_segments(body)
    assert info.forcing_chars == forcing
    assert info.needless_chars == needless


def test_replacing_needless_chars_brings_back_gsm7() -> None:
    body = "Your report \u201c#4521\u201d was received \u2014 an officer will call you\u2026"
    info = count_segments(body)
    assert info.encoding == "UCS-2"
    assert info.needless_chars == info.forcing_chars
    assert count_segments(smart_encode(body)).encoding == "GSM-7"


@pytest.mark.parametrize(
    ("char", "replacement"),
    [
        ("\u201c", '"'),  # “
        ("\u201d", '"'),  # ”
        ("\u00ab", '"'),  # «
        ("\u201e", '"'),  # „
        ("\u2018", "'"),  # ‘
        ("\u2019", "'"),  # ’
        ("`", "'"),  # backtick, absent from GSM 03.38
        ("\u2013", "-"),  # en dash
        ("\u2014", "-"),  # em dash
        ("\u2022", "-"),  # bullet
        ("\u2026", "..."),  # ellipsis
        ("\u2017", "_"),  # double low line
        ("\u2039", "<"),  # ‹ (fixed in calculator v1.3.0, PR #58)
        ("\u203a", ">"),  # ›
        ("\u00bd", "1/2"),
        ("\u00a0", "  "),  # no-break space: two spaces, as in the calculator's table
        ("\u2028", " "),
        ("\t", " " * 7),
        ("\u200b", ""),  # zero width space
        ("\u200c", ""),  # zero width non-joiner (calculator v1.3.0, PR #49)
        ("\ufeff", ""),  # byte order mark
        ("\uff21", "A"),  # fullwidth A
        ("\u1d00", "A"),  # small capital A
        ("\uff19", "9"),  # fullwidth 9
        ("\uff3c", "\\"),
        ("\u3002", "."),  # ideographic full stop
        ("\uff0c", ","),  # fullwidth comma
    ],
)
def test_gsm7_replacement(char: str, replacement: str) -> None:
    assert gsm7_replacement(char) == replacement


@pytest.mark.parametrize("letter", [*"áíóúÁÍÓÚçêãõôđơưÿ", "e\u0301", "ab"])
def test_no_replacement_for_accented_letters(letter: str) -> None:
    assert gsm7_replacement(letter) is None


def test_replacement_table_only_maps_non_gsm7_to_gsm7() -> None:
    mapped = {ch: r for cp in range(0x10000) if (r := gsm7_replacement(ch := chr(cp))) is not None}
    assert len(mapped) == 271  # the calculator's 270 entries plus U+200C
    assert not any(is_gsm7(ch) for ch in mapped)
    assert all(is_gsm7(r) for r in mapped.values())


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("", True),
        ("@£$¥èéùìòÇ\nØø\rÅåΔ_ΦΓΛΩΠΨΣΘΞÆæßÉ !\"#¤%&'()*+,-./:;<=>?", True),
        ("¡ABCXYZÄÖÑÜ§¿abcxyzäöñüà0123456789", True),
        ("^{}\\[~]|€\f", True),
        ("`", False),
        ("\t", False),
        ("ç", False),
        ("\u00e1", False),
        ("e\u0301", False),
        ("\u0391", False),  # Greek capital alpha: GSM has only the non-Latin-looking capitals
        (GRIN, False),
    ],
)
def test_is_gsm7(text: str, expected: bool) -> None:
    assert is_gsm7(text) is expected
