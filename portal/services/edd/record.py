"""What a scan teaches: the pickup sets the parcel's promise (the latest predicted day as of
then), the delivery records its transit for the next fit and whether the promise was kept.
Called by services/events.py for a batch's parcels, as plain rows."""

from __future__ import annotations

from datetime import date, datetime
from typing import Protocol

from sqlalchemy import select

from portal.bulk import insert_new
from portal.extensions import db
from portal.localtime import zone_of
from portal.models import TransitObservation, Zone
from portal.services.edd.predict import predict
from portal.services.edd.segments import Journey, estimate_for
from portal.services.edd.workdays import calendar_for


class Scanned(Protocol):
    id: int
    carrier_id: int
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    country: str
    picked_up_at: datetime | None
    delivered_at: datetime | None
    promised_by: date | None
    promise_kept: bool | None


def _time_zones(zone_ids: set[int]) -> dict[int, str]:
    if not zone_ids:
        return {}
    rows = db.session.execute(select(Zone.id, Zone.time_zone).where(Zone.id.in_(zone_ids)))
    return dict(rows.all())


def journey_of(parcel: Scanned) -> Journey:
    return Journey(
        parcel.carrier_id, parcel.origin_area, parcel.origin_zone_id, parcel.zone_id, parcel.country
    )


def after_scans(picked_up: list[Scanned], delivered: list[Scanned], now: datetime) -> None:
    """Promises for parcels just picked up; observations and kept promises for parcels just
    delivered (those with a pickup scan: transit is measured from it)."""
    delivered = [p for p in delivered if p.picked_up_at is not None]
    if not picked_up and not delivered:
        return
    zones = _time_zones({p.zone_id for p in (*picked_up, *delivered) if p.zone_id})
    for parcel in picked_up:
        zone = zone_of(zones.get(parcel.zone_id))
        start = parcel.picked_up_at.astimezone(zone).date()
        calendar = calendar_for(parcel.country, parcel.zone_id)
        promise = predict(estimate_for(journey_of(parcel), start.weekday()), start, calendar)
        parcel.promised_by = promise.latest
    rows = []
    for parcel in delivered:
        zone = zone_of(zones.get(parcel.zone_id))
        start = parcel.picked_up_at.astimezone(zone).date()
        end = parcel.delivered_at.astimezone(zone).date()
        if parcel.promised_by is not None:
            parcel.promise_kept = end <= parcel.promised_by
        if end < start:  # a carrier's clock: nothing to learn from
            continue
        calendar = calendar_for(parcel.country, parcel.zone_id)
        rows.append(
            {
                "parcel_id": parcel.id,
                "carrier_id": parcel.carrier_id,
                "origin_area": parcel.origin_area,
                "origin_zone_id": parcel.origin_zone_id,
                "zone_id": parcel.zone_id,
                "country": parcel.country,
                "picked_up_on": start,
                "delivered_on": end,
                "pickup_weekday": start.weekday(),
                "transit_days": calendar.count(start, end),
                "created_at": now,
            }
        )
    table = TransitObservation.__table__
    insert_new(table, rows, unique=["parcel_id"], returning=[table.c.id])
