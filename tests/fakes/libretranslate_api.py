"""Local fake of LibreTranslate's `POST /translate`, driven by Townline's real httpx client.

It behaves as LibreTranslate's own `app.py` does where the client can tell: JSON or form
bodies, `q` a string or a list, `source: "auto"` detected ONCE for the whole batch (as the real
server does), `detectedLanguage` only when the source was auto, `{"error": ...}` bodies with
400 (missing field, unsupported language, missing key), 403 (wrong key) and 429.

The "translation" is a pretend engine shared with the DeepL fake (`fake_translate`): a small
phrase table for the sentences the tests use, otherwise `[<target>] <text>`. It treats
placeholders the way real engines are meant to: copied through, moved where the translated
sentence puts them. Every request is recorded; `texts` lists exactly what left Townline.
"""

from __future__ import annotations

import re
from collections import deque
from collections.abc import Iterable
from typing import Any

from tests.fakes._http import FakeHTTPServer, RecordedRequest, Reply

DEFAULT_API_KEY = "fake-libretranslate-key"
# Model codes a default LibreTranslate install answers for; no Haitian Creole model.
LANGUAGES = frozenset({"en", "es", "vi", "zh", "zt", "tl", "ko", "ar", "ru"})
_ISO_ALIASES = {"zh-hans": "zh", "zh-hant": "zt", "pt-br": "pb"}  # newer servers accept these

# Placeholders as Townline's masking writes them: "[1]" or '<x id="1"/>'.
_PLACEHOLDER = re.compile(r"\[(\d+)\]|<x id=\"(\d+)\"/>")
_VIETNAMESE = re.compile(r"[ăâđêôơưạảấầẩẫậắằẳẵặẹẻẽếềểễệỉịọỏốồổỗộớờởỡợụủứừửữựỳỵỷỹ]", re.I)
_HAN = re.compile(r"[\u4e00-\u9fff]")
_SPANISH = re.compile(r"[ñ¿¡]|\b(?:el|la|los|las|de|que|mi|por|gracias)\b", re.I)

# (text with {n} where placeholder n was, target) -> translation, {n} placed as English needs.
PHRASES: dict[tuple[str, str], str] = {
    ("Có người lạ đứng trước cửa nhà tôi mỗi đêm.", "en"): (
        "A stranger stands in front of my door every night."
    ),
    ("晚上我家附近有人飙车。", "en"): "People street-race near my home at night.",
    ("Xe chạy quá nhanh trên đường Elm.", "en"): "Cars drive too fast on Elm Street.",
    ("Gọi cho tôi theo số {1} hoặc gửi email {2}, nhà tôi ở {3} Elm St.", "en"): (
        "My house is at {3} Elm St; email {2} or call me at {1}."
    ),
    ("请打{1}或发邮件到{2}联系我。", "en"): "Please contact me at {1} or by email at {2}.",
    ("Thank you for telling us.", "es"): "Gracias por contárnoslo.",
    ("Thank you for telling us.", "vi"): "Cảm ơn bạn đã cho chúng tôi biết.",
    ("Thank you for telling us.", "zh"): "谢谢你告诉我们。",
    ("Thank you for telling us.", "zh-hant"): "謝謝你告訴我們。",
    ("We will fix the streetlight.", "es"): "Arreglaremos la farola.",
}


def detect(text: str) -> str:
    """A pretend language detector: enough to tell the tests' languages apart."""
    if _HAN.search(text):
        return "zh"
    if _VIETNAMESE.search(text):
        return "vi"
    if _SPANISH.search(text):
        return "es"
    return "en"


def fake_translate(text: str, target: str) -> str:
    """Translate by phrase table, placeholders kept (and moved); else mark the target."""
    tokens: dict[str, str] = {}

    def slot(match: re.Match[str]) -> str:
        number = match.group(1) or match.group(2)
        tokens[number] = match.group(0)
        return "{" + number + "}"

    template = _PLACEHOLDER.sub(slot, text)
    translated = PHRASES.get((template, target))
    if translated is None:
        return f"[{target}] {text}"
    return re.sub(r"\{(\d+)\}", lambda m: tokens.get(m.group(1), m.group(0)), translated)


def _as_list(value: Any) -> list[str]:
    if value is None:
        return []
    return [str(v) for v in value] if isinstance(value, list) else [str(value)]


class FakeLibreTranslate(FakeHTTPServer):
    """Fake `POST /translate` with API keys, down/up, scripted failures and a character count."""

    def __init__(
        self,
        api_key: str | None = DEFAULT_API_KEY,
        *,
        languages: Iterable[str] = LANGUAGES,
        delay: float = 0.0,
    ) -> None:
        """`api_key` None runs the server without keys, as a self-hosted default does."""
        self.api_key = api_key
        self.languages = frozenset(languages)
        self.delay = delay
        self.characters = 0
        self._down = False
        self._script: deque[Reply] = deque()
        self._texts: list[str] = []
        super().__init__()

    # -- programming the fake -------------------------------------------------------------

    def down(self) -> None:
        """Answer every request 502, as a reverse proxy does when LibreTranslate is stopped."""
        self._down = True

    def up(self) -> None:
        """Serve again."""
        self._down = False

    def fail_next(
        self, status: int, error: str = "", *, headers: dict[str, str] | None = None
    ) -> None:
        """Queue one `{"error": ...}` answer for the next /translate request (FIFO)."""
        with self._lock:
            self._script.append(
                Reply(status, {"error": error or f"HTTP {status}"}, headers=headers or {})
            )

    # -- inspecting what happened ---------------------------------------------------------

    @property
    def texts(self) -> list[str]:
        """Every text that reached the fake, in order: what left Townline."""
        with self._lock:
            return list(self._texts)

    # -- request handling -----------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Route, record the texts, then answer like LibreTranslate."""
        reply = self._answer(request)
        reply.delay = reply.delay or self.delay
        return reply

    def _answer(self, request: RecordedRequest) -> Reply:
        if self._down:
            return Reply(
                502, raw=b"<html><body>502 Bad Gateway</body></html>", content_type="text/html"
            )
        if request.method != "POST" or request.path != "/translate":
            return Reply(404, {"error": "Not Found"})
        params = request.params
        texts = _as_list(params.get("q"))
        with self._lock:
            self._texts.extend(texts)
            scripted = self._script.popleft() if self._script else None
        if scripted:
            return scripted
        if self.api_key is not None:
            key = params.get("api_key")
            if key and key != self.api_key:
                return Reply(403, {"error": "Invalid API key"})
            if not key:
                return Reply(400, {"error": "Please contact the server operator to get an API key"})
        source, target = params.get("source"), params.get("target")
        for name, value in (("q", texts), ("source", source), ("target", target)):
            if not value:
                return Reply(400, {"error": f"Invalid request: missing {name} parameter"})
        if (params.get("format") or "text") not in ("text", "html"):
            return Reply(400, {"error": f"{params['format']} format is not supported"})
        target_code = _ISO_ALIASES.get(str(target).lower(), str(target).lower())
        if source == "auto":
            # One language for the whole batch, as the real server detects it.
            source_code = detect(" ".join(texts))
        else:
            source_code = _ISO_ALIASES.get(str(source).lower(), str(source).lower())
        for code, given in ((source_code, source), (target_code, target)):
            if code not in self.languages:
                return Reply(400, {"error": f"{given} is not supported"})
        with self._lock:
            self.characters += sum(len(t) for t in texts)
        phrase_target = "zh-hant" if target_code == "zt" else target_code
        translated = [fake_translate(t, phrase_target) for t in texts]
        batch = isinstance(params.get("q"), list)
        result: dict[str, Any] = {"translatedText": translated if batch else translated[0]}
        if source == "auto":
            language = {"confidence": 90.0, "language": source_code}
            result["detectedLanguage"] = [language] * len(texts) if batch else language
        return Reply(200, result)
