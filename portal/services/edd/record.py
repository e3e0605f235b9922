"""What a scan teaches: the pickup sets the parcel's promise (the latest predicted day as of
then), the delivery records its transit for the next fit and whether the promise was kept.
Called by services/events.py for a batch's parcels, as plain rows."""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from typing import Protocol

from sqlalchemy import exists, func, select, update

from portal.bulk import insert_new
from portal.extensions import db
from portal.localtime import zone_of
from portal.models import Parcel, ParcelStatus, TrackingEvent, TransitObservation, Zone
from portal.models.types import utcnow
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
        end = parcel.delivered_at.astimezone(zone).date()
        if parcel.promised_by is not None:
            parcel.promise_kept = end <= parcel.promised_by
        row = observation_row(parcel, zones.get(parcel.zone_id), now)
        if row is not None:
            rows.append(row)
    table = TransitObservation.__table__
    insert_new(table, rows, unique=["parcel_id"], returning=[table.c.id])


def observation_row(parcel: Scanned, time_zone: str | None, now: datetime) -> dict | None:
    """The transit a delivered parcel took, as a TransitObservation row; None without a pickup
    scan or with a delivery before it (a carrier's clock: nothing to learn from)."""
    if parcel.picked_up_at is None or parcel.delivered_at is None:
        return None
    zone = zone_of(time_zone)
    start = parcel.picked_up_at.astimezone(zone).date()
    end = parcel.delivered_at.astimezone(zone).date()
    if end < start:
        return None
    calendar = calendar_for(parcel.country, parcel.zone_id)
    return {
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
        "source_key": None,
        "created_at": now,
    }


@dataclass
class Backfilled:
    picked_up: int = 0
    delivered: int = 0
    observations: int = 0


_JOURNEY_STARTS = ("picked_up", "in_transit")


def backfill(batch: int = 5000) -> Iterator[Backfilled]:
    """Parcels' pickup and delivery times from their stored events, and the transits of those
    delivered, for parcels from before predicted delivery dates (issue 18): one batch of
    parcel ids at a time, for the caller to commit after each. Run again, it adds nothing."""
    p, e = Parcel.__table__.c, TrackingEvent.__table__.c
    last = db.session.execute(select(func.max(p.id))).scalar() or 0
    for first in range(1, last + 1, batch):
        upto = first + batch - 1
        done = Backfilled()
        in_batch = p.id.between(first, upto)

        def earliest(*codes: str):
            return (
                select(func.min(e.occurred_at))
                .where(e.parcel_id == p.id, e.code.in_(codes))
                .scalar_subquery()
            )

        done.picked_up = db.session.execute(
            update(Parcel.__table__)
            .where(in_batch, p.picked_up_at.is_(None))
            .where(exists().where(e.parcel_id == p.id, e.code.in_(_JOURNEY_STARTS)))
            .values(picked_up_at=earliest(*_JOURNEY_STARTS))
        ).rowcount
        done.delivered = db.session.execute(
            update(Parcel.__table__)
            .where(in_batch, p.delivered_at.is_(None), p.status == ParcelStatus.DELIVERED.value)
            .where(exists().where(e.parcel_id == p.id, e.code == ParcelStatus.DELIVERED.value))
            .values(delivered_at=earliest(ParcelStatus.DELIVERED.value))
        ).rowcount
        o = TransitObservation.__table__.c
        rows = db.session.execute(
            select(
                p.id,
                p.carrier_id,
                p.origin_area,
                p.origin_zone_id,
                p.zone_id,
                p.country,
                p.picked_up_at,
                p.delivered_at,
                p.promised_by,
                p.promise_kept,
                Zone.__table__.c.time_zone,
            )
            .outerjoin(Zone.__table__, Zone.__table__.c.id == p.zone_id)
            .where(in_batch, p.delivered_at.is_not(None), p.picked_up_at.is_not(None))
            .where(~exists().where(o.parcel_id == p.id))
        ).all()
        now = utcnow()
        new = [r for r in (observation_row(row, row.time_zone, now) for row in rows) if r]
        table = TransitObservation.__table__
        done.observations = len(
            insert_new(table, new, unique=["parcel_id"], returning=[table.c.id])
        )
        yield done
