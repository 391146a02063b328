"""Local fake of DeepL's `POST /v2/translate` (and `/v2/usage`), driven by the real `deepl` client.

The client is pointed here with `server_url=fake.url` (DEEPL_SERVER_URL), which `deepl`
documents for exactly this ("can be overridden e.g. for testing purposes"). It makes no request
at construction, so these two routes are all it calls. Like DeepL, the fake checks the
`Authorization: DeepL-Auth-Key <key>` header (403 otherwise), takes JSON (what deepl 1.32
sends) or form bodies, validates language codes (400 "Value for 'target_lang' not supported."),
rejects malformed XML when `tag_handling=xml`, and answers `translations` with
`detected_source_language` and `billed_characters` (the client requires the latter).

Failures: `down()` answers 503 until `up()`; `fail_next(429 | 456 | 500 | ...)` scripts one
answer; `delay` stalls answers to exercise timeouts. Every request is recorded, `texts` lists
what left Townline and `characters` counts the billed characters.
"""

from __future__ import annotations

import re
import xml.etree.ElementTree as ET
from collections import deque
from typing import Any

from tests.fakes._http import FakeHTTPServer, RecordedRequest, Reply
from tests.fakes.libretranslate_api import detect, fake_translate

DEFAULT_AUTH_KEY = "00000000-0000-4000-8000-000000000000:fx"

TARGETS = frozenset(
    {"AR", "EN-GB", "EN-US", "ES", "KO", "RU", "VI", "ZH", "ZH-HANS", "ZH-HANT", "DE", "FR"}
)
SOURCES = frozenset({"AR", "EN", "ES", "KO", "RU", "VI", "ZH", "DE", "FR"})
_MESSAGES = {
    403: "Forbidden",
    429: "Too many requests",
    456: "Quota exceeded",
    500: "Internal server error",
    503: "Service unavailable",
}
_XML_TAG = re.compile(r"<[^>]*>")


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


def _phrase_target(code: str) -> str:
    """DeepL target code -> the phrase table's language: EN-US -> en, ZH-HANT -> zh-hant."""
    code = code.upper()
    if code == "ZH-HANT":
        return "zh-hant"
    return code.split("-")[0].lower()


class FakeDeepL(FakeHTTPServer):
    """Fake DeepL API (v2 translate and usage) with scripted failures."""

    def __init__(
        self,
        auth_key: str = DEFAULT_AUTH_KEY,
        *,
        character_limit: int = 500_000,
        delay: float = 0.0,
    ) -> None:
        """The key is checked on every request; `delay` stalls every answer (timeouts)."""
        self.auth_key = auth_key
        self.character_limit = character_limit
        self.delay = delay
        self.characters = 0
        self._down = False
        self._script: deque[Reply] = deque()
        self._texts: list[str] = []
        super().__init__()

    # -- programming the fake -------------------------------------------------------------

    def down(self) -> None:
        """Answer every request 503 Service Unavailable until `up()`."""
        self._down = True

    def up(self) -> None:
        """Serve again."""
        self._down = False

    def fail_next(self, status: int, message: str | None = None) -> None:
        """Queue one DeepL-shaped error (`{"message": ...}`) for the next request (FIFO)."""
        reply = Reply(status, {"message": message or _MESSAGES.get(status, "Error")})
        with self._lock:
            self._script.append(reply)

    # -- inspecting what happened ---------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        """Every text that reached the fake, in order: what left Townline."""
        with self._lock:
            return list(self._texts)

    # -- request handling -----------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Authenticate, route, answer from script or by the pretend engine."""
        reply = self._answer(request)
        reply.delay = reply.delay or self.delay
        return reply

    def _answer(self, request: RecordedRequest) -> Reply:
        if self._down:
            return Reply(503, {"message": _MESSAGES[503]})
        texts = _as_list(request.params.get("text")) if request.path == "/v2/translate" else []
        with self._lock:
            self._texts.extend(texts)
            scripted = self._script.popleft() if self._script else None
        if scripted:
            return scripted
        scheme, _, key = request.headers.get("authorization", "").partition(" ")
        if scheme != "DeepL-Auth-Key" or key != self.auth_key:
            return Reply(403, {"message": _MESSAGES[403]})
        if request.path == "/v2/usage" and request.method in ("GET", "POST"):
            return Reply(
                200,
                {"character_count": self.characters, "character_limit": self.character_limit},
            )
        if request.path != "/v2/translate" or request.method != "POST":
            return Reply(404, {"message": "Not found"})
        return self._translate(request.params, texts)

    def _translate(self, params: dict[str, Any], texts: list[str]) -> Reply:
        """Validate like DeepL, then translate each text on its own (DeepL detects per text)."""
        if not texts:
            return Reply(400, {"message": "Parameter 'text' not specified."})
        target = str(params.get("target_lang") or "").upper()
        source = str(params.get("source_lang") or "").upper() or None
        if not target:
            return Reply(400, {"message": "Parameter 'target_lang' not specified."})
        if target not in TARGETS:
            return Reply(400, {"message": "Value for 'target_lang' not supported."})
        if source is not None and source not in SOURCES:
            return Reply(400, {"message": "Value for 'source_lang' not supported."})
        xml = params.get("tag_handling") == "xml"
        if xml:
            for text in texts:
                try:
                    ET.fromstring(f"<root>{text}</root>")
                except ET.ParseError:
                    return Reply(400, {"message": "Tag handling parsing failed."})
        translations = []
        for text in texts:
            billed = len(_XML_TAG.sub("", text)) if xml else len(text)
            if self.characters + billed > self.character_limit:
                return Reply(456, {"message": _MESSAGES[456]})
            with self._lock:
                self.characters += billed
            plain = _XML_TAG.sub("", text) if xml else text
            translations.append(
                {
                    "detected_source_language": source or detect(plain).upper(),
                    "text": fake_translate(text, _phrase_target(target)),
                    "billed_characters": billed,
                }
            )
        return Reply(200, {"translations": translations})
