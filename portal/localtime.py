"""Days and times as the recipient reads them: in the parcel's zone, in the current language."""

from __future__ import annotations

import re
from datetime import date, datetime, time
from functools import cache
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel import Locale
from babel.dates import format_date, format_time
from flask import current_app
from flask_babel import get_locale

if TYPE_CHECKING:
    from portal.models import Parcel

# English is written as in Europe (en_GB: a 24-hour clock, the day before the month); every
# other language by its own CLDR data.
_WRITTEN_AS = {"en": "en_GB"}


def cldr_locale() -> Locale:
    """The current language's CLDR locale for dates and times."""
    locale = get_locale() or Locale("en")
    return _locale(str(locale))


@cache
def _locale(code: str) -> Locale:
    return Locale.parse(_WRITTEN_AS.get(code, code))


@cache
def _day_pattern(locale: Locale) -> str:
    """The locale's own way to write a weekday, day and month in full: CLDR's `MMMMEEEEd`
    skeleton where it has one ("Tuesday 1 December"), else its full date without the year
    ("tisdag 1 december", "tirsdag 1. desember", "tirsdag den 1. december", "tiistai 1.
    joulukuuta")."""
    if "MMMMEEEEd" in locale.datetime_skeletons:
        return locale.datetime_skeletons["MMMMEEEEd"].pattern
    return re.sub(r"[\s,]*\by+\b", "", locale.date_formats["full"].pattern).strip(" ,")


def format_day(day: date) -> str:
    locale = cldr_locale()
    return format_date(day, _day_pattern(locale), locale=locale)


def clock(value: datetime | time, tz: str | ZoneInfo | None = None) -> str:
    """A time of day as the language writes it: `14:05`, `14.05` in Danish and Finnish. A
    datetime is read in `tz` (a zone name or zone; the default zone when None)."""
    if isinstance(value, datetime):
        zone = tz if isinstance(tz, ZoneInfo) else zone_of(tz)
        return format_time(value, "short", tzinfo=zone, locale=cldr_locale())
    return format_time(value, "short", locale=cldr_locale())


def zone_of(tz: str | None) -> ZoneInfo:
    """The named zone, or the portal's default for parcels that don't know theirs."""
    return ZoneInfo(tz or current_app.config["DEFAULT_TIMEZONE"])


def parcel_zone(parcel: Parcel) -> ZoneInfo:
    return zone_of(parcel.time_zone)


def local_day(moment: datetime, tz: str | None) -> str:
    """The day `moment` falls on where the parcel is, in words."""
    return format_day(moment.astimezone(zone_of(tz)).date())
