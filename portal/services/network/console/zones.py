"""Zones from the console: their details, postcode prefixes and closed days."""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal.contact import normalise_postcode
from portal.extensions import db, get_by_id
from portal.models import (
    Account,
    ClosedDay,
    Slot,
    Zone,
    ZonePostcodePrefix,
)
from portal.models.types import utcnow
from portal.services import delivery
from portal.services.audit import record
from portal.services.calendar import public_holiday
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.network import closures, imports
from portal.services.network.console import (
    DAY_NAMES,
    REASON_MAX,
    TIME_ZONES,
    Booked,
    Versioned,
    bookings_of,
    changed_fields,
    check_version,
    clean_country,
    clean_text,
    clock,
    coordinates,
    days_ahead,
    record_withdrawn,
    require_confirmation,
    save_versioned,
    zone_today,
)
from portal.services.network.console.slots import templates_of

# --- zones -----------------------------------------------------------------------------------


@dataclass(frozen=True)
class ZoneValues:
    name: str
    country: str
    time_zone: str
    green_weekday: int | None
    cutoff: time


def zone_values(zone: Zone) -> ZoneValues:
    return ZoneValues(zone.name, zone.country, zone.time_zone, zone.green_weekday, zone.cutoff)


def _zone_snapshot(zone: Zone) -> dict[str, Any]:
    return {
        "name": zone.name,
        "country": zone.country,
        "time_zone": zone.time_zone,
        "green_weekday": DAY_NAMES[zone.green_weekday] if zone.green_weekday is not None else None,
        "cutoff": clock(zone.cutoff),
        "version": zone.version,
    }


def _zone_versioned(zone: Zone) -> Versioned:
    return Versioned(
        _("zone"),
        zone_subject(zone),
        ("network.zone.create", "network.zone.update"),
        lambda: _zone_snapshot(zone),
    )


def zone_subject(zone: Zone) -> str:
    return f"zone:{zone.id}"


def _check_zone(values: ZoneValues, zone: Zone | None = None) -> ZoneValues:
    name = clean_text(values.name, "name", _("zone's name"))
    taken = select(func.count(Zone.id)).where(func.lower(Zone.name) == name.lower())
    if zone is not None:
        taken = taken.where(Zone.id != zone.id)
    if db.session.scalar(taken):
        raise Conflict(_("Another zone already has this name."), field="name")
    country = clean_country(values.country)
    tz = (values.time_zone or "").strip()
    if tz not in TIME_ZONES:
        raise DomainError(
            _("Give a time zone name from the IANA database, like Europe/Stockholm."),
            field="time_zone",
        )
    if values.green_weekday is not None and not 0 <= values.green_weekday <= 6:
        raise DomainError(_("Choose a weekday, or no green day."), field="green_weekday")
    if values.cutoff is None:
        raise DomainError(_("Give the cutoff as HH:MM."), field="cutoff")
    return ZoneValues(name, country, tz, values.green_weekday, values.cutoff)


@dataclass(frozen=True)
class ZoneRow:
    zone: Zone
    prefixes: int
    slots: int  # open dated slots in the next 7 days
    capacity: int
    booked: int


def list_zones(now: datetime | None = None, days: int = 7) -> list[ZoneRow]:
    """Every zone by name, with its prefix count and the next `days` days of open slots (from
    each zone's own today)."""
    now = now or utcnow()
    zones = db.session.execute(select(Zone).order_by(Zone.name)).scalars().all()
    if not zones:
        return []
    prefixes = dict(
        db.session.execute(
            select(ZonePostcodePrefix.zone_id, func.count(ZonePostcodePrefix.id)).group_by(
                ZonePostcodePrefix.zone_id
            )
        ).all()
    )
    todays = {z.id: now.astimezone(ZoneInfo(z.time_zone)).date() for z in zones}
    start, end = min(todays.values()), max(todays.values()) + timedelta(days=days)
    per_day = db.session.execute(
        select(
            Slot.zone_id,
            Slot.day,
            func.count(Slot.id),
            func.sum(Slot.capacity),
            func.sum(Slot.booked),
        )
        .where(Slot.day >= start, Slot.day < end, Slot.closed_at.is_(None))
        .group_by(Slot.zone_id, Slot.day)
    ).all()
    totals: dict[int, list[int]] = {z.id: [0, 0, 0] for z in zones}
    for zone_id, day, count, capacity, booked in per_day:
        today = todays.get(zone_id)
        if today is not None and today <= day < today + timedelta(days=days):
            t = totals[zone_id]
            t[0], t[1], t[2] = t[0] + count, t[1] + (capacity or 0), t[2] + (booked or 0)
    return [ZoneRow(z, prefixes.get(z.id, 0), *totals[z.id]) for z in zones]


def find_zone(zone_id: int) -> Zone:
    zone = get_by_id(Zone, zone_id)
    if zone is None:
        raise NotFound(_("No zone has this id."), code="zone_not_found")
    return zone


def all_zones() -> list[Zone]:
    return list(db.session.execute(select(Zone).order_by(Zone.name)).scalars())


def create_zone(actor: Account, values: ZoneValues) -> Zone:
    values = _check_zone(values)
    zone = Zone(
        name=values.name,
        country=values.country,
        time_zone=values.time_zone,
        green_weekday=values.green_weekday,
        cutoff=values.cutoff,
    )
    db.session.add(zone)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:  # the same name saved a moment ago by someone else
        raise Conflict(_("Another zone already has this name."), field="name") from None
    record(actor, "network.zone.create", subject=zone_subject(zone), after=_zone_snapshot(zone))
    return zone


def update_zone(actor: Account, zone: Zone, version: int | None, values: ZoneValues) -> bool:
    """Save the zone's details; False when nothing changed. A new time zone moves the future
    slots nobody booked to the same local hours (booked ones keep their times)."""
    v = _zone_versioned(zone)
    before = _zone_snapshot(zone)
    mine = {
        **before,
        "name": values.name,
        "country": (values.country or "").upper(),
        "time_zone": values.time_zone,
        "green_weekday": DAY_NAMES[values.green_weekday]
        if values.green_weekday is not None and 0 <= values.green_weekday <= 6
        else None,
        "cutoff": clock(values.cutoff),
    }
    mine.pop("version")
    check_version(v, zone, version, mine)
    values = _check_zone(values, zone)
    old_tz = zone.time_zone

    def change() -> None:
        if values.country != zone.country:
            for prefix in zone.prefixes:
                prefix.country = values.country
        zone.name, zone.country, zone.time_zone = values.name, values.country, values.time_zone
        zone.green_weekday, zone.cutoff = values.green_weekday, values.cutoff

    try:
        save_versioned(v, zone, version, mine, change)
    except IntegrityError:
        raise Conflict(
            _("A postcode prefix of this zone is in another zone of that country already."),
            field="country",
        ) from None
    old, new = changed_fields(before, _zone_snapshot(zone))
    if not new:
        return False
    record(actor, "network.zone.update", subject=zone_subject(zone), before=old, after=new)
    if zone.time_zone != old_tz:
        for template in templates_of(zone):
            imports.apply_template(template)
        db.session.flush()
    return True


# --- postcode prefixes -----------------------------------------------------------------------


def add_prefix(
    actor: Account,
    zone: Zone,
    prefix: str,
    latitude: float | None = None,
    longitude: float | None = None,
) -> ZonePostcodePrefix:
    """A postcode prefix for the zone (with the area's centre, for distances to pickup points).
    New parcels with such a postcode fall in the zone; parcels already created keep theirs."""
    code = normalise_postcode(prefix or "")
    if not re.fullmatch(r"[A-Z0-9]{1,10}", code):
        raise DomainError(_("A prefix is 1 to 10 letters and digits."), field="prefix")
    latitude, longitude = coordinates(latitude, longitude)
    taken = db.session.execute(
        select(ZonePostcodePrefix)
        .options(joinedload(ZonePostcodePrefix.zone))
        .where(ZonePostcodePrefix.country == zone.country, ZonePostcodePrefix.prefix == code)
    ).scalar_one_or_none()
    if taken is not None:
        where = (
            _("this zone") if taken.zone_id == zone.id else _("zone %(zone)s", zone=taken.zone.name)
        )
        raise Conflict(
            _(
                "%(prefix)s (%(country)s) is in %(where)s already.",
                prefix=code,
                country=zone.country,
                where=where,
            ),
            field="prefix",
        )
    row = ZonePostcodePrefix(
        zone_id=zone.id, country=zone.country, prefix=code, latitude=latitude, longitude=longitude
    )
    db.session.add(row)
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(
            _(
                "%(prefix)s (%(country)s) is in a zone already.",
                prefix=code,
                country=zone.country,
            ),
            field="prefix",
        ) from None
    record(
        actor,
        "network.prefix.add",
        subject=zone_subject(zone),
        after={"prefix": code, "latitude": latitude, "longitude": longitude},
    )
    return row


def remove_prefix(actor: Account, zone: Zone, prefix_id: int) -> str:
    row = get_by_id(ZonePostcodePrefix, prefix_id)
    if row is None or row.zone_id != zone.id:
        raise NotFound(_("This zone has no such prefix."))
    before = {"prefix": row.prefix, "latitude": row.latitude, "longitude": row.longitude}
    zone.prefixes.remove(row)
    db.session.flush()
    record(actor, "network.prefix.remove", subject=zone_subject(zone), before=before)
    return before["prefix"]


# --- closed days -----------------------------------------------------------------------------


def closed_days_of(zone: Zone, today: date) -> list[ClosedDay]:
    """The operator's closed days from `today` on."""
    return list(
        db.session.execute(
            select(ClosedDay)
            .where(ClosedDay.zone_id == zone.id, ClosedDay.day >= today)
            .order_by(ClosedDay.day)
        ).scalars()
    )


def holidays_ahead(zone: Zone, today: date, days: int = 60) -> list[tuple[date, str]]:
    """The country's public holidays in the next `days` days: closed without anyone's doing."""
    out = []
    for offset in range(days):
        day = today + timedelta(days=offset)
        if name := public_holiday(zone.country, day):
            out.append((day, name))
    return out


def close_day(
    actor: Account,
    zone: Zone,
    day: date | None,
    reason: str,
    *,
    confirmed: Iterable[int] | None = None,
    now: datetime | None = None,
) -> list[Booked]:
    """Close the zone for a day: its slots close, green days and holds ending that day are
    withdrawn. With bookings on it, the supervisor confirms the list first."""
    now = now or utcnow()
    if day is None:
        raise DomainError(_("Give the day as YYYY-MM-DD."), field="day")
    reason = clean_text(reason, "reason", _("reason recipients read"), REASON_MAX)
    if day < zone_today(zone, now):
        raise DomainError(_("That day is over: close today or a later day."), field="day")
    if db.session.scalar(
        select(ClosedDay.id).where(ClosedDay.zone_id == zone.id, ClosedDay.day == day)
    ):
        raise Conflict(
            _("%(day)s is closed in %(zone)s already.", day=day.isoformat(), zone=zone.name),
            field="day",
        )
    affected = closures.affected_by_day(zone, day)
    require_confirmation(affected, confirmed)
    booked = bookings_of(affected)
    _row, done = closures.close_day(zone, day, reason=reason, now=now)
    subject = zone_subject(zone)
    record(
        actor,
        "network.day.close",
        subject=subject,
        after={"day": day, "reason": reason, "withdrawn": [b.tracking_number for b in booked]},
    )
    record_withdrawn(actor, done, booked, subject, reason)
    return booked


def reopen_day(actor: Account, zone: Zone, day_id: int) -> date:
    """The day is open again: its closed slots take bookings, and missing ones are made."""
    row = get_by_id(ClosedDay, day_id)
    if row is None or row.zone_id != zone.id:
        raise NotFound(_("This zone has no such closed day."))
    day, reason = row.day, row.reason
    closures.reopen_day(row)
    delivery.generate_slots(days_ahead())
    record(
        actor,
        "network.day.reopen",
        subject=zone_subject(zone),
        before={"day": day, "reason": reason},
    )
    return day
