"""The days and hours we deliver: slots made from the zones' templates, the cutoff that closes
changes the day before, days nobody delivers, the hours of a whole-day delivery and the next
green day."""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from itertools import groupby
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import get_locale
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.localtime import clock, format_day
from portal.models import Slot, SlotTemplate, Zone
from portal.models.zone import DEFAULT_CUTOFF
from portal.services.calendar import closed_days, public_holiday, zone_calendar

# Changes close at 18:00 local time the day before delivery unless the zone says otherwise
# (PRODUCT.md; Zone.cutoff).
CUTOFF = DEFAULT_CUTOFF
# A green day or hold without slot templates that day is delivered in this window.
DAY_WINDOW = (time(8, 0), time(18, 0))


def generate_slots(days: int = 14, *, today: date | None = None) -> int:
    """Dated slots for the next `days` days from every zone's templates; existing ones are kept
    (so running it again, or daily, creates only what is missing). No slot is made on a public
    holiday or a day the operator closed the zone. Returns how many were made."""
    made = 0
    templates = db.session.execute(
        select(SlotTemplate).options(joinedload(SlotTemplate.zone)).order_by(SlotTemplate.zone_id)
    ).scalars()
    for zone_id, group in groupby(templates, key=lambda t: t.zone_id):
        group = list(group)
        zone = group[0].zone
        tz = ZoneInfo(zone.time_zone)
        start_day = today or datetime.now(tz).date()
        calendar = zone_calendar(zone, start_day, days)
        have = set(
            db.session.execute(
                select(Slot.starts_at, Slot.vehicle).where(
                    Slot.zone_id == zone_id,
                    Slot.day >= start_day,
                    Slot.day < start_day + timedelta(days=days),
                )
            ).all()
        )
        for offset in range(days):
            day = start_day + timedelta(days=offset)
            if not calendar.is_open(day):
                continue
            for template in group:
                if day.weekday() != template.weekday:
                    continue
                starts_at = datetime.combine(day, template.start_time, tzinfo=tz)
                if (starts_at, template.vehicle) in have:
                    continue
                db.session.add(
                    Slot(
                        zone_id=zone_id,
                        template_id=template.id,
                        day=day,
                        starts_at=starts_at,
                        ends_at=datetime.combine(day, template.end_time, tzinfo=tz),
                        capacity=template.capacity,
                        vehicle=template.vehicle,
                    )
                )
                made += 1
    db.session.flush()
    return made


def cutoff(day: date, zone: Zone) -> datetime:
    """When changes to a delivery on `day` close: the zone's cutoff (18:00 unless the operator
    set another) local time the day before."""
    return datetime.combine(
        day - timedelta(days=1), zone.cutoff or CUTOFF, tzinfo=ZoneInfo(zone.time_zone)
    )


def cutoff_time(zone: Zone) -> str:
    """The zone's cutoff as the reader writes times ("18:00")."""
    return clock(zone.cutoff or CUTOFF)


def closed_day_text(zone: Zone, day: date) -> str | None:
    """Why nothing is delivered in `zone` on `day` (a public holiday, or a day the operator
    closed), as a sentence asking for another day; None on a day we deliver."""
    closed = closed_days(zone.id, day, day)
    if day in closed:
        if closed[day]:
            return str(
                _l(
                    "We don't deliver on %(day)s (%(why)s): choose another day.",
                    day=format_day(day),
                    why=closed[day],
                )
            )
        return str(_l("We don't deliver on %(day)s: choose another day.", day=format_day(day)))
    holiday = public_holiday(zone.country, day, str(get_locale() or "en"))
    if holiday:
        return str(
            _l(
                "%(day)s is a public holiday (%(holiday)s): choose another day.",
                day=format_day(day),
                holiday=holiday,
            )
        )
    return None


def day_window(zone: Zone, day: date) -> tuple[datetime, datetime]:
    """The hours a whole-day delivery (green day, end of a hold) arrives in: the span of that
    weekday's slot templates, or 08:00-18:00."""
    row = db.session.execute(
        select(func.min(SlotTemplate.start_time), func.max(SlotTemplate.end_time)).where(
            SlotTemplate.zone_id == zone.id, SlotTemplate.weekday == day.weekday()
        )
    ).one()
    start, end = (row[0], row[1]) if row[0] is not None else DAY_WINDOW
    tz = ZoneInfo(zone.time_zone)
    return datetime.combine(day, start, tzinfo=tz), datetime.combine(day, end, tzinfo=tz)


def next_green_day(zone: Zone, now: datetime, latest: date | None = None) -> date | None:
    """The first green day whose cutoff hasn't passed, within the days we plan ahead. A green
    day on a public holiday or closed day moves to the next working day after it."""
    if zone.green_weekday is None:
        return None
    today = now.astimezone(ZoneInfo(zone.time_zone)).date()
    ahead = current_app.config["DELIVERY_DAYS_AHEAD"]
    calendar = zone_calendar(zone, today, ahead + 14)
    for offset in range(1, ahead + 1):
        day = today + timedelta(days=offset)
        if day.weekday() != zone.green_weekday:
            continue
        moved = calendar.next_open(day)
        while moved is not None and moved.weekday() >= 5:  # the round runs on a weekday
            moved = calendar.next_open(moved + timedelta(days=1))
        if moved is None or (latest is not None and moved > latest):
            return None
        if now < cutoff(moved, zone):
            return moved
    return None
