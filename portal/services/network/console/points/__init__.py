"""Pickup points and lockers from the console, and the carriers that own them."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import force_locale
from sqlalchemy import func, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.contact import normalise_postcode
from portal.extensions import db, get_by_id
from portal.models import (
    Account,
    Carrier,
    PickupPoint,
)
from portal.models.types import utcnow
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import closures, hours
from portal.services.network.console import (
    Booked,
    Versioned,
    bookings_of,
    changed_fields,
    check_version,
    clean_country,
    clean_text,
    coordinates,
    record_withdrawn,
    require_confirmation,
    save_versioned,
)
from portal.services.network.files import MAX_CAPACITY
from portal.services.zones import zone_for_postcode

# --- pickup points and lockers ---------------------------------------------------------------


@dataclass(frozen=True)
class PointValues:
    carrier_id: int | None
    external_id: str
    name: str
    is_locker: bool
    address_line: str
    postcode: str
    city: str
    country: str
    latitude: float | None
    longitude: float | None
    opening_hours: str
    locker_capacity: int | None


def point_values(p: PickupPoint) -> PointValues:
    return PointValues(
        p.carrier_id,
        p.external_id or "",
        p.name,
        p.is_locker,
        p.address_line,
        p.postcode,
        p.city,
        p.country,
        p.latitude,
        p.longitude,
        p.opening_hours,
        p.locker_capacity if p.is_locker else None,
    )


def point_subject(point: PickupPoint) -> str:
    return f"pickup_point:{point.id}"


def _point_snapshot(p: PickupPoint) -> dict[str, Any]:
    return {
        "carrier": p.carrier.name if p.carrier is not None else None,
        "external_id": p.external_id,
        "name": p.name,
        "is_locker": "locker" if p.is_locker else "pickup point",
        "address_line": p.address_line,
        "postcode": p.postcode,
        "city": p.city,
        "country": p.country,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "opening_hours": p.opening_hours,
        "locker_capacity": p.locker_capacity,
        "closed_from": p.closed_from,
        "closed_until": p.closed_until,
        "closed_reason": p.closed_reason,
        "version": p.version,
    }


def _point_versioned(p: PickupPoint) -> Versioned:
    return Versioned(
        "pickup point" if not p.is_locker else "locker",
        point_subject(p),
        (
            "network.point.create",
            "network.point.update",
            "network.point.close",
            "network.point.reopen",
        ),
        lambda: {k: v for k, v in _point_snapshot(p).items() if not k.startswith("closed")},
    )


def find_point(point_id: int) -> PickupPoint:
    point = get_by_id(PickupPoint, point_id)
    if point is None:
        raise NotFound("No pickup point has this id.")
    return point


def _check_point(values: PointValues, point: PickupPoint | None = None) -> dict[str, Any]:
    """The model's values for `values`, or the first thing wrong with them."""
    carrier = None
    if values.carrier_id is not None:
        carrier = get_by_id(Carrier, values.carrier_id)
        if carrier is None:
            raise DomainError("Choose a carrier from the list.", field="carrier_id")
    external_id = (values.external_id or "").strip() or None
    if carrier is not None and external_id is None:
        raise DomainError(
            "Give the carrier's own id for this point (what their files call it).",
            field="external_id",
        )
    if external_id is not None and len(external_id) > 64:
        raise DomainError("Keep the external id to 64 characters.", field="external_id")
    if carrier is not None:
        clash = select(PickupPoint.id).where(
            PickupPoint.carrier_id == carrier.id, PickupPoint.external_id == external_id
        )
        if point is not None:
            clash = clash.where(PickupPoint.id != point.id)
        if db.session.scalar(clash):
            raise Conflict(
                f"{carrier.name} has a point with the id {external_id} already.",
                field="external_id",
            )
    name = clean_text(values.name, "name", "point's name")
    address = clean_text(values.address_line, "address_line", "street address", 300)
    postcode = " ".join((values.postcode or "").split())
    if not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(postcode)) or len(postcode) > 16:
        raise DomainError("A postcode is 2 to 10 letters and digits.", field="postcode")
    city = clean_text(values.city, "city", "city")
    country = clean_country(values.country)
    if values.latitude is None:
        raise DomainError("Give the latitude (WGS 84, like 59.3430).", field="latitude")
    if values.longitude is None:
        raise DomainError("Give the longitude (WGS 84, like 18.0530).", field="longitude")
    latitude, longitude = coordinates(values.latitude, values.longitude)
    opening = " ".join((values.opening_hours or "").split())
    if len(opening) > 300:
        raise DomainError("Keep the opening hours to 300 characters.", field="opening_hours")
    if hours.problem(opening):
        # The parser's own words ("expected EOI, any_rule_separator …") help nobody here.
        raise DomainError(
            "These opening hours don't parse: write them as OpenStreetMap does, like "
            "“Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off” or “24/7”.",
            field="opening_hours",
        )
    reserved = point.lockers_reserved if point is not None else 0
    if values.is_locker:
        capacity = values.locker_capacity
        if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
            raise DomainError(
                f"A locker has 1 to {MAX_CAPACITY:,} compartments.", field="locker_capacity"
            )
        if capacity < reserved:
            raise DomainError(
                f"{reserved} compartments are booked: the capacity can't go below {reserved}.",
                field="locker_capacity",
            )
    else:
        if reserved:
            raise DomainError(
                f"{reserved} compartments are booked: it stays a locker until they are collected.",
                field="point_type",
            )
        capacity = 0
    return {
        "carrier_id": carrier.id if carrier is not None else None,
        "external_id": external_id,
        "name": name,
        "is_locker": values.is_locker,
        "address_line": address,
        "postcode": postcode,
        "city": city,
        "country": country,
        "latitude": latitude,
        "longitude": longitude,
        "opening_hours": opening,
        "locker_capacity": capacity,
        "zone_id": (z.id if (z := zone_for_postcode(country, postcode)) else None),
    }


def create_point(actor: Account, values: PointValues) -> PickupPoint:
    point = PickupPoint(**_check_point(values))
    db.session.add(point)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            "This carrier has a point with this id already.", field="external_id"
        ) from None
    db.session.refresh(point)
    record(
        actor, "network.point.create", subject=point_subject(point), after=_point_snapshot(point)
    )
    return point


def update_point(
    actor: Account, point: PickupPoint, version: int | None, values: PointValues
) -> bool:
    v = _point_versioned(point)
    before = _point_snapshot(point)
    carrier = get_by_id(Carrier, values.carrier_id) if values.carrier_id is not None else None
    mine = {
        "carrier": carrier.name if carrier is not None else None,
        "external_id": (values.external_id or "").strip() or None,
        "name": values.name,
        "is_locker": "locker" if values.is_locker else "pickup point",
        "address_line": values.address_line,
        "postcode": values.postcode,
        "city": values.city,
        "country": values.country,
        "latitude": values.latitude,
        "longitude": values.longitude,
        "opening_hours": values.opening_hours,
        "locker_capacity": values.locker_capacity if values.is_locker else 0,
    }
    check_version(v, point, version, mine)
    new_values = _check_point(values, point)

    def change() -> None:
        for key, value in new_values.items():
            if getattr(point, key) != value:
                setattr(point, key, value)

    try:
        save_versioned(v, point, version, mine, change)
    except IntegrityError:
        raise Conflict(
            "This carrier has a point with this id already.", field="external_id"
        ) from None
    db.session.refresh(point)
    old, new = changed_fields(before, _point_snapshot(point))
    if not new:
        return False
    record(actor, "network.point.update", subject=point_subject(point), before=old, after=new)
    return True


# A closure's days lie within five years (leap days counted): a longer one is for good, and a
# date like 9999-12-31 would leave no next day for the hours to count from.
_CLOSE_AHEAD = timedelta(days=5 * 365 + 2)


def close_point(
    actor: Account,
    point: PickupPoint,
    closed_from: date | None,
    closed_until: date | None,
    reason: str,
    *,
    confirmed: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Booked]:
    """Close from a day, until a day (inclusive) or for good; parcels booked on it that would
    arrive while it is closed get their booking back (confirmed first)."""
    now = now or utcnow()
    if closed_from is None:
        raise DomainError("Give the first closed day.", field="closed_from")
    reason = clean_text(reason, "reason", "reason recipients read", 200)
    today = now.astimezone(ZoneInfo(point.zone.time_zone if point.zone else "UTC")).date()
    if closed_from < today:
        raise DomainError("Close from today or a later day.", field="closed_from")
    if closed_from > today + _CLOSE_AHEAD:
        raise DomainError("Close from a day within five years.", field="closed_from")
    if closed_until is not None and closed_until < closed_from:
        raise DomainError("The last closed day is before the first.", field="closed_until")
    if closed_until is not None and closed_until > today + _CLOSE_AHEAD:
        raise DomainError(
            "Give a last closed day within five years, or none to close the point for good.",
            field="closed_until",
        )
    affected = closures.affected_by_point(point, closed_from, closed_until)
    require_confirmation(affected, confirmed)
    booked = bookings_of(affected)
    before = _point_snapshot(point)
    done = save_versioned(
        _point_versioned(point),
        point,
        point.version,
        {},
        lambda: closures.close_point(
            point, closed_from=closed_from, closed_until=closed_until, reason=reason, now=now
        ),
    )
    old, new = changed_fields(before, _point_snapshot(point))
    subject = point_subject(point)
    record(
        actor,
        "network.point.close",
        subject=subject,
        before=old,
        after={**new, "withdrawn": [b.tracking_number for b in booked]},
    )
    record_withdrawn(actor, done, booked, subject, reason)
    return booked


def reopen_point(actor: Account, point: PickupPoint) -> None:
    if point.closed_from is None:
        raise Conflict("This point isn't closed, nor is a closure planned.")
    before = _point_snapshot(point)
    save_versioned(
        _point_versioned(point), point, point.version, {}, lambda: closures.reopen_point(point)
    )
    old, new = changed_fields(before, _point_snapshot(point))
    record(actor, "network.point.reopen", subject=point_subject(point), before=old, after=new)


@dataclass(frozen=True)
class PointFilter:
    carrier_id: int | None = None
    zone_id: int | None = None
    state: str = ""  # "open" (today), "closed" (today), or "" for both
    q: str = ""  # part of the name, or the external id


@dataclass(frozen=True)
class PointPage:
    points: list[PickupPoint]
    total: int
    page: int
    pages: int
    per_page: int


def list_points(f: PointFilter, today: date, page: int = 1, per_page: int = 50) -> PointPage:
    """One page of points by name. Closed means closed on `today` by an operator (a closure
    that starts later still counts as open)."""
    query = select(PickupPoint)
    if f.carrier_id is not None:
        query = query.where(PickupPoint.carrier_id == f.carrier_id)
    if f.zone_id is not None:
        query = query.where(PickupPoint.zone_id == f.zone_id)
    closed_today = (PickupPoint.closed_from <= today) & (
        PickupPoint.closed_until.is_(None) | (PickupPoint.closed_until >= today)
    )
    if f.state == "closed":
        query = query.where(closed_today)
    elif f.state == "open":
        query = query.where(PickupPoint.closed_from.is_(None) | ~closed_today)
    term = " ".join(f.q.split())
    if term:
        # A few thousand points: a scan is cheap; external ids match exactly.
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(PickupPoint.name).like(f"%{escaped}%", escape="\\"),
                PickupPoint.external_id == term,
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    points = (
        db.session.execute(
            query.options(joinedload(PickupPoint.carrier), joinedload(PickupPoint.zone))
            .order_by(PickupPoint.name, PickupPoint.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .scalars()
        .all()
    )
    return PointPage(list(points), total, page, pages, per_page)


def hours_summary(point: PickupPoint, now: datetime) -> str:
    with force_locale("en"):
        return hours.summary(point, now)


# --- carriers --------------------------------------------------------------------------------


@dataclass(frozen=True)
class CarrierRow:
    carrier: Carrier
    points: int
    open_points: int


def list_carriers() -> list[CarrierRow]:
    counts = {
        carrier_id: (total, closed or 0)
        for carrier_id, total, closed in db.session.execute(
            select(
                PickupPoint.carrier_id,
                func.count(PickupPoint.id),
                func.count(PickupPoint.closed_from),
            ).group_by(PickupPoint.carrier_id)
        ).all()
    }
    rows = []
    for carrier in db.session.execute(select(Carrier).order_by(Carrier.name)).scalars():
        total, closed = counts.get(carrier.id, (0, 0))
        rows.append(CarrierRow(carrier, total, total - closed))
    return rows


def all_carriers() -> list[Carrier]:
    return list(db.session.execute(select(Carrier).order_by(Carrier.name)).scalars())


def add_carrier(actor: Account, name: str) -> Carrier:
    name = clean_text(name, "name", "carrier's name")
    if db.session.scalar(
        select(func.count(Carrier.id)).where(func.lower(Carrier.name) == name.lower())
    ):
        raise Conflict("A carrier has this name already.", field="name")
    carrier = Carrier(name=name)
    db.session.add(carrier)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict("A carrier has this name already.", field="name") from None
    record(actor, "network.carrier.create", subject=f"carrier:{carrier.id}", after={"name": name})
    return carrier
