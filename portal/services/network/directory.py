"""What API clients read about the network: every zone with its postcode prefixes and the days
an operator closed it from today on."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import ClosedDay, Zone, ZonePostcodePrefix


@dataclass
class ZoneListing:
    zone: Zone
    prefixes: list[ZonePostcodePrefix]
    closed_days: list[ClosedDay]  # from the zone's today on, soonest first


def zones(now: datetime) -> list[ZoneListing]:
    """Every zone by name; two queries and the closed days, whatever the number of zones."""
    rows = db.session.execute(
        select(Zone).options(selectinload(Zone.prefixes)).order_by(Zone.name)
    ).scalars()
    # Yesterday in UTC is on or before today in every time zone; each zone's own today below.
    closed = db.session.execute(
        select(ClosedDay)
        .where(ClosedDay.day >= (now - timedelta(days=1)).date())
        .order_by(ClosedDay.day)
    ).scalars()
    by_zone: dict[int, list[ClosedDay]] = {}
    for day in closed:
        by_zone.setdefault(day.zone_id, []).append(day)
    out = []
    for zone in rows:
        today = now.astimezone(ZoneInfo(zone.time_zone)).date()
        out.append(
            ZoneListing(
                zone,
                sorted(zone.prefixes, key=lambda p: p.prefix),
                [d for d in by_zone.get(zone.id, []) if d.day >= today],
            )
        )
    return out
