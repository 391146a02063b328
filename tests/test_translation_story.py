"""Stories: staff read and write every language, with a machine translation beside the words.

A Vietnamese resident texts about speeding; the worker translates it (never the webhook); staff
read it in English beside the original, group it with an English concern, and record an
English-only action that the provider drafts into Vietnamese and Spanish. Nothing is sent until
a person ticks Reviewed; then each resident hears back in their own language over SMS. The
provider going down loses nothing; with no provider configured, nothing leaves the server.
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime
from bot.services import translation
from bot.translation import deepl_provider as deepl
from bot.translation.base import normalize_language
from storage.db import transaction
from storage.models import Action, AuditEntry, Response, Translation
from tests.conftest import LANGUAGES, Clock
from tests.dashboard import log_in, post_form, staff_account
from tests.fakes.deepl_api import DEFAULT_AUTH_KEY, FakeDeepL
from tests.fakes.libretranslate_api import DEFAULT_API_KEY, FakeLibreTranslate
from tests.sms_kit import Phone, SmsLine, sms_line

VI = "Xe chạy quá nhanh trên đường Elm."
VI_EN = "Cars drive too fast on Elm Street."
EN_ACTION = "We will fix the streetlight."
ES_ACTION = "Arreglaremos la farola."


class Clockwork:
    """A monotonic clock the job's backoff reads, moved by hand."""

    def __init__(self) -> None:
        self.now = 0.0

    def __call__(self) -> float:
        return self.now


@contextmanager
def _line(settings: Settings, clock: Clock, provider: str) -> Iterator[tuple[SmsLine, Any]]:
    """An SMS line with translation through the chosen provider's local fake."""
    fake: Any = FakeLibreTranslate() if provider == "libretranslate" else FakeDeepL()
    with fake:
        values: dict[str, Any] = {"translate": provider}
        if provider == "libretranslate":
            values.update(libretranslate_url=fake.url, libretranslate_key=DEFAULT_API_KEY)
        else:
            values.update(deepl_server_url=fake.url, deepl_auth_key=DEFAULT_AUTH_KEY)
        with sms_line(settings.with_overrides(**values), clock) as line:
            yield line, fake


@pytest.fixture(params=["libretranslate", "deepl"])
def translated(
    request: pytest.FixtureRequest, settings: Settings, clock: Clock
) -> Iterator[tuple[SmsLine, Any]]:
    with _line(settings, clock, request.param) as pair:
        yield pair


def _tell(phone: Phone, *lines: str) -> None:
    for line in lines:
        phone.text(line)


def _responses(rt: Runtime) -> list[Response]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Response).order_by(Response.id)))  # type: ignore[arg-type]


def _translations(rt: Runtime) -> list[Translation]:
    with transaction(rt.db) as session:
        return list(session.exec(select(Translation)))


def test_staff_read_a_vietnamese_concern_in_english_beside_the_original(
    translated: tuple[SmsLine, Any],
) -> None:
    line, fake = translated
    rt = line.rt
    phone = line.phone("+15558675310")
    _tell(phone, "TIẾNG VIỆT", VI)
    assert fake.texts == []  # the webhook never calls the provider
    job = translation.InboundJob()
    assert job.run(rt) == 1
    [stored] = _translations(rt)
    assert (stored.text, stored.language, stored.source_language) == (VI_EN, "en", "vi")
    assert job.run(rt) == 0  # stored once: never billed twice
    assert fake.texts == [VI]

    client: FlaskClient = line.client
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    inbox = client.get("/staff").get_data(as_text=True)
    assert VI in inbox
    assert VI_EN in inbox
    assert f"machine translation: {stored.provider}" in inbox
    assert "Machine translation this month: " in inbox
    found = client.get("/staff?q=too+fast").get_data(as_text=True)  # search reads translations
    assert VI in found
    assert VI not in client.get("/staff?q=bicycle").get_data(as_text=True)
    [response] = [r for r in _responses(rt) if r.text == VI]
    page = client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    assert page.index(VI) < page.index(VI_EN)  # the resident's words first, verbatim

    post_form(client, f"/staff/responses/{response.id}/translation", {"text": "Cars speed on Elm."})
    page = client.get(f"/staff/responses/{response.id}").get_data(as_text=True)
    assert "Cars speed on Elm." in page
    assert "corrected by sam@city.gov" in page
    with transaction(rt.db) as session:
        actions = [e.action for e in session.exec(select(AuditEntry))]
    assert "translation.correct" in actions


def test_numbers_and_addresses_never_leave_the_server(settings: Settings, clock: Clock) -> None:
    with _line(settings, clock, "libretranslate") as (line, fake):
        phone = line.phone("+15558675311")
        words = (
            "Gọi cho tôi theo số 555-867-5309 hoặc gửi email lan@example.com, "
            "nhà tôi ở 1428 Elm St."
        )
        _tell(phone, "TIẾNG VIỆT", words)
        translation.InboundJob().run(line.rt)
        [sent] = fake.texts
        for secret in ("555-867-5309", "8675309", "lan@example.com", "1428"):
            assert secret not in sent
        [stored] = _translations(line.rt)
        assert "555-867-5309" in stored.text
        assert "lan@example.com" in stored.text
        assert "1428 Elm St" in stored.text


def test_the_provider_down_loses_nothing(settings: Settings, clock: Clock) -> None:
    with _line(settings, clock, "libretranslate") as (line, fake):
        _tell(line.phone("+15558675312"), "TIẾNG VIỆT", VI)
        fake.down()
        ticks = Clockwork()
        job = translation.InboundJob(clock=ticks)
        assert job.run(line.rt) == 0
        assert _translations(line.rt) == []
        fake.up()
        assert job.run(line.rt) == 0  # backing off, not hammering
        ticks.now += 60
        assert job.run(line.rt) == 1
        assert [t.text for t in _translations(line.rt)] == [VI_EN]


def _draft_action(line: SmsLine, client: FlaskClient) -> str:
    vi_phone, es_phone, en_phone = (
        line.phone(n) for n in ("+15550000001", "+15550000002", "+15550000003")
    )
    for phone, opening, words, place, yes in (
        (vi_phone, "TIẾNG VIỆT", VI, "Elm", "có"),
        (es_phone, "ESPAÑOL", "La luz de la calle en Elm no funciona", "Elm", "sí"),
        (en_phone, "hi", "The streetlight on Elm is out", "Elm", "yes"),
    ):
        _tell(phone, opening, words, "1", "skip", place, yes)
    translation.InboundJob().run(line.rt)
    ids = [str(r.id) for r in _responses(line.rt) if r.item == "opening" and r.text]
    post_form(
        client,
        "/staff/responses/bulk",
        {"op": "group", "ids": ids, "concern_title": "Elm streetlight"},
    )
    created = post_form(client, "/staff/actions/new", {"ids": ids})
    path = created.headers["Location"]  # type: ignore[attr-defined]
    post_form(client, path + "/edit", {"title": "Streetlight fixed", "message_en": EN_ACTION})
    return path


def test_an_english_action_is_drafted_reviewed_and_heard_in_each_language(
    settings: Settings, clock: Clock
) -> None:
    with _line(settings, clock, "libretranslate") as (line, _fake):
        client = line.client
        staff_account(line.rt, "sam@city.gov", "staff")
        log_in(client, "sam@city.gov")
        path = _draft_action(line, client)
        post_form(client, path + "/translate", {})
        page = client.get(path).get_data(as_text=True)
        assert ES_ACTION in page
        assert 'data-draft="vi"' in page
        assert 'data-draft="es"' in page
        post_form(client, path + "/publish", {})
        refused = client.get(path).get_data(as_text=True)
        assert "must review the machine-drafted languages" in refused
        with transaction(line.rt.db) as session:
            [action] = session.exec(select(Action)).all()
        assert action.status == "draft"
        vi_text = action.messages["vi"]
        form = {f"message_{lang}": text for lang, text in action.messages.items()}
        form.update(title="Streetlight fixed", message_vi="Chúng tôi sẽ sửa đèn đường.")
        form.update(reviewed_vi="yes", reviewed_es="yes", reviewed_zh="yes")
        post_form(client, path + "/edit", form)
        post_form(client, path + "/publish", {})
        line.drain()
        heard = {
            n: line.phone(n).inbox()[-1] for n in ("+15550000001", "+15550000002", "+15550000003")
        }
        assert heard["+15550000001"] == "Chúng tôi sẽ sửa đèn đường."  # the reviewer's words
        assert heard["+15550000002"] == ES_ACTION
        assert heard["+15550000003"] == EN_ACTION
        assert vi_text != heard["+15550000001"]


def test_unreviewed_drafts_go_only_when_allowed_and_say_so(
    settings: Settings, clock: Clock
) -> None:
    with _line(settings, clock, "libretranslate") as (line, _fake):
        line.rt.settings = line.rt.settings.with_overrides(send_unreviewed_translations=True)
        client = line.client
        staff_account(line.rt, "sam@city.gov", "staff")
        log_in(client, "sam@city.gov")
        path = _draft_action(line, client)
        post_form(client, path + "/translate", {})
        post_form(client, path + "/publish", {})
        line.drain()
        assert line.phone("+15550000002").inbox()[-1] == f"{ES_ACTION}\n(traducción automática)"
        assert line.phone("+15550000003").inbox()[-1] == EN_ACTION


def test_with_no_provider_nothing_leaves_the_server(rt: Runtime, client: FlaskClient) -> None:
    assert translation.translator(rt) is None
    assert translation.InboundJob().run(rt) == 0
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    from tests.dashboard import raise_concern

    response = raise_concern(rt, "sim-es", "es", "Los carros van rápido en Elm", "Elm")
    created = post_form(client, "/staff/actions/new", {"ids": [str(response.id)]})
    page = client.get(created.headers["Location"]).get_data(as_text=True)  # type: ignore[attr-defined]
    assert not re.search(r"machine translation", page)
    assert _translations(rt) == []


def test_the_api_shows_translations_and_drafts_on_request(settings: Settings, clock: Clock) -> None:
    from tests.dashboard import api_token

    with _line(settings, clock, "deepl") as (line, _fake):
        rt, client = line.rt, line.client
        _tell(line.phone("+15550000011"), "TIẾNG VIỆT", VI, "1", "bỏ qua", "Elm", "có")
        translation.InboundJob().run(rt)
        auth = api_token(rt, "staff")
        items = client.get("/api/v1/responses", headers=auth).get_json()["items"]
        [opening] = [i for i in items if i["text"] == VI]
        assert opening["translation"] == {"text": VI_EN, "language": "en", "provider": "deepl"}
        from bot.services.export import response_rows

        [row] = [r for r in response_rows(rt) if r["text"] == VI]
        assert (row["translation"], row["translation_provider"]) == (VI_EN, "deepl")

        body = {
            "title": "Streetlight fixed",
            "message": {"en": EN_ACTION},
            "response_ids": [opening["id"]],
            "translate": True,
        }
        made = client.post("/api/v1/actions", json=body, headers=auth)
        assert made.status_code == 201
        payload = made.get_json()
        assert payload["status"] == "draft"  # waits for a person to review the drafts
        assert payload["recipients"] == 0
        assert payload["drafts"]["vi"]["reviewed"] is False
        assert payload["drafts"]["vi"]["source"] == "en"
        drafted = {lang for lang in LANGUAGES if normalize_language(lang) in deepl.TARGETS}
        assert set(payload["drafts"]) == drafted - {"en"}  # DeepL has no Tagalog or Kreyol
        shown = client.get(made.headers["Location"], headers=auth).get_json()
        assert shown["drafts"] == payload["drafts"]

        rt.settings = rt.settings.with_overrides(send_unreviewed_translations=True)
        again = client.post("/api/v1/actions", json=body, headers=auth).get_json()
        assert again["status"] == "published"
        assert again["recipients"] == 1
        line.drain()
        heard = line.phone("+15550000011").inbox()[-1]
        assert heard.endswith("(bản dịch máy)")
        bad = client.post("/api/v1/actions", json={**body, "translate": "yes"}, headers=auth)
        assert bad.status_code == 400


def test_the_api_refuses_translate_without_a_provider(rt: Runtime, client: FlaskClient) -> None:
    from tests.dashboard import api_token, raise_concern

    response = raise_concern(rt, "sim-en", "en", "Cars race on Elm Street", "Elm St")
    body = {
        "title": "Patrols",
        "message": {"en": "We added patrols."},
        "response_ids": [response.id],
        "translate": True,
    }
    refused = client.post("/api/v1/actions", json=body, headers=api_token(rt, "staff"))
    assert refused.status_code == 400
    assert "TOWNLINE_TRANSLATE" in refused.get_json()["error"]


def test_the_worker_translates_on_its_schedule(settings: Settings, clock: Clock) -> None:
    from bot.worker import Worker

    with _line(settings, clock, "libretranslate") as (line, _fake):
        _tell(line.phone("+15550000021"), "TIẾNG VIỆT", VI)
        assert _translations(line.rt) == []
        assert Worker(line.rt).run_scheduled()
        assert [t.text for t in _translations(line.rt)] == [VI_EN]


def test_broadcasts_and_meetings_are_drafted_for_review_first(
    settings: Settings, clock: Clock
) -> None:
    from tests.dashboard import api_token

    with _line(settings, clock, "libretranslate") as (line, _fake):
        rt, client = line.rt, line.client
        _tell(line.phone("+15550000031"), "ESPAÑOL", "hola")
        auth = api_token(rt, "staff")
        body = {"message": {"en": "Thank you for telling us."}, "translate": True}
        drafted = client.post("/api/v1/broadcasts", json=body, headers=auth)
        assert drafted.status_code == 200
        payload = drafted.get_json()
        assert payload["created"] is False  # nothing is sent before a person reads it
        assert payload["drafts"]["es"] == {
            "text": "Gracias por contárnoslo.",
            "source": "en",
            "provider": "libretranslate",
            "reviewed": False,
        }
        previewed = client.post("/api/v1/broadcasts", json={**body, "preview": True}, headers=auth)
        assert previewed.get_json()["preview"]["recipients"] >= 1
        reviewed = {lang: d["text"] for lang, d in payload["drafts"].items()}
        sent = client.post(
            "/api/v1/broadcasts",
            json={"message": {"en": "Thank you for telling us.", **reviewed}},
            headers=auth,
        )
        assert sent.status_code == 201
        line.drain()
        assert line.phone("+15550000031").inbox()[-1] == "Gracias por contárnoslo."

        meeting = {
            "title": "Thank you for telling us.",
            "starts_at": "2026-12-10T18:00:00-05:00",
            "location": "Library",
            "translate": True,
        }
        held = client.post("/api/v1/meetings", json=meeting, headers=auth)
        assert held.status_code == 200
        assert held.get_json()["drafts"]["titles"]["es"]["text"] == "Gracias por contárnoslo."

        rt.settings = rt.settings.with_overrides(send_unreviewed_translations=True)
        made = client.post("/api/v1/meetings", json=meeting, headers=auth)
        assert made.status_code == 201
        assert made.get_json()["drafts"]["titles"]["zh"]["text"] == "谢谢你告诉我们。"
        went = client.post("/api/v1/broadcasts", json=body, headers=auth)
        assert went.status_code == 201
        assert went.get_json()["drafts"]["es"]["reviewed"] is False
        line.drain()
        assert line.phone("+15550000031").inbox()[-1] == (
            "Gracias por contárnoslo.\n(traducción automática)"
        )
