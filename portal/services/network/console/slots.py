"""Slot templates (weekly windows) and the dated slots made from them, from the console:
changes never take a booking away; closing a booked slot is confirmed first."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError

from portal.extensions import db, get_by_id
from portal.models import (
    Account,
    ClosedDay,
    Slot,
    SlotTemplate,
    Vehicle,
    Zone,
)
from portal.models.types import utcnow
from portal.services import delivery
from portal.services.audit import record
from portal.services.calendar import Calendar
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import closures, imports
from portal.services.network.console import (
    DAY_NAMES,
    VEHICLE_NAMES,
    VEHICLES,
    WEEKDAYS,
    Booked,
    Versioned,
    bookings_of,
    changed_fields,
    check_version,
    clean_text,
    clock,
    days_ahead,
    record_withdrawn,
    require_confirmation,
    save_versioned,
    zone_today,
)
from portal.services.network.files import MAX_CAPACITY

# --- slot templates --------------------------------------------------------------------------


@dataclass(frozen=True)
class TemplateValues:
    weekday: int | None
    start_time: time | None
    end_time: time | None
    vehicle: str | None
    capacity: int | None


def template_subject(template: SlotTemplate) -> str:
    return f"slot_template:{template.id}"


def _template_snapshot(t: SlotTemplate) -> dict[str, Any]:
    return {
        "weekday": DAY_NAMES[t.weekday],
        "start_time": clock(t.start_time),
        "end_time": clock(t.end_time),
        "vehicle": Vehicle(t.vehicle).value,
        "capacity": t.capacity,
        "version": t.version,
    }


def _template_versioned(t: SlotTemplate) -> Versioned:
    return Versioned(
        _("slot template"),
        template_subject(t),
        ("network.template.create", "network.template.update"),
        lambda: _template_snapshot(t),
    )


def templates_of(zone: Zone) -> list[SlotTemplate]:
    return list(
        db.session.execute(
            select(SlotTemplate)
            .where(SlotTemplate.zone_id == zone.id)
            .order_by(SlotTemplate.weekday, SlotTemplate.start_time, SlotTemplate.vehicle)
        ).scalars()
    )


def find_template(template_id: int) -> SlotTemplate:
    template = get_by_id(SlotTemplate, template_id)
    if template is None:
        raise NotFound(_("No slot template has this id."))
    return template


def _capacity(value: int | None, field: str = "capacity") -> int:
    if value is None or not 1 <= value <= MAX_CAPACITY:
        raise DomainError(
            _("Give a capacity from 1 to %(max)s.", max=format_decimal(MAX_CAPACITY)), field=field
        )
    return value


def _window(start: time | None, end: time | None) -> None:
    if start is None:
        raise DomainError(_("Give the start as HH:MM."), field="start_time")
    if end is None:
        raise DomainError(_("Give the end as HH:MM."), field="end_time")
    if end <= start:
        raise DomainError(
            _("The end comes after the start (%(start)s).", start=f"{start:%H:%M}"),
            field="end_time",
        )


def add_template(actor: Account, zone: Zone, values: TemplateValues) -> SlotTemplate:
    """A weekly window; the dated slots of the days ahead are made at once."""
    if values.weekday is None or not 0 <= values.weekday <= 6:
        raise DomainError(_("Choose a weekday."), field="weekday")
    _window(values.start_time, values.end_time)
    if values.vehicle not in tuple(Vehicle):
        raise DomainError(_("Choose a van or a cargo bike."), field="vehicle")
    capacity = _capacity(values.capacity)
    vehicle = Vehicle(values.vehicle)
    clash = db.session.scalar(
        select(SlotTemplate.id).where(
            SlotTemplate.zone_id == zone.id,
            SlotTemplate.weekday == values.weekday,
            SlotTemplate.start_time == values.start_time,
            SlotTemplate.vehicle == vehicle,
        )
    )
    if clash:
        raise Conflict(
            _(
                "%(zone)s has a %(vehicle)s window at %(start)s on %(weekday)ss already: edit "
                "that one.",
                zone=zone.name,
                vehicle=VEHICLES[vehicle].lower(),
                start=f"{values.start_time:%H:%M}",
                weekday=WEEKDAYS[values.weekday],
            ),
            field="start_time",
        )
    template = SlotTemplate(
        zone=zone,
        weekday=values.weekday,
        start_time=values.start_time,
        end_time=values.end_time,
        vehicle=vehicle,
        capacity=capacity,
    )
    db.session.add(template)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("This window was added a moment ago."), field="start_time") from None
    delivery.generate_slots(days_ahead())
    record(
        actor,
        "network.template.create",
        subject=template_subject(template),
        after={"zone": zone.name, **_template_snapshot(template)},
    )
    return template


@dataclass(frozen=True)
class TemplateSaved:
    changed: bool
    slots_changed: int = 0
    # Future slots holding more bookings than the new capacity: they keep them all.
    over: list[tuple[date, int]] = field(default_factory=list)


def update_template(
    actor: Account,
    template: SlotTemplate,
    version: int | None,
    end_time: time | None,
    capacity: int | None,
    *,
    today: date | None = None,
) -> TemplateSaved:
    """New end time or capacity; the future slots made from it follow, and none goes below what
    is booked on it (nobody loses a booking)."""
    v = _template_versioned(template)
    before = _template_snapshot(template)
    mine = {**before, "end_time": clock(end_time), "capacity": capacity}
    mine.pop("version")
    check_version(v, template, version, mine)
    _window(template.start_time, end_time)
    capacity = _capacity(capacity)

    def change() -> None:
        template.end_time, template.capacity = end_time, capacity

    save_versioned(v, template, version, mine, change)
    old, new = changed_fields(before, _template_snapshot(template))
    if not new:
        return TemplateSaved(False)
    slots_changed = imports.apply_template(template, today=today)
    delivery.generate_slots(days_ahead(), today=today)
    over = [
        (s.day, s.booked)
        for s in future_slots_of(template, today)
        if s.booked > template.capacity and s.closed_at is None
    ]
    record(
        actor, "network.template.update", subject=template_subject(template), before=old, after=new
    )
    return TemplateSaved(True, slots_changed, over)


def future_slots_of(template: SlotTemplate, today: date | None = None) -> list[Slot]:
    today = today or zone_today(template.zone)
    return list(
        db.session.execute(
            select(Slot).where(Slot.template_id == template.id, Slot.day > today).order_by(Slot.day)
        ).scalars()
    )


@dataclass(frozen=True)
class TemplateRemoved:
    slots_removed: int
    slots_kept: int  # booked: they stay, full at what they hold


def remove_template(
    actor: Account, template: SlotTemplate, version: int | None, *, today: date | None = None
) -> TemplateRemoved:
    """No more slots from it. Future slots nobody booked go; booked ones stay with their
    bookings (no new ones: their capacity becomes what they hold)."""
    v = _template_versioned(template)
    before = {"zone": template.zone.name, **_template_snapshot(template)}
    check_version(v, template, version, {})
    slots = future_slots_of(template, today)
    kept = sum(1 for s in slots if s.booked)
    subject = template_subject(template)
    save_versioned(v, template, version, {}, lambda: imports.remove_template(template, today=today))
    record(actor, "network.template.remove", subject=subject, before=before)
    return TemplateRemoved(len(slots) - kept, kept)


# --- dated slots -----------------------------------------------------------------------------


@dataclass(frozen=True)
class SlotDay:
    day: date
    closed_because: str | None  # a public holiday or the operator's closed day
    slots: list[Slot]


def zone_slots(zone: Zone, today: date, days: int) -> list[SlotDay]:
    """Each day from `today` for `days` days with its slots, and why a day has none."""
    slots = db.session.execute(
        select(Slot)
        .where(Slot.zone_id == zone.id, Slot.day >= today, Slot.day < today + timedelta(days))
        .order_by(Slot.day, Slot.starts_at, Slot.vehicle)
    ).scalars()
    by_day: dict[date, list[Slot]] = {}
    for slot in slots:
        by_day.setdefault(slot.day, []).append(slot)
    calendar = Calendar(zone, today, today + timedelta(days))
    return [
        SlotDay(d, calendar.closed_because(d), by_day.get(d, []))
        for d in (today + timedelta(n) for n in range(days))
    ]


def find_slot(slot_id: int) -> Slot:
    slot = get_by_id(Slot, slot_id)
    if slot is None:
        raise NotFound(_("No slot has this id."))
    return slot


def slot_subject(slot: Slot) -> str:
    return f"slot:{slot.id}"


def slot_text(slot: Slot, *, shown: bool = False) -> str:
    """The slot in words: in English as the audit log keeps it, or (`shown`) in the
    supervisor's language."""
    tz = ZoneInfo(slot.zone.time_zone)
    days, vehicles = (WEEKDAYS, VEHICLES) if shown else (DAY_NAMES, VEHICLE_NAMES)
    return (
        f"{slot.zone.name}, {days[slot.day.weekday()]} {slot.day.isoformat()} "
        f"{slot.starts_at.astimezone(tz):%H:%M}-{slot.ends_at.astimezone(tz):%H:%M} "
        f"({str(vehicles[Vehicle(slot.vehicle)]).lower()})"
    )


def close_slot(
    actor: Account,
    slot: Slot,
    reason: str,
    *,
    confirmed: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Booked]:
    """Close a dated slot: not offered any more; its bookings are given back (confirmed)."""
    now = now or utcnow()
    reason = clean_text(reason, "reason", _("reason recipients read"), 200)
    if slot.closed_at is not None:
        raise Conflict(_("This slot is closed already."), field="reason")
    if slot.ends_at <= now:
        raise DomainError(_("This slot is over."), field="reason")
    affected = closures.affected_by_slot(slot)
    require_confirmation(affected, confirmed)
    booked = bookings_of(affected)
    done = closures.close_slot(slot, reason=reason, now=now)
    subject = slot_subject(slot)
    record(
        actor,
        "network.slot.close",
        subject=subject,
        before={"slot": slot_text(slot), "booked": len(booked)},
        after={"closed": True, "reason": reason, "withdrawn": [b.tracking_number for b in booked]},
    )
    record_withdrawn(actor, done, booked, subject, reason)
    return booked


def reopen_slot(actor: Account, slot: Slot, *, now: datetime | None = None) -> None:
    now = now or utcnow()
    if slot.closed_at is None:
        raise Conflict(_("This slot is open."))
    if slot.ends_at <= now:
        raise DomainError(_("This slot is over."))
    closed_day = db.session.scalar(
        select(ClosedDay.id).where(ClosedDay.zone_id == slot.zone_id, ClosedDay.day == slot.day)
    )
    if closed_day:
        raise Conflict(_("The whole day is closed in this zone: reopen the day instead."))
    before = {"slot": slot_text(slot), "closed": True, "reason": slot.closed_reason}
    slot.closed_at = slot.closed_reason = None
    db.session.flush()
    record(
        actor,
        "network.slot.reopen",
        subject=slot_subject(slot),
        before=before,
        after={"closed": False},
    )
