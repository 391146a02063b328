"""Every row of what an attacker and a careless client tried: each now gets a clear answer.

Run on SQLite and PostgreSQL (NUL bytes and out-of-range numbers only fail on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.config import Settings
from bot.runtime import Runtime
from channels.telegram import SECRET_HEADER, WEBHOOK_PATH
from storage.db import transaction
from storage.models import Message, Rsvp
from tests.dashboard import api_token, log_in, staff_account
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import UpdateBuilder, make_user
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID
from tests.sms_kit import AGENCY_NUMBER, SERVICE_SID, SmsLine, sms_line
from tests.telegram_kit import SECRET, channel_of, telegram_settings

NUL = "\x00"


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    with FakeTelegram() as api:
        yield api


@pytest.fixture
def settings(settings: Settings, fake: FakeTelegram) -> Settings:
    return telegram_settings(settings, fake)


@pytest.fixture
def telegram(client: FlaskClient, rt: Runtime) -> Iterator[FlaskClient]:
    yield client
    channel_of(rt).close()


def _post_update(client: FlaskClient, update: Any) -> int:
    return client.post(WEBHOOK_PATH, json=update, headers={SECRET_HEADER: SECRET}).status_code


BUILDER = UpdateBuilder(user=make_user(5550001), first_update_id=880_000)


@pytest.mark.parametrize(
    "data",
    ["rsvp:99999:yes", "rsvp:0:yes", "rsvp:²:yes", "rsvp:" + "9" * 23 + ":yes", "rsvp:1:maybe"],
)
def test_forged_button_data_is_answered_never_a_500(
    telegram: FlaskClient, rt: Runtime, data: str
) -> None:
    assert _post_update(telegram, BUILDER.callback_query(data)) == 200
    with transaction(rt.db) as session:
        assert list(session.exec(select(Rsvp))) == []  # nobody RSVPs by forgery


def test_button_data_that_is_not_a_string_is_a_bad_request(telegram: FlaskClient) -> None:
    update = BUILDER.callback_query("rsvp:1:yes")
    update["callback_query"]["data"] = {"nested": True}
    assert _post_update(telegram, update) in (200, 400)


@pytest.mark.parametrize("chat_id", ["abc", 1.5, None, 10**30])
def test_a_chat_id_that_is_not_a_number_is_refused(telegram: FlaskClient, chat_id: Any) -> None:
    update = BUILDER.text_message("hello")
    update["message"]["chat"]["id"] = chat_id
    assert _post_update(telegram, update) == 400


def test_deeply_nested_json_is_a_bad_request(telegram: FlaskClient) -> None:
    body = '{"update_id": 1, "message": ' + "[" * 1000 + "]" * 1000 + "}"
    response = telegram.post(
        WEBHOOK_PATH, data=body, content_type="application/json", headers={SECRET_HEADER: SECRET}
    )
    assert response.status_code == 400


@pytest.mark.parametrize(
    "mutate",
    [
        lambda u: u["message"].update(date="yesterday"),
        lambda u: u["message"].update(text=["a", "list"]),
        lambda u: u["message"].update(**{"from": "nobody"}),
        lambda u: u.update(update_id=2**70),
        lambda u: u["message"].update(chat={"type": "private"}),
    ],
)
def test_updates_with_wrong_types_get_a_4xx(telegram: FlaskClient, mutate: Any) -> None:
    update = BUILDER.text_message("hello")
    mutate(update)
    assert _post_update(telegram, update) < 500


def test_nul_in_telegram_text_is_stored_cleaned(telegram: FlaskClient, rt: Runtime) -> None:
    assert _post_update(telegram, BUILDER.text_message(f"bad{NUL}text")) == 200
    with transaction(rt.db) as session:
        [message] = session.exec(select(Message)).all()
    assert message.text == "badtext"


@pytest.fixture
def line(settings: Settings, clock: Any) -> Iterator[SmsLine]:
    with sms_line(settings, clock) as sms:
        yield sms


def test_nul_in_an_sms_is_stored_cleaned(line: SmsLine) -> None:
    assert line.phone("+15558675310").send(f"noise{NUL} on Elm").status_code == 200


@pytest.mark.parametrize(
    ("field", "value"), [("From", "+1" + "5" * 200), ("MessageSid", "SM" + "a" * 300)]
)
def test_an_over_long_sms_field_is_a_bad_request(line: SmsLine, field: str, value: str) -> None:
    form = {
        "MessageSid": "SM" + "1" * 32,
        "AccountSid": DEFAULT_ACCOUNT_SID,
        "MessagingServiceSid": SERVICE_SID,
        "From": "+15558675310",
        "To": AGENCY_NUMBER,
        "Body": "hello",
        "NumMedia": "0",
    }
    form[field] = value
    assert line.post("/sms/twilio", form).status_code == 400


def test_a_long_email_at_login_is_a_clear_answer(client: FlaskClient) -> None:
    response = client.post("/staff/login", data={"email": "a" * 400 + "@x.org", "password": "x"})
    assert response.status_code in (200, 400, 401)  # refused like a wrong password


def test_nul_to_the_simulator_is_handled(client: FlaskClient) -> None:
    response = client.post("/simulator/send", json={"address": "sim-x", "text": f"a{NUL}b"})
    assert response.status_code < 500


@pytest.mark.parametrize(
    "query",
    [
        "cursor=²",
        "limit=²",
        f"cursor={2**63}",
        f"limit={2**63}",
        "to=9999-12-31",
        "from=0001-01-01",
        "concern=" + "9" * 23,
        "to=2026-13-45",
    ],
)
def test_odd_api_queries_get_a_400(client: FlaskClient, rt: Runtime, query: str) -> None:
    response = client.get(f"/api/v1/responses?{query}", headers=api_token(rt, "viewer"))
    assert 200 <= response.status_code < 500


@pytest.mark.parametrize(
    "path",
    [
        "/api/v1/actions/" + "9" * 23,
        "/api/v1/meetings/" + "9" * 23,
        "/api/v1/broadcasts/" + "9" * 23,
        "/meetings/" + "9" * 23 + ".ics",
        "/staff/responses/" + "9" * 23,
    ],
)
def test_huge_ids_are_not_found(client: FlaskClient, rt: Runtime, path: str) -> None:
    staff_account(rt, "sam@city.gov", "admin")
    log_in(client, "sam@city.gov")
    assert client.get(path, headers=api_token(rt, "viewer")).status_code == 404


@pytest.mark.parametrize(
    "body",
    [
        {"title": "T", "starts_at": "9999-12-31T18:00:00Z", "location": "L"},
        {"title": "T", "starts_at": "0001-01-01T18:00:00Z", "location": "L"},
        {
            "title": "T",
            "starts_at": "2026-12-31T18:00:00Z",
            "location": "L",
            "reminders": ["P99999999999D"],
        },
        {"title": "T" + NUL, "starts_at": "2026-12-31T18:00:00Z", "location": "L"},
    ],
)
def test_odd_meetings_get_a_400(client: FlaskClient, rt: Runtime, body: dict[str, Any]) -> None:
    response = client.post("/api/v1/meetings", json=body, headers=api_token(rt, "staff"))
    assert response.status_code == 400, response.get_json()


def test_nested_json_to_the_simulator_is_a_bad_request(client: FlaskClient) -> None:
    body = '{"address": "sim-x", "text": ' + "[" * 900 + "]" * 900 + "}"
    response = client.post("/simulator/send", data=body, content_type="application/json")
    assert response.status_code == 400


def test_a_bulk_action_never_redirects_off_site(client: FlaskClient, rt: Runtime) -> None:
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    response = client.post(
        "/staff/responses/bulk", data={"back": "https://evil.example/", "status": "read"}
    )
    location = response.headers.get("Location", "")
    assert not location.startswith(("http://evil", "https://evil", "//"))
