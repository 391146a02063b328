"""Shared plumbing for the local fake provider APIs: a stdlib HTTP server on 127.0.0.1."""

from __future__ import annotations

import abc
import json
import sys
import threading
import traceback
from dataclasses import dataclass, field
from email.parser import BytesParser
from email.policy import HTTP
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from types import TracebackType
from typing import Any, Self
from urllib.parse import parse_qs, urlsplit


@dataclass(frozen=True)
class RecordedRequest:
    """One request as the fake saw it, so tests can assert on what the real client sent."""

    method: str
    path: str
    headers: dict[str, str]
    body: bytes
    params: dict[str, Any]  # query string merged with the parsed form / JSON / multipart body


@dataclass
class Reply:
    """What the fake answers, built by the provider-specific subclass."""

    status: int
    payload: Any = None  # JSON-encoded unless `raw` is given
    raw: bytes | None = None
    content_type: str = "application/json"
    headers: dict[str, str] = field(default_factory=dict)
    delay: float = 0.0  # seconds to stall before answering, to exercise client timeouts


def _flatten(multi: dict[str, list[str]]) -> dict[str, Any]:
    """Collapse parse_qs lists so single-valued fields read naturally (`params["To"]`)."""
    return {key: values[0] if len(values) == 1 else values for key, values in multi.items()}


def parse_body(content_type: str, body: bytes) -> dict[str, Any]:
    """Decode the body the way the provider would, whichever encoding the client picked."""
    mime = content_type.split(";")[0].strip().lower()
    if not body:
        return {}
    if mime == "application/json":
        decoded = json.loads(body)
        return decoded if isinstance(decoded, dict) else {"_json": decoded}
    if mime == "multipart/form-data":
        header = f"Content-Type: {content_type}\r\n\r\n".encode()
        message = BytesParser(policy=HTTP).parsebytes(header + body)
        parts: dict[str, Any] = {}
        for part in message.iter_parts():
            name = part.get_param("name", header="content-disposition")
            raw = part.get_payload(decode=True) or b""
            is_file = part.get_filename() is not None
            parts[str(name)] = raw if is_file else raw.decode(part.get_content_charset() or "utf-8")
        return parts
    return _flatten(parse_qs(body.decode("utf-8"), keep_blank_values=True))


class _Server(ThreadingHTTPServer):
    """ThreadingHTTPServer that stays quiet when a client hangs up (e.g. after a timeout)."""

    daemon_threads = True

    def handle_error(self, request: Any, client_address: Any) -> None:
        """Ignore clients that went away; anything else is a real bug worth printing."""
        if isinstance(sys.exc_info()[1], ConnectionError | TimeoutError):
            return
        super().handle_error(request, client_address)


class FakeHTTPServer(abc.ABC):
    """Base fake: serves on 127.0.0.1:<random port> in a daemon thread until `close()`."""

    def __init__(self) -> None:
        self._lock = threading.Lock()
        self._closing = threading.Event()
        self._requests: list[RecordedRequest] = []
        self._server = _Server(("127.0.0.1", 0), self._handler_class())
        self._thread = threading.Thread(
            target=self._server.serve_forever,
            kwargs={"poll_interval": 0.05},
            name=f"{type(self).__name__}-server",
            daemon=True,
        )
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL of the fake, e.g. http://127.0.0.1:51234 (no trailing slash)."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def requests(self) -> list[RecordedRequest]:
        """Snapshot of every request received so far, oldest first."""
        with self._lock:
            return list(self._requests)

    def close(self) -> None:
        """Stop serving and release the socket; safe to call twice."""
        if self._closing.is_set():
            return
        self._closing.set()  # wakes handlers stalled on a `delay`
        self._server.shutdown()
        self._server.server_close()
        self._thread.join(timeout=5)

    def __enter__(self) -> Self:
        """Allow `with FakeX() as fake:` so the server is always closed."""
        return self

    def __exit__(
        self,
        exc_type: type[BaseException] | None,
        exc: BaseException | None,
        tb: TracebackType | None,
    ) -> None:
        """Close on leaving the block, even on test failure."""
        self.close()

    @abc.abstractmethod
    def handle(self, request: RecordedRequest) -> Reply:
        """Answer one recorded request; provider subclasses implement their API here."""

    def decode_params(self, params: dict[str, Any]) -> dict[str, Any]:
        """Hook for provider-specific decoding of parameter values (e.g. JSON-in-form fields)."""
        return params

    def _serve(self, handler: BaseHTTPRequestHandler) -> None:
        """Parse, record, answer: the per-request pipeline shared by all fakes."""
        length = int(handler.headers.get("Content-Length") or 0)
        body = handler.rfile.read(length) if length else b""
        split = urlsplit(handler.path)
        params = _flatten(parse_qs(split.query, keep_blank_values=True))
        params.update(parse_body(handler.headers.get("Content-Type", ""), body))
        request = RecordedRequest(
            method=handler.command,
            path=split.path,
            headers={key.lower(): value for key, value in handler.headers.items()},
            body=body,
            params=self.decode_params(params),
        )
        with self._lock:
            self._requests.append(request)
        try:
            reply = self.handle(request)
        except Exception:  # a bug in the fake must surface, not hang the client
            traceback.print_exc()
            reply = Reply(500, raw=traceback.format_exc().encode(), content_type="text/plain")
        if reply.delay and self._closing.wait(reply.delay):
            return  # closed while stalling: drop the connection like a dead upstream
        data = reply.raw if reply.raw is not None else json.dumps(reply.payload).encode()
        handler.send_response(reply.status)
        handler.send_header("Content-Type", reply.content_type)
        handler.send_header("Content-Length", str(len(data)))
        handler.send_header("Connection", "close")
        for name, value in reply.headers.items():
            handler.send_header(name, value)
        handler.end_headers()
        handler.wfile.write(data)

    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        """Build a request handler bound to this fake instance."""
        fake = self

        class Handler(BaseHTTPRequestHandler):
            """Routes every verb to the fake's shared pipeline."""

            def do_GET(self) -> None:
                """Serve GET (Bot API allows GET; Twilio GET routes answer 404)."""
                fake._serve(self)

            do_POST = do_DELETE = do_PUT = do_GET  # noqa: N815 - names fixed by http.server

            def log_message(self, format: str, *args: Any) -> None:
                """Keep test output clean; `fake.requests` is the log."""

        return Handler
