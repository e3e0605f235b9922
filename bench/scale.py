"""Does the tracking page and the API stay as fast at a million parcels as at ten thousand?

Run by hand: `make bench-scale` (or `.venv/bin/python bench/scale.py --sizes 10000 1000000`).
For each size: a PostgreSQL database of its own with N parcels × 8 events (`seed-bench`, COPY;
kept for `--reuse`), gunicorn in production config (rate limits off), and wrk against
`/healthz`, `/t/<tn>` (random parcels from the whole set, each request with a session that has
verified its parcel) and `GET /api/v1/parcels/<tn>` (the merchant's key). Prints requests/s, p99
and each endpoint's ratio to /healthz from the same run, then the 1M figures against the 10k
ones: the target is within 10 %. Before each size, pg_prewarm reads its tables and indexes
into the OS cache (a live database is warm; a freshly loaded or long-idle one is not).
"""

from __future__ import annotations

import argparse
import os
import random
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from track_page import BIN, LUA, ROOT, free_port, sh, wait_until_up, wrk  # noqa: E402

API_LUA = """
local entries = {}
for line in io.lines(os.getenv("BENCH_TARGETS")) do
  local tn = line:match("(%S+)")
  entries[#entries + 1] = tn
end
local key = os.getenv("BENCH_KEY")
math.randomseed(os.time() + math.floor(os.clock() * 1000000))
request = function()
  local tn = entries[math.random(#entries)]
  return wrk.format("GET", "/api/v1/parcels/" .. tn, {["Authorization"] = "Bearer " .. key})
end
"""
SERVER = "postgresql://postgres@127.0.0.1:5432"


def env_for(url: str) -> dict:
    return {
        **os.environ,
        "DATABASE_URL": url,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
        "LASTMILE_RATELIMIT_ENABLED": "false",
    }


def prepare(size: int, events: int, reuse: bool) -> tuple[str, float | None]:
    name = f"lastmile_bench_{size}"
    url = f"{SERVER}/{name}"
    env = env_for(url)
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    exists = sh(
        "psql", f"{SERVER}/postgres", "-tAc", f"SELECT 1 FROM pg_database WHERE datname = '{name}'"
    ).strip()
    if reuse and exists:
        sh(*flask, "db", "upgrade", env=env)  # a database loaded by an older checkout
        return url, None
    if exists:
        sh("psql", f"{SERVER}/postgres", "-c", f'DROP DATABASE "{name}" WITH (FORCE)')
    sh("psql", f"{SERVER}/postgres", "-c", f'CREATE DATABASE "{name}"')
    sh(*flask, "db", "upgrade", env=env)
    started = time.perf_counter()
    sh(*flask, "seed-bench", "--parcels", str(size), "--events", str(events), env=env)
    return url, time.perf_counter() - started


PREWARM = """
CREATE EXTENSION IF NOT EXISTS pg_prewarm;
SELECT sum(pg_prewarm(c.oid, 'read')) FROM pg_class c
JOIN pg_namespace n ON n.oid = c.relnamespace
WHERE n.nspname = 'public' AND c.relkind IN ('r', 'i');
"""


def measure(url: str, size: int, seconds: int, connections: int, workers: int) -> dict:
    env = env_for(url)
    # Every table and index read once into the OS cache, as a live database's are: otherwise
    # the larger set measures the disk, and whichever size ran last has the warmer cache.
    sh("psql", url, "-qtAc", PREWARM)
    key = (
        sh(
            str(BIN / "flask"),
            "--app",
            "wsgi",
            "api-key",
            "create",
            "--merchant",
            "Bench Merchant",
            env=env,
        )
        .strip()
        .splitlines()[-1]
    )
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    from portal import create_app
    from portal.dev.bench import bench_tracking_number

    app = create_app()
    serializer = app.session_interface.get_signing_serializer(app)
    rnd = random.Random(7)
    picks = [bench_tracking_number(rnd.randrange(size)) for _ in range(20_000)]
    with tempfile.NamedTemporaryFile("w", suffix=".txt", delete=False) as targets:
        for tn in picks:
            targets.write(f"{tn} {serializer.dumps({'verified': [tn]})}\n")
    scripts = {}
    for kind, text in (("page", LUA), ("api", API_LUA)):
        with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
            lua.write(text)
        scripts[kind] = lua.name
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    try:
        wait_until_up(base)
        check = urllib.request.Request(
            f"{base}/api/v1/parcels/{picks[0]}", headers={"Authorization": f"Bearer {key}"}
        )
        assert urllib.request.urlopen(check).status == 200
        wenv = {**env, "BENCH_TARGETS": targets.name, "BENCH_KEY": key}
        for path, script in (("/healthz", None), ("/", scripts["page"]), ("/", scripts["api"])):
            wrk(base + path, 3, connections, script, wenv)  # warm up
        return {
            "healthz": wrk(base + "/healthz", seconds, connections, None, wenv),
            "page": wrk(base + "/", seconds, connections, scripts["page"], wenv),
            "api": wrk(base + "/", seconds, connections, scripts["api"], wenv),
        }
    finally:
        server.terminate()
        server.wait()


def main() -> None:
    os.chdir(ROOT)  # flask --app wsgi finds wsgi.py here
    ap = argparse.ArgumentParser()
    ap.add_argument("--sizes", type=int, nargs="+", default=[10_000, 1_000_000])
    ap.add_argument("--events", type=int, default=8)
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=4)
    ap.add_argument("--reuse", action="store_true", help="keep databases loaded before")
    args = ap.parse_args()
    results = {}
    for size in args.sizes:
        url, load = prepare(size, args.events, args.reuse)
        if load is not None:
            print(f"loaded {size:,} parcels × {args.events} events in {load:.0f} s")
        results[size] = measure(url, size, args.seconds, args.connections, args.workers)

    names = {"healthz": "`/healthz`", "page": "`/t/<tn>` (verified)",
             "api": "`GET /api/v1/parcels/<tn>`"}  # fmt: skip
    print(
        f"\ngunicorn {args.workers} sync workers, wrk 2 threads × {args.connections} "
        f"connections × {args.seconds} s, rate limits off, {os.cpu_count()} cores\n"
    )
    print("| parcels | endpoint | requests/s | p99 | ratio to /healthz |")
    print("| --- | --- | --- | --- | --- |")
    for size, r in results.items():
        for kind in ("healthz", "page", "api"):
            ratio = r[kind]["rps"] / r["healthz"]["rps"]
            print(
                f"| {size:,} | {names[kind]} | {r[kind]['rps']:.0f} | "
                f"{r[kind]['p99_ms']:.1f} ms | {ratio:.2f} |"
            )
    if len(results) >= 2:
        small, big = min(results), max(results)
        print(f"\n{big:,} against {small:,} parcels (ratio to /healthz, each from its own run):")
        for kind in ("page", "api"):
            a = results[small][kind]["rps"] / results[small]["healthz"]["rps"]
            b = results[big][kind]["rps"] / results[big]["healthz"]["rps"]
            p = results[big][kind]["p99_ms"] / results[small][kind]["p99_ms"]
            r = results[big][kind]["rps"] / results[small][kind]["rps"]
            print(
                f"- {names[kind]}: requests/s {r:.2f}× ({_within(r)}), p99 {p:.2f}× "
                f"({_within(p)}); ratio to /healthz {b / a:.2f}× ({_within(b / a)})"
            )


def _within(x: float) -> str:
    return "within 10 %" if abs(x - 1) <= 0.10 else "outside 10 %"


if __name__ == "__main__":
    main()
