"""Dates, times, money, countries and distances written in the reader's zone and language:
plain functions that services (messages, refunds) and templates (as Jinja filters) share."""

from __future__ import annotations

import re
from datetime import datetime
from decimal import Decimal

from babel import Locale
from babel.dates import format_skeleton
from babel.lists import format_list
from babel.numbers import format_currency, format_decimal
from flask_babel import get_locale

from portal.localtime import cldr_locale, clock, format_day, zone_of


def local_datetime(value: datetime | None, tz: str | None = None) -> str:
    """`Wed 25 Nov, 14:05` in the recipient's zone, as the page's language writes a short day
    (CLDR's `MMMEd`, with the year only when it isn't this one) and a time."""
    if value is None:
        return ""
    zone = zone_of(tz)
    local = value.astimezone(zone)
    skeleton = "MMMEd" if local.year == datetime.now(zone).year else "yMMMEd"
    day = format_skeleton(skeleton, local, locale=cldr_locale())
    return f"{day}, {clock(local, zone)}"


def money(amount: Decimal | str | None, currency: str) -> str:
    """`SEK 1,249.50` / `1 249,50 kr`: an amount as the reader's language writes it."""
    if amount is None:
        return ""
    written = format_currency(Decimal(amount), currency, locale=get_locale())
    # CLDR's currency spacing, which Babel leaves out: "SEK 1,249.50", not "SEK1,249.50".
    return re.sub(r"(?<=[A-Za-z])(?=\d)|(?<=\d)(?=[A-Za-z])", "\xa0", written)


def listing(items) -> str:
    """`a, b and c` as the reader's language lists things (CLDR): "a, b och c", "a, b ja c"."""
    return format_list([str(item) for item in items], locale=cldr_locale())


def country_name(code: str) -> str:
    return Locale.parse(str(get_locale() or "en")).territories.get(code.upper(), code)


def eta_window(start: datetime | None, end: datetime | None, tz: str | None = None) -> str:
    """`Thursday 26 November, 14:00–16:00` in the recipient's zone and language."""
    if start is None or end is None:
        return ""
    zone = zone_of(tz)
    day = format_day(start.astimezone(zone).date())
    t0, t1 = clock(start, zone), clock(end, zone)
    if start.astimezone(zone).date() != end.astimezone(zone).date():
        return f"{day} {t0} – {format_day(end.astimezone(zone).date())} {t1}"
    return f"{day}, {t0}–{t1}"


def local_time(value: datetime | None, tz: str | None = None) -> str:
    if value is None:
        return ""
    return clock(value, tz)


def distance(metres: int | None) -> str:
    """`450 m` or `1.2 km` (`1,2 km` in Swedish)."""
    if metres is None:
        return ""
    if metres < 1000:
        return f"{format_decimal(round(metres, -1), locale=get_locale())} m"
    return f"{format_decimal(round(metres / 1000, 1), locale=get_locale())} km"
