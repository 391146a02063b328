"""Residents' words fit to release: what they said stays, who they are and where they live goes.

A records request gets a copy of what residents wrote. Their words are the record; their
phone numbers, e-mail addresses, social handles, house and flat numbers are not, and residents
put all of those in free text ("call me back at 555-867-5309", "I live at 1428 Elm St apt 4B").
`redact` masks them and keeps everything a requester needs to understand the concern: the
street (the place, not the house), times, dates, counts and public numbers such as 911 or 988.

Phone numbers are found by `phonenumbers` (Google's libphonenumber metadata, maintained for
every country) at `Leniency.POSSIBLE`: residents write made-up-looking or unassigned numbers
("555-867-5309"), and a records release should rather mask one number too many than leave one
real number in. National numbers are read as numbers of the agency's `region` ("US" unless the
caller says otherwise); a foreign number written without its "+country" prefix that the library
cannot place there is caught by a backstop for long runs of digits.

Every pattern is compiled once at import, and the phone matcher only runs on text holding
enough digits to be a phone number, so 100,000 rows take seconds, not minutes.
"""

from __future__ import annotations

import re

from phonenumbers import Leniency, PhoneNumberMatcher

DEFAULT_REGION = "US"
PHONE = "[phone]"
EMAIL = "[email]"
HANDLE = "[handle]"
NUMBER = "[number]"
# The fewest digits a phone number has anywhere (a US local number: 867-5309).
MIN_PHONE_DIGITS = 7
# Long runs the library did not place (e.g. a UK "07700 900123" read against "US").
BACKSTOP_DIGITS = 8

_DIGIT = re.compile(r"\d")


def _words(text: str) -> frozenset[str]:
    """A set of words written as one string, so long word lists stay readable."""
    return frozenset(text.split())


# --- e-mail addresses and handles -----------------------------------------------------------
# ASCII local parts on purpose: `\w` would swallow the Chinese or Vietnamese words written
# right before an address ("我的邮箱是abc@qq.com").
# Lengths are bounded (RFC 5321: 64 for the local part, 63 a label) so a crafted message
# cannot make the export slow.
_EMAIL = re.compile(
    r"(?<![A-Za-z0-9._%+\-])[A-Za-z0-9._%+\-]{1,64}[@＠]"
    r"(?:[A-Za-z0-9](?:[A-Za-z0-9\-]{0,61}[A-Za-z0-9])?\.){1,8}[A-Za-z]{2,24}(?![A-Za-z0-9\-])"
)
# "ana at gmail dot com", "ana (at) gmail (dot) com", "ana arroba gmail punto com".
_SPELLED_EMAIL = re.compile(
    r"(?<![\w.])[A-Za-z0-9._%+\-]{1,64}\s*(?:\(at\)|\[at\]|\{at\}|\bat\b|\barroba\b|\ba còng\b)\s*"
    r"[A-Za-z0-9\-]{1,63}\s*(?:\(dot\)|\[dot\]|\{dot\}|\bdot\b|\bpunto\b|\bchấm\b|\.)\s*"
    r"(?:com|net|org|edu|gov|mx|vn|cn|co|io|us|me|info)\b",
    re.IGNORECASE,
)
_SPELLED_AT = re.compile(r"\bat\b|\barroba\b|\bcòng\b", re.IGNORECASE)
# Telegram, Instagram, X usernames: start with a letter (so "@5pm" is a time, not a person).
_HANDLE = re.compile(r"(?<![\w@＠.])[@＠][A-Za-z][A-Za-z0-9_]{0,63}(?:\.[A-Za-z0-9_]{1,63}){0,4}")

# --- phone numbers --------------------------------------------------------------------------
# Seven digits close together: the only text worth the (slow) libphonenumber matcher.
_PHONE_RUN = re.compile(rf"\d(?:[^\w\n]{{0,4}}\d){{{MIN_PHONE_DIGITS - 1},}}")
_BACKSTOP = re.compile(rf"(?<![\w.])\+?\d(?:[ .\-()]{{0,2}}\d){{{BACKSTOP_DIGITS - 1},}}(?![\w])")
# Runs of eight digits that are dates, not numbers: 2026-11-24, 24.11.2026, 24-11-2026.
_DATE = re.compile(r"(?:\d{4}[\-.]\d{1,2}[\-.]\d{1,2}|\d{1,2}[\-.]\d{1,2}[\-.]\d{4})")

# --- house and flat numbers -----------------------------------------------------------------
_HOUSE = r"\d{1,6}½?(?:-?[A-Za-z](?![A-Za-z]))?(?:[\-/]\d{1,4}[A-Za-z]?)*"
# Suffixes no one uses as a verb or a count noun: matched in any case ("1428 elm st").
_STRONG_SUFFIX = (
    r"street|st|avenue|ave|av|boulevard|blvd|rd|dr|ln|ct|pl|ter|terr|pkwy|hwy|cir|"
    r"calle|avenida|avda"
)
# Suffixes that are also ordinary words ("2 cars drive by"): only when capitalised.
_WEAK_SUFFIX = (
    r"Road|Drive|Lane|Court|Place|Way|Terrace|Circle|Parkway|Highway|Square|Trail|Alley|"
    r"Crescent|Close|Row|Loop|Plaza|Pike|Path|Walk|Point|Heights|Expressway|Freeway"
)
# Words that end a street name: a count ("3 cars on Elm St") is followed by one of these.
_STOP_WORDS = _words(
    """on in at the a an and or near by down up along across past through to toward towards
    onto off from into over behind outside of for with is are was were every each this that my
    our his her their am pm a.m. p.m. minutes minute mins min hours hour hrs days day weeks
    week months month years year times time blocks block miles mile feet ft meters de la el en
    y"""
)
_NAME_WORD = r"(?:[^\W\d_][\w'’.\-]*|\d+(?:st|nd|rd|th)\b)"
_ENGLISH_STREET = re.compile(
    rf"(?<![\w:$.,/#\-])(?P<number>{_HOUSE})\s+"
    rf"(?P<name>(?:{_NAME_WORD}\s+){{1,4}}?)"
    rf"(?P<suffix>(?i:{_STRONG_SUFFIX})\b\.?|(?:{_WEAK_SUFFIX})\b)"
    r"(?:(?P<unitsep>\s*,?\s*#\s*)(?P<unit>[A-Za-z0-9][A-Za-z0-9\-]*))?"
)
# "12 Calle 5", "123 đường Lê Lợi", "45 av. Juárez": the number before the street word.
_NUMBER_BEFORE_STREET = re.compile(
    rf"(?<![\w:$.,/#\-])(?P<number>{_HOUSE})(?P<rest>\s+(?:de\s+la\s+)?"
    r"(?:calle|avenida|av\.|avda\.?|carrera|cra\.?|camino|paseo|bulevar|calzada|callej[oó]n|"
    r"privada|diagonal|transversal|carretera|pasaje|"
    r"đường|phố|ngõ|ngách|hẻm|kiệt)(?!\w))",
    re.IGNORECASE,
)
# "Calle Mayor 12", "Av. Juárez #123", "calle Elm número 1428", "Calle 5 #12-34".
_SPANISH_STREET = re.compile(
    r"(?P<head>(?<!\w)(?:calle|avenida|av\.?|avda\.?|carrera|cra\.?|camino|paseo|bulevar|"
    r"calzada|callej[oó]n|privada|diagonal|transversal|carretera|pasaje)\s+"
    r"(?P<name>(?:[^\W_][\w'’.\-]*\s+){0,2}?[^\W_][\w'’.\-]*)\s*,?\s*"
    r"(?P<mark>(?:#|n[úu]m(?:ero)?\.?|no\.|nº|n°)\s*)?)"
    rf"(?P<number>{_HOUSE})(?!\w)",
    re.IGNORECASE,
)
_SPANISH_NAME_STOPS = _words("a al las los y en con por para hay que entre donde")
# After a Spanish street number, a plural noun or a time means a count or an hour, not a house.
_COUNT_AFTER = re.compile(
    r"\s*(?:[^\W\d_]+s\b|am\b|pm\b|a\.\s?m\.|p\.\s?m\.|h\b|hrs\b|de\s+la\s+(?:mañana|tarde|noche))",
    re.IGNORECASE,
)
# "at 1428 Elm", "vivo en 1428 Elm", "ở số 12 Lê Lợi": a preposition, a number, a name.
_AT_NUMBER = re.compile(
    rf"(?P<head>(?<!\w)(?:at|near|en|ở|tại)\s+(?:(?:số|nhà\s+số)\s+)?)(?P<number>{_HOUSE})"
    r"(?=\s+[A-ZĐ][^\W\d_]+)(?P<next>\s+[^\s,.;!?]+)"
)
_NOT_A_PLACE = _words(
    """monday tuesday wednesday thursday friday saturday sunday mon tue tues wed thu thur thurs
    fri sat sun january february march april may june july august september october november
    december jan feb mar apr jun jul aug sep sept oct nov dec noon midnight tonight today
    tomorrow yesterday o'clock minutes hours days weeks months years am pm blocks block
    doors door houses miles mile km minutos cuadras casas"""
)
# "I live at 1428 elm", "my address is 1428", "vivo en 1428 elm", "địa chỉ là 12": said so.
_LIVE_AT = re.compile(
    r"(?P<head>(?<!\w)(?:i\s+live|we\s+live|lives?|my\s+address\s+is|my\s+address|"
    r"address\s+is|vivo|vive|vivimos|mi\s+direcci[oó]n\s+es|direcci[oó]n|sống|"
    r"địa\s+chỉ(?:\s+là)?)\s*(?:at|en|ở|tại|:)?\s*(?:(?:số|nhà\s+số)\s+)?)"
    rf"(?P<number>{_HOUSE})(?=[\s,.;!?]|$)(?P<next>\s+[^\s,.;!?]+)?",
    re.IGNORECASE,
)
# "nhà số 45", "số nhà 45" (house number 45).
_VIETNAMESE_HOUSE = re.compile(
    rf"(?P<head>(?<!\w)(?:nhà\s+số|số\s+nhà)\s*)(?P<number>{_HOUSE})", re.IGNORECASE
)
# "中山路12号", "南京西路1234弄", "榆树街1428號": the number after the street, before 号/弄.
_CHINESE_STREET = re.compile(
    r"(?P<street>[路街巷弄]|大道|胡同|(?<!知)道)\s*(?P<number>\d+)\s*(?=[号號弄])"
)
# "5号楼3单元402室": building, entrance and room numbers.
_CHINESE_UNIT = re.compile(r"\d+(?=\s*(?:号楼|號樓|单元|單元|[栋棟幢]\s*\d))|\d{2,}(?=\s*室)")
# "apt 4B", "unit 12", "suite 300", "apto 3", "depto. 5", "phòng 402", "căn hộ 12A".
_UNIT = re.compile(
    r"(?P<head>(?<!\w)(?:apt|apartment|unit|suite|ste|rm|room|bldg|building|apto|"
    r"apartamento|depto|dpto|departamento|phòng|căn\s+hộ)\.?\s*(?:#|no\.|n[úu]m(?:ero)?\.?)?\s*)"
    r"(?P<unit>\d+[A-Za-z]?(?:-\d+)?|[A-Za-z]-?\d+|(?-i:[A-HJ-Z]))(?![\w])",
    re.IGNORECASE,
)
# A year after these words is a year ("in 2019 Main Street was repaved"), not a house.
_YEAR = re.compile(r"(?:1[89]|20)\d\d")
_YEAR_WORDS = _words("in since by of until till before after year en desde năm từ")


def redact(text: str, region: str = DEFAULT_REGION) -> str:
    """`text` with phone numbers, e-mails, handles and house/flat numbers masked, all else kept.

    `region` is the ISO country (e.g. "US", "MX") whose national numbering a number written
    without "+country" is read in: the agency's own country, since that is how residents write.
    """
    if not text:
        return text
    if "@" in text or "＠" in text:
        text = _EMAIL.sub(EMAIL, text)
        text = _HANDLE.sub(HANDLE, text)
    if _SPELLED_AT.search(text):
        text = _SPELLED_EMAIL.sub(EMAIL, text)
    if not _DIGIT.search(text):
        return text
    text = _phones(text, region)
    text = _UNIT.sub(lambda m: m["head"] + NUMBER, text)
    text = _ENGLISH_STREET.sub(_english_street, text)
    text = _NUMBER_BEFORE_STREET.sub(_number_before_street, text)
    text = _SPANISH_STREET.sub(_spanish_street, text)
    text = _AT_NUMBER.sub(_at_number, text)
    text = _LIVE_AT.sub(_at_number, text)
    text = _VIETNAMESE_HOUSE.sub(lambda m: m["head"] + NUMBER, text)
    text = _CHINESE_STREET.sub(lambda m: m["street"] + NUMBER, text)
    return _CHINESE_UNIT.sub(NUMBER, text)


def _phones(text: str, region: str) -> str:
    """Mask what libphonenumber finds, then long digit runs it could not place."""
    if not _PHONE_RUN.search(text):
        return text
    spans = [
        (match.start, match.end)
        for match in PhoneNumberMatcher(text, region, leniency=Leniency.POSSIBLE)
    ]
    for start, end in reversed(spans):
        text = text[:start] + PHONE + text[end:]
    return _BACKSTOP.sub(_backstop, text)


def _backstop(match: re.Match[str]) -> str:
    """A run of eight or more digits is a phone (or an ID: also personal), unless a date."""
    run = match.group()
    if _DATE.fullmatch(run):
        return run
    return PHONE


def _is_year_phrase(text: str, start: int, number: str) -> bool:
    """True for "in 2019" or "desde 2020": a year, which records requesters need."""
    if not _YEAR.fullmatch(number):
        return False
    before = text[max(0, start - 24) : start].split()
    return bool(before) and before[-1].lower() in _YEAR_WORDS


def _english_street(match: re.Match[str]) -> str:
    """`[number] Elm St` unless the words between number and suffix show it is a count."""
    words = match["name"].split()
    if any(word.lower() in _STOP_WORDS for word in words):
        return match.group()
    if _is_year_phrase(match.string, match.start(), match["number"]):
        return match.group()
    unit = match["unit"]
    tail = f"{match['unitsep']}{NUMBER}" if unit else ""
    return f"{NUMBER} {match['name']}{match['suffix']}{tail}"


def _number_before_street(match: re.Match[str]) -> str:
    """`[number] Calle 5`, `[number] đường Lê Lợi`."""
    if _is_year_phrase(match.string, match.start(), match["number"]):
        return match.group()
    return NUMBER + match["rest"]


def _spanish_street(match: re.Match[str]) -> str:
    """`Calle Mayor [number]` unless the name runs into ordinary words or a count follows."""
    words = match["name"].lower().split()
    if any(word in _SPANISH_NAME_STOPS for word in words):
        return match.group()
    if not match["mark"] and _COUNT_AFTER.match(match.string, match.end()):
        return match.group()
    return match["head"] + NUMBER


def _at_number(match: re.Match[str]) -> str:
    """`at [number] Elm` unless what follows the number is a day, a month or a time."""
    written = (match["next"] or "").strip()
    following = written.lower()
    if following in _NOT_A_PLACE or _is_year_phrase(match.string, match.start(), match["number"]):
        return match.group()
    if written.islower() and len(written) > 3 and written.endswith("s"):
        return match.group()  # "vivo 3 personas", "lives 2 floors up": a count
    return match["head"] + NUMBER + (match["next"] or "")
