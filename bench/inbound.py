"""Inbound at the speed of the web server: webhook throughput (P1) and 200 → reply (P2).

    python bench/inbound.py [--databases sqlite,postgres] [--seconds 10] [--rate 50]
                            [--p2-seconds 30] [--skip-p1] [--skip-p2]

P1: the Procfile's own `web:` command (read from the Procfile, not copied) serves Townline,
and the same command with the app swapped for a Flask app that only answers `<Response />`
serves the baseline, one after the other in this run. wrk (2 threads, 16 connections)
drives both with pre-signed, all-distinct webhooks from 5,000 residents; without wrk,
enough client processes to saturate the bare endpoint. Only the web runs: what it
measures is how fast a surge is stored, not answered. Prints requests/s, p50 and p99 for
both and the ratio.

P2: a steady RATE messages a second from 300 residents, from the webhook's 200 to the reply
reaching a fake Twilio Messages API on 127.0.0.1, for `townline serve` (the README's main
command, in-process worker) and for the Procfile's web plus one `townline worker`.
TWILIO_MPS is set to 200 so that what is measured is Townline, not the channel's pacing.

PostgreSQL runs use their own database (`townline_bench`, created if missing), emptied first.
"""

from __future__ import annotations

import argparse
import json
import multiprocessing
import os
import re
import resource
import shlex
import shutil
import socket
import subprocess
import sys
import tempfile
import threading
import time
import uuid
from collections import defaultdict
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs, urlencode

from flask import Flask, Response

REPO_ROOT = Path(__file__).resolve().parent.parent
BENCH_DIR = Path(__file__).resolve().parent
ACCOUNT_SID = "AC" + "0123456789abcdef" * 2
AUTH_TOKEN = "bench-auth-token"
SERVICE_SID = "MG" + "0" * 32
POSTGRES_URL = "postgresql://postgres@127.0.0.1:5432/townline_bench"
FIRST_WORDS = (
    "Cars race down Elm Street every night",
    "Hay carros que van muy rápido en la calle Olmo",
    "路灯坏了很久了",
    "When is the next community meeting?",
    "Someone keeps leaving trash by the school",
    "Có người đậu xe chắn lối đi mỗi sáng",
)
LATER_WORDS = ("1", "2", "yes", "Thank you", "3", "no")

# The baseline: what answering a webhook costs with no work at all.
bare_app = Flask("bare")


@bare_app.post("/sms/twilio")
def _bare() -> Response:
    return Response('<?xml version="1.0" encoding="UTF-8"?><Response />', mimetype="text/xml")


# ---- processes ----------------------------------------------------------------------------


def procfile(kind: str) -> str:
    """One process type's command, as the platform would run it."""
    for line in (REPO_ROOT / "Procfile").read_text(encoding="utf-8").splitlines():
        name, _, command = line.partition(":")
        if name.strip() == kind:
            return command.strip()
    raise SystemExit(f"the Procfile has no {kind}: process")


def bare_command(web: str) -> str:
    """The Procfile's web command with Townline's app swapped for the bare one."""
    words = shlex.split(web, posix=True)
    app_at = next(i for i, w in enumerate(words) if re.fullmatch(r"[\w.]+:[\w.()]+", w))
    words[app_at : app_at + 1] = ["--chdir", str(BENCH_DIR), "inbound:bare_app"]
    # Keep ${PORT:-…} and friends for the shell, as the platform would.
    return " ".join(w if "$" in w else shlex.quote(w) for w in words)


def _cpu_seconds(names: tuple[str, ...]) -> dict[str, float]:
    """User + system CPU so far of every process whose command line mentions one of `names`."""
    tick = os.sysconf("SC_CLK_TCK")
    totals = dict.fromkeys(names, 0.0)
    for entry in Path("/proc").iterdir():
        if not entry.name.isdigit():
            continue
        try:
            cmdline = (entry / "cmdline").read_bytes().replace(b"\0", b" ").decode()
            fields = (entry / "stat").read_text().rsplit(")", 1)[1].split()
        except OSError:
            continue
        for name in names:
            if name in cmdline:
                totals[name] += (int(fields[11]) + int(fields[12])) / tick
                break
    return totals


def _free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return int(sock.getsockname()[1])


def _wait_until_up(port: int, procs: list[subprocess.Popen[bytes]], timeout: float = 60) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        for proc in procs:
            if proc.poll() is not None:
                raise SystemExit(f"a server exited early with code {proc.returncode}")
        try:
            with socket.create_connection(("127.0.0.1", port), timeout=0.2):
                return
        except OSError:
            time.sleep(0.1)
    raise SystemExit(f"nothing listening on 127.0.0.1:{port} after {timeout}s")


@contextmanager
def running(commands: list[str], env: dict[str, str], port: int, cwd: Path) -> Iterator[None]:
    """Start shell commands (Procfile lines) and wait for the port; stop them afterwards."""
    path = f"{Path(sys.executable).parent}{os.pathsep}{os.environ.get('PATH', '')}"
    full = {**os.environ, **env, "PORT": str(port), "PATH": path}
    procs = [
        subprocess.Popen(
            ["sh", "-c", f"exec {command}"],
            env=full,
            cwd=cwd,
            stdout=subprocess.DEVNULL,
            start_new_session=True,
        )
        for command in commands
    ]
    try:
        _wait_until_up(port, procs)
        time.sleep(1.0)  # gunicorn forks its workers after binding; let them load the app
        yield
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()


def townline_env(database_url: str, instance: Path, api_url: str) -> dict[str, str]:
    return {
        "DATABASE_URL": database_url,
        "TOWNLINE_INSTANCE": str(instance),
        "SECRET_KEY": "bench",
        "TWILIO_ACCOUNT_SID": ACCOUNT_SID,
        "TWILIO_AUTH_TOKEN": AUTH_TOKEN,
        "TWILIO_MESSAGING_SERVICE_SID": SERVICE_SID,
        "TWILIO_API_URL": api_url,
        "TWILIO_MPS": "200",
        "PUBLIC_URL": "",
    }


def fresh_database(kind: str, tmp: Path, name: str) -> str:
    """An empty, migrated database for one run (`name`: the SQLite file's, unique per run)."""
    sys.path.insert(0, str(REPO_ROOT))
    from sqlalchemy import text

    from storage.db import make_engine
    from storage.migrate import upgrade

    if kind == "sqlite":
        path = tmp / f"townline-{name}.db"
        assert not path.exists(), "each run gets a database of its own"
        url = f"sqlite:///{path}"
    else:
        url = POSTGRES_URL
        admin = make_engine(POSTGRES_URL.rsplit("/", 1)[0] + "/postgres")
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            if not conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname='townline_bench'")
            ).first():
                conn.execute(text("CREATE DATABASE townline_bench"))
        admin.dispose()
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE; CREATE SCHEMA public"))
        engine.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


# ---- P1: throughput -----------------------------------------------------------------------


def signed_requests(port: int, count: int, path: Path) -> None:
    """`count` distinct signed webhooks, one per line: signature TAB body."""
    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    url = f"http://127.0.0.1:{port}/sms/twilio"
    run = uuid.uuid4().hex[:8]
    with path.open("w", encoding="utf-8") as out:
        for n in range(count):
            form = {
                "ToCountry": "US",
                "SmsMessageSid": f"SM{run}{n:024d}",
                "NumMedia": "0",
                "SmsSid": f"SM{run}{n:024d}",
                "SmsStatus": "received",
                "Body": FIRST_WORDS[n % len(FIRST_WORDS)],
                "To": "+15017122661",
                "NumSegments": "1",
                "MessageSid": f"SM{run}{n:024d}",
                "AccountSid": ACCOUNT_SID,
                "MessagingServiceSid": SERVICE_SID,
                "From": f"+1555{n % 5000:07d}",
                "ApiVersion": "2010-04-01",
            }
            out.write(f"{validator.compute_signature(url, form)}\t{urlencode(form)}\n")


WRK_SCRIPT = r"""
local counter = 0
local threads = {}
function setup(thread)
  thread:set("id", counter)
  counter = counter + 1
  table.insert(threads, thread)
end
function init(args)
  local nthreads = tonumber(args[2])
  reqs = {}
  local n = 0
  for line in io.lines(args[1]) do
    if n % nthreads == id then
      local tab = line:find("\t", 1, true)
      reqs[#reqs + 1] = wrk.format("POST", "/sms/twilio", {
        ["Content-Type"] = "application/x-www-form-urlencoded",
        ["X-Twilio-Signature"] = line:sub(1, tab - 1)}, line:sub(tab + 1))
    end
    n = n + 1
  end
  i = 0
  wrapped = 0
end
function request()
  i = i + 1
  if i > #reqs then i = 1; wrapped = wrapped + 1 end
  return reqs[i]
end
function done(summary, latency, requests)
  local w = 0
  for _, t in ipairs(threads) do w = w + t:get("wrapped") end
  io.write(string.format(
    '{"requests": %d, "seconds": %f, "p50": %f, "p99": %f, "errors": %d, "wrapped": %d}\n',
    summary.requests, summary.duration / 1e6, latency:percentile(50) / 1000,
    latency:percentile(99) / 1000, summary.errors.status + summary.errors.connect
    + summary.errors.read + summary.errors.write + summary.errors.timeout, w))
end
"""


@dataclass
class Load:
    """One target's run under load."""

    name: str
    requests: int
    seconds: float
    p50: float
    p99: float
    errors: int
    note: str = ""
    cpu: dict[str, float] = field(default_factory=dict)  # CPU ms per request, by process kind

    @property
    def rps(self) -> float:
        return self.requests / self.seconds


def drive_wrk(name: str, port: int, requests: Path, seconds: float, tmp: Path) -> Load:
    script = tmp / "webhooks.lua"
    script.write_text(WRK_SCRIPT, encoding="utf-8")
    cmd = [
        "wrk",
        "-t2",
        "-c16",
        f"-d{max(1, round(seconds))}s",
        "--timeout",
        "10s",
        "-s",
        str(script),
    ]
    cmd += [f"http://127.0.0.1:{port}/sms/twilio", "--", str(requests), "2"]
    out = subprocess.run(cmd, capture_output=True, text=True, check=True).stdout
    data = json.loads(out.strip().splitlines()[-1])
    note = "requests repeated: raise --requests" if data["wrapped"] else ""
    return Load(
        name, data["requests"], data["seconds"], data["p50"], data["p99"], data["errors"], note
    )


def _client_process(port: int, lines: list[str], until: float, out: multiprocessing.Queue) -> None:
    import http.client

    latencies: list[float] = []
    errors = 0
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    for line in lines:
        if time.time() >= until:
            break
        signature, body = line.rstrip("\n").split("\t", 1)
        start = time.perf_counter()
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
            if response.will_close:
                conn.close()
        except OSError:
            ok = False
            conn.close()
        if ok:
            latencies.append(time.perf_counter() - start)
        else:
            errors += 1
    out.put((latencies, errors))


def drive_processes(name: str, port: int, requests: Path, seconds: float, tmp: Path) -> Load:
    """Without wrk: one client process per 4 connections, 16 connections in all."""
    lines = requests.read_text(encoding="utf-8").splitlines()
    clients = 16
    queue: multiprocessing.Queue = multiprocessing.Queue()
    until = time.time() + seconds
    procs = [
        multiprocessing.Process(
            target=_client_process, args=(port, lines[i::clients], until, queue)
        )
        for i in range(clients)
    ]
    began = time.perf_counter()
    for proc in procs:
        proc.start()
    results = [queue.get() for _ in procs]
    elapsed = time.perf_counter() - began
    for proc in procs:
        proc.join()
    latencies = sorted(t for lat, _ in results for t in lat)
    errors = sum(e for _, e in results)

    def pct(p: float) -> float:
        return latencies[min(len(latencies) - 1, int(p / 100 * len(latencies)))] * 1000

    return Load(name, len(latencies), elapsed, pct(50), pct(99), errors, "python clients")


CPU_KINDS = ("gunicorn", "postgres", "client")


def measured(drive: Callable[..., Load], *args: object) -> Load:
    """One drive, with the CPU each kind of process spent on it, per request."""
    servers = CPU_KINDS[:2]
    before, clients = _cpu_seconds(servers), _children_cpu()
    load = drive(*args)
    after = _cpu_seconds(servers)
    spent = {k: after[k] - before[k] for k in servers} | {"client": _children_cpu() - clients}
    load.cpu = {k: spent[k] * 1000 / max(1, load.requests) for k in CPU_KINDS}
    return load


def _children_cpu() -> float:
    """CPU of this process's finished children (wrk, client processes) and its own threads."""
    children = resource.getrusage(resource.RUSAGE_CHILDREN)
    return children.ru_utime + children.ru_stime


def p1(kind: str, args: argparse.Namespace, tmp: Path, n: int) -> tuple[Load, Load]:
    web = procfile("web")
    port = _free_port()
    requests = tmp / "webhooks.tsv"
    signed_requests(port, args.requests, requests)  # signatures cover the port
    drive = drive_wrk if shutil.which("wrk") and not args.no_wrk else drive_processes
    with running([bare_command(web)], {}, port, REPO_ROOT):
        drive("warm-up", port, requests, 2, tmp)
        bare = measured(drive, "bare", port, requests, args.seconds, tmp)
    database_url = fresh_database(kind, tmp, f"p1-{n}")
    env = townline_env(database_url, tmp / f"instance-{n}", "http://127.0.0.1:9")
    with running([web], env, port, REPO_ROOT):
        drive("warm-up", port, requests, 2, tmp)
        townline = measured(drive, "townline", port, requests, args.seconds, tmp)
    return bare, townline


# ---- P2: from the 200 to the reply --------------------------------------------------------


class FakeMessages(ThreadingHTTPServer):
    """Twilio's Messages API as far as sending needs it: records when each reply arrived."""

    daemon_threads = True

    def __init__(self) -> None:
        super().__init__(("127.0.0.1", 0), _MessagesHandler)
        self.arrivals: dict[str, list[float]] = defaultdict(list)
        self.lock = threading.Lock()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.server_address[1]}"


class _MessagesHandler(BaseHTTPRequestHandler):
    server: FakeMessages
    protocol_version = "HTTP/1.1"

    def do_POST(self) -> None:
        arrived = time.monotonic()
        length = int(self.headers.get("Content-Length") or 0)
        form = parse_qs(self.rfile.read(length).decode())
        to = form.get("To", [""])[0]
        with self.server.lock:
            self.server.arrivals[to].append(arrived)
        sid = "SM" + uuid.uuid4().hex
        body = json.dumps({"sid": sid, "status": "queued", "to": to, "account_sid": ACCOUNT_SID})
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body.encode())

    def log_message(self, *args: object) -> None:
        pass


@dataclass
class Steady:
    """P2's figures for one setup."""

    name: str
    sent: int
    latencies: list[float] = field(default_factory=list)
    unanswered: int = 0
    errors: int = 0
    cpu: dict[str, float] = field(default_factory=dict)  # CPU ms per message, by process kind

    def pct(self, p: float) -> float:
        ordered = sorted(self.latencies)
        if not ordered:
            return float("nan")
        return ordered[min(len(ordered) - 1, int(p / 100 * len(ordered)))] * 1000


def steady(name: str, port: int, fake: FakeMessages, rate: float, seconds: float) -> Steady:
    """Open-loop: message k leaves at k/rate seconds whatever the server is doing."""
    import http.client

    from twilio.request_validator import RequestValidator

    validator = RequestValidator(AUTH_TOKEN)
    url = f"http://127.0.0.1:{port}/sms/twilio"
    residents = 300
    total = int(rate * seconds)
    run = uuid.uuid4().hex[:8]
    sent_at: dict[str, list[float]] = defaultdict(list)
    errors = 0
    lock = threading.Lock()
    began = time.monotonic() + 0.5
    cursor = iter(range(total))

    def client() -> None:
        nonlocal errors
        while True:
            with lock:
                k = next(cursor, None)
            if k is None:
                return
            due = began + k / rate
            if (wait := due - time.monotonic()) > 0:
                time.sleep(wait)
            number = f"+1666{k % residents:07d}"
            turn = k // residents
            words = FIRST_WORDS[k % len(FIRST_WORDS)] if turn == 0 else LATER_WORDS[turn % 6]
            form = {
                "MessageSid": f"SM{run}{k:024d}",
                "AccountSid": ACCOUNT_SID,
                "MessagingServiceSid": SERVICE_SID,
                "From": number,
                "To": "+15017122661",
                "Body": words,
                "NumMedia": "0",
            }
            conn = http.client.HTTPConnection("127.0.0.1", port, timeout=15)
            try:
                conn.request(
                    "POST",
                    "/sms/twilio",
                    body=urlencode(form),
                    headers={
                        "Content-Type": "application/x-www-form-urlencoded",
                        "X-Twilio-Signature": validator.compute_signature(url, form),
                    },
                )
                response = conn.getresponse()
                response.read()
                ok = response.status == 200
            except OSError:
                ok = False
            finally:
                conn.close()
            answered = time.monotonic()
            with lock:
                if ok:
                    sent_at[number].append(answered)
                else:
                    errors += 1

    threads = [threading.Thread(target=client) for _ in range(16)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    time.sleep(5.0)  # the last replies
    result = Steady(name, total, errors=errors)
    with fake.lock:
        arrivals = {k: sorted(v) for k, v in fake.arrivals.items()}
        fake.arrivals.clear()
    for number, times in sent_at.items():
        times.sort()
        replies = arrivals.get(number, [])
        for i, t in enumerate(times):
            until = times[i + 1] if i + 1 < len(times) else float("inf")
            first = next((r for r in replies if t <= r < until), None)
            if first is None:
                result.unanswered += 1
            else:
                result.latencies.append(first - t)
    return result


P2_KINDS = ("townline serve", "gunicorn", "townline worker", "postgres")


def p2(kind: str, args: argparse.Namespace, tmp: Path, n: int) -> list[Steady]:
    fake = FakeMessages()
    threading.Thread(target=fake.serve_forever, daemon=True).start()
    results = []
    try:
        setups = [
            ("serve", ["townline serve --host 127.0.0.1 --port ${PORT}"]),
            ("web+worker", [procfile("web"), procfile("worker")]),
        ]
        for i, (name, commands) in enumerate(setups):
            if name not in args.setups.split(","):
                continue
            database_url = fresh_database(kind, tmp, f"p2-{n}-{i}")
            env = townline_env(database_url, tmp / f"instance-{n}-{i}", fake.url)
            port = _free_port()
            with running(commands, env, port, REPO_ROOT):
                steady("warm-up", port, fake, args.rate, 3)
                before = _cpu_seconds(P2_KINDS)
                result = steady(name, port, fake, args.rate, args.p2_seconds)
                after = _cpu_seconds(P2_KINDS)
                result.cpu = {k: (after[k] - before[k]) * 1000 / result.sent for k in P2_KINDS}
                results.append(result)
    finally:
        fake.shutdown()
    return results


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--seconds", type=float, default=10.0, help="P1 run length per target")
    parser.add_argument("--requests", type=int, default=80_000, help="distinct P1 webhooks")
    parser.add_argument("--rate", type=float, default=50.0, help="P2 messages a second")
    parser.add_argument("--p2-seconds", type=float, default=30.0)
    parser.add_argument("--setups", default="serve,web+worker", help="P2 setups to run")
    parser.add_argument("--skip-p1", action="store_true")
    parser.add_argument("--skip-p2", action="store_true")
    parser.add_argument("--no-wrk", action="store_true", help="use Python client processes")
    args = parser.parse_args()
    sys.path.insert(0, str(REPO_ROOT))

    tmp = Path(tempfile.mkdtemp(prefix="townline-bench-"))
    rows: list[tuple[str, Load, Load]] = []
    steadies: list[tuple[str, Steady]] = []
    try:
        for n, kind in enumerate(args.databases.split(",")):
            if not args.skip_p1:
                bare, townline = p1(kind, args, tmp, n)
                rows.append((kind, bare, townline))
            if not args.skip_p2:
                steadies += [(kind, s) for s in p2(kind, args, tmp, n)]
    finally:
        shutil.rmtree(tmp, ignore_errors=True)

    cores = os.cpu_count()
    if rows:
        client = "wrk -t2 -c16" if shutil.which("wrk") and not args.no_wrk else "16 python clients"
        print(f"P1: Procfile web command, {client}, {args.seconds:g} s per target, {cores} cores")
        print(
            f"{'database':<9} {'target':<9} {'req/s':>8} {'p50 ms':>7} {'p99 ms':>7} {'errors':>6}"
        )
        for kind, bare, townline in rows:
            for r in (bare, townline):
                note = f"  {r.note}" if r.note else ""
                cpu = ", ".join(f"{r.cpu.get(k, 0):.2f}" for k in CPU_KINDS)
                figures = f"{r.rps:8.0f} {r.p50:7.1f} {r.p99:7.1f} {r.errors:6}  {cpu}"
                print(f"{kind:<9} {r.name:<9} {figures}{note}")
            print(f"{kind:<9} ratio townline/bare: {townline.rps / bare.rps:.2f}")
    if steadies:
        print(
            f"P2: {args.rate:g} messages/s for {args.p2_seconds:g} s from 300 residents, "
            "webhook 200 -> reply at the fake Twilio API"
        )
        print(
            f"{'database':<9} {'setup':<11} {'sent':>5} {'p50 ms':>7} {'p99 ms':>7} "
            f"{'max ms':>7} {'unanswered':>10} {'errors':>6}  CPU ms/message: serve, web, worker,"
            " postgres"
        )
        for kind, s in steadies:
            top = max(s.latencies) * 1000 if s.latencies else float("nan")
            cpu = ", ".join(f"{s.cpu.get(k, 0):.1f}" for k in P2_KINDS)
            print(
                f"{kind:<9} {s.name:<11} {s.sent:5} {s.pct(50):7.0f} {s.pct(99):7.0f} "
                f"{top:7.0f} {s.unanswered:10} {s.errors:6}  {cpu}"
            )


if __name__ == "__main__":
    main()
