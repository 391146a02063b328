"""The local provider fakes must behave like the real APIs as seen by the real client libraries."""

from __future__ import annotations

import asyncio
import datetime as dtm
import time
from collections.abc import Iterator

import pytest
import requests
from telegram import Bot, InlineKeyboardButton, InlineKeyboardMarkup, Update
from telegram.error import Conflict, Forbidden, InvalidToken, RetryAfter
from twilio.base.exceptions import TwilioRestException
from twilio.request_validator import RequestValidator

from tests.fakes import telegram_updates
from tests.fakes.telegram_api import FakeTelegram
from tests.fakes.twilio_api import FakeTwilio, num_segments, sign

RESIDENT = "+15558675310"
TOWNLINE = "+15017122661"


@pytest.fixture
def twilio() -> Iterator[FakeTwilio]:
    """A fresh Twilio fake per test, always closed."""
    with FakeTwilio() as fake:
        yield fake


@pytest.fixture
def telegram() -> Iterator[FakeTelegram]:
    """A fresh Bot API fake per test, always closed."""
    with FakeTelegram() as fake:
        yield fake


# -- Twilio -----------------------------------------------------------------------------------


def test_twilio_create_is_recorded(twilio: FakeTwilio) -> None:
    """messages.create through the real Client reaches the fake and reads back like Twilio."""
    message = twilio.client().messages.create(
        to=RESIDENT, from_=TOWNLINE, body="Thanks, we got it.", status_callback="https://t.test/s"
    )
    assert message.sid.startswith("SM")
    assert len(message.sid) == 34
    assert (message.status, message.to, message.num_segments) == ("queued", RESIDENT, "1")
    assert [(m.to, m.body) for m in twilio.messages()] == [(RESIDENT, "Thanks, we got it.")]
    assert twilio.requests[0].params["StatusCallback"] == "https://t.test/s"


def test_twilio_messaging_service_is_accepted(twilio: FakeTwilio) -> None:
    """With only a Messaging Service, Twilio answers status 'accepted' and no 'from'."""
    message = twilio.client().messages.create(to=RESIDENT, messaging_service_sid="MG1", body="Hi")
    assert (message.status, message.from_) == ("accepted", None)


def test_twilio_scripted_unsubscribed(twilio: FakeTwilio) -> None:
    """A scripted 21610 surfaces as TwilioRestException with Twilio's code and status."""
    twilio.fail_next(status=400, code=21610, message="Attempt to send to unsubscribed recipient")
    with pytest.raises(TwilioRestException) as caught:
        twilio.client().messages.create(to=RESIDENT, from_=TOWNLINE, body="Hi")
    assert (caught.value.code, caught.value.status) == (21610, 400)
    assert twilio.messages() == []


def test_twilio_rate_limited(twilio: FakeTwilio) -> None:
    """A scripted 429 raises with status 429, and only the next send is affected."""
    twilio.fail_next(status=429, code=20429)
    client = twilio.client()
    with pytest.raises(TwilioRestException) as caught:
        client.messages.create(to=RESIDENT, from_=TOWNLINE, body="Hi")
    assert caught.value.status == 429
    assert client.messages.create(to=RESIDENT, from_=TOWNLINE, body="Hi").status == "queued"


def test_twilio_rule_for_recipient(twilio: FakeTwilio) -> None:
    """A per-recipient rule fails that number every time and leaves others alone."""
    twilio.rule_for(to="+15550000000", status=400, code=21211)
    client = twilio.client()
    for _ in range(2):
        with pytest.raises(TwilioRestException, match="Invalid 'To' Phone Number"):
            client.messages.create(to="+15550000000", from_=TOWNLINE, body="Hi")
    client.messages.create(to=RESIDENT, from_=TOWNLINE, body="Hi")
    assert [m.to for m in twilio.messages()] == [RESIDENT]


def test_twilio_rejects_wrong_token(twilio: FakeTwilio) -> None:
    """Bad credentials get Twilio's 401 / 20003."""
    with pytest.raises(TwilioRestException) as caught:
        twilio.client(auth_token="wrong").messages.create(to=RESIDENT, from_=TOWNLINE, body="x")
    assert (caught.value.status, caught.value.code) == (401, 20003)


def test_twilio_delay_triggers_client_timeout(twilio: FakeTwilio) -> None:
    """`delay` lets tests exercise the client's timeout path."""
    twilio.delay = 2.0
    with pytest.raises(requests.exceptions.Timeout):
        twilio.client(timeout=0.2).messages.create(to=RESIDENT, from_=TOWNLINE, body="Hi")


def test_sign_is_accepted_by_request_validator() -> None:
    """Webhooks signed with `sign` pass Twilio's own validator."""
    url, params = "https://townline.test/sms/inbound", {"From": RESIDENT, "Body": "help"}
    signature = sign(url, params, "secret-token")
    assert RequestValidator("secret-token").validate(url, params, signature)
    assert not RequestValidator("other-token").validate(url, params, signature)


@pytest.mark.parametrize(
    ("body", "segments"),
    [
        ("a" * 160, 1),
        ("a" * 161, 2),
        ("é" * 160, 1),
        ("🙂" * 35, 1),
        ("🙂" * 36, 2),
        # At segment boundaries an escape pair or an emoji is never split: one more segment.
        ("a" * 152 + "[" + "a" * 152, 3),
        ("a" * 66 + "😀" + "a" * 66, 3),
    ],
)
def test_num_segments(body: str, segments: int) -> None:
    """Segment counts follow GSM-7 / UCS-2 limits, as Twilio bills them."""
    assert num_segments(body) == segments


# -- Telegram ---------------------------------------------------------------------------------


def test_telegram_get_me(telegram: FakeTelegram) -> None:
    """Bot.initialize (via `async with`) and get_me work against the fake."""

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            assert bot.username == "townline_test_bot"
            assert (await bot.get_me()).is_bot

    asyncio.run(scenario())


def test_telegram_trailing_slash_is_invalid_token(telegram: FakeTelegram) -> None:
    """A base_url with an extra slash 404s, which PTB reports as InvalidToken."""

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url + "/"):
            pass

    with pytest.raises(InvalidToken):
        asyncio.run(scenario())


def test_telegram_send_message_records_reply_markup(telegram: FakeTelegram) -> None:
    """sendMessage is recorded with reply_markup decoded from its JSON string."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            sent = await bot.send_message(42, "Was this helpful?", reply_markup=keyboard)
            assert (sent.chat.id, sent.text, sent.from_user.id) == (42, "Was this helpful?", bot.id)
            assert sent.reply_markup == keyboard

    asyncio.run(scenario())
    [call] = telegram.calls("sendMessage")
    assert call["chat_id"] == 42
    assert call["reply_markup"] == {"inline_keyboard": [[{"text": "Yes", "callback_data": "yes"}]]}


def test_telegram_blocked_raises_forbidden(telegram: FakeTelegram) -> None:
    """A scripted 403 surfaces as telegram.error.Forbidden."""
    telegram.fail_next("sendMessage", error_code=403)

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            with pytest.raises(Forbidden, match="bot was blocked by the user"):
                await bot.send_message(42, "Hello")

    asyncio.run(scenario())


def test_telegram_flood_raises_retry_after(
    telegram: FakeTelegram, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A scripted 429 surfaces as RetryAfter carrying parameters.retry_after."""
    monkeypatch.setenv("PTB_TIMEDELTA", "true")  # else PTB 22 warns (error under our filters)
    telegram.fail_next("sendMessage", error_code=429, retry_after=3)

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            with pytest.raises(RetryAfter) as caught:
                await bot.send_message(42, "Hello")
            assert caught.value.retry_after == dtm.timedelta(seconds=3)

    asyncio.run(scenario())


def test_telegram_get_updates_honours_offset(telegram: FakeTelegram) -> None:
    """Queued updates come back as Update objects; an offset confirms them; empty polls end fast."""
    builder = telegram_updates.UpdateBuilder()
    telegram.queue_updates([builder.text_message("hello"), builder.callback_query("yes")])

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            first, second = await bot.get_updates()
            assert (first.message.text, second.callback_query.data) == ("hello", "yes")
            started = time.monotonic()
            assert await bot.get_updates(offset=second.update_id + 1, timeout=5) == ()
            assert time.monotonic() - started < 2

    asyncio.run(scenario())
    assert telegram.pending_updates == []


def test_update_builders_parse_with_ptb() -> None:
    """Each builder payload is accepted by Update.de_json with the expected fields."""
    b = telegram_updates.UpdateBuilder()
    text = Update.de_json(b.text_message("hola", language_code="es"))
    assert (text.message.text, text.effective_user.language_code) == ("hola", "es")
    start = Update.de_json(b.start_command("precinct-7"))
    assert start.message.parse_entities() == {start.message.entities[0]: "/start"}
    assert start.message.text.split(maxsplit=1)[1] == "precinct-7"
    query = Update.de_json(b.callback_query("rate:5")).callback_query
    assert (query.data, query.message.from_user.is_bot) == ("rate:5", True)
    assert Update.de_json(b.edited_message("fixed typo")).edited_message.edit_date is not None
    photo = Update.de_json(b.photo_message("broken light")).message
    assert (photo.caption, photo.photo[-1].width) == ("broken light", 1280)
    assert Update.de_json(b.sticker_message()).message.sticker.emoji == "👍"
    assert Update.de_json(b.location_message(40.7, -74.0)).message.location.latitude == 40.7
    blocked = Update.de_json(b.bot_blocked()).my_chat_member
    assert (blocked.old_chat_member.status, blocked.new_chat_member.status) == ("member", "kicked")
    unblocked = Update.de_json(b.bot_unblocked()).my_chat_member
    assert unblocked.new_chat_member.status == "member"
    assert unblocked.chat.type == "private"


def test_update_builder_ids_increase() -> None:
    """update_id and message_id increase like in a live chat."""
    b = telegram_updates.UpdateBuilder()
    first, second = b.text_message("a"), b.text_message("b")
    assert second["update_id"] == first["update_id"] + 1
    assert second["message"]["message_id"] == first["message"]["message_id"] + 1


def test_telegram_webhook_and_callback_methods(telegram: FakeTelegram) -> None:
    """The remaining methods answer like the Bot API, including the webhook/getUpdates clash."""
    keyboard = InlineKeyboardMarkup([[InlineKeyboardButton("Yes", callback_data="yes")]])

    async def scenario() -> None:
        async with Bot(telegram.token, base_url=telegram.bot_base_url) as bot:
            assert await bot.set_webhook("https://townline.test/tg", secret_token="s3cret")
            assert (await bot.get_webhook_info()).url == "https://townline.test/tg"
            with pytest.raises(Conflict):
                await bot.get_updates()
            assert await bot.delete_webhook()
            assert await bot.answer_callback_query("1234567890", text="Thanks")
            sent = await bot.send_message(42, "Was this helpful?", reply_markup=keyboard)
            edited = await bot.edit_message_reply_markup(42, sent.message_id, reply_markup=None)
            assert edited.reply_markup is None
            assert edited.edit_date is not None

    asyncio.run(scenario())
    assert telegram.calls("setWebhook")[0]["secret_token"] == "s3cret"
    assert telegram.calls("answerCallbackQuery")[0]["callback_query_id"] == "1234567890"
