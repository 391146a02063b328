"""Dates and times as each language writes them, in the agency's time zone (Babel, CLDR data).

"jueves, 3 de diciembre, 6:30 p. m.", "12月3日星期四 下午6:30": never "2026-12-03 18:30". The year
is left out: a meeting or a reminder is always weeks away at most, and SMS is paid by length.
"""

from __future__ import annotations

import functools
import re
from datetime import datetime
from zoneinfo import ZoneInfo

from babel import Locale, UnknownLocaleError
from babel.dates import format_date, format_skeleton

# Our language codes as CLDR locales (US variants where CLDR has them).
LOCALES = {"en": "en_US", "es": "es_US", "zh": "zh_Hans", "zh-Hant": "zh_Hant", "tl": "fil"}
_YEAR = re.compile(r"\s*'de'\s*y+|y+\s*[年년]|[,،]?\s*y+(?:\s*'г'\.?)?[.]?")


@functools.cache
def locale_for(language: str) -> Locale:
    """The CLDR locale for one of our language codes; English when CLDR has nothing."""
    try:
        return Locale.parse(LOCALES.get(language, language).replace("-", "_"))
    except (UnknownLocaleError, ValueError):
        return Locale.parse("en_US")


@functools.cache
def _day_pattern(language: str) -> str:
    """The locale's full date pattern without the year ("EEEE, d 'de' MMMM")."""
    full = str(locale_for(language).date_formats["full"].pattern)
    return _YEAR.sub("", full).strip(" ,،")


# CLDR has Haitian Creole only as a seed locale, with no day or month names ("M12 3, Thu"):
# these are the names of the standard orthography, in CLDR's order (Monday first, January first).
_NAMES_CLDR_LACKS = {
    "ht": (
        ("lendi", "madi", "mèkredi", "jedi", "vandredi", "samdi", "dimanch"),
        (
            *("janvye", "fevriye", "mas", "avril", "me", "jen"),
            *("jiyè", "out", "septanm", "oktòb", "novanm", "desanm"),
        ),
    )
}


def format_when(moment: datetime, zone: str, language: str) -> str:
    """Weekday, day, month and time, in the language and the given time zone."""
    local = moment.astimezone(ZoneInfo(zone))
    if (names := _NAMES_CLDR_LACKS.get(language)) is not None:
        days, months = names
        hour = f"{local:%H:%M}"
        return f"{days[local.weekday()]} {local.day} {months[local.month - 1]}, {hour}"
    locale = locale_for(language)
    day = format_date(local, _day_pattern(language), locale=locale)
    time = format_skeleton(_hour_skeleton(language), local, locale=locale)
    joiner = str(locale.datetime_formats.get("medium", "{1}, {0}"))
    return joiner.replace("{1}", day).replace("{0}", time)


@functools.cache
def _hour_skeleton(language: str) -> str:
    """12-hour clock, as US residents read it, unless the language has no words for a.m./p.m.
    and writes 24 hours ("17:30", not "5:30 PM" in the middle of Russian)."""
    locale = locale_for(language)
    short = str(locale.time_formats["short"].pattern)
    am = locale.day_periods.get("format", {}).get("abbreviated", {}).get("am", "")
    untranslated = am == "AM" and locale.language != "en"
    return "Hm" if "H" in short and untranslated else "hm"


def format_month(moment: datetime, zone: str, language: str) -> str:
    """Month and year for a heading ("diciembre de 2026", "2026年12月")."""
    local = moment.astimezone(ZoneInfo(zone))
    if (names := _NAMES_CLDR_LACKS.get(language)) is not None:
        return f"{names[1][local.month - 1]} {local.year}"
    return format_skeleton("yMMMM", local, locale=locale_for(language))
