"""Measure the Twilio inbound webhook under gunicorn against a bare empty-TwiML endpoint.

    python bench/inbound.py [--requests 2000] [--concurrency 8] [--workers 4] [--database-url URL]

Both servers run under gunicorn on 127.0.0.1 with the same worker count, in this run:
Townline (create_app, a temporary SQLite database unless --database-url, Twilio configured,
signature checked, one transaction per message) and a Flask app that only answers
`<Response />`. Each is driven with the same number of signed webhook POSTs from residents
spread over many numbers; the run stops by itself and prints req/s, p50 and p99 for both
and Townline's share of the bare endpoint's throughput.
"""

from __future__ import annotations

import argparse
import http.client
import os
import shutil
import socket
import statistics
import subprocess
import sys
import tempfile
import threading
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path
from urllib.parse import urlencode

from flask import Flask, Response

REPO_ROOT = Path(__file__).resolve().parent.parent
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token"
SERVICE_SID = "MG" + "0" * 32
BODIES = (
    "Cars race down Elm Street every night",
    "hi",
    "1",
    "Hay carros que van muy rápido en la calle Olmo",
    "路灯坏了很久了",
    "When is the next community meeting?",
)

# The baseline: what answering a webhook costs with no work at all.
bare_app = Flask("bare")


@bare_app.post("/sms/twilio")
def _bare() -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', mimetype="text/xml")


@dataclass(frozen=True)
class Result:
    """Timings of one target's run."""

    name: str
    seconds: float
    latencies: list[float]
    errors: int

    @property
    def rps(self) -> float:
        return len(self.latencies) / self.seconds

    def percentile(self, p: float) -> float:
        ordered = sorted(self.latencies)
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, proc: subprocess.Popen[bytes], timeout: float = 30.0) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if proc.poll() is not None:
            raise SystemExit(f"gunicorn exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def gunicorn(app: str, workers: int, env: dict[str, str], pythonpath: Path) -> Iterator[int]:
    """Serve `app` under gunicorn on a free 127.0.0.1 port until the block ends."""
    port = _free_port()
    cmd = [
        sys.executable,
        "-m",
        "gunicorn",
        app,
        "--bind",
        f"127.0.0.1:{port}",
        "--workers",
        str(workers),
        "--pythonpath",
        str(pythonpath),
        "--log-level",
        "warning",
    ]
    proc = subprocess.Popen(cmd, env={**os.environ, **env}, cwd=pythonpath)
    try:
        _wait_until_up(port, proc)
        yield port
    finally:
        proc.terminate()
        proc.wait(timeout=30)


def _signed(url: str, form: dict[str, str]) -> str:
    from twilio.request_validator import RequestValidator

    return str(RequestValidator(AUTH_TOKEN).compute_signature(url, form))


def drive(name: str, port: int, total: int, concurrency: int, tag: str) -> Result:
    """POST `total` signed webhooks with `concurrency` threads; stops when all are answered."""
    url = f"http://127.0.0.1:{port}/sms/twilio"
    requests_: list[tuple[bytes, str]] = []
    for n in range(total):
        form = {
            "MessageSid": f"SM{tag}{n:030d}"[:34],
            "AccountSid": ACCOUNT_SID,
            "MessagingServiceSid": SERVICE_SID,
            "From": f"+1555{n % 500:07d}",
            "To": "+15017122661",
            "Body": BODIES[n % len(BODIES)],
            "NumMedia": "0",
        }
        requests_.append((urlencode(form).encode(), _signed(url, form)))
    latencies: list[float] = []
    errors = 0
    lock = threading.Lock()
    cursor = iter(range(total))

    def run() -> None:
        nonlocal errors
        while True:
            with lock:
                n = next(cursor, None)
            if n is None:
                return
            body, signature = requests_[n]
            start = time.perf_counter()
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=30)
            try:
                conn.request(
                    "POST",
                    "/sms/twilio",
                    body=body,
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": signature,
                    },
                )
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
            finally:
                conn.close()
            elapsed = time.perf_counter() - start
            with lock:
                if ok:
                    latencies.append(elapsed)
                else:
                    errors += 1

    threads = [threading.Thread(target=run) for _ in range(concurrency)]
    began = time.perf_counter()
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    return Result(name, time.perf_counter() - began, latencies, errors)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--concurrency", type=int, default=8)
    parser.add_argument("--workers", type=int, default=4)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--database-url", default=None, help="default: a temporary SQLite file")
    args = parser.parse_args()

    sys.path.insert(0, str(REPO_ROOT))
    from storage.db import make_engine
    from storage.migrate import upgrade

    tmp = Path(tempfile.mkdtemp(prefix="townline-bench-"))
    try:
        database_url = args.database_url or f"sqlite:///{tmp / 'townline.db'}"
        engine = make_engine(database_url)
        upgrade(engine)
        engine.dispose()
        results = []
        with gunicorn("inbound:bare_app", args.workers, {}, REPO_ROOT / "bench") as port:
            drive("warm-up", port, args.warmup, args.concurrency, "w")
            results.append(drive("bare", port, args.requests, args.concurrency, "b"))
        env = {
            "DATABASE_URL": database_url,
            "TOWNLINE_INSTANCE": str(tmp / "instance"),
            "SECRET_KEY": "bench",
            "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
            "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
            "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
            "TWILIO_API_URL": "http://127.0.0.1:9",  # nothing calls it: the web never sends
            "PUBLIC_URL": "",
        }
        with gunicorn("bot.app:create_app()", args.workers, env, REPO_ROOT) as port:
            drive("warm-up", port, args.warmup, args.concurrency, "v")
            results.append(drive("townline", port, args.requests, args.concurrency, "t"))
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    print(
        f"{args.requests} signed webhooks per target, concurrency {args.concurrency}, "
        f"{args.workers} gunicorn workers, database {'given' if args.database_url else 'SQLite'}"
    )
    print(f"{'target':<10} {'req/s':>8} {'p50 ms':>8} {'p99 ms':>8} {'errors':>7}")
    for r in results:
        p50, p99 = r.percentile(50), r.percentile(99)
        print(f"{r.name:<10} {r.rps:8.1f} {p50:8.2f} {p99:8.2f} {r.errors:7}")
    bare, townline = results
    print(
        f"ratio townline/bare: throughput {townline.rps / bare.rps:.3f}, "
        f"p50 {statistics.median(townline.latencies) / statistics.median(bare.latencies):.1f}x"
    )


if __name__ == "__main__":
    main()
