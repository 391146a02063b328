"""The simulator in production: who may use it, whose pretend phone is whose, what staff count.

Stories: on a laptop anyone may try the line; on the agency's PostgreSQL server only logged-in
staff may (TOWNLINE_SIMULATOR=staff is the default there), or nobody (off). Two visitors who
pick the same pretend number never read each other's replies. Once SMS or Telegram is live,
staff's test conversations stay out of the inbox and the charts unless asked for.
"""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask import Flask
from flask.testing import FlaskClient

from bot.app import create_app
from bot.config import ConfigError, Settings, load_settings
from bot.runtime import Runtime, build_runtime
from bot.services.charts import chart_data
from bot.worker import Worker
from tests.conftest import Clock
from tests.dashboard import log_in, raise_concern, staff_account
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_kit import channel_of, telegram_settings


def _app(rt: Runtime, **overrides: object) -> Flask:
    runtime = Runtime(**{**rt.__dict__, "settings": rt.settings.with_overrides(**overrides)})
    return create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, runtime=runtime)


def test_the_default_is_public_on_sqlite_and_staff_on_postgresql(tmp_path) -> None:  # type: ignore[no-untyped-def]
    laptop = load_settings({}, instance=tmp_path)
    server = load_settings({"DATABASE_URL": "postgresql://townline@db/townline"}, instance=tmp_path)
    assert laptop.simulator_mode == "public"
    assert server.simulator_mode == "staff"
    chosen = load_settings(
        {"DATABASE_URL": "postgres://x@db/y", "TOWNLINE_SIMULATOR": "off"}, instance=tmp_path
    )
    assert chosen.simulator_mode == "off"
    with pytest.raises(ConfigError, match="TOWNLINE_SIMULATOR"):
        load_settings({"TOWNLINE_SIMULATOR": "everyone"}, instance=tmp_path)


def test_staff_mode_lets_only_logged_in_staff_use_it(rt: Runtime) -> None:
    app = _app(rt, simulator="staff")
    stranger = app.test_client()
    page = stranger.get("/simulator")
    assert page.status_code == 302
    assert "/staff/login" in page.headers["Location"]
    said = stranger.post("/simulator/send", json={"address": "sim-1", "text": "hello"})
    assert said.status_code == 401
    assert (
        stranger.post("/simulator/messages", json={"address": "sim-1", "after": 0}).status_code
        == 401
    )

    staff_account(rt, "sam@city.gov", "staff")
    sam = app.test_client()
    log_in(sam, "sam@city.gov")
    assert sam.get("/simulator").status_code == 200
    assert (
        sam.post("/simulator/send", json={"address": "sim-1", "text": "hello"}).status_code == 202
    )


def test_off_means_no_simulator_at_all(rt: Runtime) -> None:
    client = _app(rt, simulator="off").test_client()
    assert client.get("/simulator").status_code == 404
    assert (
        client.post("/simulator/send", json={"address": "sim-1", "text": "hi"}).status_code == 404
    )


def test_two_visitors_with_the_same_number_never_see_each_others_replies(rt: Runtime) -> None:
    app = _app(rt, simulator="public")  # as on a laptop (PostgreSQL's default is staff-only)
    alice, mallory = app.test_client(), app.test_client()
    alice.get("/simulator")
    mallory.get("/simulator")
    said = alice.post(
        "/simulator/send", json={"address": "sim-shared", "text": "My neighbour's dog bites"}
    )
    assert said.status_code == 202
    Worker(rt).drain()
    mine = alice.post("/simulator/messages", json={"address": "sim-shared", "after": 0}).get_json()
    theirs = mallory.post(
        "/simulator/messages", json={"address": "sim-shared", "after": 0}
    ).get_json()
    assert mine["messages"]
    assert theirs == {"messages": []}
    forged = app.test_client()
    with forged.session_transaction() as session:
        session["sim_visitor"] = "../../etc"  # not an id the server made: replaced
    assert forged.post(
        "/simulator/messages", json={"address": "sim-shared", "after": 0}
    ).get_json() == {"messages": []}


@pytest.fixture
def live(settings: Settings, clock: Clock) -> Iterator[tuple[Runtime, FlaskClient]]:
    """An agency with Telegram live (against the local fake), so the simulator is a test bench."""
    with FakeTelegram() as fake:
        rt = build_runtime(telegram_settings(settings, fake), clock=clock)
        app = create_app({"TESTING": True, "WTF_CSRF_ENABLED": False}, runtime=rt)
        yield rt, app.test_client()
        channel_of(rt).close()
        rt.db.dispose()


def test_simulated_residents_stay_out_of_counts_once_real_ones_can_write(
    live: tuple[Runtime, FlaskClient],
) -> None:
    rt, client = live
    raise_concern(rt, "sim-staff-test", "en", "Testing the line: cars race on Elm", "Elm St")
    staff_account(rt, "sam@city.gov", "viewer")
    log_in(client, "sam@city.gov")
    inbox = client.get("/staff").get_data(as_text=True)
    assert "Testing the line" not in inbox
    assert "Include simulated residents" in inbox
    asked = client.get("/staff?simulated=include").get_data(as_text=True)
    assert "Testing the line" in asked
    assert "Testing the line" in client.get("/staff?channel=simulator").get_data(as_text=True)
    assert chart_data(rt).channels == []
    assert chart_data(rt, include_simulated=True).channels == [("simulator", 1)]


def test_on_a_laptop_the_simulator_is_all_there_is_to_see(rt: Runtime, client: FlaskClient) -> None:
    raise_concern(rt, "sim-demo", "en", "Cars race on Elm Street", "Elm St")
    staff_account(rt, "sam@city.gov", "viewer")
    log_in(client, "sam@city.gov")
    inbox = client.get("/staff").get_data(as_text=True)
    assert "Cars race on Elm Street" in inbox
    assert "Include simulated residents" not in inbox
    assert chart_data(rt).channels == [("simulator", 1)]
