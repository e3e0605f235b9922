"""Working days: a country's public holidays (from the `holidays` library) plus the days an
operator closed a zone. Slots, green days, complaint due dates and pickup deadlines all ask here,
so no rule counts Christmas Day as a working day on its own."""

from __future__ import annotations

from datetime import date, timedelta
from functools import lru_cache

import holidays
from sqlalchemy import select

from portal.extensions import db
from portal.models import ClosedDay, Zone

# What the holiday library calls our locales (it names Norwegian "no" and has a Finland-Swedish
# "sv_FI"); a country without the reader's language names its holidays in English.
_HOLIDAY_LANGUAGES = {"en": "en_US", "nb": "no"}
# How far a "next working day" search looks before giving up (a zone closed for a season).
_SEARCH_DAYS = 60


@lru_cache(maxsize=256)
def _country_year(country: str, year: int, language: str) -> dict[date, str]:
    try:
        found = holidays.country_holidays(country, years=year, language=language)
    except NotImplementedError:  # a country the library doesn't know: no holidays, not an error
        return {}
    return dict(found.items())


def public_holiday(country: str, day: date, language: str = "en") -> str | None:
    """The name of the public holiday on `day` in `country` (in `language` where the library
    has it), or None on an ordinary day."""
    country = country.upper()
    names = _country_year(country, day.year, _holiday_language(country, language))
    return names.get(day)


@lru_cache(maxsize=64)
def _holiday_language(country: str, language: str) -> str:
    try:
        supported = holidays.country_holidays(country).supported_languages
    except NotImplementedError:
        return "en_US"
    ours = _HOLIDAY_LANGUAGES.get(language, language)
    for candidate in (f"{ours}_{country}", ours):
        if candidate in supported:
            return candidate
    return "en_US"


def closed_days(zone_id: int, start: date, end: date) -> dict[date, str]:
    """The operator's closed days of a zone between `start` and `end` (inclusive): day → reason."""
    rows = db.session.execute(
        select(ClosedDay.day, ClosedDay.reason).where(
            ClosedDay.zone_id == zone_id, ClosedDay.day >= start, ClosedDay.day <= end
        )
    ).all()
    return {row.day: row.reason for row in rows}


class Calendar:
    """A zone's closed days over a span, read once: what slot generation and option lists ask
    for day after day without a query each."""

    def __init__(self, zone: Zone, start: date, end: date):
        self.zone, self.start, self.end = zone, start, end
        self._closed = closed_days(zone.id, start, end) if zone.id is not None else {}

    def closed_because(self, day: date, language: str = "en") -> str | None:
        """Why the zone doesn't deliver on `day` (the holiday's name or the operator's reason),
        or None on a working day. Weekends are for the slot templates to say, not this."""
        if day in self._closed:
            return self._closed[day] or "closed"
        if not self.start <= day <= self.end:
            extra = closed_days(self.zone.id, day, day)
            if day in extra:
                return extra[day] or "closed"
        return public_holiday(self.zone.country, day, language)

    def is_open(self, day: date) -> bool:
        return self.closed_because(day) is None

    def next_open(self, day: date, weekday: int | None = None) -> date | None:
        """`day` or the first open day after it (on `weekday` only, if given)."""
        for offset in range(_SEARCH_DAYS):
            candidate = day + timedelta(days=offset)
            if weekday is not None and candidate.weekday() != weekday:
                continue
            if self.is_open(candidate):
                return candidate
        return None


def zone_calendar(zone: Zone, start: date, days: int) -> Calendar:
    return Calendar(zone, start, start + timedelta(days=days))


def is_working_day(country: str, day: date, zone: Zone | None = None) -> bool:
    """Monday to Friday and neither a public holiday nor (with a zone) one of its closed days."""
    if day.weekday() >= 5 or public_holiday(country, day) is not None:
        return False
    return zone is None or zone.id is None or not closed_days(zone.id, day, day)


def add_working_days(country: str, start: date, days: int, zone: Zone | None = None) -> date:
    """The `days`-th working day after `start` (`start` itself when 0 and a working day, else
    the next working day)."""
    day = start
    if days <= 0:
        while not is_working_day(country, day, zone):
            day += timedelta(days=1)
        return day
    left = days
    while left:
        day += timedelta(days=1)
        if is_working_day(country, day, zone):
            left -= 1
    return day
