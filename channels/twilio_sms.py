"""SMS over Twilio: signed webhooks in, paced REST sends out, delivery statuses that only go up.

Twilio's words become neutral ones here, at the edge, through the tables below: a webhook
form becomes an `Inbound`, an error code becomes a send outcome, a `MessageStatus` becomes
a delivery status ranked in `storage.outbox.DELIVERY_RANK`. Phone numbers never reach a log.
"""

from __future__ import annotations

import logging
import re
from collections.abc import Iterable, Mapping, Sequence
from typing import TYPE_CHECKING, Any
from urllib.parse import parse_qsl, urlsplit, urlunsplit

import requests
from flask import Blueprint, Response, current_app, request
from flask.typing import ResponseReturnValue
from sqlmodel import Session
from twilio.base.exceptions import TwilioException, TwilioRestException
from twilio.http.http_client import TwilioHttpClient
from twilio.http.response import Response as TwilioResponse
from twilio.request_validator import RequestValidator
from twilio.rest import Client
from twilio.twiml.messaging_response import MessagingResponse
from werkzeug.datastructures import MultiDict
from werkzeug.wsgi import get_current_url

from bot.config import Settings
from bot.conversation import accept
from bot.events import Inbound
from bot.guard import UnacceptableError, bounded_int, has_unstorable, storable
from bot.runtime import Runtime
from bot.segments import count_segments
from channels.base import (
    FAILED,
    OPTED_OUT,
    RETRY,
    SENT,
    UNREACHABLE,
    Outbound,
    SendResult,
    render_numbered,
)
from channels.twilio_config import (
    MalformedError,
    SignatureError,
    SignedWebhooks,
    TwilioConfig,
    answer_refusals,
)
from storage import calls, outbox
from storage.conversations import update_contact
from storage.db import transaction

if TYPE_CHECKING:
    from _typeshed.wsgi import StartResponse, WSGIApplication, WSGIEnvironment

_SID = re.compile(r"[A-Za-z]{2}[0-9a-fA-F]{32}|[A-Za-z0-9_-]{1,64}")  # SM…/MM… or a test id
MAX_ADDRESS = 64
MAX_MEDIA_URL = 1000
log = logging.getLogger(__name__)

NAME = "sms"
INBOUND_PATH = "/sms/twilio"
STATUS_PATH = "/sms/twilio/status"
# Twilio answers a create well inside a second. An answer later than this is taken as lost
# and the message retried, though Twilio may have queued it (at most one duplicate). Sends
# run concurrently, so a slow answer holds one sending thread this long, not the channel.
SEND_TIMEOUT_SECONDS = 5.0
MAX_MEDIA = 10  # Twilio delivers at most ten media items per message
EMPTY_TWIML = str(MessagingResponse())  # '<?xml ...?><Response />': reply later, via the outbox

# Twilio error codes -> what they mean for us (https://www.twilio.com/docs/api/errors).
# Codes not listed: HTTP 429 and 5xx are retried, any other error fails and is shown to staff.
ERROR_OUTCOMES: Mapping[int, str] = {
    21610: OPTED_OUT,  # the recipient texted STOP to this sender: never retry
    21211: UNREACHABLE,  # invalid 'To' number
    21614: UNREACHABLE,  # 'To' is not a mobile number
    30005: UNREACHABLE,  # unknown destination handset
    30006: UNREACHABLE,  # landline or unreachable carrier
    20429: RETRY,  # too many requests: back off
    30007: FAILED,  # carrier filtered it as spam: don't hammer, a person should look
}
# Delivery errors a person must act on (reword the message, register the sender).
FLAG_STAFF_CODES = frozenset({30007})

# Twilio MessageStatus -> neutral delivery status. Statuses not here (receiving, received:
# inbound only) are ignored. https://www.twilio.com/docs/messaging/api/message-resource
STATUSES: Mapping[str, str] = {
    "accepted": "queued",
    "scheduled": "queued",
    "queued": "queued",
    "sending": "sending",
    "sent": "sent",
    "partially_delivered": "sent",
    "delivered": "delivered",
    "undelivered": "undelivered",
    "failed": "failed",
    "canceled": "cancelled",
    "read": "read",
}

# OptOutType, sent with Advanced Opt-Out when Twilio itself acted on a keyword.
OPT_OUT_TYPES = frozenset({"STOP", "START", "HELP"})


class RebasedHttpClient(TwilioHttpClient):
    """Twilio's own HTTP client, sending every request to another base URL (TWILIO_API_URL).

    Twilio documents a custom `http_client` as the extension point; rewriting the scheme and
    host of each URL covers every Twilio domain, so nothing can leak to the real API.
    """

    def __init__(self, base_url: str, timeout: float | None = None) -> None:
        super().__init__(timeout=timeout)
        self.base = urlsplit(base_url.rstrip("/"))

    def rebase(self, url: str) -> str:
        """Swap scheme and host (and prefix any base path), keeping path and query."""
        parts = urlsplit(url)
        rebased = parts._replace(
            scheme=self.base.scheme, netloc=self.base.netloc, path=self.base.path + parts.path
        )
        return urlunsplit(rebased)

    def request(self, method: str, url: str, *args: Any, **kwargs: Any) -> TwilioResponse:
        return super().request(method, self.rebase(url), *args, **kwargs)


def send_error(status: int | None, code: int | None) -> SendResult:
    """One Twilio error as a send outcome; the text names the code, never the number."""
    error = f"twilio {code or '-'} (HTTP {status or '-'})"
    outcome = ERROR_OUTCOMES.get(code or 0)
    if outcome is None:
        outcome = RETRY if status is not None and (status == 429 or status >= 500) else FAILED
    return SendResult(outcome, error=error, flag_staff=outcome == FAILED)


class TwilioSmsChannel(SignedWebhooks):
    """Sends through the real twilio REST client; checks webhook signatures with its token."""

    name = NAME

    def __init__(self, config: TwilioConfig, timeout: float = SEND_TIMEOUT_SECONDS) -> None:
        self.config = config
        self.rate_per_second = config.mps
        self.send_timeout = timeout  # sizes the worker's lease on a row (bot.worker)
        if config.api_url:
            self.http: TwilioHttpClient = RebasedHttpClient(config.api_url, timeout=timeout)
        else:
            self.http = TwilioHttpClient(timeout=timeout)
        self.client = Client(config.account_sid, config.auth_token, http_client=self.http)
        self.validator = RequestValidator(config.auth_token)

    @staticmethod
    def render(text: str, choices: Sequence[Mapping[str, Any]]) -> str:
        """Choices become numbered lines: every phone can answer with a digit."""
        return render_numbered(text, [dict(c) for c in choices])

    def cost(self, message: Outbound) -> int:
        """Segments of the body as Twilio bills them: TWILIO_MPS counts segments, not messages."""
        return count_segments(self.render(message.text, message.choices)).segments

    def send(self, message: Outbound) -> SendResult:
        """One REST create; the worker recorded the attempt before and records the SID after."""
        params: dict[str, Any] = {
            "to": message.address,
            "body": self.render(message.text, message.choices),
        }
        if self.config.messaging_service_sid:
            params["messaging_service_sid"] = self.config.messaging_service_sid
        else:
            params["from_"] = self.config.from_
        if self.config.public_url:
            params["status_callback"] = self.config.public_url + STATUS_PATH
        try:
            created = self.client.messages.create(**params)
        except TwilioRestException as exc:
            result = send_error(exc.status, exc.code)
            log.warning("outbox row %s: %s -> %s", message.outbox_id, result.error, result.outcome)
            return result
        except (requests.RequestException, TwilioException) as exc:
            # Timeouts and dropped connections. A read timeout after the POST is ambiguous
            # (Twilio may have queued it); the attempt is on record, so retrying is visible.
            log.warning("outbox row %s: %s, will retry", message.outbox_id, type(exc).__name__)
            return SendResult(RETRY, error=f"network: {type(exc).__name__}")
        return SendResult(SENT, provider_id=created.sid)

    def close(self) -> None:
        """Release pooled connections (tests, shutdown)."""
        if self.http.session is not None:
            self.http.session.close()


def channel_for(settings: Settings) -> TwilioSmsChannel | None:
    """The SMS channel when Twilio is configured, None when it is not (ConfigError if half)."""
    config = TwilioConfig.from_settings(settings)
    return TwilioSmsChannel(config) if config else None


# ---- webhooks -----------------------------------------------------------------------------

bp = Blueprint("twilio_sms", __name__)


def parse_inbound(form: Mapping[str, str], rt: Runtime) -> Inbound:
    """Twilio's inbound form as a neutral Inbound; MessageSid and From are required."""
    sid = form.get("MessageSid") or form.get("SmsSid")
    sender = form.get("From")
    if not sid or not sender:
        raise MalformedError("MessageSid and From are required")
    if not _SID.fullmatch(sid):
        raise MalformedError("MessageSid is not a Twilio message id")
    if len(sender) > MAX_ADDRESS or has_unstorable(sender):
        raise MalformedError("From is not a phone number or a channel address")
    try:
        num_media = bounded_int(form.get("NumMedia") or "0", "NumMedia", 0, 100)
    except UnacceptableError as exc:
        raise MalformedError("NumMedia must be a number") from exc
    media = tuple(
        url[:MAX_MEDIA_URL]
        for i in range(min(MAX_MEDIA, num_media))
        if (url := storable(form.get(f"MediaUrl{i}") or ""))
    )
    opt_out = (form.get("OptOutType") or "").strip().upper()
    return Inbound(
        channel=NAME,
        address=sender,
        text=storable(form.get("Body") or ""),  # a NUL byte cannot be stored: taken out
        provider_id=sid,
        received_at=rt.now(),
        media=media,
        opt_out=opt_out if opt_out in OPT_OUT_TYPES else None,
    )


def _verified() -> tuple[Runtime, TwilioSmsChannel]:
    """The runtime and channel, once the signature checks out; 403 otherwise."""
    rt: Runtime = current_app.extensions["townline"]
    channel = rt.channels[NAME]
    assert isinstance(channel, TwilioSmsChannel)
    if not channel.signed(request):
        log.warning("rejected a request to %s with a missing or wrong signature", request.path)
        raise SignatureError
    return rt, channel


answer_refusals(bp)


class InboundWebhook:
    """POST /sms/twilio, answered in front of Flask: verify, parse, store, 200, nothing else.

    This is the path a surge takes (thousands of residents answering a city-wide prompt at
    once), and its work is one signature check and one insert. Flask's request context,
    session, security headers and form parser cost twice that work (bench/inbound.py) and
    mean nothing to Twilio, so this reads the WSGI request itself; everything else goes on
    to the Flask app unchanged. The URL and the form are read as Werkzeug reads them.
    """

    def __init__(self, app: WSGIApplication, rt: Runtime, max_content_length: int) -> None:
        self.app = app
        self.rt = rt
        self.max_content_length = max_content_length

    def __call__(self, environ: WSGIEnvironment, start_response: StartResponse) -> Iterable[bytes]:
        channel = self.rt.channels.get(NAME)
        if (
            environ.get("PATH_INFO") != INBOUND_PATH
            or environ.get("REQUEST_METHOD") != "POST"
            or not isinstance(channel, TwilioSmsChannel)
        ):
            return self.app(environ, start_response)
        status, content_type, body = self.inbound(environ, channel)
        start_response(status, [("Content-Type", content_type), ("Content-Length", str(len(body)))])
        return [body]

    def inbound(self, environ: WSGIEnvironment, channel: TwilioSmsChannel) -> _Answer:
        """A resident's SMS/MMS: stored in one insert, then 200; the worker answers it."""
        form = self._form(environ)
        if form is None:
            return _TOO_LARGE
        url = channel.signed_url(
            environ.get("PATH_INFO", ""),
            environ.get("QUERY_STRING", "").encode("latin-1"),
            lambda: get_current_url(environ),
        )
        if not channel.verify(url, form, environ.get("HTTP_X_TWILIO_SIGNATURE", "")):
            log.warning("rejected a request to %s with a missing or wrong signature", INBOUND_PATH)
            return _FORBIDDEN
        try:
            message = parse_inbound(form, self.rt)
        except MalformedError as exc:
            return "400 BAD REQUEST", "text/plain; charset=utf-8", f"{exc}\n".encode()
        if not accept(self.rt, message):
            log.info("duplicate delivery of %s acknowledged, not stored again", message.provider_id)
        return _EMPTY

    def _form(self, environ: WSGIEnvironment) -> MultiDict[str, str] | None:
        """The posted form (empty unless urlencoded, as Twilio posts); None if too large."""
        try:
            length = int(environ.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if length > self.max_content_length:
            return None
        mimetype = environ.get("CONTENT_TYPE", "").split(";", 1)[0].strip().lower()
        if mimetype != "application/x-www-form-urlencoded" or length <= 0:
            return MultiDict()
        raw = environ["wsgi.input"].read(length)
        pairs = parse_qsl(raw.decode("utf-8", "replace"), keep_blank_values=True, errors="replace")
        return MultiDict(pairs)


_Answer = tuple[str, str, bytes]
_EMPTY: _Answer = ("200 OK", "text/xml; charset=utf-8", EMPTY_TWIML.encode())
_FORBIDDEN: _Answer = ("403 FORBIDDEN", "text/plain; charset=utf-8", b"signature does not match\n")
_TOO_LARGE: _Answer = ("413 REQUEST ENTITY TOO LARGE", "text/plain; charset=utf-8", b"too large\n")


@bp.post(STATUS_PATH)
def status() -> ResponseReturnValue:
    """A delivery status callback: moves the outbox row forward, never back."""
    rt, _channel = _verified()
    sid = request.form.get("MessageSid") or request.form.get("SmsSid")
    raw = (request.form.get("MessageStatus") or request.form.get("SmsStatus") or "").lower()
    if not sid or not raw:
        raise MalformedError("MessageSid and MessageStatus are required")
    if not _SID.fullmatch(sid):
        raise MalformedError("MessageSid is not a Twilio message id")
    neutral = STATUSES.get(raw)
    if neutral is None:
        log.info("status %r for %s is not one we track; ignored", raw, sid)
        return Response("", status=200)
    code = _error_code(request.form.get("ErrorCode"))
    effect = send_error(None, code) if code else None
    with transaction(rt.db) as session:
        update = outbox.record_delivery(
            session,
            channel=NAME,
            provider_id=sid,
            status=neutral,
            error=effect.error if effect else None,
            needs_staff=code in FLAG_STAFF_CODES,
        )
        if update.result == outbox.UPDATED and effect and update.contact_id is not None:
            _apply_error(session, update.contact_id, effect.outcome, rt)
    if update.result == outbox.UNKNOWN:
        log.info("status callback for unknown message %s ignored", sid)
    return Response("", status=200)


def _error_code(raw: str | None) -> int | None:
    """ErrorCode as an int; Twilio sends '' or omits it when there is none."""
    try:
        return bounded_int(raw, "ErrorCode", 0, 999_999) if raw else None
    except UnacceptableError:
        return None


def _apply_error(session: Session, contact_id: int, outcome: str, rt: Runtime) -> None:
    """A carrier's verdict arriving late (30005/30006, 21610) marks the contact like a send."""
    if outcome == UNREACHABLE:
        update_contact(session, contact_id, unreachable_at=rt.now())
    elif outcome == OPTED_OUT:
        update_contact(session, contact_id, opted_out_at=rt.now())
        outbox.cancel_pending_for(session, contact_id, "opted out", ())
        if (contact := outbox.contact_for(session, contact_id)) is not None:
            calls.opt_out_twins(session, contact, rt.now())
