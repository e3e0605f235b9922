"""Opening hours of pickup points in OpenStreetMap's `opening_hours` syntax, parsed and evaluated
by the `opening-hours-py` library (public holidays, `PH off`, included), plus the periods an
operator closed a point: what a page says now, and when a point is open on a given day."""

from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date, datetime, time, timedelta
from functools import lru_cache
from zoneinfo import ZoneInfo

from babel.dates import format_date
from flask_babel import get_locale, pgettext
from opening_hours import OpeningHours, ParserError, State

from portal.i18n import lazy_gettext as _l
from portal.localtime import cldr_locale, clock, format_day
from portal.models import PickupPoint
from portal.services.calendar import public_holiday
from portal.services.network.words import N_

# Look this far ahead for the next opening before saying "closed until further notice".
_HORIZON_DAYS = 30


def problem(text: str) -> str | None:
    """Why `text` is not valid opening hours, or None when it parses."""
    if not text or not text.strip():
        return N_("is empty")
    try:
        OpeningHours(text)
    except (ParserError, SyntaxError, ValueError) as exc:
        first = str(exc).strip().splitlines()
        if not first:
            return N_("doesn't parse as OpenStreetMap opening_hours")
        # The parser's own words for where it stopped stay as it wrote them.
        return N_(
            "doesn't parse as OpenStreetMap opening_hours (%(detail)s)",
            detail=first[-1].strip(" ="),
        )
    return None


@lru_cache(maxsize=8192)
def _parsed(text: str, country: str, tz: str) -> OpeningHours | None:
    try:
        return OpeningHours(text, timezone=ZoneInfo(tz), country=country or None)
    except (ParserError, SyntaxError, ValueError):
        return None
    except Exception:  # an unknown country code: hours still apply, holidays don't
        try:
            return OpeningHours(text, timezone=ZoneInfo(tz))
        except (ParserError, SyntaxError, ValueError):
            return None


def _tz(point: PickupPoint) -> str:
    return point.zone.time_zone if point.zone is not None else "Europe/Stockholm"


@dataclass
class HoursNow:
    """What matters about a point's hours at one moment."""

    known: bool  # the hours parsed; False: show the operator's text as it is
    open_now: bool = False
    closes_at: datetime | None = None  # while open (None: open round the clock)
    next_open: datetime | None = None  # while closed (None: not within the horizon)
    closed_why: str | None = None  # "public holiday" name, or the operator's reason


def _intervals(point: PickupPoint, start: datetime, end: datetime):
    oh = _parsed(point.opening_hours, point.country, _tz(point))
    if oh is None:
        return None
    return oh.intervals(start, end)


def open_periods(point: PickupPoint, day: date) -> list[tuple[time, time]] | None:
    """The local times the point is open on `day` ([] when closed all day; None when its hours
    don't parse). An operator's closure wins over the hours."""
    if point.closed_on(day):
        return []
    tz = ZoneInfo(_tz(point))
    start = datetime.combine(day, time(0), tzinfo=tz)
    found = _intervals(point, start, start + timedelta(days=1))
    if found is None:
        return None
    periods = []
    for begin, end, state, _comment in found:
        if state == State.OPEN and end is not None:
            finish = end.astimezone(tz)
            periods.append(
                (
                    begin.astimezone(tz).time(),
                    time(23, 59) if finish.date() > day else finish.time(),
                )
            )
    return periods


def is_open_on(point: PickupPoint, day: date) -> bool:
    periods = open_periods(point, day)
    return bool(periods) if periods is not None else not point.closed_on(day)


def next_open_day(point: PickupPoint, day: date, horizon: int = _HORIZON_DAYS) -> date | None:
    """`day` or the first later day the point is open at all."""
    for offset in range(horizon):
        candidate = day + timedelta(days=offset)
        if is_open_on(point, candidate):
            return candidate
    return None


def now(point: PickupPoint, moment: datetime) -> HoursNow:
    """Open or closed at `moment`, until when, and why closed today."""
    tz = ZoneInfo(_tz(point))
    local = moment.astimezone(tz)
    today = local.date()
    oh = _parsed(point.opening_hours, point.country, _tz(point))
    why = None
    if point.closed_on(today):
        why = point.closed_reason or "closed"
    elif (holiday := public_holiday(point.country, today, str(get_locale() or "en"))) and (
        oh is not None and not is_open_on(point, today)
    ):
        why = holiday
    if oh is None:
        return HoursNow(known=False, closed_why=why)
    if not point.closed_on(today):
        state = oh.state(local)[0]
        if state == State.OPEN:
            change = oh.next_change(local)
            if point.closed_from is not None and point.closed_from > today:
                # A closure ahead ends the opening at its first midnight at the latest (a point
                # open round the clock or overnight would otherwise run on into it).
                closure = datetime.combine(point.closed_from, time(0), tzinfo=tz)
                if change is None or closure < change:
                    change = closure
            return HoursNow(True, open_now=True, closes_at=change, closed_why=None)
    # Closed: the next opening on a day the operator hasn't closed.
    search_from = local
    if point.closed_on(today):
        if point.closed_until is None:
            return HoursNow(True, closed_why=why)
        if point.closed_until >= date.max - timedelta(days=_HORIZON_DAYS + 1):
            # Closed to the end of the calendar (the console refuses such a date now; older rows
            # and direct writes may hold one): no day after it to open on.
            return HoursNow(True, closed_why=why)
        search_from = datetime.combine(point.closed_until + timedelta(days=1), time(0), tzinfo=tz)
    # Counted from where the search starts: a closure over a month long still opens after it.
    horizon = search_from + timedelta(days=_HORIZON_DAYS)
    for begin, _end, state, _comment in oh.intervals(search_from, horizon):
        start = begin.astimezone(tz)
        if state == State.OPEN and not point.closed_on(start.date()):
            return HoursNow(True, next_open=start, closed_why=why)
    return HoursNow(True, closed_why=why)


def _clock(moment: datetime | time) -> str:
    # The moment is already local (the point's zone): only its wall-clock time is written.
    return clock(moment.time() if isinstance(moment, datetime) else moment)


def _midnight() -> str:
    """The end of a day as the language writes times: 24:00, 24.00 in Danish and Finnish."""
    return re.sub(r"^0?0(?=\D)", "24", clock(time(0)))


def _when(moment: datetime, today: date, clock: str | None = None) -> str:
    """ "08:00" later today, "tomorrow 08:00", else "Monday 08:00" within a week, else a date."""
    day = moment.date()
    clock = clock or _clock(moment)
    if day == today:
        # Finnish says "klo 20.00" where English says "20:00".
        return pgettext("a time later today", "%(time)s", time=clock)
    if day == today + timedelta(days=1):
        return str(_l("tomorrow %(time)s", time=clock))
    if day < today + timedelta(days=7):
        return f"{format_date(day, 'EEEE', locale=cldr_locale())} {clock}"
    return f"{format_day(day)} {clock}"


def _closes(moment: datetime, today: date) -> str:
    """ "Open now · closes 20:00"; a closing at midnight is the end of the day before it
    ("closes at midnight" tonight, "closes Saturday 24:00"), not "tomorrow 00:00"."""
    if moment.time() == time(0) and moment.date() > today:
        day_before = moment - timedelta(days=1)
        if day_before.date() == today:
            return str(_l("Open now · closes at midnight"))
        when = _when(day_before, today, clock=_midnight())
    else:
        when = _when(moment, today)
    return str(_l("Open now · closes %(time)s", time=when))


def summary(point: PickupPoint, moment: datetime) -> str:
    """One line for a page: "Open now · closes 20:00", "Closed today (public holiday) · opens
    Monday 08:00", in the reader's language."""
    state = now(point, moment)
    today = moment.astimezone(ZoneInfo(_tz(point))).date()
    if not state.known:
        return point.opening_hours
    if state.open_now:
        if state.closes_at is None:
            return str(_l("Open now · open round the clock"))
        return _closes(state.closes_at.astimezone(ZoneInfo(_tz(point))), today)
    if state.closed_why is not None:
        if point.closed_on(today) and point.closed_reason:
            head = str(_l("Closed today (%(why)s)", why=point.closed_reason))
        elif point.closed_on(today):
            head = str(_l("Closed today"))
        else:
            head = str(_l("Closed today (public holiday)"))
    else:
        head = str(_l("Closed now"))
    if state.next_open is None:
        return str(_l("%(closed)s · until further notice", closed=head))
    return str(_l("%(closed)s · opens %(when)s", closed=head, when=_when(state.next_open, today)))


def day_hours(point: PickupPoint, day: date) -> str:
    """That day's hours in words ("08:00-20:00", "10:00-14:00, 15:00-18:00", or "closed")."""
    periods = open_periods(point, day)
    if periods is None:
        return point.opening_hours
    if not periods:
        return str(_l("closed"))
    return ", ".join(f"{_clock(a)}-{_clock(b)}" for a, b in periods)
