"""The carrier's manifest: every parcel due in a zone on a day, with its choice and instructions.

GET /manifest (portal/api/delivery.py) answers it as JSON, or as CSV with `format=csv`;
GET /manifest.csv here is that CSV under a path of its own, so the OpenAPI document can give
it one `text/csv` answer a generated client reads as text."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, request
from sqlalchemy import and_, select
from sqlalchemy.orm import contains_eager, joinedload
from werkzeug.datastructures import ImmutableMultiDict

from portal.api import bp
from portal.extensions import db, get_by_id
from portal.models import Carrier, DeliveryChoice, Parcel, Zone
from portal.models.parcel import TERMINAL_STATUSES
from portal.services.errors import NotFound


@dataclass
class Stop:
    parcel: Parcel
    choice: DeliveryChoice | None


def find_zone(ref: str) -> Zone:
    """A zone by id or by name."""
    zone = None
    if any(ord(c) < 32 for c in ref):
        ref = ""  # control characters are in no zone's name (and PostgreSQL refuses NUL)
    if ref.isascii() and ref.isdigit():
        zone = get_by_id(Zone, int(ref))
    if zone is None:
        zone = db.session.execute(select(Zone).where(Zone.name == ref)).scalar_one_or_none()
    if zone is None:
        raise NotFound(
            "There is no zone with this id or name.", field="zone", code="zone_not_found"
        )
    return zone


def manifest(carrier: Carrier, zone: Zone, day: date) -> list[Stop]:
    """The carrier's parcels expected in `zone` on `day` (local), ordered by window then postcode.

    A choice that fixes a day (slot, green day, end of a hold) has moved the ETA to it, so the
    ETA alone says what is due; pickup-point choices keep the carrier's ETA and show the point.
    """
    tz = ZoneInfo(zone.time_zone)
    start = datetime.combine(day, time(0), tzinfo=tz)
    end = start + timedelta(days=1)
    rows = db.session.execute(
        select(Parcel, DeliveryChoice)
        .outerjoin(
            DeliveryChoice,
            and_(DeliveryChoice.parcel_id == Parcel.id, DeliveryChoice.superseded_at.is_(None)),
        )
        .options(
            joinedload(DeliveryChoice.slot),
            joinedload(DeliveryChoice.pickup_point),
            contains_eager(Parcel.zone),
        )
        .join(Zone, Zone.id == Parcel.zone_id)
        .where(
            Parcel.zone_id == zone.id,
            Parcel.carrier_id == carrier.id,
            Parcel.eta_from >= start,
            Parcel.eta_from < end,
            Parcel.status.not_in(TERMINAL_STATUSES),
        )
        .order_by(Parcel.eta_from, Parcel.postcode, Parcel.tracking_number)
    ).all()
    return [Stop(parcel, choice) for parcel, choice in rows]


@bp.get("/manifest.csv")
def get_manifest_csv():
    """GET /manifest?format=csv, whatever `format` says. The view of GET /manifest answers it,
    found by its endpoint name (delivery.py imports this module, so importing it back would be
    a cycle): the key check, the rate limit, the errors and the bytes are that call's own."""
    args = request.args.copy()
    args["format"] = "csv"
    request.args = ImmutableMultiDict(args)  # Request.args is a cached property: this replaces it
    return current_app.view_functions["api.get_manifest"]()
