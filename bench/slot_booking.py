"""Slot booking under contention: many recipients booking and moving between a few hot slots.

Run by hand: `.venv/bin/python bench/slot_booking.py` (PostgreSQL on 127.0.0.1; `make
bench-slots`). Makes a scratch database, migrates it, creates one zone with --slots slots of
--capacity places and --parcels parcels, then --workers processes book at once: each parcel
books a random hot slot, and a share of them then move to another one (which frees the first
in the same transaction). Prints attempts/s, bookings/s and the answers, then checks every
slot: `booked` must equal the parcels whose current choice is that slot and never exceed the
capacity. The overbooking count must be 0.
"""

from __future__ import annotations

import argparse
import multiprocessing as mp
import os
import random
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))
SERVER = "postgresql://postgres@127.0.0.1:5432"
DATABASE = "lastmile_bench_slots"
URL = f"{SERVER}/{DATABASE}"


def make_database() -> None:
    import sqlalchemy as sa

    admin = sa.create_engine(f"{SERVER}/postgres", isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(sa.text(f'DROP DATABASE IF EXISTS "{DATABASE}" WITH (FORCE)'))
        conn.execute(sa.text(f'CREATE DATABASE "{DATABASE}"'))
    admin.dispose()
    env = {
        **os.environ,
        "DATABASE_URL": URL,
        "LASTMILE_ENV": "production",
        "SECRET_KEY": "bench-" + "x" * 40,
    }
    subprocess.run(
        [str(ROOT / ".venv/bin/flask"), "--app", "wsgi", "db", "upgrade"],
        cwd=ROOT,
        env=env,
        check=True,
        capture_output=True,
    )


def app():
    os.environ.update(DATABASE_URL=URL, LASTMILE_ENV="production", SECRET_KEY="bench-" + "x" * 40)
    from portal import create_app

    return create_app()


def seed(slots: int, capacity: int, parcels: int) -> tuple[list[int], list[int]]:
    from decimal import Decimal

    from portal.extensions import db
    from portal.models import Slot, Vehicle
    from portal.services.api_keys import get_or_create_carrier, get_or_create_merchant
    from portal.services.parcels import ItemData, ParcelData, RecipientData, create_parcel
    from portal.services.zones import ensure_zone

    with app().app_context():
        zone = ensure_zone("Bench", "SE", "Europe/Stockholm", ["113"])
        merchant, carrier = get_or_create_merchant("Bench shop"), get_or_create_carrier("Bench")
        start = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) + timedelta(days=3)
        slot_ids = []
        for n in range(slots):
            slot = Slot(
                zone_id=zone.id,
                day=(start + timedelta(hours=n)).date(),
                starts_at=start + timedelta(hours=n),
                ends_at=start + timedelta(hours=n + 1),
                capacity=capacity,
                vehicle=Vehicle.VAN,
            )
            db.session.add(slot)
            db.session.flush()
            slot_ids.append(slot.id)
        parcel_ids = []
        for n in range(parcels):
            parcel = create_parcel(
                merchant,
                ParcelData(
                    carrier=carrier.name,
                    recipient=RecipientData(
                        name=f"Bench {n}",
                        address_line="Surbrunnsgatan 1",
                        postcode="113 48",
                        city="Stockholm",
                        country="SE",
                    ),
                    items=[ItemData("X", "Thing", 1, Decimal("10"))],
                ),
            )
            parcel_ids.append(parcel.id)
        db.session.commit()
    return slot_ids, parcel_ids


barrier = None


def _share(start_together) -> None:
    global barrier
    barrier = start_together


def work(args) -> dict[str, int]:
    """One process: book (and sometimes move) each of its parcels."""
    parcel_ids, slot_ids, move_share, seed_ = args
    from sqlalchemy import select
    from sqlalchemy.exc import OperationalError

    from portal.extensions import db
    from portal.models import ChoiceType, Parcel
    from portal.services.delivery import ChoiceRequest, SlotFull, choose

    rng = random.Random(seed_)
    counts = {"attempts": 0, "booked": 0, "full": 0, "moved": 0, "errors": 0}
    with app().app_context():
        db.session.execute(select(1))  # connect before the clock starts
        barrier.wait()
        started = time.perf_counter()
        for parcel_id in parcel_ids:
            tries = 2 if rng.random() < move_share else 1
            for attempt in range(tries):
                counts["attempts"] += 1
                try:
                    parcel = db.session.get(Parcel, parcel_id)
                    request = ChoiceRequest(ChoiceType.SLOT, slot_id=rng.choice(slot_ids))
                    choose(parcel, request, confirm=False)
                    db.session.commit()
                    counts["moved" if attempt else "booked"] += 1
                except SlotFull:
                    db.session.rollback()
                    counts["full"] += 1
                except OperationalError:
                    db.session.rollback()
                    counts["errors"] += 1
        counts["ms"] = round((time.perf_counter() - started) * 1000)
    return counts


def check(slot_ids: list[int]) -> tuple[int, int]:
    """(overbooked slots, slots whose count disagrees with the choices)."""
    from sqlalchemy import func, select

    from portal.extensions import db
    from portal.models import DeliveryChoice, Slot

    with app().app_context():
        over = mismatched = 0
        for slot in db.session.execute(select(Slot).where(Slot.id.in_(slot_ids))).scalars():
            holders = db.session.scalar(
                select(func.count()).where(
                    DeliveryChoice.slot_id == slot.id, DeliveryChoice.superseded_at.is_(None)
                )
            )
            over += slot.booked > slot.capacity
            mismatched += slot.booked != holders
        return over, mismatched


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--slots", type=int, default=10)
    parser.add_argument("--capacity", type=int, default=40)
    parser.add_argument("--parcels", type=int, default=1000)
    parser.add_argument("--workers", type=int, default=8)
    parser.add_argument("--move-share", type=float, default=0.3)
    args = parser.parse_args()

    make_database()
    slot_ids, parcel_ids = seed(args.slots, args.capacity, args.parcels)
    chunks = [
        (parcel_ids[i :: args.workers], slot_ids, args.move_share, i) for i in range(args.workers)
    ]
    ctx = mp.get_context("spawn")
    start_together = ctx.Barrier(args.workers)
    with ctx.Pool(args.workers, initializer=_share, initargs=(start_together,)) as pool:
        results = pool.map(work, chunks)
    # From the moment all workers were connected and released together to the last one done.
    elapsed = max(r.pop("ms") for r in results) / 1000
    total = {k: sum(r[k] for r in results) for k in results[0]}
    over, mismatched = check(slot_ids)
    capacity = args.slots * args.capacity
    print(
        f"{args.workers} workers, {args.parcels} parcels, {args.slots} slots × {args.capacity} "
        f"places ({capacity}), {args.move_share:.0%} move once"
    )
    print(
        f"{total['attempts']} attempts in {elapsed:.2f} s: {total['attempts'] / elapsed:.0f} "
        f"attempts/s, {(total['booked'] + total['moved']) / elapsed:.0f} bookings/s"
    )
    print(
        f"booked {total['booked']}, moved {total['moved']}, full {total['full']}, "
        f"errors {total['errors']}"
    )
    print(f"overbooked slots: {over}; slots whose count disagrees with the choices: {mismatched}")
    sys.exit(1 if over or mismatched or total["errors"] else 0)


if __name__ == "__main__":
    main()
