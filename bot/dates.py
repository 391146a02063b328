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


def format_when(moment: datetime, zone: str, language: str) -> str:
    """Weekday, day, month and time, in the language and the given time zone."""
    local = moment.astimezone(ZoneInfo(zone))
    locale = locale_for(language)
    day = format_date(local, _day_pattern(language), locale=locale)
    time = format_skeleton("hm", local, locale=locale)
    joiner = str(locale.datetime_formats.get("medium", "{1}, {0}"))
    return joiner.replace("{1}", day).replace("{0}", time)


def format_month(moment: datetime, zone: str, language: str) -> str:
    """Month and year for a heading ("diciembre de 2026", "2026年12月")."""
    local = moment.astimezone(ZoneInfo(zone))
    return format_skeleton("yMMMM", local, locale=locale_for(language))
