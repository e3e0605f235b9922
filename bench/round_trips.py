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
import tempfile
from pathlib import Path

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
    from psycopg.pq import Trace
    from sqlalchemy import event, select

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
    traced: list = []

    def checkout(dbapi_connection, record, proxy) -> None:
        out = tempfile.TemporaryFile("w+")  # noqa: SIM115  (read and closed below)
        dbapi_connection.pgconn.trace(out.fileno())
        dbapi_connection.pgconn.set_trace_flags(Trace.SUPPRESS_TIMESTAMPS)
        traced.append((dbapi_connection, out))

    def checkin(dbapi_connection, record) -> None:
        if dbapi_connection is not None and not dbapi_connection.closed:
            dbapi_connection.pgconn.untrace()

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
        traced.clear()
        event.listen(engine, "checkout", checkout)
        event.listen(engine, "checkin", checkin)
        try:
            assert client.get(path, headers=headers).status_code == 200, path
        finally:
            event.remove(engine, "checkout", checkout)
            event.remove(engine, "checkin", checkin)
        lines: list[str] = []
        for connection, out in traced:
            if not connection.closed:
                connection.pgconn.untrace()
            out.seek(0)
            lines += out.read().splitlines()
            out.close()
        trips = sum(1 for line in lines if line.startswith("B") and "\tReadyForQuery" in line)
        control = [
            line.split("\t", 3)[3].strip().strip('"')
            for line in lines
            if line.startswith("F") and "\tQuery\t" in line
        ]
        control = [c for c in control if c.split()[0].upper() in ("BEGIN", "ROLLBACK", "COMMIT")]
        parsed = sum(1 for line in lines if line.startswith("F") and "\tParse\t" in line)
        print(f"| {label} | {trips} | {', '.join(control) or 'none'} | {parsed} |")


if __name__ == "__main__":
    main()
