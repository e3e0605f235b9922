"""The weekly slot plan in and out, matched by zone + weekday + start + vehicle; a template's
changes reach its future slots, never below what is booked on them."""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import case, select, update
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import Slot, SlotTemplate, Zone
from portal.models.types import utcnow
from portal.services.delivery import generate_slots
from portal.services.network.files import FileRejected, RowError, TemplateRow, weekday_code
from portal.services.network.imports.result import ImportResult, set_changed
from portal.services.network.words import N_


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
        RowError(
            r.line,
            "zone",
            N_("unknown zone %(zone)s: import it in zones.csv first", zone=repr(r.zone)),
        )
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
        elif set_changed(template, {"end_time": row.end, "capacity": row.capacity}):
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
