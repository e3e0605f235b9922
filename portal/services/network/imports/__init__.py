"""Importing and exporting the network's files: rows are matched by their natural key (zone +
prefix; zone + weekday + start + vehicle; carrier + external_id), so importing the same file
twice changes nothing. A file with any bad row writes nothing (FileRejected lists every one);
the caller commits, or rolls back after a dry run."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field
from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, select, update
from sqlalchemy.orm import selectinload

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models import Carrier, PickupPoint, Slot, SlotTemplate, Zone, ZonePostcodePrefix
from portal.models.types import utcnow
from portal.services.delivery import describe, generate_slots
from portal.services.network import closures
from portal.services.network.files import (
    FileRejected,
    PointRow,
    RowError,
    TemplateRow,
    ZoneRow,
    read_points,
    read_slot_templates,
    read_zones,
    weekday_code,
    write_csv,
    write_geojson,
)

CLOSED_MISSING = "no longer in the carrier's list"


@dataclass
class ImportResult:
    kind: str
    created: int = 0
    updated: int = 0
    unchanged: int = 0
    closed: int = 0
    dry_run: bool = False
    # Parcels whose booking a closure takes (or, on a dry run, would take) away.
    affected: list[closures.Affected] = field(default_factory=list)

    def counts(self) -> dict[str, int]:
        return {
            "created": self.created,
            "updated": self.updated,
            "unchanged": self.unchanged,
            "closed": self.closed,
        }

    def __str__(self) -> str:
        head = "would be " if self.dry_run else ""
        parts = ", ".join(f"{v} {head}{k}" for k, v in self.counts().items())
        return f"{self.kind}: {parts}"


def _changed(obj, values: dict) -> bool:
    """Set `values` on `obj`; True when any differed."""
    changed = False
    for key, value in values.items():
        if getattr(obj, key) != value:
            setattr(obj, key, value)
            changed = True
    return changed


# --- zones ---------------------------------------------------------------------------------


def import_zones(rows: list[ZoneRow], *, dry_run: bool = False) -> ImportResult:
    result = ImportResult("zones", dry_run=dry_run)
    zones = {z.name: z for z in db.session.execute(select(Zone)).scalars()}
    prefixes = {
        (p.country, p.prefix): p for p in db.session.execute(select(ZonePostcodePrefix)).scalars()
    }
    touched_zones: set[str] = set()
    with db.session.no_autoflush:
        for row in rows:
            zone = zones.get(row.zone)
            zone_values = {
                "country": row.country,
                "time_zone": row.time_zone,
                "green_weekday": row.green_weekday,
                "cutoff": row.cutoff,
            }
            zone_changed = False
            if zone is None:
                zone = Zone(name=row.zone, **zone_values)
                db.session.add(zone)
                zones[row.zone] = zone
            elif row.zone not in touched_zones:
                zone_changed = _changed(zone, zone_values)
            touched_zones.add(row.zone)
            prefix = prefixes.get((row.country, row.prefix))
            values = {"latitude": row.latitude, "longitude": row.longitude}
            if prefix is None:
                prefix = ZonePostcodePrefix(country=row.country, prefix=row.prefix, **values)
                zone.prefixes.append(prefix)
                prefixes[(row.country, row.prefix)] = prefix
                result.created += 1
            else:
                moved = prefix.zone is not zone
                if moved:
                    prefix.zone = zone
                if _changed(prefix, values) or moved or zone_changed:
                    result.updated += 1
                else:
                    result.unchanged += 1
    db.session.flush()
    return result


def export_zones() -> list[dict]:
    rows = db.session.execute(
        select(ZonePostcodePrefix, Zone)
        .join(Zone, ZonePostcodePrefix.zone_id == Zone.id)
        .order_by(Zone.name, ZonePostcodePrefix.prefix)
    ).all()
    return [
        {
            "zone": zone.name,
            "country": zone.country,
            "time_zone": zone.time_zone,
            "postcode_prefix": prefix.prefix,
            "latitude": "" if prefix.latitude is None else prefix.latitude,
            "longitude": "" if prefix.longitude is None else prefix.longitude,
            "green_weekday": weekday_code(zone.green_weekday),
            "cutoff": zone.cutoff.strftime("%H:%M"),
        }
        for prefix, zone in rows
    ]


# --- slot templates ------------------------------------------------------------------------


def apply_template(template: SlotTemplate, *, today=None) -> int:
    """A template's capacity or hours changed: its future slots follow, never below what is
    already booked on them; a booked slot keeps its window too (its recipients were promised
    it). Each change is one conditional UPDATE, so a booking landing meanwhile is never pushed
    over the capacity or moved. Returns how many slots changed."""
    tz = ZoneInfo(template.zone.time_zone)
    today = today or datetime.now(tz).date()
    future = (Slot.template_id == template.id, Slot.day > today)
    changed = db.session.execute(
        update(Slot)
        .where(*future, Slot.capacity != case((Slot.booked > template.capacity, Slot.booked),
                                              else_=template.capacity))
        .values(capacity=case((Slot.booked > template.capacity, Slot.booked),
                              else_=template.capacity))
        .execution_options(synchronize_session=False)
    ).rowcount  # fmt: skip
    for slot_id, day in db.session.execute(
        select(Slot.id, Slot.day).where(*future, Slot.booked == 0)
    ).all():
        starts_at = datetime.combine(day, template.start_time, tzinfo=tz)
        ends_at = datetime.combine(day, template.end_time, tzinfo=tz)
        changed += db.session.execute(
            update(Slot)
            .where(
                Slot.id == slot_id,
                Slot.booked == 0,
                (Slot.starts_at != starts_at) | (Slot.ends_at != ends_at),
            )
            .values(starts_at=starts_at, ends_at=ends_at)
            .execution_options(synchronize_session=False)
        ).rowcount
    db.session.expire_all()
    return changed


def remove_template(template: SlotTemplate, *, today=None, now: datetime | None = None) -> None:
    """Its future slots are closed to new bookings; those already booked keep their bookings
    (nothing is deleted: past choices and return pickups still point at them)."""
    tz = ZoneInfo(template.zone.time_zone)
    today = today or datetime.now(tz).date()
    db.session.execute(
        update(Slot)
        .where(Slot.template_id == template.id, Slot.day > today, Slot.closed_at.is_(None))
        .values(closed_at=now or utcnow(), closed_reason="no longer in the weekly plan")
        .execution_options(synchronize_session=False)
    )
    db.session.delete(template)
    db.session.flush()


def import_slot_templates(
    rows: list[TemplateRow], *, dry_run: bool = False, today=None
) -> ImportResult:
    result = ImportResult("slots", dry_run=dry_run)
    zones = {z.name: z for z in db.session.execute(select(Zone)).scalars()}
    errors = [
        RowError(r.line, "zone", f"unknown zone {r.zone!r}: import it in zones.csv first")
        for r in rows
        if r.zone not in zones
    ]
    if errors:
        raise FileRejected(errors)
    have = {
        (t.zone_id, t.weekday, t.start_time, t.vehicle): t
        for t in db.session.execute(
            select(SlotTemplate).options(selectinload(SlotTemplate.zone))
        ).scalars()
    }
    changed: list[SlotTemplate] = []
    for row in rows:
        zone = zones[row.zone]
        template = have.get((zone.id, row.weekday, row.start, row.vehicle))
        if template is None:
            template = SlotTemplate(
                zone=zone,
                weekday=row.weekday,
                start_time=row.start,
                end_time=row.end,
                vehicle=row.vehicle,
                capacity=row.capacity,
            )
            db.session.add(template)
            result.created += 1
        elif _changed(template, {"end_time": row.end, "capacity": row.capacity}):
            changed.append(template)
            result.updated += 1
        else:
            result.unchanged += 1
    db.session.flush()
    if not dry_run:
        for template in changed:
            apply_template(template, today=today)
        generate_slots(current_app.config["DELIVERY_DAYS_AHEAD"], today=today)
    return result


def export_slot_templates() -> list[dict]:
    rows = db.session.execute(
        select(SlotTemplate, Zone)
        .join(Zone, SlotTemplate.zone_id == Zone.id)
        .order_by(Zone.name, SlotTemplate.weekday, SlotTemplate.start_time, SlotTemplate.vehicle)
    ).all()
    return [
        {
            "zone": zone.name,
            "weekday": weekday_code(t.weekday),
            "start": t.start_time.strftime("%H:%M"),
            "end": t.end_time.strftime("%H:%M"),
            "vehicle": t.vehicle.value,
            "capacity": t.capacity,
        }
        for t, zone in rows
    ]


# --- pickup points -------------------------------------------------------------------------


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
                RowError(r.line, "carrier", f"is {only_carrier.name!r}: your own points", unit)
            )
        elif r.carrier not in carriers:
            errors.append(
                RowError(
                    r.line,
                    "carrier",
                    f"unknown carrier {r.carrier!r}: add it in the console's Network area first",
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
                    f"{point.lockers_reserved} compartments are booked: "
                    f"capacity can't go below {point.lockers_reserved}",
                    unit,
                )
            )
        if point is not None and not r.is_locker and point.lockers_reserved:
            errors.append(
                RowError(
                    r.line,
                    "type",
                    f"{point.lockers_reserved} compartments are booked: it stays a locker",
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
            if _changed(point, values) or reopened:
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


EXPORTERS = {
    "zones": export_zones,
    "slots": export_slot_templates,
    "pickup-points": export_pickup_points,
}


def export(kind: str, fmt: str = "csv") -> str:
    rows = EXPORTERS[kind]()
    if fmt == "geojson":
        return write_geojson(rows)
    return write_csv(kind, rows)


def import_file(
    kind: str,
    data: bytes,
    filename: str = "",
    *,
    dry_run: bool = False,
    close_missing: bool = False,
) -> ImportResult:
    """Read and import one file of `kind` (the CLI, the console and the bench all come here);
    FileRejected when any row is bad. `close_missing` is for pickup points only."""
    if kind == "zones":
        return import_zones(read_zones(data), dry_run=dry_run)
    if kind == "slots":
        return import_slot_templates(read_slot_templates(data), dry_run=dry_run)
    if kind == "pickup-points":
        return import_pickup_points(
            read_points(data, filename), dry_run=dry_run, close_missing=close_missing
        )
    raise ValueError(f"unknown kind {kind!r}")


def group_affected(affected: list[closures.Affected]) -> dict[str, list[str]]:
    """Tracking numbers by what they were booked on, for a preview."""
    out: dict[str, list[str]] = defaultdict(list)
    for a in affected:
        out[describe(a.choice, a.parcel.time_zone)].append(a.tracking_number)
    return dict(out)
