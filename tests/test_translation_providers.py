"""Translation providers: the real LibreTranslate (httpx) and DeepL (`deepl`) clients against
local fakes of their APIs on 127.0.0.1, masking of residents' details, and the off switch."""

from __future__ import annotations

import socket
import time
from collections.abc import Callable, Iterator
from dataclasses import dataclass

import deepl
import pytest

from bot.config import ConfigError, Settings
from bot.translation import (
    QuotaExceeded,
    Translated,
    TranslationRefused,
    TranslationUnavailable,
    Translator,
    normalize_language,
    translator_for,
)
from bot.translation.deepl_provider import DeepLTranslator
from bot.translation.libretranslate import LibreTranslateTranslator
from bot.translation.masking import BRACKET, XML, mask, unmask
from tests.fakes.deepl_api import DEFAULT_AUTH_KEY, FakeDeepL
from tests.fakes.libretranslate_api import DEFAULT_API_KEY, FakeLibreTranslate

VIETNAMESE = "Có người lạ đứng trước cửa nhà tôi mỗi đêm."
CHINESE = "晚上我家附近有人飙车。"
PHONE, EMAIL, HOUSE = "(408) 555-0137", "lan.nguyen@example.com", "1428"
WITH_DETAILS = f"Gọi cho tôi theo số {PHONE} hoặc gửi email {EMAIL}, nhà tôi ở {HOUSE} Elm St."
FAST = 1.0  # seconds: a provider that is down must fail well inside this


@pytest.fixture(autouse=True)
def _deepl_globals(monkeypatch: pytest.MonkeyPatch) -> None:
    """DeepLTranslator sets deepl's process-wide retry settings: restore them after each test."""
    for name in ("max_network_retries", "min_connection_timeout"):
        monkeypatch.setitem(deepl.http_client.__dict__, name, getattr(deepl.http_client, name))


@dataclass
class Rig:
    """One provider under test: its fake, a factory for real clients wired to it, and cleanup."""

    name: str
    fake: FakeLibreTranslate | FakeDeepL
    make: Callable[..., Translator]

    def texts(self) -> list[str]:
        """What reached the provider."""
        return self.fake.texts


def _libre(
    fake: FakeLibreTranslate,
    url: str | None = None,
    key: str | None = DEFAULT_API_KEY,
    timeout: float = 2.0,
) -> Translator:
    return LibreTranslateTranslator(url or fake.url, key, timeout=timeout)


def _deepl(
    fake: FakeDeepL,
    url: str | None = None,
    key: str | None = DEFAULT_AUTH_KEY,
    timeout: float = 2.0,
) -> Translator:
    # No in-client retries and a short floor on the per-attempt timeout: fails fast in tests.
    return DeepLTranslator(key or DEFAULT_AUTH_KEY, url or fake.url, timeout=timeout, retries=0)


@pytest.fixture(params=["libretranslate", "deepl"])
def rig(request: pytest.FixtureRequest) -> Iterator[Rig]:
    """Each provider in turn, with every client it made closed afterwards."""
    made: list[Translator] = []
    fake: FakeLibreTranslate | FakeDeepL
    factory: Callable[..., Translator]
    if request.param == "libretranslate":
        fake, factory = FakeLibreTranslate(), _libre
    else:
        fake, factory = FakeDeepL(), _deepl

    def make(**kwargs: object) -> Translator:
        client = factory(fake, **kwargs)
        made.append(client)
        return client

    with fake:
        yield Rig(request.param, fake, make)
        for client in made:
            client.close()


def _closed_port_url() -> str:
    """An address on 127.0.0.1 where nothing listens: connection refused at once."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        port = sock.getsockname()[1]
    return f"http://127.0.0.1:{port}"


def _settings(**overrides: object) -> Settings:
    return Settings(database_url="sqlite://", secret_key="test").with_overrides(**overrides)


# -- translating --------------------------------------------------------------------------------


def test_vietnamese_and_chinese_to_english(rig: Rig) -> None:
    """Two residents' languages, detected per text, into the staff language."""
    out = rig.make().translate([VIETNAMESE, CHINESE], "en")
    assert out == [
        Translated("A stranger stands in front of my door every night.", "vi"),
        Translated("People street-race near my home at night.", "zh"),
    ]


def test_libretranslate_detects_one_text_at_a_time() -> None:
    """LibreTranslate detects one language per request, so texts of unknown language go alone."""
    with FakeLibreTranslate() as fake:
        client = _libre(fake)
        try:
            client.translate([VIETNAMESE, CHINESE], "en")
        finally:
            client.close()
        assert [r.params["q"] for r in fake.requests] == [VIETNAMESE, CHINESE]
        assert {r.params["source"] for r in fake.requests} == {"auto"}


def test_known_source_is_one_batch(rig: Rig) -> None:
    """Texts of a known language travel in one request and come back in order."""
    texts = ["Thank you for telling us.", "We will fix the streetlight.", "See you Tuesday."]
    out = rig.make().translate(texts, "es", source="en")
    assert [t.text for t in out] == [
        "Gracias por contárnoslo.",
        "Arreglaremos la farola.",
        "[es] See you Tuesday.",
    ]
    assert len(rig.fake.requests) == 1
    assert rig.texts() == texts


def test_blank_and_same_language_texts_are_not_sent(rig: Rig) -> None:
    """Nothing to translate costs nothing: no request, no characters."""
    client = rig.make()
    assert client.translate([], "en") == []
    assert client.translate(["", "   "], "en") == [Translated("", None), Translated("   ", None)]
    assert client.translate(["Hello"], "en", source="en") == [Translated("Hello", "en")]
    assert rig.fake.requests == []


@pytest.mark.parametrize(
    ("target", "libretranslate", "deepl_code"),
    [
        ("en", "en", "EN-US"),
        ("es", "es", "ES"),
        ("vi", "vi", "VI"),
        ("zh", "zh", "ZH-HANS"),
        ("zh-Hant", "zt", "ZH-HANT"),
        ("zh_TW", "zt", "ZH-HANT"),
        ("ko", "ko", "KO"),
        ("ru", "ru", "RU"),
        ("ar", "ar", "AR"),
    ],
)
def test_language_codes_on_the_wire(
    rig: Rig, target: str, libretranslate: str, deepl_code: str
) -> None:
    """Townline's codes become each provider's own (DeepL: English needs a variant)."""
    source = "es" if target == "en" else "en"
    rig.make().translate(["Thank you for telling us."], target, source=source)
    [request] = rig.fake.requests
    if rig.name == "libretranslate":
        assert (request.params["source"], request.params["target"]) == (source, libretranslate)
    else:
        wire = (request.params["source_lang"], request.params["target_lang"])
        assert wire == (source.upper(), deepl_code)


@pytest.mark.parametrize(("source", "libretranslate", "deepl_code"), [("zh-Hant", "zt", "ZH")])
def test_source_codes_carry_no_variant_for_deepl(
    rig: Rig, source: str, libretranslate: str, deepl_code: str
) -> None:
    """DeepL source codes have no script or region; LibreTranslate keeps its Traditional model."""
    rig.make().translate(["謝謝"], "en", source=source)
    [request] = rig.fake.requests
    key = "source" if rig.name == "libretranslate" else "source_lang"
    assert request.params[key] == (libretranslate if rig.name == "libretranslate" else deepl_code)


def test_traditional_chinese_target(rig: Rig) -> None:
    """zh-Hant is translated into Traditional, not Simplified, characters."""
    [out] = rig.make().translate(["Thank you for telling us."], "zh-Hant", source="en")
    assert out.text == "謝謝你告訴我們。"


@pytest.mark.parametrize("language", ["tl", "ht"])
def test_deepl_refuses_beta_only_languages_before_sending(language: str) -> None:
    """Tagalog and Haitian Creole are DeepL beta languages: refused, and nothing leaves."""
    with FakeDeepL() as fake:
        client = _deepl(fake)
        try:
            with pytest.raises(TranslationRefused, match="beta"):
                client.translate(["Salamat po"], "en", source=language)
            with pytest.raises(TranslationRefused, match="beta"):
                client.translate(["Thank you"], language, source="en")
        finally:
            client.close()
        assert fake.requests == []


def test_libretranslate_unsupported_language_is_refused() -> None:
    """A language the server has no model for is its 400, and a refusal, not a retry."""
    with FakeLibreTranslate() as fake:
        client = _libre(fake)
        try:
            with pytest.raises(TranslationRefused, match="ht is not supported"):
                client.translate(["Thank you"], "ht", source="en")
        finally:
            client.close()


def test_unknown_language_is_refused_before_sending(rig: Rig) -> None:
    """A code no provider mapping knows never reaches the wire."""
    with pytest.raises(TranslationRefused):
        rig.make().translate(["Thank you"], "xx", source="en")
    assert rig.fake.requests == []


# -- masking through the real clients -----------------------------------------------------------


def test_details_never_leave_and_come_back(rig: Rig) -> None:
    """The phone number, e-mail address and house number stay home, and are put back."""
    [out] = rig.make().translate([WITH_DETAILS], "en")
    [sent] = rig.texts()
    for detail in (PHONE, EMAIL, HOUSE, "555", "0137", "lan.nguyen"):
        assert detail not in sent
    # The pretend engine moved the placeholders, as a real one reorders a sentence.
    assert out == Translated(
        f"My house is at {HOUSE} Elm St; email {EMAIL} or call me at {PHONE}.", "vi"
    )


def test_chinese_details_round_trip(rig: Rig) -> None:
    """Masking works without spaces around the details, as Chinese is written."""
    text = f"请打{PHONE}或发邮件到{EMAIL}联系我。"
    [out] = rig.make().translate([text], "en", source="zh")
    assert PHONE not in rig.texts()[0]
    assert EMAIL not in rig.texts()[0]
    assert out.text == f"Please contact me at {PHONE} or by email at {EMAIL}."


def test_markup_like_words_survive(rig: Rig) -> None:
    """A resident's "<3", "&" or literal "[1]" is neither markup nor a placeholder."""
    text = 'I <3 this town & "[1]" is my answer <x id="9"/>'
    [out] = rig.make().translate([text], "es", source="en")
    assert out.text == f"[es] {text}"


# -- failures -----------------------------------------------------------------------------------


def test_down_is_unavailable_fast(rig: Rig) -> None:
    """A stopped provider (502 behind a proxy / 503) is unavailable, without long retries."""
    rig.fake.down()
    client = rig.make()
    started = time.monotonic()
    with pytest.raises(TranslationUnavailable) as caught:
        client.translate([VIETNAMESE], "en")
    assert time.monotonic() - started < FAST
    assert caught.value.status in (502, 503)
    rig.fake.up()
    assert client.translate([VIETNAMESE], "en")[0].detected_source == "vi"


def test_connection_refused_is_unavailable_fast(rig: Rig) -> None:
    """Nothing listening at the configured address: unavailable at once."""
    client = rig.make(url=_closed_port_url())
    started = time.monotonic()
    with pytest.raises(TranslationUnavailable):
        client.translate([VIETNAMESE], "en")
    assert time.monotonic() - started < FAST


@pytest.mark.parametrize("status", [429, 500])
def test_rate_limit_and_server_error_are_unavailable(rig: Rig, status: int) -> None:
    """429 and 5xx mean "later"; the next call goes through."""
    rig.fake.fail_next(status)
    client = rig.make()
    with pytest.raises(TranslationUnavailable) as caught:
        client.translate([VIETNAMESE], "en")
    assert caught.value.status == status
    assert not isinstance(caught.value, QuotaExceeded)
    assert client.translate([VIETNAMESE], "en")[0].text.startswith("A stranger")


def test_libretranslate_retry_after_is_kept() -> None:
    """The server's Retry-After hint reaches the caller."""
    with FakeLibreTranslate() as fake:
        fake.fail_next(429, "Slowdown: 30 per 1 minute", headers={"Retry-After": "30"})
        client = _libre(fake)
        try:
            with pytest.raises(TranslationUnavailable) as caught:
                client.translate([VIETNAMESE], "en")
        finally:
            client.close()
    assert caught.value.retry_after == 30.0


def test_libretranslate_timeout_is_unavailable() -> None:
    """A server that does not answer within the client's timeout is unavailable."""
    with FakeLibreTranslate(delay=2.0) as fake:
        client = _libre(fake, timeout=0.2)
        started = time.monotonic()
        try:
            with pytest.raises(TranslationUnavailable, match="timed out"):
                client.translate([VIETNAMESE], "en")
        finally:
            client.close()
        assert time.monotonic() - started < FAST


def test_deepl_quota_is_unavailable_until_the_period_rolls_over() -> None:
    """DeepL's 456 is a QuotaExceeded: still "unavailable" to callers that only know that."""
    with FakeDeepL(character_limit=10) as fake:
        client = _deepl(fake)
        try:
            with pytest.raises(QuotaExceeded) as caught:
                client.translate([VIETNAMESE], "en")
        finally:
            client.close()
    assert isinstance(caught.value, TranslationUnavailable)
    assert caught.value.status == 456


def test_bad_key_is_refused(rig: Rig) -> None:
    """A wrong key is permanent (403): refused, never retried."""
    with pytest.raises(TranslationRefused) as caught:
        rig.make(key="wrong-key").translate([VIETNAMESE], "en")
    assert caught.value.status == 403


def test_libretranslate_missing_key_is_refused() -> None:
    """A server that requires keys answers 400 without one: refused, naming why."""
    with FakeLibreTranslate() as fake:
        client = LibreTranslateTranslator(fake.url, None)
        try:
            with pytest.raises(TranslationRefused, match="API key"):
                client.translate([VIETNAMESE], "en")
        finally:
            client.close()


def test_deepl_sends_the_key_in_the_header_only() -> None:
    """The key travels in `Authorization: DeepL-Auth-Key`, never in the body."""
    with FakeDeepL() as fake:
        client = _deepl(fake)
        try:
            client.translate([VIETNAMESE], "en")
        finally:
            client.close()
        [request] = fake.requests
    assert request.headers["authorization"] == f"DeepL-Auth-Key {DEFAULT_AUTH_KEY}"
    assert DEFAULT_AUTH_KEY not in request.body.decode()
    assert request.params["tag_handling"] == "xml"


def test_deepl_server_url_with_a_path() -> None:
    """DEEPL_SERVER_URL behind a path prefix keeps the prefix (urljoin would drop it)."""
    with FakeDeepL() as fake:
        client = _deepl(fake, url=fake.url + "/prefix")
        try:
            with pytest.raises(TranslationRefused):  # the fake has no /prefix route: 404
                client.translate([VIETNAMESE], "en")
        finally:
            client.close()
        assert fake.requests[0].path == "/prefix/v2/translate"


# -- choosing a provider ------------------------------------------------------------------------


@pytest.mark.parametrize("setting", [None, "off"])
def test_off_by_default_and_nothing_is_contacted(setting: str | None) -> None:
    """No provider named (or "off"): no translator, even with every URL and key present."""
    with FakeLibreTranslate() as libre, FakeDeepL() as fake_deepl:
        settings = _settings(
            translate=setting,
            libretranslate_url=libre.url,
            libretranslate_key=DEFAULT_API_KEY,
            deepl_auth_key=DEFAULT_AUTH_KEY,
            deepl_server_url=fake_deepl.url,
        )
        assert translator_for(settings) is None
        assert libre.requests == []
        assert fake_deepl.requests == []


def test_translator_for_libretranslate() -> None:
    """LIBRETRANSLATE_URL and the optional key build a working client."""
    with FakeLibreTranslate() as fake:
        client = translator_for(
            _settings(
                translate="libretranslate",
                libretranslate_url=fake.url,
                libretranslate_key=DEFAULT_API_KEY,
            )
        )
        assert client is not None
        assert client.name == "libretranslate"
        assert isinstance(client, Translator)
        try:
            assert client.translate([CHINESE], "en")[0].detected_source == "zh"
        finally:
            client.close()
        assert fake.requests[0].params["api_key"] == DEFAULT_API_KEY


def test_translator_for_deepl() -> None:
    """DEEPL_AUTH_KEY and DEEPL_SERVER_URL build a working official client."""
    with FakeDeepL() as fake:
        client = translator_for(
            _settings(translate="deepl", deepl_auth_key=DEFAULT_AUTH_KEY, deepl_server_url=fake.url)
        )
        assert client is not None
        assert client.name == "deepl"
        try:
            assert client.translate([CHINESE], "en")[0].text.startswith("People street-race")
        finally:
            client.close()


@pytest.mark.parametrize(
    ("provider", "missing"),
    [("libretranslate", "LIBRETRANSLATE_URL"), ("deepl", "DEEPL_AUTH_KEY")],
)
def test_half_configured_provider_names_the_missing_setting(provider: str, missing: str) -> None:
    """Choosing a provider without its URL or key is a ConfigError an admin can act on."""
    with pytest.raises(ConfigError, match=missing):
        translator_for(_settings(translate=provider))


# -- masking on its own -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("text", "hidden"),
    [
        ("Call me at (212) 555-0123 tonight", ["(212) 555-0123"]),
        ("mi número es 415-555-2671", ["415-555-2671"]),
        ("+1 202 555 0143 is my cell", ["+1 202 555 0143"]),
        ("gọi 0903 123 456 nhé", ["0903 123 456"]),
        ("电话13812345678", ["13812345678"]),
        ("555-0123 is my cell", ["555-0123"]),
        ("write to jo.smith+tips@mail.example.org please", ["jo.smith+tips@mail.example.org"]),
        ("邮箱lan@example.com", ["lan@example.com"]),
        ("I live at 1428 Elm St", ["1428"]),
        ("I live at 1428 N Elm Street, apt 4B", ["1428", "4B"]),
        ("Vivo en la calle Elm 1428", ["1428"]),
        ("nhà tôi ở số nhà 12 đường Lê Lợi", ["12"]),
        ("我住在Elm街1428号", ["1428"]),
    ],
)
def test_mask_finds_details(text: str, hidden: list[str]) -> None:
    """Each detail becomes a placeholder; the rest of the words stay for the translator."""
    masked, originals = mask(text)
    assert originals == hidden
    for detail in hidden:
        assert detail not in masked
    assert unmask(masked, originals) == text


def test_mask_leaves_ordinary_numbers() -> None:
    """Small counts and times are not details: "3 cars after 10pm on Elm Street" stays."""
    text = "There were 3 cars speeding on Elm Street after 10pm"
    assert mask(text) == (text, [])


@pytest.mark.parametrize(
    "translated",
    [
        "Call [1] or write [2].",
        "Call [ 1 ] or write [2 ].",
        "Call ［1］ or write 【2】.",
    ],
)
def test_unmask_tolerates_spaced_and_rebracketed_tokens(translated: str) -> None:
    """What engines do to "[1]" (spaces, full-width brackets) does not lose the detail."""
    assert unmask(translated, [PHONE, EMAIL]) == f"Call {PHONE} or write {EMAIL}."


def test_unmask_follows_moved_tokens() -> None:
    """A translation that reorders the sentence moves the placeholders; each finds its detail."""
    assert unmask("Write [2] or call [1].", [PHONE, EMAIL]) == f"Write {EMAIL} or call {PHONE}."


@pytest.mark.parametrize(
    "translated",
    [
        'Call <x id="1"/> or write <x id="2"/>.',
        "Call < x id = '1' / > or write <x id=\"2\"></x>.",
        'Call <X ID="1"/> or write <x id="2">.',
    ],
)
def test_unmask_tolerates_rewritten_tags(translated: str) -> None:
    """XML placeholders rewritten with spaces, other quotes or as open/close pairs."""
    assert unmask(translated, [PHONE, EMAIL], style=XML) == f"Call {PHONE} or write {EMAIL}."


def test_unmask_appends_what_the_provider_dropped() -> None:
    """A placeholder the provider lost is appended: no detail is silently lost."""
    assert unmask("Call me.", [PHONE]) == f"Call me. {PHONE}"
    assert unmask("", [PHONE]) == PHONE


def test_unmask_leaves_numbers_that_are_not_ours() -> None:
    """A bracketed number beyond the placeholders is the provider's own text."""
    assert unmask("Step [7]: call [1].", [PHONE]) == f"Step [7]: call {PHONE}."


def test_xml_style_escapes_and_restores() -> None:
    """XML placeholders travel in escaped text, and the escaping is undone after."""
    text = f"A & B <3, call {PHONE}"
    masked, originals = mask(text, style=XML)
    assert masked == 'A &amp; B &lt;3, call <x id="1"/>'
    assert unmask(masked, originals, style=XML) == text


def test_masking_twice_round_trips() -> None:
    """A caller that masks before the provider masks again gets its own placeholders back."""
    outer, outer_originals = mask(WITH_DETAILS)
    for style in (BRACKET, XML):
        inner, inner_originals = mask(outer, style=style)
        assert unmask(unmask(inner, inner_originals, style=style), outer_originals) == WITH_DETAILS


@pytest.mark.parametrize(
    ("code", "expected"),
    [
        ("zh-TW", "zh-hant"),
        ("zh_Hant", "zh-hant"),
        ("zt", "zh-hant"),
        ("ZH-HANS", "zh"),
        ("zh-Hans", "zh"),
        ("ZH", "zh"),
        ("es-MX", "es"),
        ("EN-US", "en"),
        ("fil", "tl"),
    ],
)
def test_normalize_language(code: str, expected: str) -> None:
    """Provider and channel spellings become Townline's codes."""
    assert normalize_language(code) == expected
