"""The console's search box at scale: p50/p99 per kind of term against N bench parcels.

Run by hand: `.venv/bin/python bench/search.py --parcels 1000000` (`make bench-search`).
Loads N parcels with `seed-bench` into a scratch PostgreSQL database (skipped with --reuse
when it holds them already), then times `portal.admin.services.search.search()` for each kind of term
an agent types, --runs times each with different values, and prints p50/p99 in milliseconds
plus the ratio of each p99 to the tracking-number lookup (the plain unique-index case).
"""

from __future__ import annotations

import argparse
import os
import random
import statistics
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lastmile_bench"
URL = f"{SERVER}/{DATABASE}"
ENV = {**os.environ, "DATABASE_URL": URL, "SECRET_KEY": "bench-" + "x" * 40}


def flask(*args: str) -> None:
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", *args], cwd=ROOT, env=ENV, check=True
    )


def load(count: int) -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    flask("db", "upgrade")
    flask("seed-bench", "--parcels", str(count), "--events", "2")


def terms(kind: str, count: int, rnd: random.Random) -> str:
    from portal.dev.bench import CITIES, FIRST, LAST, TAIL, bench_tracking_number

    i = rnd.randrange(count)
    if kind == "tracking number":
        return bench_tracking_number(i)
    if kind == "phone":
        return f"070-{i % 10_000_000:07d}"[:7] + " " + f"{i % 10_000_000:07d}"[3:]
    if kind == "e-mail":
        return f"R{i}@Example.com"
    if kind == "postcode":
        _city, pc = rnd.choice(CITIES)
        return f"{pc}{i % 10} {i % 100:02d}"
    if kind == "order ref":
        return f"B-{i}"
    if kind == "part of a name":  # a surname's first letters, as an agent types them
        return rnd.choice(TAIL)[: rnd.randint(5, 8)].lower()
    if kind == "common surname":  # the worst case: a tenth of Sweden shares seven names
        return rnd.choice(LAST)
    if kind == "full name":
        return f"{rnd.choice(FIRST)} {rnd.choice(TAIL)}"
    raise ValueError(kind)


KINDS = [
    "tracking number",
    "phone",
    "e-mail",
    "postcode",
    "order ref",
    "part of a name",
    "full name",
    "common surname",
]


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--parcels", type=int, default=1_000_000)
    parser.add_argument("--runs", type=int, default=200)
    parser.add_argument("--reuse", action="store_true", help="keep the loaded database")
    args = parser.parse_args()
    if not args.reuse:
        load(args.parcels)
    os.environ.update(ENV)
    from portal import create_app
    from portal.admin.services.search import search
    from portal.extensions import db

    app = create_app({"SQLALCHEMY_DATABASE_URI": URL})
    rnd = random.Random(7)
    results = {}
    with app.app_context():
        db.session.execute(db.text("ANALYZE parcel"))
        for kind in KINDS:
            for _ in range(5):  # warm the connection and the plan cache
                search(terms(kind, args.parcels, rnd))
            times, hits = [], []
            for _ in range(args.runs):
                q = terms(kind, args.parcels, rnd)
                start = time.perf_counter()
                found = search(q)
                times.append((time.perf_counter() - start) * 1000)
                hits.append(len(found.parcels))
                db.session.rollback()
            times.sort()
            p99 = times[min(len(times) - 1, int(len(times) * 0.99))]
            results[kind] = (statistics.median(times), p99, statistics.mean(hits))
    base = results["tracking number"][1]
    print(f"search at {args.parcels:,} parcels, {args.runs} runs per kind (ms)")
    print(f"{'term':<18} {'p50':>8} {'p99':>8} {'p99/tn':>7} {'hits':>6}")
    for kind, (p50, p99, hits) in results.items():
        print(f"{kind:<18} {p50:8.2f} {p99:8.2f} {p99 / base:7.1f} {hits:6.1f}")


if __name__ == "__main__":
    main()
