"""Fault drills: what is lost, sent twice or refused when a part of the system fails under load.

Run by hand: `make bench-faults` (or `.venv/bin/python bench/faults.py [--drill NAME] [--quick]`).
Everything runs as real processes on this machine, all of them the drill's own and all torn
down at the end: a PostgreSQL cluster (initdb in a temporary folder, port 55432), a Redis
(port 6390, no persistence), gunicorn with deploy/gunicorn.conf.py, two `flask worker`
processes restarted when they exit (as systemd's Restart=always does, after 5 s), a Twilio
stand-in and an SMTP server (bench/standins.py), and the upload folder on a 1 MB tmpfs.

Each drill gets a fresh database with bench parcels (`seed-bench`: each parcel has its own phone
number and e-mail address), and a carrier posts `out_for_delivery` events through the API, each
for a parcel not messaged before, so each accepted event should give exactly one SMS and one
e-mail. A message is *delivered* once the stand-in took it, *lost* if it never arrives and is
not waiting for a retry when the drill ends, *duplicated* if the stand-in took it more than
once. Events are checked in the database: every event id posted is stored exactly once.

Drills (names for --drill):
  worker-kill      kill -9 of a worker twice in the middle of 10,000 sends (5,000 SMS + 5,000 e-mails)
  redis-sending    Redis shut down (nosave) while a backlog is sent, back after 20 s, empty
  redis-events     Redis shut down for 30 s while a carrier posts events
  postgres-events  PostgreSQL stopped (-m immediate, down 10 s) and restarted (-m fast) while
                   carriers post events; every refused batch is retried with the same
                   Idempotency-Key and event ids, honouring Retry-After
  twilio-500, twilio-429, twilio-timeout
                   Twilio answering 500, 429 with Retry-After, or not at all, for 2 minutes
  smtp-refused     the SMTP server refusing connections for 2 minutes
  disk-full        a complaint with a photo while the upload disk is full, then with room again

The duplicate window documented in README.md ("Messages: SMS and e-mail through the outbox"):
a message the provider took whose `sent` was never committed (the worker was killed or lost
the database in between) goes again when its claim runs out: at most one message per worker
per such interruption. Duplicates are reported against that.
"""

from __future__ import annotations

import argparse
import contextlib
import io
import json
import os
import platform
import shutil
import signal
import subprocess
import sys
import tempfile
import threading
import time
from collections import Counter
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import requests

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from standins import Smtp, Twilio  # noqa: E402
from track_page import BIN, ROOT, free_port, sh  # noqa: E402

sys.path.insert(0, str(ROOT))
from portal.dev.bench import bench_tracking_number  # noqa: E402

PG_BIN = Path("/usr/lib/postgresql/15/bin")
PG_PORT = 55432
REDIS_PORT = 6390
WORKERS = 2
RESTART_SEC = 5  # deploy/lastmile-worker.service
CLAIM_SECONDS = 120  # NOTIFY_CLAIM_SECONDS: how long a dead worker's rows wait
DRILLS = (
    "worker-kill",
    "redis-sending",
    "redis-events",
    "postgres-events",
    "twilio-500",
    "twilio-429",
    "twilio-timeout",
    "smtp-refused",
    "disk-full",
)


def log(text: str) -> None:
    print(f"[{datetime.now():%H:%M:%S}] {text}", flush=True)


# --- processes of our own --------------------------------------------------------------------


class Supervised:
    """A command kept running: started again RESTART_SEC after it exits, as systemd does."""

    def __init__(self, name: str, args: list[str], env: dict, logfile: Path) -> None:
        self.name, self.args, self.env, self.logfile = name, args, env, logfile
        self.restarts = 0
        self.proc: subprocess.Popen | None = None
        self.stopping = threading.Event()
        self.lock = threading.Lock()
        self._start()
        threading.Thread(target=self._watch, daemon=True).start()

    def _start(self) -> None:
        with self.lock:
            self.proc = subprocess.Popen(
                self.args,
                cwd=ROOT,
                env=self.env,
                stdout=subprocess.DEVNULL,
                stderr=open(self.logfile, "a"),  # noqa: SIM115 (the child keeps it)
                start_new_session=True,
            )

    def _watch(self) -> None:
        while not self.stopping.is_set():
            if self.proc.poll() is not None:
                if self.stopping.wait(RESTART_SEC):
                    return
                self.restarts += 1
                self._start()
            time.sleep(0.2)

    def kill9(self) -> None:
        self.proc.send_signal(signal.SIGKILL)

    def stop(self) -> None:
        self.stopping.set()
        with self.lock:
            if self.proc.poll() is None:
                self.proc.terminate()
                try:
                    self.proc.wait(20)
                except subprocess.TimeoutExpired:
                    self.proc.kill()
                    self.proc.wait()


class Postgres:
    """A cluster of our own in `folder`, run as the postgres user (initdb refuses root)."""

    def __init__(self, folder: Path) -> None:
        self.data = folder / "pgdata"
        self.folder = folder
        self.as_user = ["runuser", "-u", "postgres", "--"] if os.geteuid() == 0 else []
        if self.as_user:
            shutil.chown(folder, "postgres")
        self._run(
            PG_BIN / "initdb", "-D", self.data, "-U", "postgres", "--auth=trust", "-E", "UTF8"
        )
        self.url = f"postgresql://postgres@127.0.0.1:{PG_PORT}"
        self.start()

    def _run(self, *args) -> None:
        subprocess.run([*self.as_user, *map(str, args)], check=True, capture_output=True)

    def _ctl(self, *args: str) -> None:
        options = f"-p {PG_PORT} -k {self.folder} -c listen_addresses=127.0.0.1"
        self._run(
            PG_BIN / "pg_ctl",
            "-D",
            self.data,
            "-l",
            self.folder / "postgres.log",
            "-o",
            options,
            "-w",
            *args,
        )

    def start(self) -> None:
        self._ctl("start")

    def stop(self, mode: str = "fast") -> None:
        self._ctl("stop", "-m", mode)

    def restart(self, mode: str) -> None:
        self._ctl("restart", "-m", mode)


class Redis:
    def __init__(self) -> None:
        self.proc: subprocess.Popen | None = None
        self.start()

    def start(self) -> None:
        self.proc = subprocess.Popen(
            [
                "redis-server",
                "--port",
                str(REDIS_PORT),
                "--bind",
                "127.0.0.1",
                "--save",
                "",
                "--appendonly",
                "no",
                "--maxmemory-policy",
                "noeviction",
            ],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        for _ in range(50):
            if (
                subprocess.run(
                    ["redis-cli", "-p", str(REDIS_PORT), "ping"], capture_output=True, text=True
                ).stdout.strip()
                == "PONG"
            ):
                return
            time.sleep(0.1)
        raise RuntimeError("redis-server did not start")

    def shutdown(self) -> None:
        """`redis-cli shutdown nosave`: the queue is gone when it comes back."""
        subprocess.run(
            ["redis-cli", "-p", str(REDIS_PORT), "shutdown", "nosave"], capture_output=True
        )
        self.proc.wait(10)

    def flush(self) -> None:
        subprocess.run(["redis-cli", "-p", str(REDIS_PORT), "flushall"], capture_output=True)


class Uploads:
    """The upload folder on a 1 MB tmpfs (a file-size limit where mounting is not allowed)."""

    def __init__(self, folder: Path) -> None:
        self.path = folder / "uploads"
        self.path.mkdir()
        self.mounted = (
            subprocess.run(
                ["mount", "-t", "tmpfs", "-o", "size=1m", "tmpfs", str(self.path)],
                capture_output=True,
            ).returncode
            == 0
        )
        if not self.mounted:
            raise SystemExit("disk-full needs a tmpfs: run as root (mount -t tmpfs)")

    def fill(self) -> None:
        fd = os.open(self.path / "filler", os.O_WRONLY | os.O_CREAT | os.O_TRUNC)
        try:
            with contextlib.suppress(OSError):  # until the disk is full
                while True:
                    os.write(fd, b"\0" * 4096)
        finally:
            os.close(fd)

    def free(self) -> None:
        (self.path / "filler").unlink(missing_ok=True)

    def files(self) -> list[str]:
        return sorted(
            str(p.relative_to(self.path))
            for p in self.path.rglob("*")
            if p.is_file() and p.name != "filler"
        )

    def close(self) -> None:
        if self.mounted:
            subprocess.run(["umount", str(self.path)], capture_output=True)


# --- the world a drill runs in ----------------------------------------------------------------


@dataclass
class Answers:
    """Every HTTP answer a client got, by status ("503+RA": 503 with Retry-After)."""

    counts: Counter = field(default_factory=Counter)
    lock: threading.Lock = field(default_factory=threading.Lock)
    slowest: float = 0.0  # seconds a client waited for its longest answer

    def add(self, status: str, took: float = 0.0) -> None:
        with self.lock:
            self.counts[status] += 1
            self.slowest = max(self.slowest, took)
        if took > 5:
            log(f"an answer took {took:.1f} s: {status}")

    def errors(self) -> str:
        bad = {k: v for k, v in sorted(self.counts.items()) if k[0] not in "23"}
        return ", ".join(f"{k} × {v:,}" for k, v in bad.items()) or "none"


@dataclass
class Row:
    drill: str
    what: str
    attempted: int
    delivered: int
    lost: int
    duplicated: int
    window: str
    client_errors: str
    recovery: str

    def markdown(self) -> str:
        return (
            f"| {self.drill} | {self.what} | {self.attempted:,} | {self.delivered:,} | "
            f"**{self.lost}** | {self.duplicated}{self.window} | {self.client_errors} | "
            f"{self.recovery} |"
        )


HEADER = (
    "| drill | what | attempted | delivered / accepted | lost | duplicated | client errors "
    "| recovered in |\n| --- | --- | ---: | ---: | ---: | ---: | --- | --- |"
)


class World:
    """PostgreSQL, Redis, stand-ins and upload folder for the whole run; database, gunicorn and
    workers fresh for each drill."""

    def __init__(self, stack: contextlib.ExitStack, folder: Path) -> None:
        self.folder = folder
        self.pg = Postgres(folder)
        stack.callback(self._stop_pg)
        self.redis = Redis()
        stack.callback(lambda: self.redis.proc.poll() is None and self.redis.shutdown())
        self.twilio = Twilio()
        stack.callback(self.twilio.close)
        self.smtp = Smtp(free_port())
        stack.callback(self.smtp.stop)
        self.uploads = Uploads(folder)
        stack.callback(self.uploads.close)
        self.web: Supervised | None = None
        self.workers: list[Supervised] = []
        stack.callback(self.stop_app)

    def _stop_pg(self) -> None:
        with contextlib.suppress(subprocess.CalledProcessError):
            self.pg.stop("immediate")

    def env(self, database: str) -> dict:
        return {
            **os.environ,
            "DATABASE_URL": f"{self.pg.url}/{database}",
            "LASTMILE_ENV": "production",
            "SECRET_KEY": "faults-" + "x" * 40,
            "REDIS_URL": f"redis://127.0.0.1:{REDIS_PORT}/0",
            "TWILIO_ACCOUNT_SID": "AC" + "0" * 32,
            "TWILIO_AUTH_TOKEN": "faults-token",
            "TWILIO_FROM": "+46700000000",
            "LASTMILE_TWILIO_API_BASE": f"http://127.0.0.1:{self.twilio.port}",
            "SMTP_HOST": "127.0.0.1",
            "SMTP_PORT": str(self.smtp.port),
            "LASTMILE_SMTP_STARTTLS": "false",
            # Out of quiet hours whenever it runs: every message is due at once.
            "LASTMILE_NOTIFY_QUIET_START": "24",
            "LASTMILE_NOTIFY_QUIET_END": "0",
            "PUBLIC_BASE_URL": "http://faults.example",
            "LASTMILE_SESSION_COOKIE_SECURE": "false",  # plain HTTP on loopback
            "LASTMILE_UPLOAD_FOLDER": str(self.uploads.path),
            "GUNICORN_WORKERS": "3",
            "GUNICORN_ACCESSLOG": "/dev/null",
        }

    def start_app(self, name: str, parcels: int) -> Drill:
        database = f"drill_{name.replace('-', '_')}"
        admin = f"{self.pg.url}/postgres"
        sh("psql", admin, "-qc", f'DROP DATABASE IF EXISTS "{database}" WITH (FORCE)')
        sh("psql", admin, "-qc", f'CREATE DATABASE "{database}"')
        env = self.env(database)
        flask = [str(BIN / "flask"), "--app", "wsgi"]
        sh(*flask, "db", "upgrade", env=env)
        sh(*flask, "seed-bench", "--parcels", str(parcels), "--events", "2", env=env)
        key = sh(*flask, "api-key", "create", "--carrier", "Bench Carrier", env=env)
        self.redis.flush()
        self.twilio.reset()
        self.smtp.reset()
        port = free_port()
        logs = self.folder / name
        logs.mkdir()
        self.web = Supervised(
            "web",
            [str(BIN / "gunicorn"), "-c", "deploy/gunicorn.conf.py", "wsgi:app"],
            {**env, "GUNICORN_BIND": f"127.0.0.1:{port}"},
            logs / "web.log",
        )
        self.workers = [
            Supervised(f"worker-{i}", [*flask, "worker"], env, logs / f"worker-{i}.log")
            for i in range(WORKERS)
        ]
        base = f"http://127.0.0.1:{port}"
        deadline = time.monotonic() + 30
        while True:
            with contextlib.suppress(requests.RequestException):
                if requests.get(base + "/healthz", timeout=2).ok:
                    break
            if time.monotonic() > deadline:
                raise RuntimeError(f"gunicorn did not come up (see {logs / 'web.log'})")
            time.sleep(0.2)
        return Drill(self, name, env["DATABASE_URL"], base, key.strip().splitlines()[-1], logs)

    def stop_app(self) -> None:
        for p in [self.web, *self.workers]:
            if p is not None:
                p.stop()
        self.web, self.workers = None, []


class Drill:
    """One drill's database, app and measurements."""

    def __init__(self, world: World, name: str, url: str, base: str, key: str, logs: Path):
        self.world, self.name, self.url, self.base, self.key, self.logs = (
            world,
            name,
            url,
            base,
            key,
            logs,
        )
        self.answers = Answers()
        self.next_parcel = 0
        self.posted: list[int] = []  # parcels whose out_for_delivery event was accepted
        self.event_ids: list[str] = []
        self.rejected = 0
        self.lock = threading.Lock()
        from sqlalchemy import create_engine

        self.engine = create_engine(url.replace("postgresql://", "postgresql+psycopg://"))

    def take(self, n: int) -> list[int]:
        with self.lock:
            first = self.next_parcel
            self.next_parcel += n
        return list(range(first, first + n))

    # --- the carrier ---

    def post(self, parcels: list[int], batch_name: str, http: requests.Session) -> None:
        """One batch of out_for_delivery events, sent until it is answered 200: a refused batch
        goes again with the same Idempotency-Key and event ids after its Retry-After."""
        now = datetime.now(UTC).isoformat()
        events = [
            {
                "event_id": f"{self.name}-{i}",
                "tracking_number": bench_tracking_number(i),
                "code": "out_for_delivery",
                "occurred_at": now,
                "location": "Drill terminal",
            }
            for i in parcels
        ]
        body = json.dumps({"events": events})
        headers = {
            "Authorization": f"Bearer {self.key}",
            "Content-Type": "application/json",
            "Idempotency-Key": f"{self.name}-{batch_name}",
        }
        while True:
            wait = 1.0
            sent = time.monotonic()
            try:
                r = http.post(self.base + "/api/v1/events", data=body, headers=headers, timeout=60)
            except requests.RequestException as exc:
                self.answers.add(f"no answer ({type(exc).__name__})", time.monotonic() - sent)
            else:
                retry_after = r.headers.get("Retry-After")
                status = str(r.status_code)
                if r.status_code == 503:
                    status += " with Retry-After" if retry_after else " WITHOUT Retry-After"
                self.answers.add(status, time.monotonic() - sent)
                if r.status_code == 200:
                    results = r.json()["results"]
                    bad = [x for x in results if x["status"] not in ("accepted", "duplicate")]
                    with self.lock:
                        self.rejected += len(bad)
                        self.posted += parcels
                        self.event_ids += [e["event_id"] for e in events]
                    return
                if retry_after and retry_after.isdigit():
                    wait = float(retry_after)
            time.sleep(wait)

    def stream(self, seconds: float, per_batch: int, every: float, clients: int = 1) -> None:
        """`clients` carriers each posting a batch of `per_batch` events every `every` s."""
        stop = time.monotonic() + seconds

        def client(c: int) -> None:
            http = requests.Session()
            n = 0
            while time.monotonic() < stop:
                started = time.monotonic()
                self.post(self.take(per_batch), f"c{c}-{n}", http)
                n += 1
                time.sleep(max(0.0, every - (time.monotonic() - started)))

        threads = [threading.Thread(target=client, args=(c,)) for c in range(clients)]
        for t in threads:
            t.start()
        for t in threads:
            t.join()

    # --- what arrived ---

    def expected(self) -> dict[str, int]:
        """Every message the accepted events should give: address -> parcel."""
        out = {}
        for i in self.posted:
            out[f"+4670{i % 10_000_000:07d}"] = i
            out[f"r{i}@example.com"] = i
        return out

    def delivered(self) -> Counter:
        with self.world.twilio.lock, self.world.smtp.lock:
            return self.world.twilio.delivered + self.world.smtp.delivered

    def arrived(self) -> int:
        got = self.delivered()
        return sum(1 for address in self.expected() if got[address])

    def wait_delivered(self, timeout: float) -> float | None:
        """Seconds until every expected message arrived, or None if some never did."""
        started = time.monotonic()
        total = len(self.expected())
        while time.monotonic() - started < timeout:
            if self.arrived() >= total:
                return time.monotonic() - started
            time.sleep(0.5)
        return None

    def outbox(self) -> dict[str, int]:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            return dict(
                conn.execute(
                    text(
                        "SELECT state || CASE WHEN state = 'queued' AND claimed_until IS NOT NULL "
                        "THEN ' (claimed)' ELSE '' END, count(*) FROM notification GROUP BY 1"
                    )
                ).all()
            )

    def message_row(self, recovery: str, allowed_dups: int) -> Row:
        expected = self.expected()
        got = self.delivered()
        delivered = sum(1 for a in expected if got[a])
        duplicated = sum(got[a] - 1 for a in expected if got[a] > 1)
        stray = sum(c for a, c in got.items() if a not in expected)  # a message nobody caused
        from sqlalchemy import text

        with self.engine.connect() as conn:
            pending = conn.execute(
                text("SELECT count(*) FROM notification WHERE state = 'queued'")
            ).scalar_one()
        lost = len(expected) - delivered - pending
        window = ""
        if duplicated:
            window = (
                " (within the window)"
                if duplicated <= allowed_dups
                else f" (**outside the window**: at most {allowed_dups})"
            )
        if stray:
            window += f", {stray} unexpected"
        log(
            f"{self.name}: outbox {self.outbox()}, stand-in answers {dict(self.world.twilio.answers)}"
        )
        pending_note = f" ({pending} still waiting)" if pending else ""
        return Row(
            self.name,
            "messages",
            len(expected),
            delivered,
            lost,
            duplicated,
            window,
            "—",
            recovery + pending_note,
        )

    def event_row(self, recovery: str) -> Row:
        from sqlalchemy import text

        with self.engine.connect() as conn:
            stored = Counter(
                dict(
                    conn.execute(
                        text(
                            "SELECT event_id, count(*) FROM tracking_event WHERE event_id LIKE :p "
                            "GROUP BY event_id"
                        ),
                        {"p": f"{self.name}-%"},
                    ).all()
                )
            )
        posted = set(self.event_ids)
        lost = sum(1 for e in posted if not stored[e]) + self.rejected
        doubled = sum(c - 1 for c in stored.values() if c > 1)
        return Row(
            self.name,
            "events",
            len(posted),
            sum(1 for e in posted if stored[e]),
            lost,
            doubled,
            "",
            f"{self.answers.errors()}; slowest answer {self.answers.slowest:.1f} s",
            recovery,
        )


def seconds(value: float | None) -> str:
    return "never" if value is None else f"{value:.0f} s"


# --- the drills -------------------------------------------------------------------------------


def worker_kill(world: World, quick: bool) -> list[Row]:
    parcels = 500 if quick else 5000  # an SMS and an e-mail each: 10,000 sends
    d = world.start_app("worker-kill", parcels)
    http = requests.Session()
    for start in range(0, parcels, 1000):
        d.post(d.take(min(1000, parcels - start)), f"b{start}", http)
    total = len(d.expected())
    kills = []
    for share, victim in ((1 / 3, 0), (2 / 3, 1)):
        while d.arrived() < total * share:
            time.sleep(0.05)
        world.workers[victim].kill9()
        kills.append(time.monotonic())
        log(f"worker-kill: kill -9 worker-{victim} at {d.arrived():,} of {total:,} delivered")
    took = d.wait_delivered(CLAIM_SECONDS + 120)
    recovery = seconds(None if took is None else time.monotonic() - kills[-1])
    restarts = sum(w.restarts for w in world.workers)
    log(f"worker-kill: {restarts} worker restarts")
    return [d.message_row(f"{recovery} after the 2nd kill", allowed_dups=len(kills))]


def redis_sending(world: World, quick: bool) -> list[Row]:
    parcels = 500 if quick else 3000
    down = 10 if quick else 20
    d = world.start_app("redis-sending", parcels)
    http = requests.Session()
    for start in range(0, parcels, 1000):
        d.post(d.take(min(1000, parcels - start)), f"b{start}", http)
    total = len(d.expected())
    while d.arrived() < total * 0.25:
        time.sleep(0.02)
    log(f"redis-sending: shutdown nosave at {d.arrived():,} of {total:,} delivered")
    world.redis.shutdown()
    time.sleep(down)
    world.redis.start()
    back = time.monotonic()
    log(f"redis-sending: Redis back (empty) at {d.arrived():,} delivered")
    took = d.wait_delivered(300)
    recovery = seconds(None if took is None else time.monotonic() - back)
    return [d.message_row(f"{recovery} after Redis was back", allowed_dups=0)]


def redis_events(world: World, quick: bool) -> list[Row]:
    before, down, after = (5, 10, 5) if quick else (15, 30, 15)
    d = world.start_app("redis-events", 40 * (before + down + after) + 100)
    carrier = threading.Thread(target=d.stream, args=(before + down + after, 10, 0.5))
    carrier.start()
    time.sleep(before)
    log("redis-events: redis shutdown nosave")
    world.redis.shutdown()
    time.sleep(down)
    world.redis.start()
    back = time.monotonic()
    log("redis-events: Redis back (empty)")
    carrier.join()
    took = d.wait_delivered(300)
    recovery = seconds(None if took is None else time.monotonic() - back)
    return [
        d.event_row("—"),
        d.message_row(f"{recovery} after Redis was back", allowed_dups=0),
    ]


def postgres_events(world: World, quick: bool) -> list[Row]:
    d = world.start_app("postgres-events", 5000)
    length = 40 if quick else 60
    carrier = threading.Thread(target=d.stream, args=(length, 25, 0.5, 2))
    carrier.start()
    time.sleep(length / 4)
    log("postgres-events: pg_ctl stop -m immediate (down 10 s)")
    world.pg.stop("immediate")
    time.sleep(10)
    world.pg.start()
    log("postgres-events: started again")
    time.sleep(length / 4)
    log("postgres-events: pg_ctl restart -m fast")
    world.pg.restart("fast")
    back = time.monotonic()
    carrier.join()
    accepted_by = time.monotonic() - back
    took = d.wait_delivered(CLAIM_SECONDS + 120)
    recovery = seconds(None if took is None else time.monotonic() - back)
    log(f"postgres-events: answers {dict(d.answers.counts)}")
    # A worker that loses the database between the provider's answer and its commit sends that
    # message again: at most one per worker per outage (two outages here).
    return [
        d.event_row(f"{accepted_by:.0f} s to the last answer"),
        d.message_row(f"{recovery} after the restart", allowed_dups=2 * WORKERS),
    ]


def provider_outage(world: World, quick: bool, name: str, fault: str) -> list[Row]:
    before, outage, after = (5, 20, 5) if quick else (20, 120, 20)
    d = world.start_app(name, 5 * (before + outage + after) + 100)
    # 5 events a second, in batches of 50 every 10 s: each batch's messages are one job of 50
    # rows (25 SMS, 25 e-mails) that one worker claims together, as a carrier's batches give.
    carrier = threading.Thread(target=d.stream, args=(before + outage + after, 50, 10.0))
    carrier.start()
    time.sleep(before)
    log(f"{name}: {fault} for {outage} s")
    if fault == "smtp":
        world.smtp.stop()
    else:
        world.twilio.set_mode(fault)
    time.sleep(outage)
    if fault == "smtp":
        world.smtp.start()
    else:
        world.twilio.set_mode("ok")
    back = time.monotonic()
    log(f"{name}: provider back")
    carrier.join()
    # Retries back off 30 s, 60 s, 120 s: the last try of a message that failed all through the
    # outage comes up to 2 minutes after it ends.
    took = d.wait_delivered(300)
    recovery = seconds(None if took is None else time.monotonic() - back)
    return [d.message_row(f"{recovery} after the provider was back", allowed_dups=0)]


def disk_full(world: World, quick: bool) -> list[Row]:
    """A recipient files a complaint with a photo on a full upload disk, then with room."""
    import re

    from PIL import Image

    d = world.start_app("disk-full", 10)
    link = _signed_link(d, 0)
    http = requests.Session()
    http.get(f"{d.base}/l/{link}", timeout=10)  # verifies this browser for the parcel
    tn = bench_tracking_number(0)
    # A photo that re-encodes to more than a few KB: noise does not compress.
    image = Image.effect_noise((800, 600), 90).convert("RGB")
    photo = io.BytesIO()
    image.save(photo, "JPEG", quality=95)
    text = "The box was crushed on one side and the lamp inside is broken."

    def complain() -> requests.Response:
        page = http.get(f"{d.base}/t/{tn}/complaint", timeout=10).text
        token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
        r = http.post(
            f"{d.base}/t/{tn}/complaint",
            data={"csrf_token": token, "type": "other", "description": text},
            files={"photos": ("lamp.jpg", photo.getvalue(), "image/jpeg")},
            allow_redirects=False,
            timeout=30,
        )
        d.answers.add(str(r.status_code))
        return r

    from sqlalchemy import text as sql

    def complaints() -> int:
        with d.engine.connect() as conn:
            return conn.execute(sql("SELECT count(*) FROM complaint")).scalar_one()

    world.uploads.fill()
    full = complain()
    kept_text = text in full.text
    after_full = (complaints(), world.uploads.files())
    world.uploads.free()
    started = time.monotonic()
    again = complain()
    recovery = time.monotonic() - started
    log(
        f"disk-full: full disk answered {full.status_code} (text kept: {kept_text}; complaints "
        f"{after_full[0]}, files {after_full[1]}); with room {again.status_code}, complaints "
        f"{complaints()}, files {len(world.uploads.files())}"
    )
    message = re.search(r'id="photos-error">(.*?)</p>', full.text, re.S)
    log(
        f"disk-full: what the page said: {message.group(1).strip() if message else full.text[:300]!r}"
    )
    # Lost: the customer's complaint, if the refusal did not keep what they wrote; or anything
    # half saved by the refused try (a file on the disk, a complaint row).
    half = len(after_full[1]) + after_full[0]
    filed = complaints()
    return [
        Row(
            "disk-full",
            "complaints",
            2,
            filed,
            (0 if kept_text else 1) + half,
            0,
            "",
            f"{d.answers.errors()} (text kept: {'yes' if kept_text else 'no'}; "
            f"half-saved files or rows: {half})",
            f"{recovery:.1f} s (the same form again, with room)",
        )
    ]


def _signed_link(d: Drill, i: int) -> str:
    """A signed link for bench parcel i, made as the app makes them."""
    os.environ.update(d.world.env(d.url.rsplit("/", 1)[1]))
    from portal import create_app
    from portal.extensions import db
    from portal.models import Parcel
    from portal.services.links import issue_link

    app = create_app()
    with app.app_context():
        parcel = db.session.query(Parcel).filter_by(tracking_number=bench_tracking_number(i)).one()
        token = issue_link(parcel, days=1)
        db.session.commit()
        db.engine.dispose()
    return token


RUN = {
    "worker-kill": worker_kill,
    "redis-sending": redis_sending,
    "redis-events": redis_events,
    "postgres-events": postgres_events,
    "twilio-500": lambda w, q: provider_outage(w, q, "twilio-500", "500"),
    "twilio-429": lambda w, q: provider_outage(w, q, "twilio-429", "429"),
    "twilio-timeout": lambda w, q: provider_outage(w, q, "twilio-timeout", "hang"),
    "smtp-refused": lambda w, q: provider_outage(w, q, "smtp-refused", "smtp"),
    "disk-full": disk_full,
}


def main() -> None:
    os.chdir(ROOT)  # flask --app wsgi finds wsgi.py here
    ap = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    ap.add_argument("--drill", choices=DRILLS, action="append", help="run only this (repeatable)")
    ap.add_argument("--quick", action="store_true", help="smaller and shorter: a smoke test only")
    ap.add_argument("--keep-logs", action="store_true", help="leave the logs folder behind")
    args = ap.parse_args()
    drills = args.drill or list(DRILLS)
    # Ctrl-C or a kill: tear everything down through the ExitStack.
    signal.signal(signal.SIGTERM, lambda *_: (_ for _ in ()).throw(KeyboardInterrupt()))
    folder = Path(tempfile.mkdtemp(prefix="lastmile-faults-"))
    folder.chmod(0o755)
    rows: list[Row] = []
    started = time.monotonic()
    try:
        with contextlib.ExitStack() as stack:
            world = World(stack, folder)
            for name in drills:
                log(f"--- {name}")
                try:
                    rows += RUN[name](world, args.quick)
                finally:
                    world.stop_app()
                for row in rows:
                    if row.drill == name:
                        print(row.markdown(), flush=True)
    finally:
        if args.keep_logs:
            print(f"logs kept in {folder}")
        else:
            shutil.rmtree(folder, ignore_errors=True)
    version = sh("psql", "--version").split()[2]
    redis = sh("redis-server", "--version").split()[2].removeprefix("v=")
    print(
        f"\nFault drills{' (--quick: NOT the figures for BENCHMARKS.md)' if args.quick else ''}, "
        f"{datetime.now():%Y-%m-%d}, {os.cpu_count()} cores, Python {platform.python_version()}, "
        f"PostgreSQL {version}, Redis {redis}, "
        f"{(time.monotonic() - started) / 60:.0f} min\n"
    )
    print(HEADER)
    for row in rows:
        print(row.markdown())
    if any(r.lost for r in rows):
        sys.exit("lost: see the table")


if __name__ == "__main__":
    main()
