"""Nothing personal in logs: SQL parameters, PostgreSQL's echoed values and the bot token.

An admin who turns logging up to DEBUG to find a fault reads these logs; a resident's phone
number, chat id or words, or the credential that speaks as the agency's bot, must not be there.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator

import pytest
from sqlalchemy import text
from sqlalchemy.exc import DBAPIError

from bot.config import Settings
from bot.runtime import Runtime
from channels.base import Outbound
from channels.telegram import TelegramChannel
from storage.db import is_postgres
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import BOT_TOKEN
from tests.telegram_kit import telegram_settings

PHONE = "+15558675309"
WORDS = "my neighbour Dana at 14 Elm St is scared"
log = logging.getLogger("townline.test.errors")


def _logged(caplog: pytest.LogCaptureFixture, run: str, params: dict[str, str], rt: Runtime) -> str:
    """Run a failing statement, log its error as the app would, and return the log text."""
    with pytest.raises(DBAPIError) as failure, rt.db.begin() as conn:
        conn.execute(text(run), params)
    with caplog.at_level(logging.DEBUG):
        try:
            raise failure.value
        except DBAPIError:
            log.exception("while storing an inbound message")
    return caplog.text


def test_a_failed_statement_logs_neither_number_nor_words(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """The statement fails after the values were bound: the traceback names no value."""
    logged = _logged(
        caplog, "INSERT INTO no_such_table (a, b) VALUES (:a, :b)", {"a": PHONE, "b": WORDS}, rt
    )
    assert "while storing an inbound message" in logged
    assert "hide_parameters" in logged  # SQLAlchemy says the values were hidden
    assert PHONE not in logged
    assert WORDS not in logged


def test_values_postgresql_repeats_in_its_errors_are_hidden(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """PostgreSQL quotes a bad value back, and names a duplicate key: both are scrubbed."""
    if not is_postgres(rt.db):
        pytest.skip("these messages are PostgreSQL's; SQLite does not echo values")
    logged = _logged(caplog, "SELECT CAST(:a AS INTEGER)", {"a": PHONE}, rt)
    assert "out of range for type integer" in logged
    assert PHONE not in logged
    caplog.clear()
    with rt.db.begin() as conn:
        conn.execute(text("CREATE TEMPORARY TABLE IF NOT EXISTS seen (a text UNIQUE)"))
        conn.execute(text("INSERT INTO seen VALUES (:a)"), {"a": PHONE})
        with pytest.raises(DBAPIError) as failure, conn.begin_nested():
            conn.execute(text("INSERT INTO seen VALUES (:a)"), {"a": PHONE})
    with caplog.at_level(logging.DEBUG):
        try:
            raise failure.value
        except DBAPIError:
            log.exception("duplicate")
    assert "already exists" in str(failure.value)  # PostgreSQL did echo it…
    assert PHONE in str(failure.value)
    assert "duplicate key" in caplog.text  # …and the log keeps the error, not the value
    assert PHONE not in caplog.text


def test_a_nul_byte_on_postgresql_logs_nothing_personal(
    rt: Runtime, caplog: pytest.LogCaptureFixture
) -> None:
    """The very failure the probe saw: NUL in a message, tracebacks printing the parameters."""
    if not is_postgres(rt.db):
        pytest.skip("SQLite stores NUL; only PostgreSQL refuses it")
    logged = _logged(caplog, "SELECT :a, :b", {"a": PHONE, "b": WORDS + "\x00"}, rt)
    assert "NUL" in logged
    assert PHONE not in logged
    assert WORDS not in logged


@pytest.fixture
def telegram(settings: Settings) -> Iterator[tuple[TelegramChannel, FakeTelegram]]:
    with FakeTelegram() as fake:
        channel = TelegramChannel.from_settings(telegram_settings(settings, fake))
        yield channel, fake
        channel.close()


def test_the_bot_token_and_the_chat_never_reach_a_log(
    telegram: tuple[TelegramChannel, FakeTelegram], caplog: pytest.LogCaptureFixture
) -> None:
    """At DEBUG, httpx logs each URL and python-telegram-bot each call's parameters."""
    channel, fake = telegram
    secret = BOT_TOKEN.split(":", 1)[1]
    with caplog.at_level(logging.DEBUG):
        result = channel.send(
            Outbound(
                outbox_id=1,
                channel="telegram",
                address="912345678",
                text=WORDS,
                choices=(),
                language="en",
                kind="reply",
                provider_ref=None,
            )
        )
    assert result.outcome == "sent"
    assert [m["text"] for m in fake.sent_messages()] == [WORDS]
    assert "HTTP Request: POST" in caplog.text  # httpx did log the call…
    assert "/bot<hidden>/sendMessage" in caplog.text  # …with the token masked
    assert secret not in caplog.text
    assert "912345678" not in caplog.text
    assert WORDS not in caplog.text
