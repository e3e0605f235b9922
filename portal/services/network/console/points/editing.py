"""Adding and editing a pickup point or locker: its values checked (carrier and external id,
address, coordinates, opening hours, locker capacity), saved under the version check, and
audited with the fields before and after."""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.contact import NotAPostcode, normalise_postcode, valid_postcode
from portal.extensions import db, get_by_id
from portal.models import Account, Carrier, PickupPoint
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import hours
from portal.services.network.console import (
    Versioned,
    changed_fields,
    check_version,
    clean_country,
    clean_text,
    coordinates,
    save_versioned,
)
from portal.services.network.files import MAX_CAPACITY
from portal.services.zones import zone_for_postcode


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


def point_snapshot(p: PickupPoint) -> dict[str, Any]:
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


def point_versioned(p: PickupPoint) -> Versioned:
    return Versioned(
        _("pickup point") if not p.is_locker else _("locker"),
        point_subject(p),
        (
            "network.point.create",
            "network.point.update",
            "network.point.close",
            "network.point.reopen",
        ),
        lambda: {k: v for k, v in point_snapshot(p).items() if not k.startswith("closed")},
    )


def find_point(point_id: int) -> PickupPoint:
    point = get_by_id(PickupPoint, point_id)
    if point is None:
        raise NotFound(_("No pickup point has this id."))
    return point


def _check_point(values: PointValues, point: PickupPoint | None = None) -> dict[str, Any]:
    """The model's values for `values`, or the first thing wrong with them."""
    carrier = None
    if values.carrier_id is not None:
        carrier = get_by_id(Carrier, values.carrier_id)
        if carrier is None:
            raise DomainError(_("Choose a carrier from the list."), field="carrier_id")
    external_id = (values.external_id or "").strip() or None
    if carrier is not None and external_id is None:
        raise DomainError(
            _("Give the carrier's own id for this point (what their files call it)."),
            field="external_id",
        )
    if external_id is not None and len(external_id) > 64:
        raise DomainError(_("Keep the external id to 64 characters."), field="external_id")
    if carrier is not None:
        clash = select(PickupPoint.id).where(
            PickupPoint.carrier_id == carrier.id, PickupPoint.external_id == external_id
        )
        if point is not None:
            clash = clash.where(PickupPoint.id != point.id)
        if db.session.scalar(clash):
            raise Conflict(
                _(
                    "%(carrier)s has a point with the id %(id)s already.",
                    carrier=carrier.name,
                    id=external_id,
                ),
                field="external_id",
            )
    name = clean_text(values.name, "name", _("point's name"))
    address = clean_text(values.address_line, "address_line", _("street address"), 300)
    postcode = " ".join((values.postcode or "").split())
    if not re.fullmatch(r"[A-Z0-9]{2,10}", normalise_postcode(postcode)) or len(postcode) > 16:
        raise DomainError(_("A postcode is 2 to 10 letters and digits."), field="postcode")
    city = clean_text(values.city, "city", _("city"))
    country = clean_country(values.country)
    try:
        postcode = valid_postcode(postcode, country)  # as the country's post writes it
    except NotAPostcode as exc:
        if exc.form is None:
            raise DomainError(
                _("A postcode is 2 to 10 letters and digits."), field="postcode"
            ) from None
        country_code, digits, example = exc.form
        raise DomainError(
            _(
                "A postcode in %(country)s has %(digits)d digits, like %(example)s.",
                country=country_code,
                digits=digits,
                example=example,
            ),
            field="postcode",
        ) from None
    if values.latitude is None:
        raise DomainError(_("Give the latitude (WGS 84, like 59.3430)."), field="latitude")
    if values.longitude is None:
        raise DomainError(_("Give the longitude (WGS 84, like 18.0530)."), field="longitude")
    latitude, longitude = coordinates(values.latitude, values.longitude)
    opening = " ".join((values.opening_hours or "").split())
    if len(opening) > 300:
        raise DomainError(_("Keep the opening hours to 300 characters."), field="opening_hours")
    if hours.problem(opening):
        # The parser's own words ("expected EOI, any_rule_separator …") help nobody here.
        raise DomainError(
            _(
                "These opening hours don't parse: write them as OpenStreetMap does, like "
                "“Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off” or “24/7”."
            ),
            field="opening_hours",
        )
    reserved = point.lockers_reserved if point is not None else 0
    if values.is_locker:
        capacity = values.locker_capacity
        if capacity is None or not 1 <= capacity <= MAX_CAPACITY:
            raise DomainError(
                _("A locker has 1 to %(max)s compartments.", max=format_decimal(MAX_CAPACITY)),
                field="locker_capacity",
            )
        if capacity < reserved:
            raise DomainError(
                _(
                    "%(n)s compartments are booked: the capacity can't go below %(n)s.",
                    n=reserved,
                ),
                field="locker_capacity",
            )
    else:
        if reserved:
            raise DomainError(
                _(
                    "%(n)s compartments are booked: it stays a locker until they are collected.",
                    n=reserved,
                ),
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
            _("This carrier has a point with this id already."), field="external_id"
        ) from None
    db.session.refresh(point)
    record(actor, "network.point.create", subject=point_subject(point), after=point_snapshot(point))
    return point


def update_point(
    actor: Account, point: PickupPoint, version: int | None, values: PointValues
) -> bool:
    v = point_versioned(point)
    before = point_snapshot(point)
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
            _("This carrier has a point with this id already."), field="external_id"
        ) from None
    db.session.refresh(point)
    old, new = changed_fields(before, point_snapshot(point))
    if not new:
        return False
    record(actor, "network.point.update", subject=point_subject(point), before=old, after=new)
    return True
