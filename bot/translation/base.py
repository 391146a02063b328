"""What every translation provider looks like to Townline, and how a failure is told apart.

Callers (the worker, the dashboard) only ever see this module's types: a provider that is down,
slow or rate-limited raises `TranslationUnavailable` and the words are tried again later; a
provider that will never accept the request (a wrong key, a language it does not know) raises
`TranslationRefused`, so nobody retries it forever. Language codes are Townline's (`en`, `es`,
`vi`, `zh`, `zh-hant`, ...); each provider maps them to its own.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Protocol, runtime_checkable

# Subtags that mean Traditional Chinese script, wherever a channel or a person writes them.
_TRADITIONAL = frozenset({"hant", "tw", "hk", "mo"})


@dataclass(frozen=True)
class Translated:
    """One translated text, and the language the provider says the original was in, if it said."""

    text: str
    detected_source: str | None = None


class TranslationUnavailable(Exception):  # noqa: N818 - the name says what callers decide on
    """The provider is down, timed out, rate-limited or failed on its side: try again later.

    `retry_after` is the provider's own hint in seconds (a Retry-After header), when it gave one.
    """

    def __init__(
        self, message: str, *, status: int | None = None, retry_after: float | None = None
    ) -> None:
        super().__init__(message)
        self.status = status
        self.retry_after = retry_after


class QuotaExceeded(TranslationUnavailable):
    """The provider's quota for its billing period is spent: unavailable, but not for minutes.

    A subclass so a caller that only knows "unavailable" still waits and retries, while one that
    knows more can wait for the period to roll over or tell an admin to raise the quota.
    """


class TranslationRefused(Exception):  # noqa: N818 - the name says what callers decide on
    """The provider will not do this, now or later (bad key, unsupported language, bad request).

    Retrying changes nothing; the caller records it and shows it to staff.
    """

    def __init__(self, message: str, *, status: int | None = None) -> None:
        super().__init__(message)
        self.status = status


@runtime_checkable
class Translator(Protocol):
    """A machine-translation provider. Implementations mask residents' details themselves."""

    name: str

    def translate(
        self, texts: Sequence[str], target: str, source: str | None = None
    ) -> list[Translated]:
        """Translate each text into `target`, in order; `source` None lets the provider detect.

        Raises TranslationUnavailable (retry later) or TranslationRefused (do not retry).
        """
        ...

    def close(self) -> None:
        """Release the provider's connections (shutdown, tests)."""
        ...


def normalize_language(code: str) -> str:
    """A language code as Townline writes it: `zh-TW`, `zh_Hant` -> `zh-hant`; `es-MX` -> `es`.

    Providers' own spellings come back through here too (`zt` and `ZH-HANT` are Traditional
    Chinese, `zh-Hans` is plain `zh`, `fil` is Tagalog), so callers compare like with like.
    """
    parts = code.strip().lower().replace("_", "-").split("-")
    base = parts[0]
    if base == "zt" or (base == "zh" and _TRADITIONAL.intersection(parts[1:])):
        return "zh-hant"
    if base == "fil":
        return "tl"
    if base == "pb":  # LibreTranslate's Brazilian Portuguese
        return "pt"
    return base


def same_language(source: str | None, target: str) -> bool:
    """Whether there is nothing to translate (Simplified and Traditional Chinese differ)."""
    return source is not None and normalize_language(source) == normalize_language(target)
