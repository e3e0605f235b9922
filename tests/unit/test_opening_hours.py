"""Opening hours and closures of one pickup point as a recipient reads them, on points never
saved: the rules need no database, only a clock and a language."""

from __future__ import annotations

from datetime import UTC, date, datetime, time

import pytest
from flask_babel import force_locale

from portal.models import PickupPoint
from portal.services.delivery import pickup_span, point_closed_text
from portal.services.network import hours

SHOP = "Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off"


def point(opening_hours: str = SHOP, **closed) -> PickupPoint:
    return PickupPoint(
        name="Near Shop",
        address_line="Surbrunnsgatan 21",
        postcode="113 48",
        city="Stockholm",
        country="SE",
        latitude=59.34,
        longitude=18.05,
        opening_hours=opening_hours,
        **closed,
    )


def stockholm(day: date, hour: int, minute: int = 0) -> datetime:
    """Local time in Stockholm on a winter `day` (UTC+1)."""
    return datetime.combine(day, time(hour - 1, minute), tzinfo=UTC)


@pytest.fixture
def request_context(app):
    with app.test_request_context("/", headers={"Accept-Language": "en"}):
        yield


@pytest.mark.parametrize(
    ("moment", "expected"),
    [
        (stockholm(date(2026, 11, 26), 10), "Open now · closes 20:00"),
        (stockholm(date(2026, 11, 26), 7, 30), "Closed now · opens 08:00"),
        (stockholm(date(2026, 11, 26), 21), "Closed now · opens tomorrow 08:00"),
        (stockholm(date(2026, 11, 28), 17), "Closed now · opens Monday 08:00"),
        # Christmas Day and Boxing Day are public holidays (PH off), then a Sunday.
        (stockholm(date(2026, 12, 25), 10), "Closed today (public holiday) · opens Monday 08:00"),
        # Christmas Eve is no public holiday (the holidays library, deliveries run), but the
        # opening-hours library counts it for "PH off", as Swedish shops close: shut all day.
        (stockholm(date(2026, 12, 24), 10), "Closed now · opens Monday 08:00"),
        (stockholm(date(2026, 12, 23), 10), "Open now · closes 20:00"),
        # Good Friday, then Saturday's hours.
        (stockholm(date(2026, 4, 3), 10), "Closed today (public holiday) · opens tomorrow 10:00"),
    ],
)
def test_the_summary_says_open_or_when_it_opens(request_context, moment, expected):
    assert hours.summary(point(), moment) == expected


def test_the_summary_in_swedish(request_context):
    with force_locale("sv"):
        assert hours.summary(point(), stockholm(date(2026, 11, 26), 10)) == (
            "Öppet nu · stänger 20:00"
        )
        assert hours.summary(point(), stockholm(date(2026, 11, 28), 17)) == (
            "Stängt nu · öppnar måndag 08:00"
        )
        assert hours.summary(point(), stockholm(date(2026, 12, 25), 10)) == (
            "Stängt i dag (helgdag) · öppnar måndag 08:00"
        )


def test_an_operators_closure_wins_over_the_hours(request_context):
    closed = point(
        closed_from=date(2026, 11, 26), closed_until=date(2026, 11, 30), closed_reason="Renovation"
    )
    assert hours.summary(closed, stockholm(date(2026, 11, 26), 10)) == (
        "Closed today (Renovation) · opens Tuesday 08:00"
    )
    gone = point(closed_from=date(2026, 11, 1))
    assert hours.summary(gone, stockholm(date(2026, 11, 26), 10)) == (
        "Closed today · until further notice"
    )


def test_a_days_hours_and_the_next_open_day(request_context):
    shop = point()
    assert hours.day_hours(shop, date(2026, 12, 5)) == "10:00-16:00"  # a Saturday
    assert hours.day_hours(shop, date(2026, 12, 25)) == "closed"
    assert hours.next_open_day(shop, date(2026, 12, 25)) == date(2026, 12, 28)
    assert hours.next_open_day(shop, date(2026, 4, 3)) == date(2026, 4, 4)  # Saturday opens
    assert hours.next_open_day(shop, date(2026, 4, 5)) == date(2026, 4, 7)  # Easter Monday shut


def test_closed_between_covers_any_overlap():
    period = point(closed_from=date(2026, 12, 3), closed_until=date(2026, 12, 8))
    assert period.closed_between(date(2026, 12, 1), date(2026, 12, 3))
    assert period.closed_between(date(2026, 12, 8), date(2026, 12, 20))
    assert not period.closed_between(date(2026, 11, 20), date(2026, 12, 2))
    assert not period.closed_between(date(2026, 12, 9), date(2026, 12, 20))
    for_good = point(closed_from=date(2027, 1, 15))
    assert for_good.closed_between(date(2027, 6, 1), date(2027, 6, 2))
    assert not point().closed_between(date(2026, 1, 1), date(2027, 1, 1))


def test_the_span_a_parcel_needs_its_point_open(request_context):
    today, latest = date(2026, 11, 26), date(2026, 12, 10)
    assert pickup_span(today, None, latest) == (today, latest)  # may arrive any day
    assert pickup_span(today, date(2026, 11, 27), latest) == (today, date(2026, 12, 4))
    period = point(closed_from=date(2026, 12, 7), closed_until=date(2026, 12, 9))
    assert point_closed_text(period, today, date(2026, 12, 4)) is None
    assert point_closed_text(period, today, latest) == (
        "Near Shop is closed from Monday 7 December to Wednesday 9 December: choose another "
        "pickup point."
    )
    with force_locale("sv"):
        assert point_closed_text(point(closed_from=date(2026, 11, 1)), today, latest) == (
            "Near Shop har stängt: välj ett annat utlämningsställe."
        )


def test_a_point_closed_to_the_end_of_the_calendar_is_closed_until_further_notice(
    request_context,
):
    closed = point(closed_from=date(2026, 11, 26), closed_until=date.max, closed_reason="Gone")
    assert hours.summary(closed, stockholm(date(2026, 11, 26), 10)) == (
        "Closed today (Gone) · until further notice"
    )
    # Before the closure starts, too.
    assert hours.summary(closed, stockholm(date(2026, 11, 25), 10)) == "Open now · closes 20:00"


@pytest.mark.parametrize(
    ("opening_hours", "closed_from", "moment", "expected"),
    [
        # Open round the clock or overnight, closed by the operator from tomorrow.
        ("24/7", date(2026, 11, 27), stockholm(date(2026, 11, 26), 10), "closes at midnight"),
        (
            "Mo-Su 20:00-02:00",
            date(2026, 11, 27),
            stockholm(date(2026, 11, 26), 22),
            ("closes at midnight"),
        ),
        ("Mo-Su 20:00-02:00", None, stockholm(date(2026, 11, 26), 22), "closes tomorrow 02:00"),
        # Closed from Sunday: open to the end of Saturday.
        ("24/7", date(2026, 11, 29), stockholm(date(2026, 11, 26), 10), "closes Saturday 24:00"),
        ("24/7", None, stockholm(date(2026, 11, 26), 10), "open round the clock"),
        # Hours that end at 24:00 end at midnight, not "tomorrow 00:00".
        ("Mo-Su 08:00-24:00", None, stockholm(date(2026, 11, 26), 10), "closes at midnight"),
        # A closure after the hours' own closing changes nothing.
        (SHOP, date(2026, 11, 27), stockholm(date(2026, 11, 26), 10), "closes 20:00"),
    ],
)
def test_open_now_says_when_it_closes_with_the_operators_closures(
    request_context, opening_hours, closed_from, moment, expected
):
    shut = {"closed_from": closed_from, "closed_until": None} if closed_from else {}
    assert hours.summary(point(opening_hours, **shut), moment) == f"Open now · {expected}"


def test_closing_at_midnight_in_swedish(request_context):
    with force_locale("sv"):
        assert hours.summary(point("Mo-Su 08:00-24:00"), stockholm(date(2026, 11, 26), 10)) == (
            "Öppet nu · stänger vid midnatt"
        )


def test_a_closure_longer_than_a_month_says_when_it_opens_again(request_context):
    closed = point(
        closed_from=date(2026, 11, 26), closed_until=date(2027, 1, 31), closed_reason="Renovation"
    )
    assert hours.summary(closed, stockholm(date(2026, 11, 26), 10)) == (
        "Closed today (Renovation) · opens Monday 1 February 08:00"
    )


@pytest.mark.parametrize(
    ("language", "open_now", "opens_monday"),
    [
        ("fi", "Avoinna nyt · sulkeutuu klo 20.00", "avautuu maanantaina 8.00"),
        ("da", "· lukker 20.00", "mandag 08.00"),
        ("nb", "· stenger 20:00", "mandag 08:00"),
    ],
)
def test_the_summary_writes_times_as_each_language_does(
    request_context, language, open_now, opens_monday
):
    with force_locale(language):
        assert hours.summary(point(), stockholm(date(2026, 11, 26), 10)).endswith(open_now)
        assert hours.summary(point(), stockholm(date(2026, 11, 28), 17)).endswith(opens_monday)


@pytest.mark.parametrize(
    ("language", "midnight"), [("en", "24:00"), ("da", "24.00"), ("fi", "24.00")]
)
def test_a_day_ends_at_24_as_the_language_writes_it(request_context, language, midnight):
    with force_locale(language):
        assert hours._midnight() == midnight
