"""Where a request's time goes: py-spy samples one gunicorn worker while wrk drives it, and the
samples are summed by what they were doing (database round trips, ORM, templates, session,
locale, security headers, rate limiter, Flask itself…).

Run by hand, after `make bench` has seeded its database (`make bench-profile`, or
`.venv/bin/python bench/profile_page.py --what page`). `--what` is `page` (the verified
tracking page), `poll` (its htmx poll), `api` (GET /api/v1/parcels/<tn>) or `healthz`. Prints
a Markdown table for BENCHMARKS.md and leaves the raw folded stacks (flamegraph input) in
bench/profiles/. One worker, so every sample is of the request under test; py-spy needs to
attach to the process (run as root, or with ptrace allowed).
"""

from __future__ import annotations

import argparse
import collections
import os
import subprocess

from track_page import (
    BIN,
    ROOT,
    bench_env,
    bench_parcels,
    free_port,
    serve,
    sh,
    wait_until_up,
    wrk_files,
)

# A sample counts for the first of these found walking its stack from the innermost frame
# out: a wait on PostgreSQL inside a template's lazy load is a database round trip.
CATEGORIES = [
    (
        "database round trips (psycopg, socket)",
        ("psycopg/", "psycopg2/", "psycopg_pool", "socket.py"),
    ),
    ("database pool and connection", ("sqlalchemy/pool/", "sqlalchemy/engine/base.py")),
    ("ORM and SQL compilation", ("sqlalchemy/",)),
    ("templates (Jinja)", ("jinja2/", "jinja2_fragments", "/templates/")),
    ("locale and formatting (Babel)", ("flask_babel/", "babel/", "portal/i18n.py")),
    ("session and cookies", ("itsdangerous/", "flask/sessions.py", "werkzeug/http.py")),
    ("rate limiter", ("flask_limiter/", "limits/")),
    ("security headers and CSRF", ("portal/security.py", "flask_wtf/")),
    ("metrics and logs", ("prometheus_client/", "portal/observability/", "portal/logs.py")),
    ("the portal's own code", ("portal/",)),
    ("Flask and Werkzeug", ("flask/", "werkzeug/")),
    ("gunicorn (accepting, parsing, writing)", ("gunicorn/",)),
]


def category(stack: str) -> str:
    frames = stack.split(";")
    for frame in reversed(frames):
        for name, needles in CATEGORIES:
            if any(n in frame for n in needles):
                return name
    return "other (Python, idle)"


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--what", choices=["page", "poll", "api", "healthz"], default="page")
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=8)
    ap.add_argument("--parcels", type=int, default=100_000, help="as seeded by make bench")
    ap.add_argument("--db", default="postgresql://postgres@127.0.0.1:5432/lastmile_bench")
    args = ap.parse_args()

    env = bench_env(args.db)
    os.environ.update(env)
    serializer, picks, ids, api_key = bench_parcels(args.parcels, 5_000, seed=11)
    targets, lua = wrk_files(serializer, picks, ids)

    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = serve("wsgi:app", port, 1, env)
    out_dir = ROOT / "bench" / "profiles"
    out_dir.mkdir(exist_ok=True)
    folded = out_dir / f"{args.what}.folded"
    try:
        wait_until_up(base)
        worker = sh("pgrep", "-P", str(server.pid)).split()[0]
        mode = {"page": "", "poll": "poll", "api": "api", "healthz": ""}[args.what]
        wenv = {**env, "BENCH_TARGETS": targets, "BENCH_MODE": mode}
        wenv["BENCH_API_KEY"] = api_key
        url = base + ("/healthz" if args.what == "healthz" else "/")
        script = [] if args.what == "healthz" else ["-s", lua]
        duration = str(args.seconds)
        load = subprocess.Popen(
            ["wrk", "-t2", f"-c{args.connections}", f"-d{args.seconds + 2}s", *script, url],
            env=wenv,
            stdout=subprocess.DEVNULL,
        )
        sh(
            str(BIN / "py-spy"),
            *("record", "--pid", worker, "--duration", duration, "--rate", "250"),
            *("--format", "raw", "--output", str(folded), "--nonblocking"),
        )
        load.wait()
    finally:
        server.terminate()
        server.wait()

    totals: collections.Counter[str] = collections.Counter()
    for line in folded.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if count.isdigit():  # py-spy's raw output has the odd line without a count
            totals[category(stack)] += int(count)
    samples = sum(totals.values())
    print(f"\n### Where `{args.what}` spends its time (py-spy, 1 worker, {samples} samples)\n")
    print("| what | share |")
    print("| --- | --- |")
    for name, count in totals.most_common():
        print(f"| {name} | {100 * count / samples:.1f} % |")
    print(f"\nFolded stacks (flamegraph input): `{folded.relative_to(ROOT)}`.")


if __name__ == "__main__":
    main()
