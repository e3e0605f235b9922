"""Tracking page vs /healthz under load, on PostgreSQL, with gunicorn and wrk.

Run by hand: `make bench` (or `.venv/bin/python bench/track_page.py --parcels 100000`).
Seeds N parcels with 8 events each into a database of its own, serves it with gunicorn (rate
limits off), and measures /t/<tn> for random existing parcels with a verified session, and
/healthz in the same run. Prints a Markdown block for BENCHMARKS.md.
"""

from __future__ import annotations

import argparse
import os
import platform
import random
import re
import socket
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
BIN = ROOT / ".venv" / "bin"
LUA = """
local entries = {}
for line in io.lines(os.getenv("BENCH_TARGETS")) do
  local tn, cookie = line:match("(%S+) (%S+)")
  entries[#entries + 1] = {tn, cookie}
end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  local e = entries[math.random(#entries)]
  return wrk.format("GET", "/t/" .. e[1], {["Cookie"] = "session=" .. e[2]})
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, seconds: float = 10) -> None:
    """Until the server answers /healthz (gunicorn takes a moment to start its workers)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + "/healthz")
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def sh(*args: str, env: dict | None = None) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


def wrk(url: str, seconds: int, connections: int, script: str | None, env: dict) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = sh(*cmd, url, env=env)
    if "Non-2xx" in out or "Socket errors" in out:
        raise SystemExit(f"wrk saw errors:\n{out}")
    rps = float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1))
    p99 = re.search(r"99%\s+([\d.]+)(us|ms|s)", out)
    scale = {"us": 0.001, "ms": 1.0, "s": 1000.0}[p99.group(2)]
    return {"rps": rps, "p99_ms": float(p99.group(1)) * scale}


def page_weight(base: str, path: str, cookie: str) -> dict:
    """Bytes of the page's HTML plus the CSS and JS it links (images excluded)."""
    req = urllib.request.Request(base + path, headers={"Cookie": f"session={cookie}"})
    html = urllib.request.urlopen(req).read()
    assets = re.findall(rb'(?:href|src)="(/static/[^"]+\.(?:css|js))"', html)
    sizes = {a.decode(): len(urllib.request.urlopen(base + a.decode()).read()) for a in assets}
    return {
        "html": len(html),
        "assets": sizes,
        "total": len(html) + sum(sizes.values()),
        "body": html,
    }


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench")
    ap.add_argument("--skip-seed", action="store_true")
    args = ap.parse_args()

    env = {
        **os.environ,
        "DATABASE_URL": args.db,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "LASTMILE_RATELIMIT_ENABLED": "false",
    }
    admin = args.db.rsplit("/", 1)[0] + "/postgres"
    name = args.db.rsplit("/", 1)[1]
    exists = sh("psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if not exists.strip():
        sh("psql", admin, "-c", f'CREATE DATABASE "{name}"')
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    sh(*flask, "db", "upgrade", env=env)
    if not args.skip_seed:
        print(sh(*flask, "seed-bench", "--parcels", str(args.parcels), env=env).strip())

    sys.path.insert(0, str(ROOT))
    os.environ.update(env)
    from sqlalchemy import select

    from portal import create_app
    from portal.dev.bench import bench_tracking_number
    from portal.extensions import db
    from portal.models import Parcel

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)
    rnd = random.Random(7)
    # Spread over the whole set, so no cache (ours, PostgreSQL's buffers aside) can flatter it.
    picks = [bench_tracking_number(rnd.randrange(args.parcels)) for _ in range(20_000)]
    # A verified session holds the ids of the parcels it unlocked (tracking/verification.py).
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(Parcel.tracking_number, Parcel.id).where(
                    Parcel.tracking_number.in_(set(picks))
                )
            ).all()
        )
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as targets:
        for tn in picks:
            targets.write(f"{tn} {serializer.dumps({'verified': [ids[tn]]})}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [
            str(BIN / "gunicorn"),
            "-w",
            str(args.workers),
            "-b",
            f"127.0.0.1:{port}",
            "--access-logfile",
            "/dev/null",
            "wsgi:app",
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )
    try:
        wait_until_up(base)
        weight = page_weight(
            base, f"/t/{picks[0]}", serializer.dumps({"verified": [ids[picks[0]]]})
        )
        assert b"Storgatan" in weight["body"], "the bench session is not verified"
        wenv = {**env, "BENCH_TARGETS": targets.name}
        wrk(base + "/healthz", 3, args.connections, None, wenv)  # warm up
        wrk(base + "/", 3, args.connections, lua.name, wenv)
        health = wrk(base + "/healthz", args.seconds, args.connections, None, wenv)
        track = wrk(base + "/", args.seconds, args.connections, lua.name, wenv)
    finally:
        server.terminate()
        server.wait()

    with open("/proc/cpuinfo") as info:
        cpu = next(
            (line.split(":", 1)[1].strip() for line in info if "model name" in line),
            platform.processor(),
        )
    pg = sh("psql", args.db, "-tAc", "SHOW server_version").strip()
    print(f"\n### Tracking page, {args.parcels:,} parcels × 8 events, PostgreSQL {pg}\n")
    print(
        f"Machine: {os.cpu_count()} cores ({cpu}), Python {platform.python_version()}, "
        f"gunicorn {args.workers} sync workers, wrk 2 threads × {args.connections} connections "
        f"× {args.seconds}s, rate limits off.\n"
    )
    print("| endpoint | requests/s | p99 |")
    print("| --- | --- | --- |")
    print(f"| `/healthz` | {health['rps']:.0f} | {health['p99_ms']:.1f} ms |")
    print(
        f"| `/t/<tn>` (random parcel, verified session) | {track['rps']:.0f} | "
        f"{track['p99_ms']:.1f} ms |"
    )
    print(
        f"\nRatio tracking page / healthz: **{track['rps'] / health['rps']:.2f}×** "
        f"(target ≥ 0.5×); p99 {track['p99_ms']:.1f} ms (target < 50 ms)."
    )
    assets = ", ".join(
        f"{k.rsplit('/', 1)[1]} {v / 1024:.1f} KB" for k, v in weight["assets"].items()
    )
    print(
        f"Page weight: HTML {weight['html'] / 1024:.1f} KB + {assets} = "
        f"**{weight['total'] / 1024:.1f} KB** (target < 100 KB)."
    )


if __name__ == "__main__":
    main()
