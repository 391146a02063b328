"""Count SMS segments exactly as Twilio bills them, so replies can be kept short and cheap.

This is a port of Twilio's own calculator (github.com/TwilioDevEd/message-segment-calculator,
v1.3.0: src/libs/SegmentedMessage.ts, Segment.ts, EncodedChar.ts, UnicodeToGSM.ts,
SmartEncodingMap.ts), whose counts Twilio checked against live billing. The rules it encodes:

* GSM-7: 160 septets in a lone segment, 153 per segment once split (a 6-octet header is added).
  The extension characters ``^ { } \\ [ ] ~ | €`` and form feed cost two septets (escape + char)
  and an escape pair is never split across segments.
* One character outside GSM-7 makes the whole message UCS-2: 70 UTF-16 code units in a lone
  segment, 67 per segment once split. Characters outside the BMP (emoji) cost two code units.
* The unit that is never split across segments is the *grapheme* (user-perceived character),
  so a surrogate pair, a flag or an emoji ZWJ sequence stays whole, exactly like the calculator,
  which splits with the npm ``grapheme-splitter`` package (Unicode 10 rules). A multi-code-point
  grapheme (say ``e`` + U+0301) is always UCS-2, even when NFC would give a GSM-7 letter;
  Twilio bills decomposed accents that way too (calculator issue #66, checked on live Twilio).
* ``\\r\\n`` counts as two characters; the calculator splits that grapheme back in two.
"""

from __future__ import annotations

import unicodedata
from collections.abc import Sequence
from dataclasses import dataclass

GSM7 = "GSM-7"
UCS2 = "UCS-2"

_SEGMENT_BITS = 1120  # 140 octets
_HEADER_BITS = 48  # the 6-octet concatenation header Twilio adds to every part of a split message

# GSM 03.38 default alphabet (one septet each), as in the calculator's UnicodeToGSM.ts. It holds
# é è ù ì ò à ñ ü ä ö å æ ø ß, É Ñ Ü Ä Ö Å Æ Ø Ç and ¿ ¡, but not á í ó ú, not lower-case ç,
# and not the backtick.
_GSM7_BASIC = frozenset(
    "\n\r !\"#$%&'()*+,-./0123456789:;<=>?@ABCDEFGHIJKLMNOPQRSTUVWXYZ_abcdefghijklmnopqrstuvwxyz"
    "¡£¤¥§¿ÄÅÆÇÉÑÖØÜßàäåæèéìñòöøùü"
    "ΓΔΘΛΞΠΣΦΨΩ"
)
# The extension table: each costs an escape septet plus its own.
_GSM7_EXTENSION = frozenset("\f[\\]^{|}~€")


def _lookalike_table() -> dict[str, str]:
    """Build Twilio's Smart Encoding table from (replacement, look-alikes) groups, for review."""
    groups: tuple[tuple[str, str], ...] = (
        ('"', "\u00ab\u00bb\u201c\u201d\u02ba\u02ee\u201f\u201e\u275d\u275e\u301d\u301e\uff02"),
        (
            "'",
            "\u2018\u2019\u02bb\u02c8\u02bc\u02bd\u02b9\u201b\uff07\u00b4\u02ca\u0060\u02cb"
            "\u275b\u275c\u0313\u0314\ufe10\ufe11",
        ),
        ("/", "\u00f7\u29f8\u0337\u0338\u2044\u2215\uff0f"),
        ("1/4", "\u00bc"),
        ("1/2", "\u00bd"),
        ("3/4", "\u00be"),
        ("\\", "\u29f9\u29f5\u20e5\ufe68\uff3c"),
        ("_", "\u0332\uff3f\u2017"),
        ("|", "\u20d2\u20d3\u2223\uff5c\u23b8\u23b9\u23d0\u239c\u239f"),
        ("-", "\u23bc\u23bd\u2015\ufe63\uff0d\u2010\u2043\u2014\u2013\u2022"),
        ("@", "\ufe6b\uff20"),
        ("$", "\ufe69\uff04"),
        ("!", "\u01c3\ufe15\ufe57\uff01"),
        ("#", "\ufe5f\uff03"),
        ("%", "\ufe6a\uff05"),
        ("&", "\ufe60\uff06"),
        (",", "\u201a\u0326\ufe50\ufe51\uff0c\uff64\u3001"),
        ("(", "\u2768\u276a\ufe59\uff08\u27ee\u2985"),
        (")", "\u2769\u276b\ufe5a\uff09\u27ef\u2986"),
        (
            "*",
            "\u204e\u2217\u229b\u2722\u2723\u2724\u2725\u2731\u2732\u2733\u273a\u273b\u273c"
            "\u273d\u2743\u2749\u274a\u274b\u29c6\ufe61\uff0a",
        ),
        ("+", "\u02d6\ufe62\uff0b"),
        (".", "\u3002\ufe52\uff0e\uff61"),
        (":", "\u02d0\u02f8\u2982\ua789\ufe13\uff1a"),
        (";", "\u204f\ufe14\ufe54\uff1b"),
        ("<", "\ufe64\uff1c\u2039"),
        ("=", "\u0347\ua78a\ufe66\uff1d"),
        (">", "\ufe65\uff1e\u203a"),
        ("?", "\ufe16\ufe56\uff1f"),
        ("^", "\u02c6\u0302\uff3e\u1dcd"),
        ("{", "\u2774\ufe5b\uff5b"),
        ("}", "\u2775\ufe5c\uff5d"),
        ("[", "\uff3b"),
        ("]", "\uff3d"),
        ("~", "\u02dc\u02f7\u0303\u0330\u0334\u223c\uff5e"),
        # Two spaces, verbatim from the calculator's table.
        (
            "  ",
            "\u00a0\u2000\u2002\u2003\u2004\u2005\u2006\u2007\u2008\u2009\u200a\u202f\u205f"
            "\u3000\u008d\u009f\u0080\u0090\u009b",
        ),
        (" ", "\u2028\u2029\u2001"),
        ("       ", "\t"),  # seven spaces
        ("!!", "\u203c"),
        ("...", "\u2026"),
        (
            "",
            "\u0000\u0003\u0004\u0010\u0011\u0012\u0013\u0014\u0017\u0019\u2060\u200b\u200c\ufeff",
        ),
    )
    table = {src: dst for dst, sources in groups for src in sources}
    # Full-width digits and capitals, and the small-capital letters.
    table.update({chr(0xFF10 + i): str(i) for i in range(10)})
    table.update({chr(0xFF21 + i): chr(ord("A") + i) for i in range(26)})
    small_capitals = "\u1d00\u0299\u1d04\u1d05\u1d07\ua730\u0262\u029c\u026a\u1d0a\u1d0b\u029f"
    small_capitals += "\u1d0d\u0274\u1d0f\u1d18\u0280\ua731\u1d1b\u1d1c\u1d20\u1d21\u028f\u1d22"
    table.update(zip(small_capitals, "ABCDEFGHIJKLMNOPRSTUVWYZ", strict=True))
    return table


# Twilio Smart Encoding (calculator SmartEncodingMap.ts at v1.3.0, which fixed ‹ › and added
# U+200C). It only ever swaps look-alike punctuation, spaces and invisible characters; no
# precomposed accented letter is in it, so á, ó, ç, ê stay as they are (and keep forcing UCS-2).
_SMART_ENCODING: dict[str, str] = _lookalike_table()


@dataclass(frozen=True)
class SegmentInfo:
    """What a body costs to send, and which characters made it cost more than it had to."""

    encoding: str  # "GSM-7" or "UCS-2"
    segments: int  # billed parts; 1 for empty text, as in the calculator
    units: int  # septets (GSM-7) or UTF-16 code units (UCS-2), headers excluded
    forcing_chars: tuple[str, ...]  # graphemes outside GSM-7, unique, in order of appearance
    needless_chars: tuple[str, ...]  # the forcing chars Smart Encoding would replace


def gsm7_replacement(char: str) -> str | None:
    """The GSM-7 stand-in Twilio Smart Encoding uses for a look-alike, so it can be swapped."""
    return _SMART_ENCODING.get(char)


def is_gsm7(text: str) -> bool:
    """Whether the text fits the GSM-7 alphabet, the cheap 160-character encoding."""
    return all(ch in _GSM7_BASIC or ch in _GSM7_EXTENSION for ch in text)


def count_segments(text: str) -> SegmentInfo:
    """Encoding, segments and culprits of a body, matching Twilio's segment calculator."""
    text = _join_surrogate_pairs(text)
    graphemes = _split_graphemes(text)
    if is_gsm7(text):
        sizes = [7 * (2 if g in _GSM7_EXTENSION else 1) for g in graphemes]
        return SegmentInfo(GSM7, _pack(sizes), sum(sizes) // 7, (), ())
    sizes = [16 * _utf16_units(g) for g in graphemes]
    forcing = tuple(dict.fromkeys(g for g in graphemes if not is_gsm7(g)))
    needless = tuple(g for g in forcing if gsm7_replacement(g) is not None)
    return SegmentInfo(UCS2, _pack(sizes), sum(sizes) // 16, forcing, needless)


def _pack(sizes: Sequence[int]) -> int:
    """Fill 140-octet segments as Segment.ts does, so no grapheme is ever split in two."""
    count = 1
    first: list[int] = []  # sizes still in the first segment, while it has no header
    used = 0
    split = False
    for size in sizes:
        if _SEGMENT_BITS - used < size:
            count += 1
            carried = 0
            if not split:
                # Splitting adds a header to the first part too; its tail moves to the second.
                split = True
                used += _HEADER_BITS
                while used > _SEGMENT_BITS:
                    last = first.pop()
                    used -= last
                    carried += last
            used = _HEADER_BITS + carried
        if not split:
            first.append(size)
        used += size
    return count


def _utf16_units(grapheme: str) -> int:
    """UTF-16 length, the unit UCS-2 messages are billed in (lone surrogates count one)."""
    return len(grapheme.encode("utf-16-le", "surrogatepass")) // 2


def _join_surrogate_pairs(text: str) -> str:
    """Merge escaped surrogate pairs into code points, as a JavaScript string would read them."""
    if not any("\ud800" <= ch <= "\udfff" for ch in text):
        return text
    return text.encode("utf-16-le", "surrogatepass").decode("utf-16-le", "surrogatepass")


# Grapheme splitting, ported from grapheme-splitter 1.0.4 (UAX #29 for Unicode 10), which the
# calculator uses. Emoji and Prepend classes are its tables verbatim; Extend, SpacingMark and
# Control come from unicodedata's general categories plus the Unicode 10 exceptions below, so
# only scripts added after Unicode 10 can split differently.
_CR, _LF, _CONTROL, _EXTEND, _RI, _SPACING_MARK, _L, _V, _T, _LV, _LVT = range(11)
_OTHER, _PREPEND, _E_BASE, _E_MODIFIER, _ZWJ, _GLUE_AFTER_ZWJ, _E_BASE_GAZ = range(11, 18)


def _code_points(*spans: int | tuple[int, int]) -> frozenset[int]:
    """Expand code points and inclusive ranges into a set, to keep the tables short."""
    out: set[int] = set()
    for span in spans:
        if isinstance(span, tuple):
            out.update(range(span[0], span[1] + 1))
        else:
            out.add(span)
    return frozenset(out)


_PREPEND_CPS = _code_points(
    (0x0600, 0x0605), 0x06DD, 0x070F, 0x08E2, 0x0D4E, 0x110BD, (0x111C2, 0x111C3), 0x11A3A,
    (0x11A86, 0x11A89), 0x11D46,
)  # fmt: skip
# Other_Grapheme_Extend: spacing marks and others that still count as Extend.
_EXTRA_EXTEND_CPS = _code_points(
    0x09BE, 0x09D7, 0x0B3E, 0x0B57, 0x0BBE, 0x0BD7, 0x0CC2, (0x0CD5, 0x0CD6), 0x0D3E, 0x0D57,
    0x0DCF, 0x0DDF, 0x200C, (0x302E, 0x302F), (0xFF9E, 0xFF9F), 0x1133E, 0x11357, 0x114B0,
    0x114BD, 0x115AF, 0x1D165, (0x1D16E, 0x1D172), (0xE0020, 0xE007F),
)  # fmt: skip
# Unassigned code points that Unicode 10 still classes as Control.
_EXTRA_CONTROL_CPS = _code_points(
    0x2065, (0xFFF0, 0xFFF8), 0xE0000, (0xE0002, 0xE001F), (0xE0080, 0xE00FF),
    (0xE01F0, 0xE0FFF),
)  # fmt: skip
# Spacing combining marks that are not SpacingMark in Unicode 10 (mostly Myanmar).
_NOT_SPACING_MARK_CPS = _code_points(
    (0x102B, 0x102C), 0x1038, (0x1062, 0x1064), (0x1067, 0x106D), 0x1083, (0x1087, 0x108C),
    0x108F, (0x109A, 0x109C), 0x1A61, (0x1A63, 0x1A64), 0xAA7B, 0xAA7D, (0x11720, 0x11721),
)  # fmt: skip
_E_BASE_CPS = _code_points(
    0x261D, 0x26F9, (0x270A, 0x270D), 0x1F385, (0x1F3C2, 0x1F3C4), 0x1F3C7, (0x1F3CA, 0x1F3CC),
    (0x1F442, 0x1F443), (0x1F446, 0x1F450), 0x1F46E, (0x1F470, 0x1F478), 0x1F47C,
    (0x1F481, 0x1F483), (0x1F485, 0x1F487), 0x1F4AA, (0x1F574, 0x1F575), 0x1F57A, 0x1F590,
    (0x1F595, 0x1F596), (0x1F645, 0x1F647), (0x1F64B, 0x1F64F), 0x1F6A3, (0x1F6B4, 0x1F6B6),
    0x1F6C0, 0x1F6CC, (0x1F918, 0x1F91C), (0x1F91E, 0x1F91F), 0x1F926, (0x1F930, 0x1F939),
    (0x1F93D, 0x1F93E), (0x1F9D1, 0x1F9DD),
)  # fmt: skip
_GLUE_AFTER_ZWJ_CPS = _code_points(
    0x2640, 0x2642, (0x2695, 0x2696), 0x2708, 0x2764, 0x1F308, 0x1F33E, 0x1F373, 0x1F393,
    0x1F3A4, 0x1F3A8, 0x1F3EB, 0x1F3ED, 0x1F48B, (0x1F4BB, 0x1F4BC), 0x1F527, 0x1F52C, 0x1F5E8,
    0x1F680, 0x1F692,
)  # fmt: skip


def _break_property(cp: int) -> int:
    """Grapheme_Cluster_Break class of a code point, in grapheme-splitter's precedence order."""
    if cp in _PREPEND_CPS:
        return _PREPEND
    if cp == 0x0D:
        return _CR
    if cp == 0x0A:
        return _LF
    if cp == 0x200D:
        return _ZWJ
    category = unicodedata.category(chr(cp))
    if cp in _EXTRA_EXTEND_CPS or category in ("Mn", "Me"):
        return _EXTEND
    if category in ("Cc", "Cf", "Cs", "Zl", "Zp") or cp in _EXTRA_CONTROL_CPS:
        return _CONTROL
    if 0x1F1E6 <= cp <= 0x1F1FF:
        return _RI
    if (category == "Mc" and cp not in _NOT_SPACING_MARK_CPS) or cp in (0x0E33, 0x0EB3):
        return _SPACING_MARK
    if 0x1100 <= cp <= 0x115F or 0xA960 <= cp <= 0xA97C:
        return _L
    if 0x1160 <= cp <= 0x11A7 or 0xD7B0 <= cp <= 0xD7C6:
        return _V
    if 0x11A8 <= cp <= 0x11FF or 0xD7CB <= cp <= 0xD7FB:
        return _T
    if 0xAC00 <= cp <= 0xD7A3:
        return _LV if (cp - 0xAC00) % 28 == 0 else _LVT
    if cp in _E_BASE_CPS:
        return _E_BASE
    if 0x1F3FB <= cp <= 0x1F3FF:
        return _E_MODIFIER
    if cp in _GLUE_AFTER_ZWJ_CPS:
        return _GLUE_AFTER_ZWJ
    if 0x1F466 <= cp <= 0x1F469:
        return _E_BASE_GAZ
    return _OTHER


def _last_index(seq: Sequence[int], value: int) -> int:
    """JavaScript's Array.lastIndexOf, which grapheme-splitter's rules are written against."""
    for i in range(len(seq) - 1, -1, -1):
        if seq[i] == value:
            return i
    return -1


def _should_break(start: int, mid: Sequence[int], end: int) -> bool:
    """grapheme-splitter's shouldBreak, rule for rule, so clusters match the calculator's."""
    seq = [start, *mid, end]
    previous = seq[-2]
    # Lookahead terminators for GB10 (emoji modifier) and GB12/13 (regional indicator pairs).
    modifier_at = _last_index(seq, _E_MODIFIER)
    if (
        modifier_at > 1
        and all(c == _EXTEND for c in seq[1:modifier_at])
        and start not in (_EXTEND, _E_BASE, _E_BASE_GAZ)
    ):
        return True
    ri_at = _last_index(seq, _RI)
    if ri_at > 0 and all(c == _RI for c in seq[1:ri_at]) and previous not in (_PREPEND, _RI):
        return True
    if previous == _CR and end == _LF:  # GB3
        return False
    if previous in (_CONTROL, _CR, _LF) or end in (_CONTROL, _CR, _LF):  # GB4, GB5
        return True
    if previous == _L and end in (_L, _V, _LV, _LVT):  # GB6
        return False
    if previous in (_LV, _V) and end in (_V, _T):  # GB7
        return False
    if previous in (_LVT, _T) and end == _T:  # GB8
        return False
    if end in (_EXTEND, _ZWJ, _SPACING_MARK) or previous == _PREPEND:  # GB9, GB9a, GB9b
        return False
    before_extend = _last_index(seq, _EXTEND) - 1 if _EXTEND in seq else len(seq) - 2
    if (
        before_extend >= 0
        and seq[before_extend] in (_E_BASE, _E_BASE_GAZ)
        and all(c == _EXTEND for c in seq[before_extend + 1 : -1])
        and end == _E_MODIFIER
    ):  # GB10
        return False
    if previous == _ZWJ and end in (_GLUE_AFTER_ZWJ, _E_BASE_GAZ):  # GB11
        return False
    if _RI in mid:  # GB12, GB13
        return True
    return not (previous == _RI and end == _RI)


def _split_graphemes(text: str) -> list[str]:
    """User-perceived characters, with CRLF split in two as the calculator does."""
    props = [_break_property(ord(ch)) for ch in text]
    out: list[str] = []
    start = 0
    while start < len(text):
        end = start + 1
        mid: list[int] = []
        while end < len(text) and not _should_break(props[start], mid, props[end]):
            mid.append(props[end])
            end += 1
        cluster = text[start:end]
        out.extend(("\r", "\n") if cluster == "\r\n" else (cluster,))
        start = end
    return out
