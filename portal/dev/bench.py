"""Bulk loading of benchmark parcels (PostgreSQL COPY, batched INSERTs elsewhere)."""

from __future__ import annotations

import random
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta

from sqlalchemy import delete, insert, select

from portal import s10
from portal.extensions import db
from portal.models import Parcel, ParcelItem, ParcelStatus, TrackingEvent
from portal.services.api_keys import get_or_create_carrier, get_or_create_merchant

PREFIX = "BN"
CHUNK = 20_000
CITIES = [("Stockholm", "11"), ("Göteborg", "41"), ("Malmö", "21"), ("Uppsala", "75")]
FIRST = [
    "Alva", "Elsa", "Maja", "Liam", "Noah", "Hugo", "Saga", "Ella", "Oscar", "Leo", "Astrid",
    "Wilma", "Olivia", "Ebba", "Selma", "Freja", "Alice", "Vera", "Stella", "Nora", "William",
    "Lucas", "Elias", "Adam", "Matteo", "Vincent", "Nils", "Arvid", "Ture", "Sixten", "Anna",
    "Eva", "Karin", "Kerstin", "Lena", "Per", "Lars", "Mikael", "Johan", "Erik",
]  # fmt: skip
# Surnames as they fall in Sweden: a few common "-sson" names (about a tenth of people between
# them) and a long tail; 70 names in all would make every name search match a seventh of all
# parcels, which no real register does.
LAST = ["Andersson", "Johansson", "Karlsson", "Nilsson", "Eriksson", "Larsson", "Olsson"]
TAIL = [
    p + s
    for p in (
        "Berg", "Lind", "Ek", "Sjö", "Holm", "Ström", "Dahl", "Lund", "Fors", "Sand", "Björk",
        "Ny", "Wall", "Hag", "Ås", "Sten", "Gran", "Ahl", "Bäck", "Blom", "Fager", "Hed",
        "Kull", "Lil", "Mal", "Norr", "Rosen", "Sköld", "Vik", "Öst",
    )
    for s in (
        "berg", "gren", "qvist", "ström", "lund", "man", "dahl", "holm", "blad", "ling", "by",
        "fors", "hammar", "stedt", "ander",
    )
]  # fmt: skip


def bench_surname(rnd: random.Random) -> str:
    return rnd.choice(LAST) if rnd.random() < 0.1 else rnd.choice(TAIL)


PATH = [
    ParcelStatus.PENDING,
    ParcelStatus.PICKED_UP,
    ParcelStatus.IN_TRANSIT,
    ParcelStatus.IN_TRANSIT,
    ParcelStatus.IN_TRANSIT,
    ParcelStatus.OUT_FOR_DELIVERY,
    ParcelStatus.DELIVERY_FAILED,
    ParcelStatus.OUT_FOR_DELIVERY,
    ParcelStatus.DELIVERED,
]


def bench_tracking_number(i: int) -> str:
    serial = f"{i:08d}"
    return f"{PREFIX}{serial}{s10.check_digit(serial)}SE"


def _parcel_rows(count: int, merchant_id: int, carrier_id: int, now: datetime) -> Iterator[dict]:
    rnd = random.Random(42)
    for i in range(count):
        city, pc = rnd.choice(CITIES)
        yield {
            "tracking_number": bench_tracking_number(i),
            "merchant_id": merchant_id,
            "carrier_id": carrier_id,
            "order_ref": f"B-{i}",
            "recipient_name": f"{rnd.choice(FIRST)} {bench_surname(rnd)}",
            "recipient_phone": f"+4670{i % 10_000_000:07d}",
            "recipient_email": f"r{i}@example.com",
            "address_line": f"Storgatan {i % 200 + 1}",
            "postcode": f"{pc}{i % 1000:03d}",
            "postcode_key": f"{pc}{i % 1000:03d}",
            "city": city,
            "country": "SE",
            "language": "sv",
            "weight_grams": 500 + i % 5000,
            "currency": "SEK",
            "status": ParcelStatus.IN_TRANSIT.value,
            "status_at": now - timedelta(hours=1),
            # Spread over 90 days, as a live register is: "newest first" means something.
            "created_at": now - timedelta(days=3, minutes=(i * 7919) % 129_600),
            "updated_at": now,
        }


def _copy(table: str, columns: list[str], rows: Iterator[tuple]) -> None:
    raw = db.session.connection().connection.driver_connection
    with raw.cursor() as cur, cur.copy(f"COPY {table} ({', '.join(columns)}) FROM STDIN") as copy:
        for row in rows:
            copy.write_row(row)


def seed_bench(count: int, events_per_parcel: int) -> float:
    started = time.perf_counter()
    now = datetime.now(UTC)
    merchant = get_or_create_merchant("Bench Merchant")
    carrier = get_or_create_carrier("Bench Carrier")
    old = select(Parcel.id).where(Parcel.tracking_number.like(f"{PREFIX}%"))
    db.session.execute(delete(TrackingEvent).where(TrackingEvent.parcel_id.in_(old)))
    db.session.execute(delete(ParcelItem).where(ParcelItem.parcel_id.in_(old)))
    db.session.execute(delete(Parcel).where(Parcel.tracking_number.like(f"{PREFIX}%")))
    db.session.flush()
    postgres = db.session.get_bind().dialect.name == "postgresql"

    rows = _parcel_rows(count, merchant.id, carrier.id, now)
    if postgres:
        columns = list(next(_parcel_rows(1, 0, 0, now)).keys())
        _copy("parcel", columns, (tuple(r.values()) for r in rows))
    else:
        batch = []
        for row in rows:
            batch.append(row)
            if len(batch) == CHUNK:
                db.session.execute(insert(Parcel.__table__), batch)
                batch = []
        if batch:
            db.session.execute(insert(Parcel.__table__), batch)

    ids = db.session.execute(
        select(Parcel.id, Parcel.tracking_number)
        .where(Parcel.tracking_number.like(f"{PREFIX}%"))
        .order_by(Parcel.id)
    ).all()

    def items() -> Iterator[tuple]:
        for pid, _ in ids:
            yield (pid, "SKU-1", "Bench item", 1, 199)

    def events() -> Iterator[tuple]:
        for pid, number in ids:
            for n in range(events_per_parcel):
                code = PATH[min(n, len(PATH) - 1)] if n < events_per_parcel - 1 else PATH[2]
                at = now - timedelta(hours=(events_per_parcel - n) * 6)
                yield (pid, carrier.id, f"{number}-{n}", code.value, at, "Terminal", None, now)

    item_cols = ["parcel_id", "sku", "name", "quantity", "unit_price"]
    event_cols = [
        "parcel_id",
        "carrier_id",
        "event_id",
        "code",
        "occurred_at",
        "location",
        "description",
        "received_at",
    ]
    if postgres:
        _copy("parcel_item", item_cols, items())
        _copy("tracking_event", event_cols, events())
    else:
        for table, cols, gen in (
            (ParcelItem.__table__, item_cols, items()),
            (TrackingEvent.__table__, event_cols, events()),
        ):
            batch = []
            for row in gen:
                batch.append(dict(zip(cols, row, strict=True)))
                if len(batch) == CHUNK:
                    db.session.execute(insert(table), batch)
                    batch = []
            if batch:
                db.session.execute(insert(table), batch)
    db.session.commit()
    if postgres:
        db.session.execute(db.text("ANALYZE parcel; ANALYZE tracking_event; ANALYZE parcel_item"))
        db.session.commit()
    return time.perf_counter() - started
