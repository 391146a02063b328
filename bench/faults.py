"""Faults survived, and the rate kept: a broadcast through a misbehaving gateway, workers killed.

    python bench/faults.py [--n 5000] [--rate 100] [--kills 10] [--fault-rate 0.2]
                           [--workers 1] [--databases sqlite,postgres] [--pg-url URL]
                           [--seed 11] [--timeline]

For each database: a fresh schema, N residents, one broadcast queued, then `--workers` worker
processes, each running what `townline worker` runs (`bot.worker.run_forever` over its own
engine), send it to a fake SMS gateway on 127.0.0.1 (tests/fakes/faulty_provider.py). The
gateway answers `--fault-rate` of sends, at random, 500, 429 (Retry-After 1) or *late*: it
accepts the message and answers after the client's timeout, so the worker retries a message
that went (an ambiguous send). Each time another N/(kills+1) residents have the message, one
worker is killed with SIGKILL and a new one started in its place. The gateway also refuses
(429, counted as "refused as too fast") anything beyond the configured rate plus 5 %.

Printed per database, from the gateway's own records and the outbox rows:
  delivered   distinct outbox rows the gateway accepted (out of N)
  failed      rows the worker gave up on, by reason
  lost        rows neither delivered nor pending nor failed, and residents with no row: must be 0
  duplicates  copies beyond one per row, next to the ambiguous sends that explain them: late
              answers, and sends a killed worker made but never recorded (rows it held that the
              gateway had accepted). Duplicates must not exceed ambiguous sends.
  rate        requests the gateway saw per second, first request to last (retries waiting out
              their backoff at the end included), against the configured rate
  first pass  the same until every row had had its first try: all along there was a row
              waiting, so this is the rate kept with work in hand, kills and faults included;
              also without the seconds after each kill until a worker sent again (restarts)
  reached     residents reached per second, to the last one. Every attempt takes a slot at the
              configured rate, so with a fault rate f this stays below about (1 - f) of it.
Exit status 1 if anything was lost or duplicates exceed ambiguous sends.

PostgreSQL runs in its own database (default `townline_bench`, created if missing through the
server's `postgres` database); the test suite's database `test` is refused, never clobbered.
"""

from __future__ import annotations

import argparse
import logging
import multiprocessing as mp
import sys
import tempfile
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # measure this checkout, whatever the venv has installed

from sqlalchemy import func, insert, select, text  # noqa: E402
from sqlalchemy.engine import make_url  # noqa: E402
from sqlmodel import col  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.services.broadcasts import create_broadcast  # noqa: E402
from channels.twilio_sms import SEND_TIMEOUT_SECONDS  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import make_engine, normalise_url, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Contact, Outbox  # noqa: E402
from tests.fakes.faulty_provider import FaultyHttpChannel, FaultyProvider  # noqa: E402

LANGS = ("en", "es", "vi", "zh")
TEXTS = {
    "en": "Community meeting Thursday 6pm at the library. Reply YES to come.",
    "es": "Reunión comunitaria el jueves a las 6pm en la biblioteca. Responda SÍ para venir.",
    "vi": "Họp cộng đồng thứ Năm lúc 6 giờ chiều tại thư viện. Trả lời CÓ nếu quý vị đến.",
    "zh": "周四晚6点在图书馆举行社区会议。如来参加请回复 是。",
}
SEED_CHUNK = 10_000
PROTECTED = {"test", "postgres", "template0", "template1"}
POLL = 0.1
# A kill's ambiguous sends are read this long after it: long enough for a live worker to have
# recorded its own quick sends, well inside the lease the dead worker's rows still hold.
RECHECK_SECONDS = 2.0


@dataclass
class Report:
    """What one run measured."""

    database: str
    n: int
    rate: float
    kills: int
    workers: int
    delivered: int = 0
    failed: Counter[str] = field(default_factory=Counter)
    pending: int = 0
    lost: int = 0
    duplicates: int = 0
    late: int = 0
    killed_in_flight: int = 0
    answers: Counter[str] = field(default_factory=Counter)
    refused: int = 0
    requests: int = 0
    span: float = 0.0
    downtime: float = 0.0
    reach_span: float = 0.0
    first_pass: float = 0.0  # first request to the last row's first attempt
    pass_requests: int = 0
    pass_downtime: float = 0.0
    worker_errors: int = 0
    locked: int = 0
    timeline: list[str] = field(default_factory=list)  # per second: requests, kills

    @property
    def ambiguous(self) -> int:
        """Sends that may have gone although the worker could not record them as sent."""
        return self.late + self.killed_in_flight

    @property
    def send_ratio(self) -> float:
        """Requests per second, first to last, over the configured rate."""
        return self.requests / self.span / self.rate if self.span > 0 else 0.0

    @property
    def up_ratio(self) -> float:
        """The same, leaving out the seconds no worker was up after a kill."""
        up = self.span - self.downtime
        return self.requests / up / self.rate if up > 0 else 0.0

    @property
    def pass_ratio(self) -> float:
        """Requests per second until every row had been tried once, over the configured rate.

        Until then there is always a row waiting, so this is the rate the workers kept with
        work in hand: faults, slow answers and kills included."""
        return self.pass_requests / self.first_pass / self.rate if self.first_pass > 0 else 0.0

    @property
    def pass_up_ratio(self) -> float:
        """The same, leaving out the seconds after each kill until a worker sent again."""
        up = self.first_pass - self.pass_downtime
        return self.pass_requests / up / self.rate if up > 0 else 0.0

    @property
    def reach_ratio(self) -> float:
        """Residents reached per second (to the last one reached) over the configured rate."""
        return self.delivered / self.reach_span / self.rate if self.reach_span > 0 else 0.0

    @property
    def passed(self) -> bool:
        """Nothing lost, every duplicate explained."""
        return self.lost == 0 and self.duplicates <= self.ambiguous


def settings_for(url: str) -> Settings:
    """Languages of the texts, no quiet hours: the bench measures sending, not waiting."""
    from datetime import time as t

    return Settings(
        database_url=url, secret_key="bench", languages=LANGS, quiet_hours=(t(0, 0), t(0, 0))
    )


def fresh_database(kind: str, pg_url: str, folder: Path) -> str:
    """An empty, migrated database: a new SQLite file, or the bench's PostgreSQL database."""
    if kind == "sqlite":
        url = f"sqlite:///{folder / f'faults-{time.monotonic_ns()}.db'}"
    else:
        parsed = make_url(normalise_url(pg_url))
        name = parsed.database or ""
        if name in PROTECTED:
            raise SystemExit(f"refusing to use database {name!r}: give the bench its own")
        admin = make_engine(parsed.set(database="postgres").render_as_string(hide_password=False))
        with admin.connect().execution_options(isolation_level="AUTOCOMMIT") as conn:
            exists = conn.execute(
                text("SELECT 1 FROM pg_database WHERE datname = :name"), {"name": name}
            ).scalar()
            if not exists:
                conn.execute(text(f'CREATE DATABASE "{name}"'))
        admin.dispose()
        url = parsed.render_as_string(hide_password=False)
        engine = make_engine(url)
        with engine.begin() as conn:
            conn.execute(text("DROP SCHEMA public CASCADE"))
            conn.execute(text("CREATE SCHEMA public"))
        engine.dispose()
    engine = make_engine(url)
    upgrade(engine)
    engine.dispose()
    return url


def seed(rt: Runtime, n: int) -> None:
    """N residents on the bulk channel, a quarter in each language."""
    now = datetime.now(UTC)
    with transaction(rt.db) as session:
        for start in range(0, n, SEED_CHUNK):
            rows = [
                {
                    "channel": "bulk",
                    "address": f"+1555{i:07d}",
                    "language": LANGS[i % len(LANGS)],
                    "follow_up_consent": False,
                    "reminder_consent": False,
                    "created_at": now,
                }
                for i in range(start, min(n, start + SEED_CHUNK))
            ]
            session.execute(insert(Contact), rows)


def worker_main(url: str, provider_url: str, rate: float, timeout: float, log_path: str) -> None:
    """One `townline worker` process: the real scheduler and sender, over its own engine."""
    from bot.worker import run_forever

    logging.basicConfig(
        filename=log_path, level=logging.WARNING, format="%(asctime)s %(name)s %(message)s"
    )
    rt = build_runtime(settings_for(url))
    rt.channels["bulk"] = FaultyHttpChannel(provider_url, rate=rate, send_timeout=timeout)
    run_forever(rt)


def _sending(rt: Runtime) -> dict[int, Any]:
    """Rows claimed and not yet recorded, with the lease each is held under."""
    with transaction(rt.db) as session:
        rows = session.execute(
            select(Outbox.id, Outbox.lease_until).where(col(Outbox.status) == outbox.SENDING)
        )
        return {row[0]: row[1] for row in rows}


def _unfinished(rt: Runtime) -> int:
    with transaction(rt.db) as session:
        return outbox.pending_count(session)


def run_faults(
    url: str,
    *,
    n: int,
    rate: float,
    kills: int,
    fault_rate: float = 0.2,
    workers: int = 1,
    timeout: float = SEND_TIMEOUT_SECONDS,
    seed_value: int = 11,
    deadline: float = 900.0,
    log_dir: Path | None = None,
    database: str = "",
) -> Report:
    """Run the broadcast on an empty migrated database at `url` and measure what happened."""
    folder = Path(log_dir or tempfile.mkdtemp(prefix="townline-faults-"))
    folder.mkdir(parents=True, exist_ok=True)
    rt = build_runtime(settings_for(url))
    seed(rt, n)
    queued = create_broadcast(rt, TEXTS)
    assert queued.recipients == n, (queued.recipients, n)
    provider = FaultyProvider(
        fault_rate=fault_rate,
        late_seconds=timeout + 1.0,
        seed=seed_value,
        rate=rate * 1.05,  # the gateway also refuses going too fast, with 5 % for timer jitter
        burst=2,
    )
    report = Report(database or make_url(url).get_backend_name(), n, rate, kills, workers)
    ctx = mp.get_context("spawn")
    logs: list[Path] = []

    def start() -> mp.process.BaseProcess:
        log_path = folder / f"worker-{len(logs)}.log"
        logs.append(log_path)
        proc = ctx.Process(
            target=worker_main, args=(url, provider.url, rate, timeout, str(log_path))
        )
        proc.start()
        return proc

    procs = [start() for _ in range(workers)]
    thresholds = [n * (i + 1) / (kills + 1) for i in range(kills)]
    kill_times: list[float] = []
    rechecks: list[tuple[float, dict[int, Any], int]] = []  # (when, rows held, last seq)
    marked: set[int] = set()  # acceptance seqs counted as a killed worker's ambiguous send
    victim = 0
    finished = time.monotonic() + deadline
    try:
        while time.monotonic() < finished:
            time.sleep(POLL)
            now = time.monotonic()
            if thresholds and provider.delivered >= thresholds[0]:
                thresholds.pop(0)
                proc = procs[victim]
                proc.kill()  # SIGKILL: no cleanup, its leases simply run out
                proc.join()
                kill_times.append(time.monotonic())
                time.sleep(POLL)  # requests it had already written reach the gateway
                accepted = provider.snapshot()
                last_seq = max((c[-1].seq for c in accepted.values() if c), default=0)
                rechecks.append((time.monotonic() + RECHECK_SECONDS, _sending(rt), last_seq))
                procs[victim] = start()
                victim = (victim + 1) % workers
            for entry in [e for e in rechecks if e[0] <= now]:
                rechecks.remove(entry)
                _, held, last_seq = entry
                still = _sending(rt)
                accepted = provider.snapshot()
                for ref, lease in held.items():
                    copies = accepted.get(ref)
                    if still.get(ref) != lease or not copies:
                        continue  # recorded since (a live worker's), or never accepted
                    last = copies[-1]
                    if last.seq <= last_seq and not last.late and last.seq not in marked:
                        marked.add(last.seq)  # went, and the worker died before recording it
            if not thresholds and not rechecks and _unfinished(rt) == 0:
                break
    finally:
        for proc in procs:
            proc.terminate()
        for proc in procs:
            proc.join(timeout=30)
            if proc.is_alive():
                proc.kill()
                proc.join()
    accepted = provider.snapshot()
    report.killed_in_flight = len(marked)
    report.late = provider.late
    report.answers = Counter(provider.answers)
    report.refused = provider.refused
    report.delivered = sum(1 for copies in accepted.values() if copies)
    report.duplicates = sum(len(copies) - 1 for copies in accepted.values() if copies)
    times = sorted(provider.request_times)
    report.requests = len(times)
    if times:
        report.span = times[-1] - times[0]
        firsts = [copies[0].at for copies in accepted.values() if copies]
        report.reach_span = max(firsts) - times[0] if firsts else 0.0
        for killed in kill_times:
            after = next((t for t in times if t > killed), None)
            if after is not None:
                report.downtime += after - killed
        seconds = int(report.span) + 1
        per_second = Counter(int(t - times[0]) for t in times)
        killed_at = Counter(int(k - times[0]) for k in kill_times)
        for second in range(seconds):
            marks = "K" * killed_at[second]
            report.timeline.append(f"{second:4d}s {per_second[second]:4d} {marks}")
        pass_end = max(provider.first_request.values())
        report.first_pass = pass_end - times[0]
        report.pass_requests = sum(1 for t in times if t <= pass_end)
        report.pass_downtime = sum(
            min(after, pass_end) - killed
            for killed in kill_times
            if killed < pass_end
            and (after := next((t for t in times if t > killed), None)) is not None
        )
    with transaction(rt.db) as session:
        rows = session.execute(
            select(Outbox.id, Outbox.status, Outbox.last_error, Outbox.contact_id).where(
                col(Outbox.broadcast_id) == queued.id
            )
        ).all()
        contacts = session.execute(select(func.count()).select_from(Contact)).scalar_one()
    seen_contacts = set()
    for row_id, status, error, contact_id in rows:
        seen_contacts.add(contact_id)
        if status == outbox.FAILED:
            report.failed[error or "?"] += 1
        elif status in (outbox.PENDING, outbox.SENDING):
            report.pending += 1
        elif row_id not in accepted:
            report.lost += 1  # marked done, yet the gateway never had it
    report.lost += contacts - len(seen_contacts)  # a resident without a row
    for path in logs:
        if path.exists():
            content = path.read_text(errors="replace")
            report.worker_errors += content.count("Traceback")
            report.locked += content.count("database is locked")
    rt.db.dispose()
    provider.close()
    return report


def print_report(r: Report, timeline: bool = False) -> None:
    """The figures, one line each."""
    failed = ", ".join(f"{k}: {v}" for k, v in r.failed.most_common()) or "none"
    answers = ", ".join(f"{k} {v}" for k, v in sorted(r.answers.items()))
    print(f"{r.database}: {r.n} residents, {r.workers} worker(s), {r.kills} SIGKILLs", flush=True)
    print(f"  delivered    {r.delivered} of {r.n}  (still pending: {r.pending})")
    print(f"  failed       {sum(r.failed.values())}  ({failed})")
    print(f"  lost         {r.lost}")
    print(
        f"  duplicates   {r.duplicates}  ambiguous sends {r.ambiguous} "
        f"(late answers {r.late}, accepted but unrecorded at a kill {r.killed_in_flight})"
    )
    print(f"  gateway      {r.requests} requests: {answers}; refused as too fast {r.refused}")
    print(
        f"  rate         {r.requests / r.span if r.span else 0:.1f}/s sent over {r.span:.1f} s "
        f"= {r.send_ratio:.2f} of {r.rate:g}/s; {r.up_ratio:.2f} leaving out "
        f"{r.downtime:.1f} s of restarts"
    )
    print(
        f"  first pass   {r.pass_requests / r.first_pass if r.first_pass else 0:.1f}/s over "
        f"{r.first_pass:.1f} s, until every row had been tried = {r.pass_ratio:.2f} of "
        f"{r.rate:g}/s; {r.pass_up_ratio:.2f} leaving out {r.pass_downtime:.1f} s of restarts"
    )
    print(
        f"  reached      {r.delivered / r.reach_span if r.reach_span else 0:.1f} residents/s "
        f"over {r.reach_span:.1f} s = {r.reach_ratio:.2f} of {r.rate:g}/s"
    )
    print(
        f"  worker logs  {r.worker_errors} tracebacks, {r.locked} 'database is locked'",
        flush=True,
    )
    print(f"  {'PASS' if r.passed else 'FAIL'}", flush=True)
    if timeline:
        print("  requests per second (K: a worker killed)")
        for line in r.timeline:
            print("   ", line)


def main() -> None:
    parser = argparse.ArgumentParser(description=(__doc__ or "").split("\n")[0])
    parser.add_argument("--n", type=int, default=5000, help="residents (default 5,000)")
    parser.add_argument("--rate", type=float, default=100.0, help="configured messages/s")
    parser.add_argument("--kills", type=int, default=10, help="SIGKILLs mid-broadcast")
    parser.add_argument("--fault-rate", type=float, default=0.2, help="sends answered badly")
    parser.add_argument("--workers", type=int, default=1, help="worker processes at a time")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument("--pg-url", default="postgresql://postgres@127.0.0.1:5432/townline_bench")
    parser.add_argument("--seed", type=int, default=11, help="the gateway's fault sequence")
    parser.add_argument("--timeline", action="store_true", help="print requests per second")
    args = parser.parse_args()
    ok = True
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            url = fresh_database(kind, args.pg_url, Path(tmp))
            report = run_faults(
                url,
                n=args.n,
                rate=args.rate,
                kills=args.kills,
                fault_rate=args.fault_rate,
                workers=args.workers,
                seed_value=args.seed,
                log_dir=Path(tmp) / kind,
                database=kind,
            )
            print_report(report, args.timeline)
            ok = ok and report.passed
    sys.exit(0 if ok else 1)


if __name__ == "__main__":
    main()
