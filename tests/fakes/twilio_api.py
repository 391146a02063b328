"""Local fake of Twilio's Messages API, driven by the real `twilio.rest.Client`.

How the real client is pointed here: `FakeTwilio.client()` passes a `TwilioHttpClient`
subclass (`FakeTwilioHttpClient`) that rewrites the scheme and host of every URL to the fake.
Twilio documents a custom `http_client` as the supported extension point (advanced-examples/
custom-http-client.md); unlike `client.api.base_url = fake.url`, which only moves the `api`
domain, it covers every domain (messaging, lookups, ...), so no request can leak to twilio.com.
"""

from __future__ import annotations

import base64
import binascii
import re
import uuid
from collections import deque
from dataclasses import dataclass
from datetime import UTC, datetime
from email.utils import format_datetime
from typing import Any
from urllib.parse import urlsplit, urlunsplit

from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response
from twilio.request_validator import RequestValidator
from twilio.rest import Client

from bot.segments import count_segments
from tests.fakes._http import FakeHTTPServer, RecordedRequest, Reply

DEFAULT_ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
DEFAULT_AUTH_TOKEN = "fake-twilio-auth-token"

_MESSAGES_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Messages\.json$")
_CALLS_PATH = re.compile(r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Calls\.json$")
_CALL_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Calls/(?P<call>CA[0-9a-f]{32})\.json$"
)
_RECORDING_PATH = re.compile(
    r"^/2010-04-01/Accounts/(?P<sid>[^/]+)/Recordings/(?P<rec>RE[0-9a-f]{32})(?P<ext>\.wav|\.mp3|\.json)?$"
)

# Messages Twilio uses for the codes tests are most likely to script.
ERROR_MESSAGES: dict[int, str] = {
    20003: "Authenticate",
    20404: "The requested resource was not found",
    20429: "Too Many Requests",
    20500: "An internal server error has occurred",
    21211: "Invalid 'To' Phone Number",
    21408: (
        "Permission to send an SMS has not been enabled for the region indicated by the 'To' number"
    ),
    21602: "Message body is required.",
    21603: "A 'From' phone number is required.",
    21604: "A 'To' phone number is required.",
    21610: "Attempt to send to unsubscribed recipient",
    21614: "'To' number is not a valid mobile number",
}
_CODE_FOR_STATUS = {401: 20003, 404: 20404, 429: 20429, 500: 20500}


def num_segments(body: str) -> int:
    """Count SMS segments like Twilio bills them, with the project's calculator port."""
    return count_segments(body).segments


def sign(url: str, params: dict[str, Any], auth_token: str = DEFAULT_AUTH_TOKEN) -> str:
    """X-Twilio-Signature for a test webhook, computed by Twilio's own validator."""
    return RequestValidator(auth_token).compute_signature(url, params)


def twilio_error(status: int, code: int | None = None, message: str | None = None) -> Reply:
    """A legacy-format Twilio error body (what `TwilioRestException` parses)."""
    code = code if code is not None else _CODE_FOR_STATUS.get(status, status)
    payload = {
        "code": code,
        "message": message or ERROR_MESSAGES.get(code, "Error"),
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }
    return Reply(status, payload)


@dataclass(frozen=True)
class SentSms:
    """A message the fake accepted, i.e. one Twilio would have delivered."""

    sid: str
    to: str
    from_: str | None
    body: str
    messaging_service_sid: str | None
    status_callback: str | None
    media_urls: tuple[str, ...]


@dataclass(frozen=True)
class PlacedCall:
    """A call the fake accepted through the Calls API: whom, from which number, saying what."""

    sid: str
    to: str
    from_: str | None
    twiml: str
    machine_detection: str | None
    status_callback: str | None
    at: float  # time.monotonic() when the request arrived (pacing tests)


def tiny_wav(seconds: float = 0.5, rate: int = 8000) -> bytes:
    """A short 8 kHz mono WAV of a quiet tone: what a phone recording sounds like, in bytes."""
    import io
    import math
    import struct
    import wave

    frames = b"".join(
        struct.pack("<h", int(3000 * math.sin(2 * math.pi * 440 * i / rate)))
        for i in range(int(seconds * rate))
    )
    buffer = io.BytesIO()
    with wave.open(buffer, "wb") as out:
        out.setnchannels(1)
        out.setsampwidth(2)
        out.setframerate(rate)
        out.writeframes(frames)
    return buffer.getvalue()


@dataclass(frozen=True)
class _Rule:
    """A standing failure for one recipient number."""

    status: int
    code: int | None
    message: str | None
    delay: float


class FakeTwilioHttpClient(TwilioHttpClient):
    """Real TwilioHttpClient whose requests all land on the fake instead of *.twilio.com."""

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        """Keep Twilio's own request/response code path; only the destination changes."""
        super().__init__(timeout=timeout)
        self.base_url = base_url
        if self.session is not None:
            self.session.trust_env = False  # never route 127.0.0.1 through an HTTP(S)_PROXY

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> Response:
        """Swap scheme+host for the fake's, keeping path and query."""
        target = urlsplit(self.base_url)
        parts = urlsplit(url)._replace(scheme=target.scheme, netloc=target.netloc)
        return super().request(method, urlunsplit(parts), *args, **kwargs)

    def close(self) -> None:
        """Close pooled sockets so tests don't trip ResourceWarning."""
        if self.session is not None:
            self.session.close()


class FakeTwilio(FakeHTTPServer):
    """Fake `POST /2010-04-01/Accounts/{sid}/Messages.json` with scriptable failures."""

    def __init__(
        self,
        account_sid: str = DEFAULT_ACCOUNT_SID,
        auth_token: str = DEFAULT_AUTH_TOKEN,
        *,
        delay: float = 0.0,
    ) -> None:
        """Credentials are checked on every request; `delay` stalls every answer (timeouts)."""
        self.account_sid = account_sid
        self.auth_token = auth_token
        self.delay = delay
        self._script: deque[Reply] = deque()
        self._rules: dict[str, _Rule] = {}
        self._sent: list[SentSms] = []
        self._calls: list[PlacedCall] = []
        self.recordings: dict[str, bytes] = {}  # RecordingSid -> audio Twilio would serve
        self.deleted_recordings: list[str] = []
        # How placed calls ended, as GET Calls/{sid}.json tells it: CallSid -> (status, by).
        self.call_outcomes: dict[str, tuple[str, str | None]] = {}
        self._clients: list[FakeTwilioHttpClient] = []
        super().__init__()

    # -- programming the fake -------------------------------------------------------------

    def fail_next(
        self,
        status: int = 400,
        code: int | None = None,
        message: str | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        """Queue one Twilio-shaped error for the next Messages request (FIFO)."""
        reply = twilio_error(status, code, message)
        reply.delay = delay
        with self._lock:
            self._script.append(reply)

    def rule_for(
        self,
        to: str,
        status: int = 400,
        code: int | None = None,
        message: str | None = None,
        *,
        delay: float = 0.0,
    ) -> None:
        """Make every send to `to` fail this way (after any queued `fail_next` answers)."""
        with self._lock:
            self._rules[to] = _Rule(status, code, message, delay)

    def clear_rules(self) -> None:
        """Forget per-recipient rules, e.g. to model a number that starts working again."""
        with self._lock:
            self._rules.clear()

    # -- inspecting what happened ---------------------------------------------------------

    def messages(self) -> list[SentSms]:
        """Messages accepted so far (scripted failures are excluded; see `.requests`)."""
        with self._lock:
            return list(self._sent)

    def calls(self) -> list[PlacedCall]:
        """Calls placed so far through the Calls API."""
        with self._lock:
            return list(self._calls)

    # -- real client ------------------------------------------------------------------------

    def client(
        self,
        account_sid: str | None = None,
        auth_token: str | None = None,
        *,
        timeout: float | None = None,
    ) -> Client:
        """A real `twilio.rest.Client` wired to this fake; closed along with the fake."""
        http_client = FakeTwilioHttpClient(self.url, timeout=timeout)
        with self._lock:
            self._clients.append(http_client)
        return Client(
            account_sid or self.account_sid,
            auth_token or self.auth_token,
            http_client=http_client,
        )

    def close(self) -> None:
        """Close the server and the HTTP sessions of clients made by `client()`."""
        for http_client in self._clients:
            http_client.close()
        super().close()

    # -- request handling -----------------------------------------------------------------

    def handle(self, request: RecordedRequest) -> Reply:
        """Route, authenticate, then answer from script, rule, or the default success."""
        reply = self._answer(request)
        reply.delay = reply.delay or self.delay
        return reply

    def _authorized(self, request: RecordedRequest) -> bool:
        """HTTP Basic with the configured account SID and auth token, as Twilio requires."""
        scheme, _, encoded = request.headers.get("authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return False
        try:
            user, _, password = base64.b64decode(encoded).decode().partition(":")
        except (binascii.Error, UnicodeDecodeError):
            return False
        return (user, password) == (self.account_sid, self.auth_token)

    def _answer(self, request: RecordedRequest) -> Reply:
        """The routing and validation Twilio does before creating a Message."""
        if not self._authorized(request):
            return twilio_error(401, 20003)
        if (found := _RECORDING_PATH.match(request.path)) and found["sid"] == self.account_sid:
            return self._recording(request.method, found["rec"], found["ext"] or "")
        if (found := _CALL_PATH.match(request.path)) and found["sid"] == self.account_sid:
            return self._call(request.method, found["call"])
        if (found := _CALLS_PATH.match(request.path)) and found["sid"] == self.account_sid:
            if request.method != "POST":
                return twilio_error(404, 20404)
            with self._lock:
                scripted = self._script.popleft() if self._script else None
                rule = self._rules.get(request.params.get("To") or "")
            if scripted:
                return scripted
            if rule:
                return twilio_error(rule.status, rule.code, rule.message)
            return self._place_call(request.params)
        match = _MESSAGES_PATH.match(request.path)
        if request.method != "POST" or not match or match["sid"] != self.account_sid:
            return twilio_error(404, 20404, f"The requested resource {request.path} was not found")
        params = request.params
        to = params.get("To")
        with self._lock:
            scripted = self._script.popleft() if self._script else None
            rule = self._rules.get(to or "")
        if scripted:
            return scripted
        if rule:
            reply = twilio_error(rule.status, rule.code, rule.message)
            reply.delay = rule.delay
            return reply
        if not to:
            return twilio_error(400, 21604)
        if not params.get("From") and not params.get("MessagingServiceSid"):
            return twilio_error(400, 21603)
        if not params.get("Body") and not params.get("MediaUrl") and not params.get("ContentSid"):
            return twilio_error(400, 21602)
        return Reply(201, self._create(params))

    def _create(self, params: dict[str, Any]) -> dict[str, Any]:
        """Store the message and return it shaped like Twilio's Message resource."""
        sid = "SM" + uuid.uuid4().hex
        now = format_datetime(datetime.now(UTC))
        body = params.get("Body", "")
        media = params.get("MediaUrl", [])
        media_urls = tuple([media] if isinstance(media, str) else media)
        from_ = params.get("From")
        service = params.get("MessagingServiceSid")
        callback = params.get("StatusCallback")
        sms = SentSms(sid, params["To"], from_, body, service, callback, media_urls)
        with self._lock:
            self._sent.append(sms)
        uri = f"/2010-04-01/Accounts/{self.account_sid}/Messages/{sid}"
        return {
            "account_sid": self.account_sid,
            "api_version": "2010-04-01",
            "body": body,
            "date_created": now,
            "date_sent": None,
            "date_updated": now,
            "direction": "outbound-api",
            "error_code": None,
            "error_message": None,
            "from": from_,
            "messaging_service_sid": service,
            "num_media": str(len(media_urls)),
            "num_segments": str(num_segments(body)),
            "price": None,
            "price_unit": "USD",
            "sid": sid,
            # Twilio answers "accepted" when a Messaging Service will pick the sender itself.
            "status": "queued" if from_ else "accepted",
            "subresource_uris": {"media": f"{uri}/Media.json"},
            "to": params["To"],
            "uri": f"{uri}.json",
        }

    def _recording(self, method: str, sid: str, ext: str) -> Reply:
        """GET a recording's audio (.wav, .mp3) or DELETE it (.json), as Twilio serves them."""
        with self._lock:
            audio = self.recordings.get(sid)
            if method == "DELETE" and audio is not None:
                del self.recordings[sid]
                self.deleted_recordings.append(sid)
                return Reply(204, raw=b"")
        if audio is None:
            return twilio_error(404, 20404, f"The requested resource {sid} was not found")
        if method != "GET" or ext not in (".wav", ""):
            return twilio_error(404, 20404)
        return Reply(200, raw=audio, content_type="audio/x-wav")

    def end_call(self, sid: str, status: str, answered_by: str | None = None) -> None:
        """How a placed call ended, for GET Calls/{sid}.json (its callback need not come)."""
        with self._lock:
            self.call_outcomes[sid] = (status, answered_by)

    def _call(self, method: str, sid: str) -> Reply:
        """GET one call: its status, "in-progress" until the test ends it with `end_call`."""
        with self._lock:
            placed = next((c for c in self._calls if c.sid == sid), None)
            status, answered_by = self.call_outcomes.get(sid, ("in-progress", None))
        if method != "GET" or placed is None:
            return twilio_error(404, 20404, f"The requested resource {sid} was not found")
        now = format_datetime(datetime.now(UTC))
        return Reply(
            200,
            {
                "account_sid": self.account_sid,
                "answered_by": answered_by,
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "direction": "outbound-api",
                "from": placed.from_,
                "sid": sid,
                "status": status,
                "to": placed.to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            },
        )

    def _place_call(self, params: dict[str, Any]) -> Reply:
        """Calls.json: Twilio needs To, From, and what to say (Twiml or Url)."""
        import time

        if not params.get("To"):
            return twilio_error(400, 21201, "No 'To' number is specified")
        if not params.get("From"):
            return twilio_error(400, 21213, "No 'From' number is specified")
        if not params.get("Twiml") and not params.get("Url"):
            return twilio_error(400, 21205, "Url or Twiml is required")
        sid = "CA" + uuid.uuid4().hex
        call = PlacedCall(
            sid=sid,
            to=params["To"],
            from_=params.get("From"),
            twiml=params.get("Twiml", ""),
            machine_detection=params.get("MachineDetection"),
            status_callback=params.get("StatusCallback"),
            at=time.monotonic(),
        )
        with self._lock:
            self._calls.append(call)
        now = format_datetime(datetime.now(UTC))
        return Reply(
            201,
            {
                "account_sid": self.account_sid,
                "api_version": "2010-04-01",
                "date_created": now,
                "date_updated": now,
                "direction": "outbound-api",
                "from": call.from_,
                "sid": sid,
                "status": "queued",
                "to": call.to,
                "uri": f"/2010-04-01/Accounts/{self.account_sid}/Calls/{sid}.json",
            },
        )
