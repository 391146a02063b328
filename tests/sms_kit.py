"""An SMS line for tests: the app with Twilio configured, the FakeTwilio, and residents' phones.

Webhooks are signed with Twilio's own RequestValidator and posted through Flask's test client;
replies leave through the real worker and the real twilio REST client to the fake on 127.0.0.1.
"""

from __future__ import annotations

import itertools
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime
from typing import Any

from flask.testing import FlaskClient
from sqlmodel import select
from werkzeug.test import TestResponse

from bot.app import create_app
from bot.config import Settings
from bot.runtime import Runtime, build_runtime
from bot.worker import Worker
from channels import twilio_sms
from storage import conversations, outbox
from storage.db import transaction
from storage.models import Contact, Outbox
from tests.fakes.twilio_api import DEFAULT_ACCOUNT_SID, DEFAULT_AUTH_TOKEN, FakeTwilio, sign

AGENCY_NUMBER = "+15017122661"
SERVICE_SID = "MG" + "0" * 32
_sids = itertools.count(1)


def twilio_settings(settings: Settings, fake: FakeTwilio, **overrides: Any) -> Settings:
    """Settings with a complete Twilio configuration pointed at the fake."""
    values: dict[str, Any] = {
        "twilio_account_sid": DEFAULT_ACCOUNT_SID,
        "twilio_auth_token": DEFAULT_AUTH_TOKEN,
        "twilio_messaging_service_sid": SERVICE_SID,
        "twilio_api_url": fake.url,
        "twilio_mps": 1000.0,  # pacing has its own tests; elsewhere it would only slow them
    }
    values.update(overrides)
    return settings.with_overrides(**values)


class SmsLine:
    """The agency's SMS line as a test sees it."""

    def __init__(self, rt: Runtime, fake: FakeTwilio) -> None:
        self.rt = rt
        self.fake = fake
        self.app = create_app({"TESTING": True}, runtime=rt)
        self.client: FlaskClient = self.app.test_client()
        self.worker = Worker(rt)

    def url(self, path: str) -> str:
        """The URL Twilio would sign: PUBLIC_URL when set, else what the test client calls."""
        base = self.rt.settings.public_url or "http://localhost"
        return base + path

    def post(
        self,
        path: str,
        form: dict[str, str],
        *,
        signature: str | None = None,
        headers: dict[str, str] | None = None,
    ) -> TestResponse:
        """POST a form as Twilio does, signed unless a signature is given."""
        if signature is None:
            signature = sign(self.url(path), form)
        return self.client.post(
            path, data=form, headers={"X-Twilio-Signature": signature, **(headers or {})}
        )

    def status(self, sid: str, status: str, error_code: str | None = None) -> TestResponse:
        """A delivery status callback for one message."""
        form = {"MessageSid": sid, "MessageStatus": status, "AccountSid": DEFAULT_ACCOUNT_SID}
        if error_code:
            form["ErrorCode"] = error_code
        return self.post(twilio_sms.STATUS_PATH, form)

    def phone(self, number: str) -> Phone:
        """A resident texting the line from `number`."""
        return Phone(self, number)

    def drain(self) -> int:
        """Let the worker send everything that is due."""
        return self.worker.drain()

    def outbox_rows(self, number: str) -> list[Outbox]:
        """Every outbox row for a resident, oldest first."""
        with transaction(self.rt.db) as session:
            contact = conversations.find_contact(session, twilio_sms.NAME, number)
            if contact is None:
                return []
            rows = session.exec(select(Outbox).where(Outbox.contact_id == contact.id))
            return sorted(rows, key=lambda r: r.id or 0)

    def contact(self, number: str) -> Contact:
        """The agency's record of a resident."""
        with transaction(self.rt.db) as session:
            contact = conversations.find_contact(session, twilio_sms.NAME, number)
            assert contact is not None
            return contact


class Phone:
    """One resident's handset: texts in, reads what the fake Twilio delivered to it."""

    def __init__(self, line: SmsLine, number: str) -> None:
        self.line = line
        self.number = number
        self.seen = 0

    def send(self, body: str = "", sid: str | None = None, **fields: str) -> TestResponse:
        """Post one inbound message webhook, as Twilio would for this phone."""
        form = {
            "MessageSid": sid or f"SM{next(_sids):032d}",
            "AccountSid": DEFAULT_ACCOUNT_SID,
            "MessagingServiceSid": SERVICE_SID,
            "From": self.number,
            "To": AGENCY_NUMBER,
            "Body": body,
            "NumMedia": "0",
            "NumSegments": "1",
        }
        form.update(fields)
        return self.line.post(twilio_sms.INBOUND_PATH, form)

    def text(self, body: str = "", **fields: str) -> list[str]:
        """Text the line, let the worker run, and read the replies that reached this phone."""
        response = self.send(body, **fields)
        assert response.status_code == 200, response.get_data(as_text=True)
        self.line.drain()
        return self.inbox()

    def inbox(self) -> list[str]:
        """Bodies delivered to this phone since the last look."""
        bodies = [m.body for m in self.line.fake.messages() if m.to == self.number]
        new, self.seen = bodies[self.seen :], len(bodies)
        return new


def queue_broadcast(line: SmsLine, number: str, text: str) -> bool:
    """Queue a proactive bulk message the way a broadcast does; False when it was refused."""
    now = line.rt.now()
    with transaction(line.rt.db) as session:
        contact = conversations.get_or_create_contact(session, twilio_sms.NAME, number, now)
        row = {
            "contact_id": contact.id,
            "channel": twilio_sms.NAME,
            "kind": "broadcast",
            "priority": 10,
            "proactive": True,
            "text": text,
            "created_at": now,
            "next_attempt_at": now,
        }
        return bool(outbox.enqueue(session, [row]))


@contextmanager
def sms_line(
    settings: Settings, clock: Callable[[], datetime], **overrides: Any
) -> Iterator[SmsLine]:
    """A FakeTwilio and an app configured for it, both closed afterwards."""
    with FakeTwilio() as fake:
        rt = build_runtime(twilio_settings(settings, fake, **overrides), clock=clock)
        line = SmsLine(rt, fake)
        try:
            yield line
        finally:
            channel = rt.channels[twilio_sms.NAME]
            assert isinstance(channel, twilio_sms.TwilioSmsChannel)
            channel.close()
            rt.db.dispose()
