"""Fixtures every Telegram story shares: the faked Bot API, the agency with Telegram on, Ana."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from flask.testing import FlaskClient

from bot.config import Settings
from bot.runtime import Runtime
from tests.fakes.telegram_api import FakeTelegram
from tests.telegram_kit import TelegramResident, channel_of, telegram_settings


@pytest.fixture
def fake() -> Iterator[FakeTelegram]:
    """The Bot API, faked on 127.0.0.1."""
    with FakeTelegram() as api:
        yield api


@pytest.fixture
def settings(settings: Settings, fake: FakeTelegram) -> Settings:
    """The test agency, with Telegram configured."""
    return telegram_settings(settings, fake)


@pytest.fixture
def ana(client: FlaskClient, rt: Runtime, fake: FakeTelegram) -> Iterator[TelegramResident]:
    """Ana, in a private chat with the bot; the channel's loop is closed after the story."""
    channel = channel_of(rt)
    yield TelegramResident(client, rt, fake)
    channel.close()
