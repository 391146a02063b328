"""LibreTranslate, the open-source engine an agency can run beside Townline, over its HTTP API.

`POST /translate` with JSON `{"q", "source", "target", "format": "text", "api_key"}`; `q` may be
a list. One quirk shapes this client: with `source: "auto"` LibreTranslate detects ONE language
for the whole batch and translates every text from it, so a Vietnamese and a Chinese message in
one auto batch would be read as the same language. Texts of unknown language therefore go one
per request; texts of a known language go in one batch.

Errors: a connection failure, a timeout, 429 and 5xx are `TranslationUnavailable`; 400 (an
unsupported language, a missing key, a text over the server's limit), 403 (a wrong key, or a
client banned by its flood guard) and 404 (a wrong URL) are `TranslationRefused`.
"""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import httpx

from bot.translation.base import (
    Translated,
    TranslationRefused,
    TranslationUnavailable,
    normalize_language,
    same_language,
)
from bot.translation.masking import BRACKET, mask, unmask

NAME = "libretranslate"
TIMEOUT_SECONDS = 15.0  # a CPU-only server takes a few seconds for a long message
CONNECT_TIMEOUT_SECONDS = 3.0  # it runs beside Townline: a connect that takes longer is down

# Townline code -> LibreTranslate (Argos model) code. "zh" and "zt" are understood by every
# LibreTranslate version; newer ones also accept "zh-Hans"/"zh-Hant" and answer with those.
CODES: dict[str, str] = {
    "en": "en",
    "es": "es",
    "vi": "vi",
    "zh": "zh",
    "zh-hant": "zt",
    "tl": "tl",
    "ko": "ko",
    "ar": "ar",
    "ru": "ru",
    "ht": "ht",  # only if the server has a Haitian Creole model; it answers 400 otherwise
}


class LibreTranslateTranslator:
    """A `Translator` over LibreTranslate's HTTP API, with httpx and firm timeouts."""

    name = NAME

    def __init__(
        self,
        url: str,
        api_key: str | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        connect_timeout: float = CONNECT_TIMEOUT_SECONDS,
    ) -> None:
        self.url = url.rstrip("/")
        self.api_key = api_key
        self._http = httpx.Client(
            base_url=self.url,
            timeout=httpx.Timeout(timeout, connect=min(connect_timeout, timeout)),
            headers={"Accept": "application/json"},
        )

    def translate(
        self, texts: Sequence[str], target: str, source: str | None = None
    ) -> list[Translated]:
        """Mask, translate (a batch when the source is known, one by one when not), unmask."""
        target_code = _code(target)
        source_code = _code(source) if source else "auto"
        known = normalize_language(source) if source else None
        results = [Translated(text, known) for text in texts]
        if same_language(source, target):
            return results
        todo = [i for i, text in enumerate(texts) if text.strip()]
        masked = {i: mask(texts[i], style=BRACKET) for i in todo}
        if not todo:
            return results
        if source is None:
            answers = [self._translate([masked[i][0]], target_code, "auto")[0] for i in todo]
        else:
            answers = self._translate([masked[i][0] for i in todo], target_code, source_code)
        for i, (text, detected) in zip(todo, answers, strict=True):
            results[i] = Translated(unmask(text, masked[i][1], style=BRACKET), detected)
        return results

    def close(self) -> None:
        """Close pooled connections."""
        self._http.close()

    def _translate(
        self, texts: list[str], target: str, source: str
    ) -> list[tuple[str, str | None]]:
        """One request; (translated text, detected Townline language or None) per text."""
        payload: dict[str, Any] = {
            "q": texts if len(texts) > 1 else texts[0],
            "source": source,
            "target": target,
            "format": "text",
        }
        if self.api_key:
            payload["api_key"] = self.api_key
        try:
            response = self._http.post("/translate", json=payload)
        except httpx.TimeoutException as exc:
            raise TranslationUnavailable(
                f"LibreTranslate timed out ({type(exc).__name__})"
            ) from exc
        except httpx.HTTPError as exc:
            raise TranslationUnavailable(
                f"LibreTranslate unreachable ({type(exc).__name__})"
            ) from exc
        if response.status_code != 200:
            raise _error(response)
        return _parse(response, len(texts))


def _code(language: str) -> str:
    """LibreTranslate's code for a Townline language; refused before anything is sent."""
    code = CODES.get(normalize_language(language))
    if code is None:
        raise TranslationRefused(f"LibreTranslate: no language code for {language!r}")
    return code


def _detected(value: Any) -> str | None:
    """`detectedLanguage` ({"language": "vi", "confidence": 90}) as a Townline code."""
    if isinstance(value, dict) and isinstance(value.get("language"), str) and value["language"]:
        return normalize_language(value["language"])
    return None


def _parse(response: httpx.Response, count: int) -> list[tuple[str, str | None]]:
    """The answer's texts in order; an answer of the wrong shape is a failure worth retrying."""
    try:
        body = response.json()
        translated = body["translatedText"]
    except (ValueError, KeyError, TypeError) as exc:
        raise TranslationUnavailable("LibreTranslate answered without translatedText") from exc
    detected = body.get("detectedLanguage")
    texts = translated if isinstance(translated, list) else [translated]
    languages = detected if isinstance(detected, list) else [detected] * len(texts)
    if len(texts) != count or not all(isinstance(t, str) for t in texts):
        raise TranslationUnavailable(f"LibreTranslate answered {len(texts)} texts for {count}")
    return [(text, _detected(lang)) for text, lang in zip(texts, languages, strict=False)]


def _error(response: httpx.Response) -> Exception:
    """A non-200 answer as Unavailable (429, 5xx) or Refused (anything else)."""
    status = response.status_code
    try:
        detail = str(response.json().get("error") or "")
    except (ValueError, AttributeError):
        detail = ""  # a proxy's HTML error page says nothing useful
    message = f"LibreTranslate HTTP {status}" + (f": {detail[:200]}" if detail else "")
    if status == 429 or status >= 500:
        return TranslationUnavailable(
            message, status=status, retry_after=_retry_after(response.headers.get("Retry-After"))
        )
    return TranslationRefused(message, status=status)


def _retry_after(value: str | None) -> float | None:
    """Retry-After in seconds when given as a number (the HTTP-date form is ignored)."""
    try:
        return max(0.0, float(value)) if value else None
    except ValueError:
        return None
