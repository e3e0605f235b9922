"""Working days of a destination: weekdays that are not a public holiday of its country nor a
day the operator closed its zone. Transit is counted in them, so a Friday pickup delivered on
Monday took one working day, not three, and Midsummer doesn't make a route look slow."""

from __future__ import annotations

import time
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date, timedelta

from sqlalchemy import select

from portal.extensions import db
from portal.models import ClosedDay
from portal.services.calendar import public_holiday

# A zone's closed days, as read by this process: an operator's new closed day reaches the
# predictions of every worker within this many seconds (the day itself is days ahead).
_CLOSED_TTL_SECONDS = 300
_closed_cache: dict[int, tuple[float, frozenset[date]]] = {}
# Far enough for any transit the fit keeps (MAX_TRANSIT_DAYS) and then some.
_SEARCH_DAYS = 120


@dataclass(frozen=True)
class WorkCalendar:
    country: str
    closed: frozenset[date] = frozenset()

    def is_working(self, day: date) -> bool:
        return (
            day.weekday() < 5
            and day not in self.closed
            and public_holiday(self.country, day) is None
        )

    def add(self, start: date, days: int) -> date:
        """The day a parcel picked up (or shipped) on `start` arrives after `days` working
        days: `start` itself for 0, else the `days`-th working day after it."""
        day = start
        for _ in range(_SEARCH_DAYS):
            if days <= 0:
                return day
            day += timedelta(days=1)
            if self.is_working(day):
                days -= 1
        return day

    def count(self, start: date, end: date) -> int:
        """Working days after `start` up to and including `end` (0 when `end` <= `start`)."""
        n, day = 0, start
        while day < end:
            day += timedelta(days=1)
            n += self.is_working(day)
        return n

    def next_working(self, day: date) -> date:
        """The first working day after `day`."""
        return self.add(day, 1)


def closed_days_of(zone_id: int | None) -> frozenset[date]:
    """A zone's closed days, kept per process for a few minutes (read on every prediction)."""
    if zone_id is None:
        return frozenset()
    now = time.monotonic()
    known = _closed_cache.get(zone_id)
    if known is not None and now - known[0] < _CLOSED_TTL_SECONDS:
        return known[1]
    days = frozenset(
        db.session.execute(select(ClosedDay.day).where(ClosedDay.zone_id == zone_id)).scalars()
    )
    _closed_cache[zone_id] = (now, days)
    return days


def all_closed_days() -> dict[int, frozenset[date]]:
    """Every zone's closed days at once: the fit, the backtest and imports count thousands of
    transits over every zone."""
    found: dict[int, set[date]] = {}
    for zone_id, day in db.session.execute(select(ClosedDay.zone_id, ClosedDay.day)):
        found.setdefault(zone_id, set()).add(day)
    return {zone_id: frozenset(days) for zone_id, days in found.items()}


def calendar_for(country: str, zone_id: int | None) -> WorkCalendar:
    return WorkCalendar(country.upper(), closed_days_of(zone_id))


def forget_closed_days(zone_ids: Iterable[int] = ()) -> None:
    """Drop this process's copy (tests; other processes read again within the TTL)."""
    if not zone_ids:
        _closed_cache.clear()
    for zone_id in zone_ids:
        _closed_cache.pop(zone_id, None)
