"""A carrier's own pickup points, one at a time or a whole GeoJSON collection (the API), by the
same rules as the network files: `files` reads and checks, `imports` writes, `closures` closes.

A point the carrier withdraws (DELETE) is closed for good with the reason an import gives the
points a carrier's list no longer has, so listing it again (PUT or import) reopens it, while a
closure an operator made stays until the operator lifts it.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm.exc import StaleDataError

from portal.extensions import db
from portal.localtime import zone_of
from portal.models import Carrier, PickupPoint
from portal.models.types import utcnow
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import closures, files, imports

CLOSED_BY_CARRIER = imports.CLOSED_MISSING
# The rules about booked compartments (imports.import_pickup_points) name these fields.
_BOOKING_FIELDS = frozenset({"capacity", "type"})
_INVALID_POINT = "invalid_pickup_point"  # PUT's code; an import's is "invalid_features"


class PointsRejected(DomainError):
    """Some fields (PUT) or features (import) are bad; `errors` lists every one."""

    code = "invalid_features"

    def __init__(self, errors: list[files.RowError], *, code: str | None = None):
        first = errors[0]
        # "latitude: 91 is out of range (-90 to 90)"; "feature 2: opening_hours: …"
        text = str(first) if first.unit == "feature" else f"{first.field}: {first.message}"
        super().__init__(text, field=first.field, code=code)
        self.errors = errors


class CompartmentsBooked(PointsRejected):
    """A locker's capacity (or type) would drop below the compartments parcels hold."""

    code = "compartments_booked"
    kind = "conflict"


@dataclass
class PutResult:
    point: PickupPoint
    result: str  # created, updated or unchanged
    reopened: bool  # it had been withdrawn by the carrier and is open again


@dataclass
class Withdrawn:
    point: PickupPoint
    closed_from: date
    already_closed: bool
    affected: list[closures.Affected]


def _concurrent() -> Conflict:
    return Conflict(
        "The point was changed by another request at the same time: send it again.",
        code="concurrent_change",
    )


def find_point(carrier: Carrier, external_id: str) -> PickupPoint | None:
    return db.session.execute(
        select(PickupPoint).where(
            PickupPoint.carrier_id == carrier.id, PickupPoint.external_id == external_id
        )
    ).scalar_one_or_none()


def _withdrawn(point: PickupPoint | None) -> bool:
    return point is not None and point.closed_for_good and point.closed_reason == CLOSED_BY_CARRIER


def _import(rows: list[files.PointRow], carrier: Carrier, **kwargs) -> imports.ImportResult:
    """imports.import_pickup_points in a savepoint: a refusal, a row someone else changed or
    created meanwhile, or a dry run leave the session as it was."""
    dry_run = kwargs.get("dry_run", False)
    savepoint = db.session.begin_nested()
    try:
        result = imports.import_pickup_points(rows, only_carrier=carrier, **kwargs)
    except files.FileRejected as exc:
        savepoint.rollback()
        if all(e.field in _BOOKING_FIELDS for e in exc.errors):
            raise CompartmentsBooked(exc.errors) from None
        raise PointsRejected(exc.errors) from None
    except (IntegrityError, StaleDataError):
        savepoint.rollback()
        raise _concurrent() from None
    if dry_run:
        savepoint.rollback()
    else:
        savepoint.commit()
    return result


def put_point(
    carrier: Carrier, external_id: str, values: dict[str, Any], *, now: datetime | None = None
) -> PutResult:
    """Create or update the carrier's point `external_id` from pickup_points.csv's fields;
    reopen it when the carrier had withdrawn it."""
    for name, own in (("external_id", external_id), ("carrier", carrier.name)):
        if values.get(name) not in (None, "", own):
            where = "the URL's" if name == "external_id" else "your key's carrier"
            raise PointsRejected(
                [files.RowError(1, name, f"is {where}, {own!r}", "field")], code=_INVALID_POINT
            )
    try:
        row = files.read_point({**values, "external_id": external_id, "carrier": carrier.name})
    except files.FileRejected as exc:
        raise PointsRejected(exc.errors, code=_INVALID_POINT) from None
    if row.external_id != external_id:  # the reader trims; the URL must name the point as kept
        raise PointsRejected(
            [files.RowError(1, "external_id", "has spaces at its start or end", "field")],
            code=_INVALID_POINT,
        )
    point = find_point(carrier, external_id)
    was_withdrawn = _withdrawn(point)
    result = _import([row], carrier, now=now, unit="field")
    point = point or find_point(carrier, external_id)
    reopened = was_withdrawn and not point.closed_for_good
    if result.created:
        outcome = "created"
    elif result.updated or reopened:
        outcome = "updated"
    else:
        outcome = "unchanged"
    return PutResult(point, outcome, reopened)


def withdraw_point(carrier: Carrier, external_id: str, *, now: datetime | None = None) -> Withdrawn:
    """Close the carrier's point for good from today where it is (never delete it): bookings on
    it are given back and their recipients told (closures.close_point)."""
    now = now or utcnow()
    point = find_point(carrier, external_id)
    if point is None:
        raise NotFound(
            "You have no pickup point with this external id.",
            field="external_id",
            code="pickup_point_not_found",
        )
    today = now.astimezone(zone_of(point.zone.time_zone if point.zone else None)).date()
    already = point.closed_for_good and point.closed_from <= today
    # Already closed: keep its start and the operator's reason; still give back any booking.
    closed_from = point.closed_from if already else today
    reason = point.closed_reason if already else CLOSED_BY_CARRIER
    savepoint = db.session.begin_nested()
    try:
        affected = closures.close_point(
            point, closed_from=closed_from, reason=reason or CLOSED_BY_CARRIER, now=now
        )
    except StaleDataError:
        savepoint.rollback()
        raise _concurrent() from None
    savepoint.commit()
    return Withdrawn(point, closed_from, already, affected)


def import_collection(
    carrier: Carrier,
    data: dict[str, Any],
    *,
    dry_run: bool = False,
    close_missing: bool = False,
    now: datetime | None = None,
) -> imports.ImportResult:
    """A GeoJSON FeatureCollection of the carrier's points, all or nothing: any bad feature and
    nothing is written (PointsRejected lists every one). `close_missing`: the carrier's open
    points the collection leaves out are closed; `dry_run`: counted, nothing kept."""
    try:
        rows = files.read_geojson(data, carrier=carrier.name)
    except files.FileRejected as exc:
        raise PointsRejected(exc.errors) from None
    if close_missing and not rows:
        raise PointsRejected(
            [
                files.RowError(
                    0,
                    "features",
                    "is empty: with close_missing=true that would close every point of yours "
                    "(close them one by one with DELETE)",
                    "feature",
                )
            ]
        )
    return _import(
        rows, carrier, dry_run=dry_run, close_missing=close_missing, now=now, unit="feature"
    )
