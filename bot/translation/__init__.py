"""Machine translation for staff, behind one small interface; off unless the agency decides.

`translator_for(settings)` is the only way a provider is built: None when TOWNLINE_TRANSLATE
is unset or "off" (residents' words then never leave the server), LibreTranslate or DeepL
when named, and a ConfigError naming the missing setting when one is named half-configured.
Providers are imported only when chosen, so an agency without translation loads neither.
"""

from __future__ import annotations

from bot.config import ConfigError, Settings
from bot.translation.base import (
    QuotaExceeded,
    Translated,
    TranslationRefused,
    TranslationUnavailable,
    Translator,
    normalize_language,
)

__all__ = [
    "QuotaExceeded",
    "Translated",
    "TranslationRefused",
    "TranslationUnavailable",
    "Translator",
    "normalize_language",
    "translator_for",
]


def translator_for(settings: Settings) -> Translator | None:
    """The provider TOWNLINE_TRANSLATE names, or None when translation is off."""
    choice = (settings.translate or "off").strip().lower()
    if choice == "off":
        return None
    if choice == "libretranslate":
        if not settings.libretranslate_url:
            raise ConfigError(
                "TOWNLINE_TRANSLATE=libretranslate needs LIBRETRANSLATE_URL, the address of the "
                "LibreTranslate server (e.g. http://127.0.0.1:5000)"
            )
        from bot.translation.libretranslate import LibreTranslateTranslator

        return LibreTranslateTranslator(settings.libretranslate_url, settings.libretranslate_key)
    if choice == "deepl":
        if not settings.deepl_auth_key:
            raise ConfigError("TOWNLINE_TRANSLATE=deepl needs DEEPL_AUTH_KEY, the DeepL API key")
        from bot.translation.deepl_provider import DeepLTranslator

        return DeepLTranslator(settings.deepl_auth_key, settings.deepl_server_url)
    raise ConfigError(
        f"TOWNLINE_TRANSLATE must be one of libretranslate, deepl, off, not {choice!r}"
    )
