"""Local fake provider APIs (Twilio, Telegram) for tests that drive the real client libraries."""

from tests.fakes._http import RecordedRequest
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.telegram_updates import BOT_TOKEN, UpdateBuilder
from tests.fakes.twilio_api import FakeTwilio, SentSms, sign

__all__ = [
    "BOT_TOKEN",
    "FakeTelegram",
    "FakeTwilio",
    "RecordedRequest",
    "SentSms",
    "UpdateBuilder",
    "sign",
]
