"""The tracking page and the parcel API against /healthz and a bare Flask app, under load, on
PostgreSQL, with gunicorn and wrk: issue 17's table in one run.

Run by hand: `make bench` (or `.venv/bin/python bench/track_page.py --parcels 100000`).
Seeds N parcels with 8 events each into a database of its own, serves it with gunicorn (rate
limits off; 2 sync workers by default, as issue 17 measures), and measures in one run: a bare
Flask app under the same gunicorn settings (bench/bare_app.py), /healthz, /t/<tn> for random
existing parcels with a verified session, the page's 30-second htmx poll (the same URL with
`HX-Request`/`HX-Target: live`, sending back each parcel's poll ETag), and
GET /api/v1/parcels/<tn> with the parcels' merchant's key. Prints a Markdown block with the
ratios the issue sets targets for, for BENCHMARKS.md.
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
  local tn, cookie, tag = line:match("(%S+) (%S+) ?(%S*)")
  entries[#entries + 1] = {tn, cookie, tag ~= "" and tag or nil}
end
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
local mode = os.getenv("BENCH_MODE")
local key = os.getenv("BENCH_API_KEY")
request = function()
  local e = entries[math.random(#entries)]
  if mode == "api" then
    return wrk.format("GET", "/api/v1/parcels/" .. e[1], {["Authorization"] = "Bearer " .. key})
  end
  local headers = {["Cookie"] = "session=" .. e[2]}
  if mode == "poll" then
    headers["HX-Request"] = "true"
    headers["HX-Target"] = "live"
    if e[3] then headers["If-None-Match"] = e[3] end
  end
  return wrk.format("GET", "/t/" .. e[1], headers)
end
"""


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def wait_until_up(base: str, seconds: float = 10, path: str = "/healthz") -> None:
    """Until the server answers (gunicorn takes a moment to start its workers)."""
    deadline = time.monotonic() + seconds
    while True:
        try:
            urllib.request.urlopen(base + path)
            return
        except OSError:
            if time.monotonic() > deadline:
                raise
            time.sleep(0.1)


def sh(*args: str, env: dict | None = None) -> str:
    return subprocess.run(args, env=env, check=True, capture_output=True, text=True).stdout


def wrk(
    url: str,
    seconds: int,
    connections: int,
    script: str | None,
    env: dict,
    allow_304: bool = False,
) -> dict:
    cmd = ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency"]
    if script:
        cmd += ["-s", script]
    out = sh(*cmd, url, env=env)
    if "Socket errors" in out or ("Non-2xx" in out and not allow_304):
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


def poll_targets(base: str, picks: list[str], ids: dict, serializer, n: int = 200) -> str:
    """A targets file of `n` parcels with the ETag of each one's poll (`HX-Request`,
    `HX-Target: live`, as htmx sends it), for the poll run to send back in `If-None-Match`."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as out:
        for tn in list(dict.fromkeys(picks))[:n]:
            cookie = serializer.dumps({"verified": [ids[tn]]})
            req = urllib.request.Request(
                f"{base}/t/{tn}",
                headers={"Cookie": f"session={cookie}", "HX-Request": "true", "HX-Target": "live"},
            )
            etag = urllib.request.urlopen(req).headers.get("ETag")
            assert etag, "the poll answered without an ETag"
            out.write(f"{tn} {cookie} {etag}\n")
    return out.name


def serve(app_path: str, port: int, workers: int, env: dict) -> subprocess.Popen:
    """gunicorn with `workers` sync workers serving `app_path` on 127.0.0.1:`port`."""
    return subprocess.Popen(
        [
            *(str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}"),
            *("--access-logfile", "/dev/null", app_path),
        ],
        cwd=ROOT,
        env=env,
        stdout=subprocess.DEVNULL,
        stderr=subprocess.DEVNULL,
    )


def wrk_files(serializer, picks: list[str], ids: dict) -> tuple[str, str]:
    """The targets file (each parcel with a session that has it verified) and the Lua script
    that picks one of them per request, for wrk."""
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as targets:
        for tn in picks:
            targets.write(f"{tn} {serializer.dumps({'verified': [ids[tn]]})}\n")
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA)
    return targets.name, lua.name


def bench_env(db_url: str) -> dict:
    """The environment the bench app runs in: production settings on the bench database, rate
    limits off (the bench would be measuring 429s)."""
    return {
        **os.environ,
        "DATABASE_URL": db_url,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "LASTMILE_RATELIMIT_ENABLED": "false",
    }


def bench_parcels(parcels: int, count: int, seed: int):
    """`count` random tracking numbers of the seeded bench parcels, their ids (a verified session
    holds the ids of the parcels it unlocked: tracking/verification.py), the app's session
    serializer to make such sessions, and a new API key of the parcels' merchant (seed-bench
    makes "Bench Merchant"). The environment must already name the bench database."""
    sys.path.insert(0, str(ROOT))
    from sqlalchemy import select

    from portal import create_app
    from portal.dev.bench import bench_tracking_number
    from portal.extensions import db
    from portal.models import Parcel
    from portal.services.api_keys import create_api_key, get_or_create_merchant

    app = create_app()
    rnd = random.Random(seed)
    picks = [bench_tracking_number(rnd.randrange(parcels)) for _ in range(count)]
    with app.app_context():
        ids = dict(
            db.session.execute(
                select(Parcel.tracking_number, Parcel.id).where(
                    Parcel.tracking_number.in_(set(picks))
                )
            ).all()
        )
        _, api_key = create_api_key(merchant=get_or_create_merchant("Bench Merchant"))
        db.session.commit()
    if not ids:
        raise SystemExit("no bench parcels: run `make bench` first (it seeds the database)")
    serializer = app.session_interface.get_signing_serializer(app)
    return serializer, [tn for tn in picks if tn in ids], ids, api_key


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--parcels", type=int, default=100_000)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench")
    ap.add_argument("--skip-seed", action="store_true")
    args = ap.parse_args()

    env = bench_env(args.db)
    admin = args.db.rsplit("/", 1)[0] + "/postgres"
    name = args.db.rsplit("/", 1)[1]
    exists = sh("psql", admin, "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'")
    if not exists.strip():
        sh("psql", admin, "-c", f'CREATE DATABASE "{name}"')
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    sh(*flask, "db", "upgrade", env=env)
    if not args.skip_seed:
        print(sh(*flask, "seed-bench", "--parcels", str(args.parcels), env=env).strip())

    os.environ.update(env)
    # Spread over the whole set, so no cache (ours, PostgreSQL's buffers aside) can flatter it.
    serializer, picks, ids, api_key = bench_parcels(args.parcels, 20_000, seed=7)
    targets, lua = wrk_files(serializer, picks, ids)

    bare_port, port = free_port(), free_port()
    bare_base, base = f"http://127.0.0.1:{bare_port}", f"http://127.0.0.1:{port}"
    # The bare app first, alone, so the two servers never share the CPU while measured.
    bare_server = serve("bench.bare_app:app", bare_port, args.workers, env)
    try:
        wait_until_up(bare_base, path="/")
        wenv = {**env, "BENCH_TARGETS": targets}
        wrk(bare_base + "/", 3, args.connections, None, wenv)  # warm up
        bare = wrk(bare_base + "/", args.seconds, args.connections, None, wenv)
    finally:
        bare_server.terminate()
        bare_server.wait()

    server = serve("wsgi:app", port, args.workers, env)
    try:
        wait_until_up(base)
        weight = page_weight(
            base, f"/t/{picks[0]}", serializer.dumps({"verified": [ids[picks[0]]]})
        )
        assert b"Storgatan" in weight["body"], "the bench session is not verified"
        # The poll sends back the validator the poll before it got (only polls carry one: the
        # whole page has none), each parcel its own: fetched once per parcel of the poll's set.
        penv = {
            **wenv,
            "BENCH_MODE": "poll",
            "BENCH_TARGETS": poll_targets(base, picks, ids, serializer),
        }
        aenv = {**wenv, "BENCH_MODE": "api", "BENCH_API_KEY": api_key}
        wrk(base + "/healthz", 3, args.connections, None, wenv)  # warm up
        wrk(base + "/", 3, args.connections, lua, wenv)
        wrk(base + "/", 3, args.connections, lua, aenv)
        health = wrk(base + "/healthz", args.seconds, args.connections, None, wenv)
        track = wrk(base + "/", args.seconds, args.connections, lua, wenv)
        poll = wrk(base + "/", args.seconds, args.connections, lua, penv, allow_304=True)
        api = wrk(base + "/", args.seconds, args.connections, lua, aenv)
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
    rows = [
        ("a bare Flask app returning `ok`", bare, None),
        ("`/healthz`", health, ("bare app", bare, 0.5)),
        ("`/t/<tn>` (random parcel, verified session)", track, ("`/healthz`", health, 0.5)),
        (
            "the page's htmx poll (`HX-Request`, `If-None-Match`)",
            poll,
            ("`/healthz`", health, None),
        ),
        ("`GET /api/v1/parcels/<tn>`", api, ("`/healthz`", health, 0.6)),
    ]
    print("| endpoint | requests/s | p99 | ratio | target |")
    print("| --- | --- | --- | --- | --- |")
    for name, fig, against in rows:
        ratio = target = ""
        if against:
            label, base_fig, goal = against
            ratio = f"{fig['rps'] / base_fig['rps']:.2f}× {label}"
            target = f"≥ {goal}×" if goal else "close to `/healthz`"
        print(f"| {name} | {fig['rps']:.0f} | {fig['p99_ms']:.1f} ms | {ratio} | {target} |")
    print(f"\nTracking page p99 {track['p99_ms']:.1f} ms (target < 50 ms).")
    assets = ", ".join(
        f"{k.rsplit('/', 1)[1]} {v / 1024:.1f} KB" for k, v in weight["assets"].items()
    )
    print(
        f"Page weight: HTML {weight['html'] / 1024:.1f} KB + {assets} = "
        f"**{weight['total'] / 1024:.1f} KB** (target < 100 KB)."
    )


if __name__ == "__main__":
    main()
