"""DeepL, through its official Python client (`deepl.DeepLClient`).

Placeholders travel as XML tags with `tag_handling="xml"`: DeepL documents that it keeps tags
and places them where the translated sentence needs them (see `masking`). `DEEPL_SERVER_URL`
points the client elsewhere (the tests' local fake); without it the client picks DeepL's Free
or Pro server from the key.

Retries: the client itself retries connection errors, 429 and 5xx with exponential backoff
(1 s, 1.6 s, 2.6 s, ...; five times by default, each attempt waiting at least 10 s). Townline's
callers already retry later, so one in-client retry is enough. deepl <= 1.32 offers these
settings only as module variables (`deepl.http_client.max_network_retries` and
`min_connection_timeout`, read on every request, as the maintainers advise in
DeepLcom/deepl-python#89), so constructing a `DeepLTranslator` sets them for the process;
there is one DeepL client per process, so the last one built is the one that counts.
"""

from __future__ import annotations

from collections.abc import Sequence

import deepl

from bot.translation.base import (
    QuotaExceeded,
    Translated,
    TranslationRefused,
    TranslationUnavailable,
    normalize_language,
    same_language,
)
from bot.translation.masking import XML, mask, unmask

NAME = "deepl"
TIMEOUT_SECONDS = 10.0  # the client's own default: DeepL answers in well under a second
RETRIES = 1

# Townline code -> DeepL target code. English needs a variant (plain "EN" is deprecated);
# US English is what the agency's staff read. Chinese targets name their script.
TARGETS: dict[str, str] = {
    "en": "EN-US",
    "es": "ES",
    "vi": "VI",
    "zh": "ZH-HANS",
    "zh-hant": "ZH-HANT",
    "ko": "KO",
    "ru": "RU",
    "ar": "AR",
}
# Source codes never carry a variant: "ZH" reads Simplified and Traditional alike.
SOURCES: dict[str, str] = {
    "en": "EN",
    "es": "ES",
    "vi": "VI",
    "zh": "ZH",
    "zh-hant": "ZH",
    "ko": "KO",
    "ru": "RU",
    "ar": "AR",
}
# deepl 1.32 has constants for these, but DeepL offers them only among its beta languages
# (requests must opt in with `enable_beta_languages`): residents' words do not go to a beta.
BETA_ONLY: dict[str, str] = {"tl": "Tagalog", "ht": "Haitian Creole"}


class DeepLTranslator:
    """A `Translator` over the official `deepl` client."""

    name = NAME

    def __init__(
        self,
        auth_key: str,
        server_url: str | None = None,
        *,
        timeout: float = TIMEOUT_SECONDS,
        retries: int = RETRIES,
    ) -> None:
        # See the module docstring: process-wide in deepl <= 1.32, read at request time.
        deepl.http_client.max_network_retries = retries
        deepl.http_client.min_connection_timeout = timeout
        # urljoin drops a base path without a trailing slash ("…/deepl" + "v2/translate").
        base = server_url.rstrip("/") + "/" if server_url else None
        self._client = deepl.DeepLClient(auth_key, server_url=base, send_platform_info=False)

    def translate(
        self, texts: Sequence[str], target: str, source: str | None = None
    ) -> list[Translated]:
        """Mask as XML, translate the non-blank texts in one request, unmask."""
        target_code = _code(target, TARGETS)
        source_code = _code(source, SOURCES) if source else None
        known = normalize_language(source) if source else None
        results = [Translated(text, known) for text in texts]
        if same_language(source, target):
            return results
        todo = [i for i, text in enumerate(texts) if text.strip()]
        if not todo:
            return results
        masked = {i: mask(texts[i], style=XML) for i in todo}
        try:
            answers = self._client.translate_text(
                [masked[i][0] for i in todo],
                source_lang=source_code,
                target_lang=target_code,
                tag_handling="xml",
                non_splitting_tags=["x"],  # a placeholder sits inside a sentence
            )
        except deepl.DeepLException as exc:
            raise _failure(exc) from exc
        if not isinstance(answers, list) or len(answers) != len(todo):
            raise TranslationUnavailable("DeepL answered a different number of texts")
        for i, answer in zip(todo, answers, strict=True):
            detected = answer.detected_source_lang or None
            results[i] = Translated(
                unmask(answer.text, masked[i][1], style=XML),
                normalize_language(detected) if detected else None,
            )
        return results

    def close(self) -> None:
        """Close the client's HTTP session."""
        self._client.close()


def _code(language: str, table: dict[str, str]) -> str:
    """DeepL's code for a Townline language; refused before anything is sent."""
    code = normalize_language(language)
    if code in BETA_ONLY:
        raise TranslationRefused(f"DeepL offers {BETA_ONLY[code]} ({code}) only in beta")
    if code not in table:
        raise TranslationRefused(f"DeepL does not translate {language!r}")
    return table[code]


def _failure(exc: deepl.DeepLException) -> Exception:
    """The client's exception as Unavailable (retry later) or Refused (do not)."""
    status = exc.http_status_code
    message = f"DeepL: {str(exc)[:200]}"
    if isinstance(exc, deepl.QuotaExceededException):
        return QuotaExceeded("DeepL: the quota for this billing period is spent", status=status)
    if isinstance(exc, deepl.AuthorizationException):
        return TranslationRefused("DeepL refused the key (DEEPL_AUTH_KEY)", status=status)
    transient = isinstance(exc, deepl.ConnectionException | deepl.TooManyRequestsException)
    if transient or exc.should_retry or (status is not None and (status == 429 or status >= 500)):
        return TranslationUnavailable(message, status=status)
    return TranslationRefused(message, status=status)
