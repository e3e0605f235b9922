"""Pickup points and lockers in and out, matched by carrier + external_id: a listed point is
created, updated or reopened; with `close_missing`, a carrier's unlisted points are closed."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from sqlalchemy import select

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models import Carrier, PickupPoint, ZonePostcodePrefix
from portal.models.types import utcnow
from portal.services.network import closures
from portal.services.network.files import FileRejected, PointRow, RowError
from portal.services.network.imports.result import ImportResult, set_changed
from portal.services.network.words import N_

CLOSED_MISSING = "no longer in the carrier's list"


class ZoneIndex:
    """Every zone's postcode prefixes in memory: the longest prefix of a postcode names its
    zone, without a query per point when thousands are imported."""

    def __init__(self):
        self._by_key: dict[tuple[str, str], int] = {
            (country, prefix): zone_id
            for country, prefix, zone_id in db.session.execute(
                select(
                    ZonePostcodePrefix.country,
                    ZonePostcodePrefix.prefix,
                    ZonePostcodePrefix.zone_id,
                )
            ).all()
        }
        self._longest = max((len(p) for _, p in self._by_key), default=0)

    def zone_id(self, country: str, postcode: str) -> int | None:
        code = normalise_postcode(postcode)
        for n in range(min(len(code), self._longest), 0, -1):
            found = self._by_key.get((country.upper(), code[:n]))
            if found is not None:
                return found
        return None


def _point_values(row: PointRow, zone_id: int | None) -> dict:
    return {
        "name": row.name,
        "is_locker": row.is_locker,
        "address_line": row.address_line,
        "postcode": row.postcode,
        "city": row.city,
        "country": row.country,
        "latitude": row.latitude,
        "longitude": row.longitude,
        "opening_hours": row.opening_hours,
        "locker_capacity": row.capacity,
        "zone_id": zone_id,
    }


def import_pickup_points(
    rows: list[PointRow],
    *,
    dry_run: bool = False,
    close_missing: bool = False,
    only_carrier: Carrier | None = None,
    now: datetime | None = None,
    unit: str = "line",
) -> ImportResult:
    """Create or update each row's point; reopen a listed point that was closed for good.
    `close_missing`: close (never delete) the open points of each carrier in the file that the
    file no longer lists. `only_carrier`: the API caller, whose points alone the file may touch.
    """
    now = now or utcnow()
    result = ImportResult("pickup-points", dry_run=dry_run)
    carriers = {c.name: c for c in db.session.execute(select(Carrier)).scalars()}
    errors = []
    for r in rows:
        if only_carrier is not None and r.carrier != only_carrier.name:
            errors.append(
                RowError(
                    r.line,
                    "carrier",
                    N_("is %(carrier)s: your own points", carrier=repr(only_carrier.name)),
                    unit,
                )
            )
        elif r.carrier not in carriers:
            errors.append(
                RowError(
                    r.line,
                    "carrier",
                    N_(
                        "unknown carrier %(carrier)s: add it in the console's Network area first",
                        carrier=repr(r.carrier),
                    ),
                    unit,
                )
            )
    if errors:
        raise FileRejected(errors)
    in_file = {carriers[r.carrier].id for r in rows}
    existing = {
        (p.carrier_id, p.external_id): p
        for p in db.session.execute(
            select(PickupPoint).where(PickupPoint.carrier_id.in_(in_file))
        ).scalars()
    }
    # A locker's capacity can't go below the compartments parcels already hold.
    for r in rows:
        point = existing.get((carriers[r.carrier].id, r.external_id))
        if point is not None and r.is_locker and r.capacity < point.lockers_reserved:
            errors.append(
                RowError(
                    r.line,
                    "capacity",
                    N_(
                        "%(num)d compartments are booked: capacity can't go below %(num)d",
                        num=point.lockers_reserved,
                    ),
                    unit,
                )
            )
        if point is not None and not r.is_locker and point.lockers_reserved:
            errors.append(
                RowError(
                    r.line,
                    "type",
                    N_(
                        "%(num)d compartments are booked: it stays a locker",
                        num=point.lockers_reserved,
                    ),
                    unit,
                )
            )
    if errors:
        raise FileRejected(errors)
    index = ZoneIndex()
    listed = set()
    with db.session.no_autoflush:
        for r in rows:
            carrier = carriers[r.carrier]
            key = (carrier.id, r.external_id)
            listed.add(key)
            values = _point_values(r, index.zone_id(r.country, r.postcode))
            point = existing.get(key)
            if point is None:
                db.session.add(
                    PickupPoint(carrier_id=carrier.id, external_id=r.external_id, **values)
                )
                result.created += 1
                continue
            reopened = point.closed_for_good and point.closed_reason == CLOSED_MISSING
            if reopened:
                point.closed_from = point.closed_until = point.closed_reason = None
            if set_changed(point, values) or reopened:
                result.updated += 1
            else:
                result.unchanged += 1
    db.session.flush()
    if close_missing:
        today = now.date()
        for key, point in existing.items():
            if key in listed or point.closed_for_good:
                continue
            result.closed += 1
            if dry_run:
                result.affected += closures.affected_by_point(point, today, None)
            else:
                local_today = now.astimezone(
                    ZoneInfo(point.zone.time_zone if point.zone else "UTC")
                ).date()
                result.affected += closures.close_point(
                    point, closed_from=local_today, reason=CLOSED_MISSING, now=now
                )
    return result


def point_row(p: PickupPoint, carrier_name: str) -> dict:
    return {
        "external_id": p.external_id or f"lastmile-{p.id}",
        "carrier": carrier_name,
        "name": p.name,
        "type": p.type,
        "address_line": p.address_line,
        "postcode": p.postcode,
        "city": p.city,
        "country": p.country,
        "latitude": p.latitude,
        "longitude": p.longitude,
        "opening_hours": p.opening_hours,
        "capacity": p.locker_capacity if p.is_locker else "",
    }


def export_pickup_points(carrier: Carrier | None = None) -> list[dict]:
    """Every open carrier-owned point (points closed for good are left out: importing the
    export must not reopen them)."""
    query = (
        select(PickupPoint, Carrier.name)
        .join(Carrier, PickupPoint.carrier_id == Carrier.id)
        .order_by(Carrier.name, PickupPoint.external_id)
    )
    if carrier is not None:
        query = query.where(PickupPoint.carrier_id == carrier.id)
    return [
        point_row(p, name) for p, name in db.session.execute(query).all() if not p.closed_for_good
    ]
