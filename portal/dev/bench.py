"""Bulk loading of benchmark parcels and of generated delivery history (PostgreSQL COPY,
batched INSERTs elsewhere)."""

from __future__ import annotations

import itertools
import math
import random
import time
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta

from sqlalchemy import delete, insert, select

from portal import s10
from portal.extensions import db
from portal.models import Parcel, ParcelItem, ParcelStatus, TrackingEvent, TransitObservation, Zone
from portal.services.api_keys import get_or_create_carrier, get_or_create_merchant
from portal.services.calendar import public_holiday
from portal.services.edd import WorkCalendar, origin_area
from portal.services.edd.workdays import all_closed_days
from portal.services.zones import ensure_zone, matching_prefixes

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
            # Picked up yesterday in Borås: the page and the API predict its delivery (issue 18).
            "picked_up_at": now - timedelta(days=1),
            "origin_postcode": "503 38",
            "origin_area": "50",
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


# --- Delivery history for predicted delivery dates (issue 18) -------------------------------
#
# GENERATED, not measured: no real operator's history is in this repository. Each row is one
# made-up parcel's journey, drawn from a seeded random generator with these assumptions (chosen
# to look like a Nordic postal network, not fitted to any data):
# - a route's usual transit follows distance: 1 working day up to about 450 km, 2 up to about
#   900 km, 3 beyond; one more across a border; a carrier may add a day on long routes;
# - the usual day holds for about 89-95 % of a carrier's parcels: the rest arrive one day
#   early (long routes only), one day late, or are delayed by 2-5 working days;
# - a Friday pickup on a route of 2+ days, and any Saturday pickup, takes one more working day
#   for 90 % of parcels (no linehaul over the weekend; Saturday's parcels wait for Monday);
# - public holidays and weekends: transit is counted in working days of the destination, and
#   delivered_on is the day WorkCalendar.add gives, so a holiday moves the date, not the count;
#   pickups are few on Saturdays and holidays, none on Sundays;
# - December (pickups 1-23 December): 25 % more parcels, and 30 % of them a day slower;
# - a parcel not yet delivered by today is not in the history (as in a real one).


@dataclass(frozen=True)
class CarrierProfile:
    name: str
    share: float  # of all parcels
    late: float  # one working day late
    early: float  # one working day early (routes of 2+ days)
    delayed: float  # 2-5 working days late
    slower: int = 0  # extra working days on routes of 2+ days
    handling: int = 0  # extra working days on every route (all parcels through one hub)


BENCH_CARRIERS = (
    CarrierProfile("Bench Carrier", 0.50, late=0.035, early=0.015, delayed=0.015),
    CarrierProfile("Bench Post", 0.35, late=0.05, early=0.02, delayed=0.02),
    CarrierProfile("Bench Budget", 0.15, late=0.065, early=0.01, delayed=0.03, slower=1),
)
# Where parcels are sent from: postcode, share. The first four are the bench's cities.
BENCH_ORIGINS = (
    ("11120", 0.28), ("41105", 0.20), ("21115", 0.14), ("75320", 0.10), ("58222", 0.16),
    ("90325", 0.12),
)  # fmt: skip
# Rough centres of two-digit postcode areas (latitude, longitude), for the distance.
AREA_PLACES = {
    "00": (60.17, 24.94), "11": (59.33, 18.06), "12": (59.30, 18.05), "13": (59.20, 18.20),
    "21": (55.60, 13.00), "41": (57.71, 11.97), "50": (57.72, 12.94), "58": (58.41, 15.62),
    "75": (59.86, 17.64), "90": (63.83, 20.26),
}  # fmt: skip
_COLUMNS = [
    "carrier_id", "origin_area", "origin_zone_id", "zone_id", "country", "picked_up_on",
    "delivered_on", "pickup_weekday", "transit_days", "created_at",
]  # fmt: skip


@dataclass(frozen=True)
class _Route:
    carrier_id: int
    profile: CarrierProfile
    area: str
    origin_zone_id: int | None
    zone_id: int
    country: str
    base: int  # usual transit, working days


def _km(a: str, b: str) -> float | None:
    if a not in AREA_PLACES or b not in AREA_PLACES:
        return None
    (lat1, lon1), (lat2, lon2) = AREA_PLACES[a], AREA_PLACES[b]
    dy, dx = (lat2 - lat1) * 111.0, (lon2 - lon1) * 111.0 * math.cos(math.radians(lat1 + lat2) / 2)
    return math.hypot(dx, dy)


def _base_transit(area: str, zone: Zone, profile: CarrierProfile) -> int:
    prefix = zone.prefixes[0].prefix if zone.prefixes else ""
    km = _km(area, prefix[:2])
    base = 2 if km is None else 1 + (km > 450) + (km > 900)
    if zone.country != "SE":
        base += 1
    base += profile.handling
    return base + (profile.slower if base >= 2 else 0)


def _zone_of(postcode: str) -> Zone | None:
    found = matching_prefixes(postcode)
    return found[0].zone if found else None


def history_rows(
    carriers: list[tuple[int, CarrierProfile]],
    origins: list[tuple[str, float]],
    destinations: list[tuple[Zone, float]],
    *,
    days: int,
    per_day: int,
    today: date,
    seed: int = 18,
) -> Iterator[tuple]:
    """Generated observations (column order _COLUMNS) for pickups on the `days` days before
    `today`, `per_day` parcels a calendar day on average. Deterministic for a given seed.
    Reads the zones and closed days now, not while the rows are drawn: on PostgreSQL they are
    drawn inside a COPY, when the connection can run nothing else."""
    closed = all_closed_days()
    routes: list[_Route] = []
    weights: list[float] = []
    for postcode, o_share in origins:
        area = origin_area(postcode)
        origin_zone = _zone_of(postcode)
        for zone, d_share in destinations:
            for carrier_id, profile in carriers:
                routes.append(
                    _Route(
                        carrier_id,
                        profile,
                        area,
                        origin_zone.id if origin_zone else None,
                        zone.id,
                        zone.country,
                        _base_transit(area, zone, profile),
                    )
                )
                weights.append(o_share * d_share * profile.share)
    cum = list(itertools.accumulate(weights))
    calendars = {
        r.zone_id: WorkCalendar(r.country, closed.get(r.zone_id, frozenset())) for r in routes
    }
    return _draw(routes, cum, calendars, days, per_day, today, random.Random(seed))


def _draw(
    routes: list[_Route],
    cum: list[float],
    calendars: dict[int, WorkCalendar],
    days: int,
    per_day: int,
    today: date,
    rnd: random.Random,
) -> Iterator[tuple]:
    arrival: dict[tuple[int, date, int], date] = {}
    now = datetime.now(UTC)
    # Pickups fall on weekdays (a few on Saturdays and holidays): scale so the mean is per_day.
    weekday_volume = per_day * 7 / (5 + 0.15)
    for offset in range(days, 0, -1):
        day = today - timedelta(days=offset)
        weekday = day.weekday()
        factor = (1.0, 1.0, 1.0, 1.0, 1.0, 0.15, 0.0)[weekday]
        if weekday < 5 and public_holiday("SE", day) is not None:
            factor = 0.05
        peak = day.month == 12 and day.day <= 23
        count = round(weekday_volume * factor * (1.25 if peak else 1.0))
        if not count:
            continue
        for route in rnd.choices(routes, cum_weights=cum, k=count):
            p = route.profile
            transit = route.base
            if (weekday == 5 or (weekday == 4 and route.base >= 2)) and rnd.random() < 0.9:
                transit += 1
            if peak and rnd.random() < 0.3:
                transit += 1
            x = rnd.random()
            if x < p.delayed:
                transit += rnd.randint(2, 5)
            elif x < p.delayed + p.late:
                transit += 1
            elif x < p.delayed + p.late + p.early and route.base >= 2:
                transit -= 1
            key = (route.zone_id, day, transit)
            delivered = arrival.get(key)
            if delivered is None:
                delivered = arrival[key] = calendars[route.zone_id].add(day, transit)
            if delivered >= today:
                continue  # still on its way: not history yet
            yield (
                route.carrier_id, route.area, route.origin_zone_id, route.zone_id,
                route.country, day, delivered, weekday, transit, now,
            )  # fmt: skip


def write_history(rows: Iterator[tuple], carrier_ids: list[int]) -> int:
    """Replace the generated history (no parcel, no import fingerprint) of these carriers with
    `rows`: COPY on PostgreSQL, INSERTs of CHUNK rows elsewhere. The caller commits."""
    o = TransitObservation.__table__
    db.session.execute(
        delete(o).where(
            o.c.parcel_id.is_(None), o.c.source_key.is_(None), o.c.carrier_id.in_(carrier_ids)
        )
    )
    written = 0

    def counted() -> Iterator[tuple]:
        nonlocal written
        for row in rows:
            written += 1
            yield row

    if db.session.get_bind().dialect.name == "postgresql":
        _copy("transit_observation", _COLUMNS, counted())
    else:
        batch: list[dict] = []
        for row in counted():
            batch.append(dict(zip(_COLUMNS, row, strict=True)))
            if len(batch) == CHUNK:
                db.session.execute(insert(o), batch)
                batch = []
        if batch:
            db.session.execute(insert(o), batch)
    return written


def bench_zones() -> list[tuple[Zone, float]]:
    """The bench's destinations: the zone of each bench city, made ("Bench <city>", its
    two-digit prefix) where no zone covers it."""
    shares = {"11": 0.40, "41": 0.25, "21": 0.20, "75": 0.15}
    found = []
    for city, pc in CITIES:
        zone = _zone_of(f"{pc}100") or ensure_zone(f"Bench {city}", "SE", "Europe/Stockholm", [pc])
        found.append((zone, shares[pc]))
    db.session.flush()
    return found


def seed_history(
    days: int, per_day: int, *, today: date | None = None, seed: int = 18
) -> tuple[int, float]:
    """`days` days of generated history for the bench's carriers and zones, ending yesterday;
    replaces the history generated before. Returns the rows written and the seconds it took;
    the caller commits."""
    started = time.perf_counter()
    today = today or date.today()
    carriers = [(get_or_create_carrier(p.name).id, p) for p in BENCH_CARRIERS]
    rows = history_rows(
        carriers,
        list(BENCH_ORIGINS),
        bench_zones(),
        days=days,
        per_day=per_day,
        today=today,
        seed=seed,
    )
    written = write_history(rows, [c for c, _ in carriers])
    if db.session.get_bind().dialect.name == "postgresql":
        db.session.execute(db.text("ANALYZE transit_observation"))
    return written, time.perf_counter() - started
