"""What Prometheus metrics cost (issue 15), run by hand:

    .venv/bin/python bench/metrics_cost.py --db postgresql://postgres@127.0.0.1:5432/lastmile_bench

1. the request hooks' counter and histogram, per request, in multiprocess mode (mmap files);
2. the tracking page and /healthz in process (Flask test client) with METRICS_TOKEN set and
   not, interleaved round by round so a busy machine hurts both alike (needs `flask seed-bench`
   in --db first, as bench/track_page.py does);
3. a scrape against the number of replaced gunicorn workers whose files are left in the
   multiprocess directory (what deploy/gunicorn.conf.py's child_exit folding avoids).
"""

from __future__ import annotations

import argparse
import os
import random
import shutil
import statistics
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
# prometheus_client picks its value store when first imported: the directory comes first.
os.environ["PROMETHEUS_MULTIPROC_DIR"] = tempfile.mkdtemp(prefix="lastmile-metrics-")
sys.path.insert(0, str(ROOT))


def hook_cost() -> float:
    from portal.observability import metrics

    labels = ("tracking.parcel", "GET", "2xx")

    def once() -> None:
        metrics.HTTP_REQUESTS.labels(*labels).inc()
        metrics.HTTP_DURATION.labels(*labels).observe(0.007)

    for _ in range(1000):
        once()
    runs = []
    for _ in range(7):
        started = time.perf_counter()
        for _ in range(20_000):
            once()
        runs.append((time.perf_counter() - started) / 20_000 * 1e6)
    return statistics.median(runs)


def page_cost(db_url: str, parcels: int, rounds: int) -> dict:
    os.environ.update(
        DATABASE_URL=db_url,
        LASTMILE_ENV="production",
        SECRET_KEY="bench-" + "x" * 40,
        LASTMILE_RATELIMIT_ENABLED="false",
    )
    from sqlalchemy import select

    from portal import create_app
    from portal.dev.bench import bench_tracking_number
    from portal.extensions import db
    from portal.models import Parcel

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)
    rnd = random.Random(3)
    numbers = [bench_tracking_number(rnd.randrange(parcels)) for _ in range(400)]
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(Parcel.tracking_number, Parcel.id).where(Parcel.tracking_number.in_(numbers))
            ).all()
        )
    client = app.test_client()

    def run(path: str | None, n: int) -> float:
        started = time.perf_counter()
        for i in range(n):
            tn = numbers[i % len(numbers)]
            client.set_cookie("session", serializer.dumps({"verified": [ids[tn]]}))
            assert client.get(path or f"/t/{tn}").status_code == 200
        return (time.perf_counter() - started) / n * 1000

    times: dict[tuple[str, str], list[float]] = {}
    for _ in range(2):  # warm up
        run(None, 50)
        run("/healthz", 50)
    for i in range(rounds):
        for mode in ("off", "on") if i % 2 else ("on", "off"):
            app.config["METRICS_TOKEN"] = "bench" if mode == "on" else None
            times.setdefault(("/t/<tn>", mode), []).append(run(None, 200))
            times.setdefault(("/healthz", mode), []).append(run("/healthz", 400))
    return {k: (statistics.median(v), min(v)) for k, v in times.items()}


def scrape_vs_files(counts: tuple[int, ...]) -> dict[int, float]:
    """This process's files, with 240 label sets (40 endpoints × 2 methods × 3 status classes),
    copied as if that many gunicorn workers had been replaced and their files left behind."""
    from prometheus_client import CollectorRegistry, generate_latest
    from prometheus_client.multiprocess import MultiProcessCollector

    from portal.observability import metrics

    for e in range(40):
        for method in ("GET", "POST"):
            for status in ("2xx", "3xx", "4xx"):
                metrics.HTTP_REQUESTS.labels(f"bp.endpoint_{e}", method, status).inc()
                metrics.HTTP_DURATION.labels(f"bp.endpoint_{e}", method, status).observe(0.01)
    path, pid = os.environ["PROMETHEUS_MULTIPROC_DIR"], os.getpid()
    result = {}
    made = 1
    for n in counts:
        for i in range(made, n):
            for kind in ("counter", "histogram"):
                shutil.copy(f"{path}/{kind}_{pid}.db", f"{path}/{kind}_{100_000 + i}.db")
        made = n
        registry = CollectorRegistry()
        MultiProcessCollector(registry, path)
        runs = []
        for _ in range(3):
            started = time.perf_counter()
            generate_latest(registry)
            runs.append(time.perf_counter() - started)
        result[n] = min(runs) * 1000
    shutil.rmtree(path)
    return result


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench")
    ap.add_argument("--parcels", type=int, default=100_000, help="as seeded by seed-bench")
    ap.add_argument("--rounds", type=int, default=12)
    args = ap.parse_args()

    print(f"request hooks' counter + histogram: {hook_cost():.1f} µs per request")
    for (path, mode), (median, low) in sorted(
        page_cost(args.db, args.parcels, args.rounds).items()
    ):
        print(f"{path:10} metrics {mode:3}: median {median:.2f} ms, best round {low:.2f} ms")
    for n, ms in scrape_vs_files((1, 100, 500)).items():
        print(f"scrape with {n:4} workers' files left: {ms:,.0f} ms")


if __name__ == "__main__":
    main()
