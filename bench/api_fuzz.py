"""A longer schemathesis run against the JSON API than `make test` makes.

Run by hand: `.venv/bin/python bench/api_fuzz.py [--examples 500] [--seed N]` (SQLite in a
temporary folder; with DATABASE_URL=postgresql://… on a scratch PostgreSQL database). Loads
/api/v1/openapi.json from the app in-process, seeds a merchant, a carrier, a delivered parcel
and a return (tests/support/fuzz.py), then sends each operation --examples valid and as many
invalid requests with valid keys. Every answer must not be a 5xx and must have a documented
status code, content type and body. Prints per operation the calls, the statuses seen and the
time, then every failure with a curl line to reproduce it; exits 1 when there was one.
"""

from __future__ import annotations

import argparse
import logging
import sys
import tempfile
import time
import traceback
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
# Messages the calls cause go to a queue of this run's own on the local Redis (as in the tests),
# emptied at the end: without Redis a sender thread would write alongside the seeding.
REDIS_URL = "redis://127.0.0.1:6379/14"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--examples", type=int, default=500, help="per operation and mode")
    parser.add_argument("--seed", type=int, default=None, help="repeat a run (default: random)")
    parser.add_argument("--operation", action="append", help="e.g. 'POST /parcels' (repeatable)")
    args = parser.parse_args()

    import redis
    from flask_migrate import upgrade

    from portal import create_app
    from portal.extensions import db
    from tests.support import fuzz
    from tests.support.databases import scratch_database

    try:
        redis.Redis.from_url(REDIS_URL).ping()
    except redis.ConnectionError:
        sys.exit("Redis is not running on 127.0.0.1:6379 (redis-server --daemonize yes)")
    logging.getLogger("alembic").setLevel(logging.WARNING)
    # A 500's traceback would print between the rows; schemathesis reports it with a curl line.
    logging.getLogger("portal").setLevel(logging.CRITICAL)
    queue_name = f"bench-fuzz-{uuid.uuid4().hex[:8]}"
    failures: list[tuple[str, BaseException]] = []
    started = time.monotonic()
    with tempfile.TemporaryDirectory() as folder, scratch_database(Path(folder)) as url:
        app = create_app(
            {
                "ENV_NAME": "test",
                "TESTING": True,
                "SQLALCHEMY_DATABASE_URI": url,
                "SECRET_KEY": "bench-" + "x" * 40,
                "PUBLIC_BASE_URL": "http://portal.test",
                "REDIS_URL": REDIS_URL,
                "RQ_QUEUE": queue_name,
                # Thousands of calls from one key: the per-key limit is tested elsewhere.
                "RATELIMIT_ENABLED": False,
            }
        )
        with app.app_context():
            upgrade()
            keys = fuzz.seed()
            print(f"{'operation':32} {'calls':>6} {'seconds':>8}  statuses")
            for label in args.operation or fuzz.operations():
                try:
                    run = fuzz.fuzz(app, keys, label, max_examples=args.examples, seed=args.seed)
                except Exception as exc:  # reported after the table
                    failures.append((label, exc))
                    print(f"{label:32} {'FAILED':>6}")
                    continue
                statuses = " ".join(f"{s}×{n}" for s, n in sorted(run.statuses.items()))
                print(f"{label:32} {run.calls:6d} {run.seconds:8.1f}  {statuses}")
            from portal.notifications.handoff import queue

            queue().delete(delete_jobs=True)
            db.session.remove()
            db.engine.dispose()
    print(f"\n{time.monotonic() - started:.0f} s, {len(failures)} operation(s) failed")
    for label, exc in failures:
        print(f"\n=== {label}")
        traceback.print_exception(exc, limit=0)
    return 1 if failures else 0


if __name__ == "__main__":
    sys.exit(main())
