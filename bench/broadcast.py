"""Measure a city-scale broadcast: enqueue time, send rate against the configured rate, duplicates.

    python bench/broadcast.py [--n 100000] [--rate 2000] [--workers 1,3]
                              [--databases sqlite,postgres] [--pg-url URL]

For each database and worker count: a fresh schema, N residents seeded, one broadcast queued
(timed, with the Python heap's peak during the enqueue), then that many `Worker` processes
(separate engines, as `townline worker` runs) drain it to a fake SMS gateway on 127.0.0.1.
The gateway counts every outbox row it receives and refuses (429) anything over the rate, so
the figures are: achieved / configured rate, time to drain, workers' peak RSS, refused
messages and duplicates (must be 0).
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import resource
import sys
import tempfile
import time
import tracemalloc
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

REPO_ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(REPO_ROOT))  # measure this checkout, whatever the venv has installed

from sqlalchemy import insert, text  # noqa: E402

from bot.config import Settings  # noqa: E402
from bot.runtime import Runtime, build_runtime  # noqa: E402
from bot.services.broadcasts import create_broadcast  # noqa: E402
from bot.worker import Worker  # noqa: E402
from storage import outbox  # noqa: E402
from storage.db import make_engine, transaction  # noqa: E402
from storage.migrate import upgrade  # noqa: E402
from storage.models import Contact  # noqa: E402
from tests.fakes.bulk_provider import BulkHttpChannel, FakeBulkProvider  # noqa: E402

LANGS = ("en", "es", "vi", "zh")
TEXTS = {
    "en": "Community meeting Thursday 6pm at the library. Reply YES to come.",
    "es": "Reunión comunitaria el jueves a las 6pm en la biblioteca. Responda SÍ para venir.",
    "vi": "Họp cộng đồng thứ Năm lúc 6 giờ chiều tại thư viện. Trả lời CÓ nếu quý vị đến.",
    "zh": "周四晚6点在图书馆举行社区会议。如来参加请回复 是。",
}
SEED_CHUNK = 10_000


@dataclass
class Result:
    database: str
    workers: int
    n: int
    enqueue_s: float
    enqueue_heap_mb: float
    drain_s: float
    achieved: float
    rate: float
    peak_rss_mb: float
    refused: int
    duplicates: int
    received: int


def settings_for(url: str) -> Settings:
    return Settings(database_url=url, secret_key="bench", languages=LANGS, quiet_hours=_no_quiet())


def _no_quiet() -> tuple:
    from datetime import time as t

    return (t(0, 0), t(0, 0))  # an empty window: the bench measures sending, not waiting


def fresh_database(kind: str, pg_url: str, folder: Path) -> str:
    if kind == "sqlite":
        path = folder / f"bench-{time.monotonic_ns()}.db"
        url = f"sqlite:///{path}"
    else:
        url = pg_url
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
    """N residents in chunks (executemany), a quarter in each language."""
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


def worker_process(url: str, provider_url: str, rate: float, out: mp.Queue) -> None:
    """One `townline worker`'s sending loop, until the outbox is empty."""
    rt = build_runtime(settings_for(url))
    channel = BulkHttpChannel(provider_url, rate=rate)
    rt.channels["bulk"] = channel
    worker = Worker(rt)
    while True:
        if worker.run_once() == 0:
            with transaction(rt.db) as session:
                if outbox.pending_count(session) == 0:
                    break
            time.sleep(0.05)
    channel.close()
    rt.db.dispose()
    out.put(resource.getrusage(resource.RUSAGE_SELF).ru_maxrss / 1024)


def run(kind: str, workers: int, n: int, rate: float, pg_url: str, folder: Path) -> Result:
    url = fresh_database(kind, pg_url, folder)
    rt = build_runtime(settings_for(url))
    seed(rt, n)
    provider = FakeBulkProvider(rate=rate * 1.05)  # 5% tolerance for timer jitter
    rt.channels["bulk"] = BulkHttpChannel(provider.url, rate=rate)
    tracemalloc.start()
    started = time.perf_counter()
    sent = create_broadcast(rt, TEXTS)
    enqueue_s = time.perf_counter() - started
    heap = tracemalloc.get_traced_memory()[1] / 1e6
    tracemalloc.stop()
    assert sent.recipients == n, (sent.recipients, n)
    rt.db.dispose()
    ctx = mp.get_context("spawn")
    results: mp.Queue = ctx.Queue()
    procs = [
        ctx.Process(target=worker_process, args=(url, provider.url, rate, results))
        for _ in range(workers)
    ]
    started = time.perf_counter()
    for proc in procs:
        proc.start()
    rss = [results.get(timeout=3600) for _ in procs]
    drain_s = time.perf_counter() - started
    for proc in procs:
        proc.join()
    span = (provider.last or 0) - (provider.first or 0)
    achieved = (provider.received - 1) / span if span > 0 else 0.0
    result = Result(
        kind,
        workers,
        n,
        enqueue_s,
        heap,
        drain_s,
        achieved,
        rate,
        max(rss),
        provider.refused,
        provider.duplicates,
        provider.received,
    )
    provider.close()
    return result


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--n", type=int, default=100_000, help="residents (default 100,000)")
    parser.add_argument("--rate", type=float, default=2000.0, help="configured messages/s")
    parser.add_argument("--workers", default="1,3", help="worker counts to try, e.g. 1,3")
    parser.add_argument("--databases", default="sqlite,postgres")
    parser.add_argument(
        "--pg-url", default="postgresql://postgres@127.0.0.1:5432/townline_meetings_bench"
    )
    parser.add_argument(
        "--enqueue-only", action="store_true", help="time the enqueue only (no sending)"
    )
    args = parser.parse_args()
    if args.enqueue_only:
        with tempfile.TemporaryDirectory() as tmp:
            for kind in args.databases.split(","):
                url = fresh_database(kind, args.pg_url, Path(tmp))
                rt = build_runtime(settings_for(url))
                seed(rt, args.n)
                tracemalloc.start()
                started = time.perf_counter()
                sent = create_broadcast(rt, TEXTS)
                took = time.perf_counter() - started
                heap = tracemalloc.get_traced_memory()[1] / 1e6
                tracemalloc.stop()
                print(f"{kind}: {sent.recipients} queued in {took:.2f} s, heap peak {heap:.1f} MB")
                rt.db.dispose()
        return
    counts = [int(w) for w in args.workers.split(",")]
    header = (
        f"{'db':9}{'workers':>8}{'n':>9}{'enqueue s':>11}{'heap MB':>9}{'drain s':>9}"
        f"{'achieved/s':>12}{'ratio':>7}{'RSS MB':>8}{'refused':>9}{'dups':>6}"
    )
    print(header)
    with tempfile.TemporaryDirectory() as tmp:
        for kind in args.databases.split(","):
            for workers in counts:
                r = run(kind, workers, args.n, args.rate, args.pg_url, Path(tmp))
                print(
                    f"{r.database:9}{r.workers:>8}{r.n:>9}{r.enqueue_s:>11.2f}"
                    f"{r.enqueue_heap_mb:>9.1f}{r.drain_s:>9.1f}{r.achieved:>12.0f}"
                    f"{r.achieved / r.rate:>7.2f}{r.peak_rss_mb:>8.0f}{r.refused:>9}"
                    f"{r.duplicates:>6}",
                    flush=True,
                )
                if r.received < r.n:
                    print(f"  only {r.received} of {r.n} arrived", flush=True)


if __name__ == "__main__":
    main()
