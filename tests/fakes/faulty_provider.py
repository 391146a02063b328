"""A fake SMS gateway on 127.0.0.1 that misbehaves on purpose, and the channel that talks to it.

Each send may be answered 500, 429 (with Retry-After), or *late*: the gateway accepts the
message and keeps it, then answers only after the client has given up waiting. A late answer
is the ambiguous case: the client sees a timeout, retries, and the resident may get the
message twice. The gateway keeps, per outbox row, every acceptance and whether it was late,
so a test or benchmark can tell duplicates that ambiguity explains from ones it does not.

Faults come at random (`fault_rate`, from a seeded generator) or by plan for one row
(`plan(ref, "late", "ok")`); `hold` keeps answers back until `release()`, to show that one
stalled send does not stop the others.
"""

from __future__ import annotations

import http.client
import json
import random
import threading
import time
from collections import Counter, defaultdict, deque
from dataclasses import dataclass
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any, Self
from urllib.parse import urlsplit

from channels.base import FAILED, RETRY, SENT, Outbound, SendResult

OK, ERROR, LIMITED, LATE, HOLD = "ok", "500", "429", "late", "hold"
FAULTS = (ERROR, LIMITED, LATE)


class _Server(ThreadingHTTPServer):
    daemon_threads = True
    request_queue_size = 256

    def handle_error(self, request: Any, client_address: Any) -> None:
        """A client that gave up on a late answer has closed its socket: nothing to report."""


@dataclass(frozen=True)
class Acceptance:
    """One copy of a message the gateway took (and would deliver)."""

    seq: int
    at: float  # time.monotonic()
    late: bool


class FaultyProvider:
    """Accepts `POST /messages` with JSON {ref, to, text}; answers {"id": ...} or a fault.

    `late_seconds` must exceed the client's timeout for a late answer to be late. With
    `rate` set, a request that would make more than `rate` arrive in any one second (plus
    `burst`) is refused 429 and counted in `refused`: the worker sent too fast.
    """

    def __init__(
        self,
        *,
        fault_rate: float = 0.0,
        late_seconds: float = 1.0,
        retry_after: float = 1.0,
        seed: int = 11,
        rate: float | None = None,
        burst: int = 0,
    ) -> None:
        self.fault_rate = fault_rate
        self.late_seconds = late_seconds
        self.retry_after = retry_after
        self.rate = rate
        self.burst = burst
        self.random = random.Random(seed)
        self.accepted: dict[int, list[Acceptance]] = defaultdict(list)
        self.answers: Counter[str] = Counter()
        self.request_times: list[float] = []
        self.first_request: dict[int, float] = {}  # ref -> when its first attempt arrived
        self.refused = 0
        self.holding = 0
        self._plans: dict[int, deque[str]] = defaultdict(deque)
        self._hold_all = False
        self._released = threading.Event()
        self._closing = threading.Event()
        self._window: deque[float] = deque()
        self._seq = 0
        self._lock = threading.Lock()
        self._server = _Server(("127.0.0.1", 0), self._handler())
        self._thread = threading.Thread(
            target=self._server.serve_forever, kwargs={"poll_interval": 0.05}, daemon=True
        )
        self._thread.start()

    # -- programming the fake ---------------------------------------------------------------

    def plan(self, ref: int, *answers: str) -> None:
        """The next answers for one outbox row, in order (then random faults or OK)."""
        with self._lock:
            self._plans[ref].extend(answers)

    def hold(self) -> None:
        """Accept every message from now on but answer none until `release()`."""
        with self._lock:
            self._hold_all = True
            self._released.clear()

    def release(self) -> None:
        """Answer every held message (200) and stop holding."""
        with self._lock:
            self._hold_all = False
        self._released.set()

    # -- inspecting what happened -----------------------------------------------------------

    @property
    def url(self) -> str:
        """Base URL, e.g. http://127.0.0.1:51234."""
        host, port = self._server.server_address[:2]
        return f"http://{host}:{port}"

    def received(self, ref: int) -> int:
        """Copies of one outbox row accepted so far."""
        with self._lock:
            return len(self.accepted.get(ref, ()))

    @property
    def delivered(self) -> int:
        """Distinct outbox rows accepted at least once."""
        with self._lock:
            return sum(1 for copies in self.accepted.values() if copies)

    @property
    def duplicates(self) -> int:
        """Copies beyond the first, over all rows."""
        with self._lock:
            return sum(len(copies) - 1 for copies in self.accepted.values() if copies)

    @property
    def late(self) -> int:
        """Messages accepted and answered only after the client's timeout."""
        with self._lock:
            return self.answers[LATE]

    def snapshot(self) -> dict[int, list[Acceptance]]:
        """Every row's acceptances so far (a copy)."""
        with self._lock:
            return {ref: list(copies) for ref, copies in self.accepted.items()}

    def close(self) -> None:
        """Stop serving; held and late answers are dropped like a dead upstream's."""
        self._closing.set()
        self._released.set()
        self._server.shutdown()
        self._server.server_close()

    def __enter__(self) -> Self:
        """`with FaultyProvider() as fake:` closes it however the block ends."""
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    # -- serving ----------------------------------------------------------------------------

    def _decide(self, ref: int) -> str:
        """What this request gets: a planned answer, a held one, a random fault, or OK."""
        now = time.monotonic()
        with self._lock:
            self.request_times.append(now)
            self.first_request.setdefault(ref, now)
            if self.rate is not None:
                while self._window and self._window[0] <= now - 1.0:
                    self._window.popleft()
                if len(self._window) >= self.rate + self.burst:
                    self.refused += 1
                    return "refused"
                self._window.append(now)
            plan = self._plans.get(ref)
            if plan:
                answer = plan.popleft()
            elif self._hold_all:
                answer = HOLD
            elif self.fault_rate and self.random.random() < self.fault_rate:
                answer = self.random.choice(FAULTS)
            else:
                answer = OK
            self.answers[answer] += 1
            if answer in (OK, LATE, HOLD):
                self._seq += 1
                self.accepted[ref].append(Acceptance(self._seq, now, answer == LATE))
            if answer == HOLD:
                self.holding += 1
            return answer

    def _handler(self) -> type[BaseHTTPRequestHandler]:
        fake = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"  # keep-alive: one connection per sending thread
            disable_nagle_algorithm = True

            def do_POST(self) -> None:
                body = self.rfile.read(int(self.headers.get("Content-Length") or 0))
                ref = int(json.loads(body)["ref"])
                answer = fake._decide(ref)
                headers: dict[str, str] = {}
                if answer == LATE:
                    fake._closing.wait(fake.late_seconds)
                elif answer == HOLD:
                    fake._released.wait()
                    with fake._lock:
                        fake.holding -= 1
                if fake._closing.is_set():
                    self.close_connection = True
                    return
                if answer in (OK, LATE, HOLD):
                    status, payload = 200, {"id": f"fault-{ref}-{time.monotonic_ns()}"}
                elif answer == ERROR:
                    status, payload = 500, {"error": "internal error"}
                else:
                    status, payload = 429, {"error": "too many requests"}
                    headers["Retry-After"] = f"{fake.retry_after:g}"
                data = json.dumps(payload).encode()
                try:
                    self.send_response(status)
                    self.send_header("Content-Type", "application/json")
                    self.send_header("Content-Length", str(len(data)))
                    for name, value in headers.items():
                        self.send_header(name, value)
                    self.end_headers()
                    self.wfile.write(data)
                except OSError:  # the client gave up on a late answer and hung up
                    self.close_connection = True

            def log_message(self, format: str, *args: Any) -> None:
                """Quiet: the counters are the log."""

        return Handler


class FaultyHttpChannel:
    """A channel sending to FaultyProvider over one keep-alive connection per thread.

    It behaves as the Twilio channel does: 429 and 5xx are retried (429 after Retry-After),
    and a timeout is retried although the message may have gone (the ambiguous case).
    `send_timeout` tells the worker how long a send may take, which sizes its leases.
    """

    def __init__(self, url: str, rate: float, send_timeout: float, name: str = "bulk") -> None:
        self.name = name
        self.rate_per_second = rate
        self.send_timeout = send_timeout
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
        """POST the message; what the gateway answers becomes a send outcome."""
        payload = {"ref": message.outbox_id, "to": message.address, "text": message.text}
        body = json.dumps(payload).encode("utf-8")
        conn = self._connection()
        try:
            conn.request("POST", "/messages", body, {"Content-Type": "application/json"})
            reply = conn.getresponse()
            data = reply.read()
        except TimeoutError:
            self._drop(conn)
            return SendResult(RETRY, error="network: timeout")  # it may have gone: ambiguous
        except (OSError, http.client.HTTPException) as exc:
            self._drop(conn)
            return SendResult(RETRY, error=f"network: {type(exc).__name__}")
        if reply.status == 200:
            return SendResult(SENT, provider_id=json.loads(data)["id"])
        if reply.status == 429:
            after = float(reply.getheader("Retry-After") or 0) or None
            return SendResult(RETRY, error="HTTP 429", retry_after=after)
        if reply.status >= 500:
            return SendResult(RETRY, error=f"HTTP {reply.status}")
        return SendResult(FAILED, error=f"HTTP {reply.status}", flag_staff=True)

    def _connection(self) -> http.client.HTTPConnection:
        conn = getattr(self._local, "conn", None)
        if conn is None:
            conn = http.client.HTTPConnection(self._host, self._port, timeout=self.send_timeout)
            self._local.conn = conn
            with self._open_lock:
                self._open.append(conn)
        return conn

    def _drop(self, conn: http.client.HTTPConnection) -> None:
        conn.close()
        self._local.conn = None
        with self._open_lock:
            if conn in self._open:
                self._open.remove(conn)
