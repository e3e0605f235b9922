"""Round trips to PostgreSQL per hot request, counted on the wire: libpq's own trace of the
pooled connection while one request runs (after a warm-up, as on a busy worker: psycopg
prepares a statement after its fifth run on a connection).

Run by hand, after `make bench` has seeded its database:
`.venv/bin/python bench/round_trips.py`. Prints, for `/healthz`, the verified parcel page, its
poll (a changed parcel: no `If-None-Match`) and `GET /api/v1/parcels/<tn>`: the round trips
(each exchange ends with the server's ReadyForQuery), the transaction statements sent (BEGIN,
ROLLBACK) and how many statements the server had to parse (none, once they are prepared).
Run from another checkout (a worktree of an older commit) to count that commit's.
"""

from __future__ import annotations

import argparse
import os
import sys
from pathlib import Path

# The tracer is this checkout's (tests/support/queries.py); the app counted is the one in the
# current directory, put first on the path below, after the tracer is imported.
sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
from tests.support.queries import count_round_trips

ROOT = Path.cwd()  # the checkout whose app is counted


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench")
    ap.add_argument("--parcel", type=int, default=4242, help="which seeded parcel")
    args = ap.parse_args()
    os.environ.update(
        DATABASE_URL=args.db,
        LASTMILE_ENV="production",
        SECRET_KEY="bench-" + "x" * 40,
        LASTMILE_RATELIMIT_ENABLED="false",
    )
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from portal import create_app
    from portal.dev.bench import bench_tracking_number
    from portal.extensions import db
    from portal.models import Parcel
    from portal.services.api_keys import create_api_key, get_or_create_merchant

    app = create_app()
    tn = bench_tracking_number(args.parcel)
    with app.app_context():
        parcel_id = db.session.execute(
            select(Parcel.id).where(Parcel.tracking_number == tn)
        ).scalar_one()
        _, key = create_api_key(merchant=get_or_create_merchant("Bench Merchant"))
        db.session.commit()
        engine = db.engine
    client = app.test_client()
    client.set_cookie(
        "session",
        app.session_interface.get_signing_serializer(app).dumps({"verified": [parcel_id]}),
    )
    print("| request | round trips | transaction statements | statements parsed |")
    print("| --- | --- | --- | --- |")
    for label, path, headers in [
        ("`/healthz`", "/healthz", {}),
        ("`/t/<tn>`, verified", f"/t/{tn}", {}),
        ("its poll, a changed parcel", f"/t/{tn}", {"HX-Request": "true", "HX-Target": "live"}),
        ("`GET /api/v1/parcels/<tn>`", f"/api/v1/parcels/{tn}", {"Authorization": f"Bearer {key}"}),
    ]:
        for _ in range(7):
            assert client.get(path, headers=headers).status_code == 200, path
        with count_round_trips(engine) as wire:
            assert client.get(path, headers=headers).status_code == 200, path
        control = ", ".join(wire.transaction_control) or "none"
        print(f"| {label} | {wire.count} | {control} | {wire.parsed} |")


if __name__ == "__main__":
    main()
