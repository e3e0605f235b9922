"""Outbox dispatch throughput: 10,000 queued SMS through two `flask worker` processes.

Run by hand: `.venv/bin/python bench/dispatch.py` (PostgreSQL and Redis on 127.0.0.1).
A local HTTP server answers like Twilio's Messages endpoint (201 with a SID); the real twilio
SDK is pointed at it with TWILIO_API_BASE. Prints messages/s end to end, from enqueueing to the
last row marked sent, and checks every message was sent exactly once.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import parse_qs

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"


class FakeTwilio(BaseHTTPRequestHandler):
    protocol_version = "HTTP/1.1"
    # Headers and body go out in two writes; with Nagle on, each answer would wait ~40 ms for
    # the client's delayed ACK, a stall of this stand-in that Twilio's servers don't have.
    disable_nagle_algorithm = True
    received: list[str] = []
    lock = threading.Lock()

    def do_POST(self):
        body = self.rfile.read(int(self.headers.get("Content-Length", 0))).decode()
        form = parse_qs(body)
        with self.lock:
            FakeTwilio.received.append(form["Body"][0])
        sid = "SM" + uuid.uuid4().hex
        answer = json.dumps(
            {
                "sid": sid,
                "status": "queued",
                "to": form["To"][0],
                "from": form["From"][0],
                "body": form["Body"][0],
                "account_sid": "AC" + "0" * 32,
            }
        ).encode()
        self.send_response(201)
        self.send_header("Content-Type", "application/json")
        self.send_header("Content-Length", str(len(answer)))
        self.end_headers()
        self.wfile.write(answer)

    def log_message(self, *args):
        pass


def sh(*args: str, env: dict) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--messages", type=int, default=10_000)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument(
        "--unwritten",
        action="store_true",
        help="queue the rows as a carrier batch does (no text yet): the worker writes each one "
        "(template, signed link) before sending it",
    )
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench_dispatch")
    args = ap.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    queue_name = f"bench-{uuid.uuid4().hex[:6]}"
    env = {
        **os.environ,
        "DATABASE_URL": args.db,
        "REDIS_URL": "redis://127.0.0.1:6379/13",
        "SECRET_KEY": "bench-" + "x" * 40,
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "bench-token",
        "TWILIO_FROM": "+46700000000",
        "LASTMILE_TWILIO_API_BASE": f"http://127.0.0.1:{server.server_port}",
        "LASTMILE_RQ_QUEUE": queue_name,
    }
    admin = args.db.rsplit("/", 1)[0] + "/postgres"
    name = args.db.rsplit("/", 1)[1]
    sh("psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{name}"', env=env)
    sh("psql", admin, "-qc", f'CREATE DATABASE "{name}"', env=env)
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env)

    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from sqlalchemy import func, insert, select

    from portal import create_app
    from portal.extensions import db
    from portal.models import Channel, Notification, NotificationState
    from portal.notifications.handoff import dispatch
    from portal.services.api_keys import get_or_create_carrier, get_or_create_merchant
    from portal.services.parcels import ItemData, ParcelData, RecipientData, create_parcel

    app = create_app()
    with app.app_context():
        get_or_create_carrier("Bench Carrier")
        parcel = create_parcel(
            get_or_create_merchant("Bench Merchant"),
            ParcelData(
                carrier="Bench Carrier",
                recipient=RecipientData(
                    name="Bench",
                    address_line="Storgatan 1",
                    postcode="11348",
                    city="Stockholm",
                    country="SE",
                    phone="+46701234567",
                ),
                items=[ItemData("S", "Item", 1, 1)],
            ),
        )
        db.session.query(Notification).delete()
        rows = [
            {
                "parcel_id": parcel.id,
                "channel": Channel.SMS,
                "trigger": "out_for_delivery",
                "language": "en",
                "recipient": "+46701234567",
                "state": NotificationState.QUEUED,
                "body": ""
                if args.unwritten
                else f"Bench message {i}: your parcel arrives today. https://t.example/l/x{i}",
                "rendered": not args.unwritten,
                "dedupe_key": f"bench:{i}",
                "attempts": 0,
            }
            for i in range(args.messages)
        ]
        db.session.execute(insert(Notification), rows)
        db.session.commit()
        ids = list(db.session.execute(select(Notification.id)).scalars())
        started = time.perf_counter()
        dispatch(ids)
        enqueued = time.perf_counter() - started
        workers = [
            subprocess.Popen(
                [str(BIN / "flask"), "--app", "wsgi", "worker", "--burst"],
                cwd=ROOT,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            for _ in range(args.workers)
        ]
        for w in workers:
            w.wait()
        elapsed = time.perf_counter() - started
        sent = db.session.execute(
            select(func.count()).where(Notification.state == NotificationState.SENT)
        ).scalar_one()
    server.shutdown()
    twice = len(FakeTwilio.received) - len(set(FakeTwilio.received))
    written = " written by the worker" if args.unwritten else ""
    print(
        f"\n### Outbox dispatch, {args.messages:,} SMS{written}, {args.workers} worker processes\n"
    )
    print(
        f"Machine: {os.cpu_count()} cores, PostgreSQL, Redis 7, RQ SimpleWorker, twilio SDK "
        f"against a local HTTP server answering like the Messages API.\n"
    )
    print(f"- enqueued in {enqueued:.1f} s; all sent in {elapsed:.1f} s")
    print(f"- **{args.messages / elapsed:.0f} messages/s end to end** (target ≥ 200)")
    print(
        f"- rows sent: {sent:,}; HTTP requests: {len(FakeTwilio.received):,}; sent twice: {twice}"
    )
    if sent != args.messages or twice:
        raise SystemExit("not every message was sent exactly once")


if __name__ == "__main__":
    main()
