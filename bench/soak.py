"""Soak: ten minutes of tracking, delivery changes and carrier events with the worker running.

Run by hand: `make bench-soak` (or `.venv/bin/python bench/soak.py --minutes 10`). A PostgreSQL
database of its own with one zone (slots, a pickup point) and --parcels parcels; gunicorn and an
RQ worker (`flask worker`) in production config, Twilio answered by a local stand-in and e-mail
by an aiosmtpd server in this process. Load: readers opening tracking pages (verified by the
signed link), recipients changing their delivery slot through the page form (CSRF and all), and
a carrier posting event batches that move parcels on and message recipients. Every 30 s the
resident memory of the web workers and the RQ worker is sampled. At the end: no request failed
(no 5xx, no unexpected 4xx), memory flat (last third against the first third), and every
notification accounted for: none left queued once the worker has caught up.
"""

from __future__ import annotations

import argparse
import json
import os
import random
import re
import subprocess
import sys
import threading
import time
import urllib.request
import uuid
from collections import Counter
from datetime import UTC, datetime
from datetime import time as clock
from http.cookiejar import CookieJar
from http.server import ThreadingHTTPServer
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from dispatch import FakeTwilio  # noqa: E402
from track_page import BIN, ROOT, free_port, sh, wait_until_up  # noqa: E402

SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lastmile_bench_soak"


def rss_kb(pid: int) -> int:
    try:
        with open(f"/proc/{pid}/status") as f:
            return next(int(line.split()[1]) for line in f if line.startswith("VmRSS:"))
    except (OSError, StopIteration):
        return 0


def children(pid: int) -> list[int]:
    try:
        out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout
    except OSError:
        return []
    return [int(p) for p in out.split()]


def setup(env: dict, count: int) -> tuple[list[tuple[str, str]], str]:
    """Zone, slots, a pickup point, parcels with signed links; returns (tn, token) and a
    carrier key."""
    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from portal import create_app
    from portal.extensions import db
    from portal.models import PickupPoint, SlotTemplate, Vehicle
    from portal.services.api_keys import (
        create_api_key,
        get_or_create_carrier,
        get_or_create_merchant,
    )
    from portal.services.delivery import generate_slots
    from portal.services.links import issue_link
    from portal.services.parcels import ItemData, ParcelData, RecipientData, create_parcel
    from portal.services.zones import ensure_zone

    app = create_app()
    with app.app_context():
        zone = ensure_zone("Soak", "SE", "Europe/Stockholm", ["113"],
                           centres={"113": (59.3429, 18.0490)})  # fmt: skip
        for weekday in range(7):
            for start in (9, 11, 13, 15, 17):
                db.session.add(SlotTemplate(zone=zone, weekday=weekday, start_time=clock(start),
                                            end_time=clock(start + 2), capacity=10_000,
                                            vehicle=Vehicle.VAN))  # fmt: skip
        db.session.add(PickupPoint(zone_id=zone.id, name="Soak Shop", is_locker=False,
                                   address_line="Soakgatan 1", postcode="113 50",
                                   city="Stockholm", latitude=59.344, longitude=18.05,
                                   opening_hours="Mon-Sun 08-22"))  # fmt: skip
        db.session.flush()
        generate_slots(14)
        merchant = get_or_create_merchant("Soak Merchant")
        carrier = get_or_create_carrier("Soak Carrier")
        parcels = []
        for i in range(count):
            parcel = create_parcel(
                merchant,
                ParcelData(
                    carrier="Soak Carrier",
                    recipient=RecipientData(
                        name=f"Soak Recipient {i}",
                        address_line=f"Soakgatan {i % 90 + 1}",
                        postcode=f"113 {i % 90 + 10}",
                        city="Stockholm",
                        country="SE",
                        phone=f"+4670{5000000 + i:07d}",
                        email=f"soak{i}@example.com",
                    ),
                    items=[ItemData("SOAK-1", "Soak item", 1, 100)],
                ),
            )
            parcels.append(parcel)
        db.session.flush()
        links = [(p.tracking_number, issue_link(p, days=30)) for p in parcels]
        _, key = create_api_key(carrier=carrier)
        db.session.commit()
    return links, key


def main() -> None:
    os.chdir(ROOT)  # flask --app wsgi finds wsgi.py here
    ap = argparse.ArgumentParser()
    ap.add_argument("--minutes", type=float, default=10)
    ap.add_argument("--parcels", type=int, default=400)
    ap.add_argument("--workers", type=int, default=3)
    args = ap.parse_args()

    twilio = ThreadingHTTPServer(("127.0.0.1", 0), FakeTwilio)
    threading.Thread(target=twilio.serve_forever, daemon=True).start()
    from aiosmtpd.controller import Controller

    class Sink:
        count = 0

        async def handle_DATA(self, server, session, envelope):
            Sink.count += 1
            return "250 OK"

    smtp = Controller(Sink(), hostname="127.0.0.1", port=free_port())
    smtp.start()
    url = f"{SERVER}/{DATABASE}"
    env = {
        **os.environ,
        "DATABASE_URL": url,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "soak-" + "x" * 40,
        "LASTMILE_RATELIMIT_ENABLED": "false",
        "REDIS_URL": "redis://127.0.0.1:6379/12",
        "LASTMILE_RQ_QUEUE": f"soak-{uuid.uuid4().hex[:6]}",
        "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
        "TWILIO_AUTH_TOKEN": "soak-token",
        "TWILIO_FROM": "+46700000000",
        "LASTMILE_TWILIO_API_BASE": f"http://127.0.0.1:{twilio.server_port}",
        "SMTP_HOST": "127.0.0.1",
        "LASTMILE_SMTP_PORT": str(smtp.port),
        "LASTMILE_SMTP_STARTTLS": "false",
        # Out of quiet hours whenever it runs: every message is due now.
        "LASTMILE_NOTIFY_QUIET_START": "24",
        "LASTMILE_NOTIFY_QUIET_END": "0",
        "PUBLIC_BASE_URL": "http://soak.example",
        # Plain HTTP on loopback: a Secure cookie would never come back, and every reader
        # would see the unverified page.
        "LASTMILE_SESSION_COOKIE_SECURE": "false",
    }
    sh("psql", f"{SERVER}/postgres", "-qc", f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)')
    sh("psql", f"{SERVER}/postgres", "-qc", f'CREATE DATABASE "{DATABASE}"')
    sh(str(BIN / "flask"), "--app", "wsgi", "db", "upgrade", env=env)
    links, carrier_key = setup(env, args.parcels)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    web = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(args.workers), "-b", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open("/tmp/soak-web.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    worker = subprocess.Popen(
        [str(BIN / "flask"), "--app", "wsgi", "worker"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=open("/tmp/soak-worker.log", "w"),  # noqa: SIM115
    )  # fmt: skip
    answers: Counter = Counter()
    failures: list[str] = []
    lock = threading.Lock()
    stop = threading.Event()

    def note(kind: str, status: int, detail: str = "") -> None:
        with lock:
            answers[(kind, status)] += 1
            if status >= 500 or (status >= 400 and status not in (409,)):
                failures.append(f"{kind} {status} {detail[:200]}")

    def opener():
        return urllib.request.build_opener(urllib.request.HTTPCookieProcessor(CookieJar()))

    def call(o, kind: str, req) -> str:
        try:
            with o.open(req, timeout=30) as r:
                note(kind, r.status)
                return r.read().decode()
        except urllib.error.HTTPError as exc:
            note(kind, exc.code, exc.read().decode(errors="replace"))
        except OSError as exc:
            note(kind, 599, repr(exc))
        return ""

    def reader(seed: int) -> None:
        rnd, o = random.Random(seed), opener()
        tn, token = rnd.choice(links)
        call(o, "link", f"{base}/l/{token}")
        while not stop.is_set():
            call(o, "track", f"{base}/t/{tn}")
            if rnd.random() < 0.05:
                tn, token = rnd.choice(links)
                call(o, "link", f"{base}/l/{token}")

    def chooser(seed: int) -> None:
        rnd = random.Random(seed)
        while not stop.is_set():
            tn, token = rnd.choice(links)
            o = opener()
            call(o, "link", f"{base}/l/{token}")
            page = call(o, "delivery-page", f"{base}/t/{tn}/delivery")
            csrf = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page)
            slots = re.findall(r'name="slot" id="slot-\d+" value="(\d+)"(?!\s*disabled)', page)
            if not csrf or not slots:
                time.sleep(0.5)  # its journey has ended or changes closed: another one
                continue
            data = f"csrf_token={csrf.group(1)}&choice=slot&slot={rnd.choice(slots)}".encode()
            call(o, "delivery-change", urllib.request.Request(
                f"{base}/t/{tn}/delivery", data=data,
                headers={"Content-Type": "application/x-www-form-urlencoded"}))  # fmt: skip
            time.sleep(0.2)

    def carrier() -> None:
        rnd, o, n = random.Random(99), opener(), 0
        # Mostly scans on the way; now and then a parcel moves on (and its recipient hears).
        path = ["picked_up", "in_transit", "out_for_delivery", "delivered"]
        step = {tn: 0 for tn, _ in links}
        while not stop.is_set():
            events = []
            for tn in rnd.sample([t for t, _ in links], 50):
                code = path[min(step[tn], len(path) - 1)]
                if step[tn] < len(path) - 1 and rnd.random() < 0.03:
                    step[tn] += 1
                n += 1
                events.append({"event_id": f"soak-{n}", "tracking_number": tn, "code": code,
                               "occurred_at": datetime.now(UTC).isoformat(),
                               "location": "Soak terminal"})  # fmt: skip
            body = json.dumps({"events": events}).encode()
            call(o, "events", urllib.request.Request(
                f"{base}/api/v1/events", data=body,
                headers={"Authorization": f"Bearer {carrier_key}",
                         "Content-Type": "application/json"}))  # fmt: skip
            time.sleep(1)

    samples: list[tuple[float, int, int]] = []
    try:
        wait_until_up(base)
        threads = [threading.Thread(target=reader, args=(i,)) for i in range(4)]
        threads += [threading.Thread(target=chooser, args=(100 + i,)) for i in range(2)]
        threads += [threading.Thread(target=carrier)]
        for t in threads:
            t.start()
        started = time.time()
        end = started + args.minutes * 60
        while time.time() < end:
            web_rss = sum(rss_kb(p) for p in children(web.pid)) + rss_kb(web.pid)
            work_rss = rss_kb(worker.pid) + sum(rss_kb(p) for p in children(worker.pid))
            samples.append((time.time() - started, web_rss, work_rss))
            print(
                f"{samples[-1][0]:5.0f} s  web {web_rss / 1024:6.1f} MB  worker "
                f"{work_rss / 1024:6.1f} MB  requests {sum(answers.values()):,}",
                flush=True,
            )
            time.sleep(30)
        stop.set()
        for t in threads:
            t.join()
        # Let the worker catch up, then count.
        from sqlalchemy import create_engine, text

        engine = create_engine(url)
        for _ in range(60):
            with engine.connect() as conn:
                states = dict(conn.execute(text(
                    "SELECT state, count(*) FROM notification GROUP BY state")).all())  # fmt: skip
            if not states.get("queued"):
                break
            time.sleep(2)
    finally:
        stop.set()
        web.terminate()
        worker.terminate()
        web.wait()
        worker.wait()
        smtp.stop()
        twilio.shutdown()

    samples = samples[1:] or samples  # the first sample is taken before any request
    third = max(1, len(samples) // 3)
    first = sum(s[1] + s[2] for s in samples[:third]) / third
    last = sum(s[1] + s[2] for s in samples[-third:]) / third
    total = sum(answers.values())
    print(
        f"\nSoak: {args.minutes:g} min, {total:,} requests "
        f"({', '.join(f'{k} {s}: {c:,}' for (k, s), c in sorted(answers.items()))})"
    )
    print(f"failures: {len(failures)}" + (f" (first: {failures[0]})" if failures else ""))
    print(
        f"memory (web + worker RSS): first third {first / 1024:.1f} MB, last third "
        f"{last / 1024:.1f} MB ({(last / first - 1) * 100:+.1f} %)"
    )
    print(
        f"notifications by state: {states}; SMS the stand-in took: {len(FakeTwilio.received):,};"
        f" e-mails the SMTP server took: {Sink.count:,}"
    )


if __name__ == "__main__":
    main()
