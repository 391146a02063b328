"""Every row of what an attacker and a careless client tried: each now gets a clear answer.

Run on SQLite and PostgreSQL (NUL bytes and out-of-range numbers only fail on PostgreSQL).
"""

from __future__ import annotations

from collections.abc import Iterator
from typing import Any

import pytest
from flask.testing import FlaskClient
from sqlmodel import select

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime
from bot.services import broadcasts
from bot.services.validation import InvalidInputError
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


@pytest.fixture
def simulator(rt: Runtime) -> FlaskClient:
    """The simulator open to anyone, as on a laptop (on PostgreSQL it is staff-only)."""
    runtime = Runtime(**{**rt.__dict__, "settings": rt.settings.with_overrides(simulator="public")})
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, runtime=runtime).test_client()


def test_nul_to_the_simulator_is_handled(simulator: FlaskClient) -> None:
    response = simulator.post("/simulator/send", json={"address": "sim-x", "text": f"a{NUL}b"})
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


def test_nested_json_to_the_simulator_is_a_bad_request(simulator: FlaskClient) -> None:
    body = '{"address": "sim-x", "text": ' + "[" * 900 + "]" * 900 + "}"
    response = simulator.post("/simulator/send", data=body, content_type="application/json")
    assert response.status_code == 400


def test_a_bulk_action_never_redirects_off_site(client: FlaskClient, rt: Runtime) -> None:
    staff_account(rt, "sam@city.gov", "staff")
    log_in(client, "sam@city.gov")
    response = client.post(
        "/staff/responses/bulk", data={"back": "https://evil.example/", "status": "read"}
    )
    location = response.headers.get("Location", "")
    assert not location.startswith(("http://evil", "https://evil", "//"))


# ---- found by the fuzz tests (test_fuzz_*.py, test_openapi_fuzz.py) ----------------------------
@pytest.mark.parametrize("name", ["topic", "status", "language", "channel", "neighbourhood", "tag"])
def test_a_nul_in_an_api_filter_is_a_bad_request(
    client: FlaskClient, rt: Runtime, name: str
) -> None:
    """PostgreSQL refused even to compare with a NUL: a 500 with the SQL in the log."""
    response = client.get(
        "/api/v1/responses", query_string={name: f"a{NUL}b"}, headers=api_token(rt, "viewer")
    )
    assert response.status_code == 400
    assert name in response.get_json()["error"]


@pytest.mark.parametrize(
    ("path", "body", "where"),
    [
        ("/api/v1/actions", {"title": f"T{NUL}", "message": {"en": "a"}}, "title"),
        ("/api/v1/actions", {"title": "T", "message": {"en": f"a{NUL}"}}, "message.en"),
        ("/api/v1/actions", {"title": "\ud800", "message": {"en": "a"}}, "title"),
        ("/api/v1/broadcasts", {"message": {"en": f"a{NUL}b"}}, "message.en"),
        (
            "/api/v1/broadcasts",
            {"message": {"en": "a"}, "audience": {"neighbourhoods": [NUL]}},
            "audience.neighbourhoods[0]",
        ),
        (
            "/api/v1/meetings",
            {"title": "T", "starts_at": "2026-12-03T18:30:00Z", "location": "L", f"x{NUL}": 1},
            "body.'x'",
        ),
    ],
)
def test_unstorable_text_anywhere_in_an_api_body_is_a_bad_request(
    client: FlaskClient, rt: Runtime, path: str, body: dict[str, Any], where: str
) -> None:
    """NUL (or half a surrogate pair) in a message reached the outbox INSERT: a 500."""
    if path == "/api/v1/actions":
        body["response_ids"] = [1]
    response = client.post(path, json=body, headers=api_token(rt, "staff"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith(f"{where}: holds characters")


def test_a_neighbourhood_list_with_a_nul_is_refused_by_the_service(rt: Runtime) -> None:
    with pytest.raises(InvalidInputError, match=r"audience\.neighbourhoods"):
        broadcasts.preview(rt, {"en": "hi"}, {"neighbourhoods": [f"Elm{NUL}"]})


@pytest.mark.parametrize("link", ["http://[::1", "http://[zz]/x", "mailto:x@y.org", "https:"])
def test_a_malformed_meeting_link_is_a_bad_request(
    client: FlaskClient, rt: Runtime, link: str
) -> None:
    """urlsplit raised ValueError on "http://[::1" inside the service: a 500 on every database."""
    body = {"title": "T", "starts_at": "2026-12-03T18:30:00Z", "virtual_url": link}
    response = client.post("/api/v1/meetings", json=body, headers=api_token(rt, "staff"))
    assert response.status_code == 400
    assert response.get_json()["error"].startswith("virtual_url:")


def test_a_wrong_method_on_the_api_says_which_are_allowed(client: FlaskClient, rt: Runtime) -> None:
    """The JSON error handler dropped the 405's Allow header (RFC 9110; Schemathesis)."""
    response = client.delete("/api/v1/actions/1", headers=api_token(rt, "staff"))
    assert response.status_code == 405
    assert set(response.headers["Allow"].replace(" ", "").split(",")) >= {"GET", "HEAD"}
    assert response.get_json()["error"]


@pytest.mark.parametrize("callback_id", ["\ud800", ["x"], {"x": 1}, 2**63, "", "9" * 65])
def test_a_forged_button_press_id_is_a_bad_request(
    telegram: FlaskClient, rt: Runtime, callback_id: Any
) -> None:
    """The id went to the outbox as the acknowledgement's reference and failed there (poison)."""
    update = BUILDER.callback_query("rsvp:1:yes")
    update["callback_query"]["id"] = callback_id
    assert _post_update(telegram, update) == 400
    with transaction(rt.db) as session:
        assert list(session.exec(select(Message))) == []


@pytest.mark.parametrize("label", [1.5, -1, True, ["Yes"], None, "\ud800"])
def test_a_button_label_that_is_not_text_is_read_as_its_value(
    telegram: FlaskClient, rt: Runtime, label: Any
) -> None:
    """The echoed keyboard's label was stored as the resident's words: a poison update."""
    update = BUILDER.callback_query("yes")
    update["callback_query"]["message"]["reply_markup"]["inline_keyboard"][0][0]["text"] = label
    assert _post_update(telegram, update) == 200
    with transaction(rt.db) as session:
        [message] = session.exec(select(Message)).all()
    assert message.text == "yes"
