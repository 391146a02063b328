"""How residents reach the line through a partner: its keyword per language, the sms: and
Telegram links, and their QR codes for a printed flyer (segno: PNG and SVG, no system
libraries)."""

from __future__ import annotations

import io
from dataclasses import dataclass

import segno

from bot.community import sms_link, telegram_link
from bot.runtime import Runtime
from bot.services.partners import PartnerError
from storage.models import Partner

CHANNELS = ("sms", "telegram")
FORMATS = {"png": "image/png", "svg": "image/svg+xml"}


@dataclass(frozen=True)
class Way:
    """How a resident of one language reaches the line through a partner."""

    language: str
    keyword: str
    sms: str | None  # None when the agency has no SMS number configured
    telegram: str | None  # None when the bot's username is not configured


def flyer_languages(rt: Runtime, partner: Partner) -> list[str]:
    """The languages a partner's flyers are printed in: its own, else every one offered."""
    own = [lang for lang in partner.languages if lang in rt.catalog.languages]
    return own or list(rt.catalog.languages)


def keyword_for(rt: Runtime, partner: Partner, language: str) -> str:
    """The partner's word in a language; a language added since falls back to the default's."""
    return (
        partner.keywords.get(language)
        or partner.keywords.get(rt.settings.default_language)
        or next(iter(partner.keywords.values()), partner.code.upper())
    )


def way(rt: Runtime, partner: Partner, language: str) -> Way:
    """The keyword and the links for one language; a link is None when its channel is unset."""
    keyword = keyword_for(rt, partner, language)
    number, bot = rt.settings.sms_number, rt.settings.telegram_bot_username
    return Way(
        language=language,
        keyword=keyword,
        sms=sms_link(number, keyword) if number else None,
        telegram=telegram_link(bot, partner.code) if bot else None,
    )


def ways(rt: Runtime, partner: Partner) -> list[Way]:
    """How residents reach the line through a partner, in every configured language."""
    return [way(rt, partner, lang) for lang in rt.catalog.languages]


def qr_code(link: str, fmt: str) -> bytes:
    """A printable QR code of a link: error correction M, the standard 4-module quiet zone."""
    if fmt not in FORMATS:
        raise PartnerError(f"a QR code is {' or '.join(FORMATS)}")
    code = segno.make_qr(link, error="m")
    out = io.BytesIO()
    code.save(out, kind=fmt, border=4, scale=10 if fmt == "png" else 4)
    return out.getvalue()


def partner_qr(rt: Runtime, partner: Partner, language: str, channel: str, fmt: str) -> bytes:
    """The QR code of a partner's SMS or Telegram link; refuses one that cannot be made."""
    if channel not in CHANNELS:
        raise PartnerError(f"the channel is {' or '.join(CHANNELS)}")
    if language not in rt.catalog.languages:
        raise PartnerError(f"{language} is not a language the line offers")
    link = getattr(way(rt, partner, language), channel)
    if link is None:
        setting = "TOWNLINE_SMS_NUMBER" if channel == "sms" else "TELEGRAM_BOT_USERNAME"
        raise PartnerError(f"there is no {channel} link: {setting} is not set")
    return qr_code(link, fmt)
