"""Days and times as the recipient reads them: in the parcel's zone, in the current language."""

from __future__ import annotations

from datetime import date, datetime
from typing import TYPE_CHECKING
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask import current_app
from flask_babel import get_locale

if TYPE_CHECKING:
    from portal.models import Parcel

DAY = "EEEE d MMMM"  # "Tuesday 1 December", "tisdag 1 december"


def zone_of(tz: str | None) -> ZoneInfo:
    """The named zone, or the portal's default for parcels that don't know theirs."""
    return ZoneInfo(tz or current_app.config["DEFAULT_TIMEZONE"])


def parcel_zone(parcel: Parcel) -> ZoneInfo:
    return zone_of(parcel.time_zone)


def format_day(day: date) -> str:
    return format_date(day, DAY, locale=get_locale())


def local_day(moment: datetime, tz: str | None) -> str:
    """The day `moment` falls on where the parcel is, in words."""
    return format_day(moment.astimezone(zone_of(tz)).date())
