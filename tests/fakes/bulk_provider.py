"""A lean fake SMS gateway on 127.0.0.1 and the channel that talks to it, for bulk-send tests.

The Twilio and Telegram fakes keep every request for assertions; at 100,000 messages that
is too heavy, so this one keeps only what scale tests check: how often each outbox row
arrived (duplicates), when (the achieved rate), and how many were refused for going too fast.
"""

from __future__ import annotations

import http.client
import json
import threading
import time
from collections import Counter
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any
from urllib.parse import urlsplit

from channels.base import RETRY, SENT, Outbound, SendResult


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 128


class FakeBulkProvider:
    """Accepts `POST /messages` with JSON {ref, to, text}; answers {"id": ...}.

    With `rate` set it refuses (429) a message that would make more than `rate` arrive in
    any one-second window plus `burst`, as a provider enforcing a throughput would.
    """

    def __init__(self, rate: float | None = None, burst: int = 0) -> None:
        self.rate = rate
        self.burst = burst
        self.counts: Counter[int] = Counter()
        self.first: float | None = None
        self.last: float | None = None
        self.refused = 0
        self._window: list[float] = []
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(target=self._server.serve_forever, daemon=True)
        self._thread.start()

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:51234."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    @property
    def received(self) -> int:
        """Messages accepted, duplicates included."""
        with self._lock:
            return sum(self.counts.values())

    @property
    def duplicates(self) -> int:
        """Extra copies of any outbox row (must be 0)."""
        with self._lock:
            return sum(n - 1 for n in self.counts.values() if n > 1)

    def close(self) -> None:
        """Stop serving."""
        self._server.shutdown()
        self._server.server_close()

    def _accept(self, ref: int) -> bool:
        now = time.monotonic()
        with self._lock:
            if self.rate is not None:
                while self._window and self._window[0] <= now - 1.0:
                    self._window.pop(0)
                if len(self._window) >= self.rate + self.burst:
                    self.refused += 1
                    return False
                self._window.append(now)
            self.counts[ref] += 1
            self.first = self.first if self.first is not None else now
            self.last = now
            return True

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per sending thread
            disable_nagle_algorithm = True  # headers and body go in separate writes

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ref = int(json.loads(body)["ref"])
                if fake._accept(ref):
                    status, payload = 200, {"id": f"bulk-{ref}"}
                else:
                    status, payload = 429, {"error": "too many requests"}
                data = json.dumps(payload).encode()
                self.send_response(status)
                self.send_header("Content-Type", "application/json")
                self.send_header("Content-Length", str(len(data)))
                self.end_headers()
                self.wfile.write(data)

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the counters are the log."""

        return Handler


class BulkHttpChannel:
    """A channel sending over HTTP to FakeBulkProvider, one keep-alive connection per thread."""

    def __init__(self, url: str, rate: float, name: str = "bulk") -> None:
        self.name = name
        self.rate_per_second = rate
        parts = urlsplit(url)
        self._host, self._port = parts.hostname or "127.0.0.1", parts.port or 80
        self._local = threading.local()
        self._open: list[http.client.HTTPConnection] = []
        self._open_lock = threading.Lock()

    def close(self) -> None:
        """Close every thread's connection."""
        with self._open_lock:
            for conn in self._open:
                conn.close()
            self._open.clear()

    def cost(self, message: Outbound) -> int:
        """One unit a message: the fake bills messages, not segments."""
        return 1

    def send(self, message: Outbound) -> SendResult:
        """POST the message; 429 and connection trouble are retried later."""
        payload = {"ref": message.outbox_id, "to": message.address, "text": message.text}
        body = json.dumps(payload).encode("utf-8")  # bytes: http.client would try Latin-1
        try:
            conn = self._connection()
            conn.request("POST", "/messages", body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
        except (OSError, http.client.HTTPException) as exc:
            self._local.conn.close()
            self._local.conn = None
            return SendResult(RETRY, error=type(exc).__name__)
        if reply.status == 200:
            return SendResult(SENT, provider_id=json.loads(data)["id"])
        return SendResult(RETRY, error=f"HTTP {reply.status}", retry_after=1.0)

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=10)
            self._local.conn = conn
            with self._open_lock:
                self._open.append(conn)
        return conn
