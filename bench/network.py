"""A carrier-sized delivery network: importing 5,000 pickup points, and the delivery options
with 5,000 points and 200 zones against the demo network.

Run by hand: `make bench-network` (or `.venv/bin/python bench/network.py`). On a PostgreSQL
database of its own:
1. seed-demo, then wrk against `GET /api/v1/delivery-options?postcode=113 48` (merchant key) and
   the verified delivery page `/t/<tn>/delivery` of the demo's in-transit parcel: the baseline;
2. writes 200 zones (prefixes 100-299 of a Swedish-like grid, Stockholm's demo zone kept) with
   weekday slot templates, and 5,000 points (500 of them in Stockholm inner city, the zone the
   measured parcel is in), as CSV and as GeoJSON, and times each import: new, then again
   unchanged (in process: read + check + write + commit; and the CLI's wall time, which adds
   the interpreter's start);
3. the same wrk runs again with the big network; prints both and the p99 ratio (target: within
   20 %).
"""

from __future__ import annotations

import argparse
import csv
import io
import json
import os
import random
import subprocess
import sys
import tempfile
import time
from pathlib import Path

HERE = Path(__file__).resolve().parent
sys.path.insert(0, str(HERE))
from scale import PREWARM, SERVER, env_for  # noqa: E402
from track_page import BIN, ROOT, free_port, sh, wait_until_up, wrk  # noqa: E402

NAME = "lastmile_bench_network"
URL = f"{SERVER}/{NAME}"
LUA = """
local path = os.getenv("BENCH_PATH")
local headers = {}
if os.getenv("BENCH_KEY") ~= "" then headers["Authorization"] = "Bearer " .. os.getenv("BENCH_KEY") end
if os.getenv("BENCH_COOKIE") ~= "" then headers["Cookie"] = "session=" .. os.getenv("BENCH_COOKIE") end
request = function() return wrk.format("GET", path, headers) end
"""
sys.path.insert(0, str(ROOT))
from portal.services.network.files import COLUMNS  # noqa: E402

POINT_COLUMNS = COLUMNS["pickup-points"]
HOURS = ["Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off", "Mo-Su 07:00-22:00", "24/7"]


def network_files(folder: Path, seed: int = 7) -> dict[str, Path]:
    """zones.csv (200 zones, one prefix each, on a grid over Sweden), slot_templates.csv and
    pickup_points.csv / .geojson (5,000 points: 500 in Stockholm inner city, 4,500 elsewhere)."""
    rnd = random.Random(seed)
    zones, centres = [], {}
    for n in range(201):
        prefix = str(100 + n)
        if prefix in {"111", "112", "113", "114"}:
            continue  # the demo's Stockholm zone keeps these
        lat, lon = 55.4 + (n % 20) * 0.6, 11.5 + (n // 20) * 1.2
        centres[prefix] = (lat, lon)
        zones.append(f"Zone {prefix},SE,Europe/Stockholm,{prefix},{lat:.4f},{lon:.4f},We,18:00")
    zones += [
        f"Stockholm inner city,SE,Europe/Stockholm,{p},{lat},{lon},Th,18:00"
        for p, lat, lon in (
            ("111", 59.332, 18.062),
            ("112", 59.332, 18.03),
            ("113", 59.343, 18.053),
            ("114", 59.338, 18.08),
        )
    ]
    slots = []
    for prefix in centres:
        for day in ("Mo", "Tu", "We", "Th", "Fr"):
            slots += [
                f"Zone {prefix},{day},09:00,12:00,van,10",
                f"Zone {prefix},{day},17:00,20:00,van,10",
            ]
    points = []
    for i in range(5000):
        if i < 500:
            prefix, (lat, lon) = "113", (59.343, 18.053)
        else:
            prefix = rnd.choice(list(centres))
            lat, lon = centres[prefix]
        locker = i % 4 == 0
        points.append(
            {
                "external_id": f"BN-{i:05d}",
                "carrier": "Bench Network",
                "name": f"{'Box' if locker else 'Kiosk'} {i}",
                "type": "locker" if locker else "pickup_point",
                "address_line": f"Benchgatan {i}",
                "postcode": f"{prefix} {rnd.randrange(10, 99)}",
                "city": "Benchstad",
                "country": "SE",
                "latitude": round(lat + rnd.uniform(-0.03, 0.03), 5),
                "longitude": round(lon + rnd.uniform(-0.05, 0.05), 5),
                "opening_hours": rnd.choice(HOURS),
                "capacity": 30 if locker else "",
            }
        )
    out = {
        "zones": folder / "zones.csv",
        "slots": folder / "slot_templates.csv",
        "csv": folder / "pickup_points.csv",
        "geojson": folder / "pickup_points.geojson",
    }
    out["zones"].write_text(
        "zone,country,time_zone,postcode_prefix,latitude,longitude,green_weekday,cutoff\n"
        + "\n".join(zones)
        + "\n"
    )
    out["slots"].write_text("zone,weekday,start,end,vehicle,capacity\n" + "\n".join(slots) + "\n")
    text = io.StringIO()
    writer = csv.DictWriter(text, fieldnames=POINT_COLUMNS, lineterminator="\n")
    writer.writeheader()
    writer.writerows(points)
    out["csv"].write_text(text.getvalue())

    features = [
        {
            "type": "Feature",
            "geometry": {"type": "Point", "coordinates": [p["longitude"], p["latitude"]]},
            "properties": {
                k: v
                for k, v in p.items()
                if k not in ("latitude", "longitude") and not (k == "capacity" and v == "")
            }
            | {"external_id": p["external_id"].replace("BN-", "BG-"), "carrier": "Bench GeoJSON"},
        }
        for p in points
    ]
    out["geojson"].write_text(json.dumps({"type": "FeatureCollection", "features": features}))
    return out


def measure(env: dict, tn: str, key: str, seconds: int, connections: int, workers: int) -> dict:
    """p99 and requests/s of the delivery options (API) and the verified delivery page."""
    from portal import create_app

    app = create_app()
    cookie = app.session_interface.get_signing_serializer(app).dumps({"verified": [tn]})
    with tempfile.NamedTemporaryFile("w", suffix=".lua", delete=False) as lua:
        lua.write(LUA)
    sh("psql", URL, "-qtAc", PREWARM)
    port = free_port()
    base = f"http://127.0.0.1:{port}"
    server = subprocess.Popen(
        [str(BIN / "gunicorn"), "-w", str(workers), "-b", f"127.0.0.1:{port}",
         "--access-logfile", "/dev/null", "wsgi:app"],
        cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
    )  # fmt: skip
    runs = {
        "options_api": {"BENCH_PATH": "/api/v1/delivery-options?postcode=113%2048&weight=1500",
                        "BENCH_KEY": key, "BENCH_COOKIE": ""},
        "delivery_page": {"BENCH_PATH": f"/t/{tn}/delivery", "BENCH_KEY": "",
                          "BENCH_COOKIE": cookie},
    }  # fmt: skip
    try:
        wait_until_up(base)
        out = {}
        for name, extra in runs.items():
            wenv = {**env, **extra}
            wrk(base + "/", 3, connections, lua.name, wenv)  # warm up
            out[name] = wrk(base + "/", seconds, connections, lua.name, wenv)
        return out
    finally:
        server.terminate()
        server.wait()


def timed_import(kind: str, path: Path, close_missing: bool = False) -> tuple[float, str]:
    """In process: read, check, write and commit, as `flask network import` does."""
    from portal.extensions import db
    from portal.services.network import imports

    started = time.perf_counter()
    result = imports.import_file(kind, path.read_bytes(), path.name, close_missing=close_missing)
    db.session.commit()
    return time.perf_counter() - started, str(result)


def main() -> None:
    ap = argparse.ArgumentParser()
    ap.add_argument("--seconds", type=int, default=20)
    ap.add_argument("--connections", type=int, default=16)
    ap.add_argument("--workers", type=int, default=2)
    args = ap.parse_args()

    env = env_for(URL)
    sh("psql", f"{SERVER}/postgres", "-c", f'DROP DATABASE IF EXISTS "{NAME}" WITH (FORCE)')
    sh("psql", f"{SERVER}/postgres", "-c", f'CREATE DATABASE "{NAME}"')
    flask = [str(BIN / "flask"), "--app", "wsgi"]
    sh(*flask, "db", "upgrade", env=env)
    demo = sh(*flask, "seed-demo", env=env)
    tn = next(
        line.split("/t/")[1].split("/")[0]
        for line in demo.splitlines()
        if line.startswith("Delivery choices")
    )
    key = next(line.rsplit(" ", 1)[1] for line in demo.splitlines() if "merchant API key" in line)
    os.environ.update(env)
    sys.path.insert(0, str(ROOT))
    conf = (args.seconds, args.connections, args.workers)
    print(f"## Delivery network bench ({args.workers} gunicorn workers, wrk 2 threads x "
          f"{args.connections} connections, {args.seconds} s; PostgreSQL)\n")  # fmt: skip
    before = measure(env, tn, key, *conf)

    from portal import create_app

    app = create_app()
    folder = Path(tempfile.mkdtemp(prefix="lastmile-network-"))
    paths = network_files(folder)
    rows = []
    with app.app_context():
        from portal.services.api_keys import get_or_create_carrier

        get_or_create_carrier("Bench Network")
        get_or_create_carrier("Bench GeoJSON")
        from portal.extensions import db

        db.session.commit()
        for label, kind, path in (
            ("197 zones (200 with the demo's; zones.csv)", "zones", paths["zones"]),
            ("slot templates, 10 per zone (slot_templates.csv)", "slots", paths["slots"]),
            ("5,000 points, CSV, new", "pickup-points", paths["csv"]),
            ("5,000 points, CSV, unchanged", "pickup-points", paths["csv"]),
            ("5,000 points, GeoJSON, new", "pickup-points", paths["geojson"]),
            ("5,000 points, GeoJSON, unchanged", "pickup-points", paths["geojson"]),
        ):
            seconds, result = timed_import(kind, path)
            rows.append((label, seconds, result))
    started = time.perf_counter()
    cli = sh(*flask, "network", "import", "pickup-points", str(paths["csv"]), env=env).strip()
    cli_seconds = time.perf_counter() - started
    # The GeoJSON copy was for timing: the measured network has 5,000 points, not 10,000.
    sh("psql", URL, "-qtAc", "DELETE FROM pickup_point WHERE carrier_id = "
       "(SELECT id FROM carrier WHERE name = 'Bench GeoJSON')")  # fmt: skip
    counts = sh(
        "psql", URL, "-tAc",
        "SELECT (SELECT count(*) FROM zone), (SELECT count(*) FROM pickup_point), "
        "(SELECT count(*) FROM slot_template), (SELECT count(*) FROM slot)",
    ).strip()  # fmt: skip
    after = measure(env, tn, key, *conf)

    print("| import | seconds | result |\n| --- | ---: | --- |")
    for label, seconds, result in rows:
        print(f"| {label} | {seconds:.2f} | {result} |")
    print(f"| CLI `network import pickup-points` (unchanged, wall time) | {cli_seconds:.2f} | "
          f"{cli} |\n")  # fmt: skip
    print(f"Network measured: zones, points, slot templates, slots = {counts.replace('|', ', ')}\n")
    print("| endpoint | demo network req/s | p99 ms | 200 zones + 5,000 points req/s | p99 ms "
          "| p99 ratio |\n| --- | ---: | ---: | ---: | ---: | ---: |")  # fmt: skip
    for name in ("options_api", "delivery_page"):
        b, a = before[name], after[name]
        print(f"| {name} | {b['rps']:.0f} | {b['p99_ms']:.1f} | {a['rps']:.0f} | "
              f"{a['p99_ms']:.1f} | {a['p99_ms'] / b['p99_ms']:.2f} |")  # fmt: skip


if __name__ == "__main__":
    main()
