"""Carrier event ingestion: POST /api/v1/events in batches of 1000 on PostgreSQL.

Run by hand: `make bench-events` (or `.venv/bin/python bench/events.py --parcels 1000000`).
Uses the database `bench/scale.py` loads (lastmile_bench_<N>; loads it when missing), serves it
with gunicorn (production config, rate limits off, REDIS_URL set so messages are queued for RQ
workers elsewhere, as in production), and has --clients threads post batches of --batch new
events for random parcels of the whole set for --seconds. Every answer is checked (each event
accepted); prints events/s and the batch latency p50/p99. Target: ≥ 5,000 events/s.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import statistics
import subprocess
import sys
import threading
import time
import urllib.request
from datetime import UTC, datetime, timedelta
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import PREWARM, env_for, prepare  # noqa: E402
from track_page import BIN, ROOT, free_port, sh, wait_until_up  # noqa: E402


def batches(size: int, batch: int, count: int, seed: int, share: float = 0.2) -> list[bytes]:
    """Pre-built request bodies: new events (unique ids) for random parcels, most of them a
    scan on the way, one in five "out for delivery" (which messages the recipient)."""
    sys.path.insert(0, str(ROOT))
    from portal.dev.bench import bench_tracking_number

    rnd = random.Random(seed)
    base = datetime.now(UTC) - timedelta(minutes=30)
    bodies = []
    for b in range(count):
        events = []
        for n in range(batch):
            i = rnd.randrange(size)
            out = rnd.random() < share
            events.append(
                {
                    "event_id": f"ev-{seed}-{b}-{n}",
                    "tracking_number": bench_tracking_number(i),
                    "code": "out_for_delivery" if out else "in_transit",
                    "occurred_at": (base + timedelta(seconds=b)).isoformat(),
                    "location": "Bench terminal",
                    "description": "Scanned",
                }
            )
        bodies.append(json.dumps({"events": events}).encode())
    return bodies


def main() -> None:
    os.chdir(ROOT)  # flask --app wsgi finds wsgi.py here
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=1_000_000)
    ap.add_argument("--batch", type=int, default=1000)
    ap.add_argument("--clients", type=int, default=4)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--seconds", type=int, default=30)
    ap.add_argument(
        "--messaging", type=float, default=0.2, help="share of events that message someone"
    )
    args = ap.parse_args()
    url, load = prepare(args.parcels, 8, reuse=True)
    # Writes at this rate are bound by PostgreSQL's WAL (each parcel update rewrites a heap page
    # and its index entries; right after a checkpoint every page goes to the WAL whole), so the
    # figure belongs with these settings (README.md, "Deploying", has what production should use).
    settings = sh(
        "psql", url, "-tAF=", "-c",
        "SELECT name, current_setting(name) FROM (VALUES ('shared_buffers'), ('max_wal_size'),"
        " ('checkpoint_timeout'), ('wal_compression'), ('synchronous_commit')) s(name)",
    ).split()  # fmt: skip
    print("PostgreSQL:", ", ".join(settings))
    sh("psql", url, "-qtAc", PREWARM)  # the tables in memory, as in a server that has been up
    if load is not None:
        print(f"loaded {args.parcels:,} parcels in {load:.0f} s")
    env = {**env_for(url), "REDIS_URL": "redis://127.0.0.1:6379/13",
           "LASTMILE_RQ_QUEUE": "bench-events"}  # fmt: skip
    key = sh(str(BIN / "flask"), "--app", "wsgi", "api-key", "create", "--carrier",
             "Bench Carrier", env=env).strip().splitlines()[-1]  # fmt: skip
    # Enough distinct bodies that no batch repeats within the run (a repeat is all duplicates).
    per_client = max(40, args.seconds * 4)
    bodies = [
        batches(args.parcels, args.batch, per_client, seed + int(time.time()), args.messaging)
        for seed in range(args.clients)
    ]

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--timeout", "120", "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    latencies: list[float] = []
    accepted = [0]
    errors: list[str] = []
    lock = threading.Lock()
    stop = time.perf_counter() + args.seconds + 1e9  # set below, once the server is up

    def client(mine: list[bytes]) -> None:
        for body in mine:
            if time.perf_counter() >= stop:
                return
            req = urllib.request.Request(
                base + "/api/v1/events",
                data=body,
                headers={"Authorization": f"Bearer {key}", "Content-Type": "application/json"},
            )
            started = time.perf_counter()
            try:
                answer = json.load(urllib.request.urlopen(req, timeout=120))
            except Exception as exc:
                with lock:
                    errors.append(repr(exc))
                continue
            took = time.perf_counter() - started
            ok = sum(1 for r in answer["results"] if r["status"] == "accepted")
            with lock:
                latencies.append(took)
                accepted[0] += ok
                if ok != args.batch:
                    errors.append(f"{args.batch - ok} events not accepted")

    try:
        wait_until_up(base)
        started = time.perf_counter()
        stop = started + args.seconds
        threads = [threading.Thread(target=client, args=(b,)) for b in bodies]
        for t in threads:
            t.start()
        for t in threads:
            t.join()
        elapsed = time.perf_counter() - started
    finally:
        server.terminate()
        server.wait()
    if not latencies:
        sys.exit(f"no batch was answered: {errors[:3]}")
    latencies.sort()
    p99 = latencies[min(len(latencies) - 1, int(len(latencies) * 0.99))]
    rate = accepted[0] / elapsed
    print(
        f"\n{accepted[0]:,} events in {elapsed:.1f} s = **{rate:,.0f} events/s** "
        f"(batches of {args.batch}, {args.messaging:.0%} of events messaging a recipient, "
        f"{args.clients} clients, gunicorn {args.workers} workers, "
        f"{args.parcels:,} parcels); batch p50 {statistics.median(latencies) * 1000:.0f} ms, "
        f"p99 {p99 * 1000:.0f} ms; errors: {len(errors)}"
        f"{' (' + errors[0] + ')' if errors else ''}. Target ≥ 5,000 events/s: "
        f"{'met' if rate >= 5000 else 'not met'}."
    )


if __name__ == "__main__":
    main()
