"""Retention over a million closed parcels on PostgreSQL: how long, and does it hold up the
tracking page or the carriers?

Run by hand: `make bench-retention` (or `.venv/bin/python bench/retention.py --parcels 1000000`).
Uses a database of its own, lastmile_bench_retention (created and migrated when missing, loaded
with `seed-bench` when it has fewer parcels than asked). Before each run every bench parcel is
made closed 120 days ago with its personal fields back (so a run can be repeated), one SMS and
one signed link per parcel; one parcel in a hundred stays in transit (the carriers' parcels).
Then `flask --app wsgi retention run` runs while three threads, each on its own connection,
time what the live site does meanwhile:

- reader: the tracking page's read, a parcel by tracking number (any bench parcel);
- carrier: a batch of 100 open parcels' status updated in one transaction (an event batch);
- late carrier: one closed parcel updated at a time, the worst case (a parcel retention may be
  anonymising at that moment).

Prints the run's time and counts, and each thread's p50, p99 and max latency during the run
and in a baseline of --baseline seconds before it.
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import threading
import time
from pathlib import Path

import psycopg

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from track_page import BIN, ROOT, sh  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
NAME = "lastmile_bench_retention"

RESET = """
UPDATE parcel SET
  status = CASE WHEN id % 100 = 0 THEN 'in_transit' ELSE 'delivered' END,
  status_at = CASE WHEN id % 100 = 0 THEN now() ELSE now() - interval '120 days' END,
  delivered_at = CASE WHEN id % 100 = 0 THEN NULL ELSE now() - interval '120 days' END,
  recipient_name = 'Bench Recipient ' || id,
  address_line = 'Storgatan ' || (id % 200 + 1),
  recipient_phone = '+4670' || lpad((id % 10000000)::text, 7, '0'),
  recipient_email = 'r' || id || '@example.com'
WHERE tracking_number LIKE 'BN%';
DELETE FROM signed_link;
DELETE FROM notification;
INSERT INTO notification (parcel_id, channel, trigger, language, recipient, body, state,
                          attempts, rendered, created_at, updated_at)
SELECT id, 'sms', 'delivered', 'sv', recipient_phone,
       'Ditt paket ' || tracking_number || ' har levererats till ' || address_line, 'sent', 1,
       true, now() - interval '120 days', now() - interval '120 days'
FROM parcel WHERE tracking_number LIKE 'BN%';
INSERT INTO signed_link (token_hash, purpose, parcel_id, target, expires_at, created_at)
SELECT md5(id::text) || md5('link' || id::text), 'track', id, '/t/' || tracking_number,
       now() - interval '90 days', now() - interval '120 days'
FROM parcel WHERE tracking_number LIKE 'BN%';
"""


def env_for(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
    }


def prepare(size: int) -> str:
    url = f"{SERVER}/{NAME}"
    env = env_for(url)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    exists = sh(
        "psql", f"{SERVER}/postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{NAME}'"
    ).strip()
    if not exists:
        sh("psql", f"{SERVER}/postgres", "-c", f'CREATE DATABASE "{NAME}"')
    sh(*flask, "db", "upgrade", env=env)
    have = int(sh("psql", url, "-tAc", "SELECT count(*) FROM parcel").strip())
    if have < size:
        print(f"loading {size} parcels (seed-bench) …", flush=True)
        sh(*flask, "seed-bench", "--parcels", str(size), "--events", "2", env=env)
    print("resetting: parcels closed 120 days ago, messages and links …", flush=True)
    started = time.perf_counter()
    sh("psql", url, "-q", "-v", "ON_ERROR_STOP=1", "-c", RESET)
    for table in ("parcel", "notification", "signed_link"):
        sh("psql", url, "-q", "-c", f"VACUUM ANALYZE {table}")
    print(f"  reset in {time.perf_counter() - started:.0f}s", flush=True)
    return url


class Probe(threading.Thread):
    """Times one kind of statement in a loop on its own connection; `phase` says where each
    timing goes."""

    def __init__(self, name: str, url: str, work):
        super().__init__(daemon=True)
        self.name, self.url, self.work = name, url, work
        self.phase = "baseline"
        self.times: dict[str, list[float]] = {"baseline": [], "run": []}
        self.stop = threading.Event()

    def run(self) -> None:
        rnd = random.Random(self.name)
        with psycopg.connect(self.url, autocommit=False) as conn:
            while not self.stop.is_set():
                began = time.perf_counter()
                self.work(conn, rnd)
                conn.commit()
                self.times[self.phase].append(time.perf_counter() - began)
                time.sleep(0.002)


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--baseline", type=int, default=10, help="seconds measured before")
    parser.add_argument("--batch", type=int, default=None, help="retention run --batch")
    args = parser.parse_args()

    url = prepare(args.parcels)
    with psycopg.connect(url) as conn:
        low, high = conn.execute(
            "SELECT min(id), max(id) FROM parcel WHERE tracking_number LIKE 'BN%'"
        ).fetchone()
        numbers = [
            row[0]
            for row in conn.execute(
                "SELECT tracking_number FROM parcel WHERE tracking_number LIKE 'BN%' "
                "ORDER BY random() LIMIT 20000"
            )
        ]
        open_ids = [
            row[0] for row in conn.execute("SELECT id FROM parcel WHERE status = 'in_transit'")
        ]

    def read(conn, rnd):
        conn.execute(
            "SELECT * FROM parcel WHERE tracking_number = %s", (rnd.choice(numbers),)
        ).fetchall()

    def carrier(conn, rnd):
        ids = rnd.sample(open_ids, 100)
        conn.execute(
            "UPDATE parcel SET status_at = now(), updated_at = now() WHERE id = ANY(%s)", (ids,)
        )

    def late_carrier(conn, rnd):
        parcel = rnd.randrange(low, high + 1)
        conn.execute(
            "UPDATE parcel SET updated_at = now() WHERE id = %s AND id %% 100 <> 0", (parcel,)
        )

    probes = [
        Probe("reader (parcel by tracking number)", url, read),
        Probe("carrier (100 open parcels, one transaction)", url, carrier),
        Probe("late carrier (1 closed parcel)", url, late_carrier),
    ]
    for probe in probes:
        probe.start()
    time.sleep(args.baseline)
    for probe in probes:
        probe.phase = "run"

    command = [str(BIN / "flask"), "--app", "wsgi", "retention", "run"]
    if args.batch:
        command += ["--batch", str(args.batch)]
    started = time.perf_counter()
    done = subprocess.run(
        command, env=env_for(url), cwd=ROOT, capture_output=True, text=True, check=True
    )
    took = time.perf_counter() - started
    for probe in probes:
        probe.stop.set()
    for probe in probes:
        probe.join()

    print(f"\nretention run over {args.parcels} closed parcels: {took:.1f}s")
    print(done.stdout.rstrip())
    print(f"\n{'while':<9} {'probe':<46} {'n':>7} {'p50 ms':>8} {'p99 ms':>8} {'max ms':>8}")
    for probe in probes:
        for phase in ("baseline", "run"):
            times = sorted(probe.times[phase])
            if not times:
                continue
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            print(
                f"{phase:<9} {probe.name:<46} {len(times):>7} "
                f"{statistics.median(times) * 1000:>8.1f} {p99 * 1000:>8.1f} "
                f"{times[-1] * 1000:>8.1f}"
            )
    with psycopg.connect(url) as conn:
        left = conn.execute(
            "SELECT count(*) FROM parcel WHERE tracking_number LIKE 'BN%' "
            "AND status = 'delivered' AND recipient_name <> '[removed]'"
        ).fetchone()[0]
    print(f"\nclosed parcels left with personal data: {left}")


if __name__ == "__main__":
    main()
