"""Issue 18: transit is counted in the destination's working days, so holidays and weekends
never make a route look slow, and a prediction never lands on a day nobody delivers."""

from __future__ import annotations

from datetime import date

import pytest

from portal.services.edd import WorkCalendar, transit_range

SE = WorkCalendar("SE")


@pytest.mark.parametrize(
    ("start", "days", "arrives", "why"),
    [
        (date(2026, 12, 4), 1, date(2026, 12, 7), "Friday + 1: Monday, not Saturday"),
        (date(2026, 12, 23), 1, date(2026, 12, 24), "Christmas Eve is no public holiday"),
        (date(2026, 12, 24), 1, date(2026, 12, 28), "Christmas Day and Boxing Day, a weekend"),
        (date(2027, 1, 5), 1, date(2027, 1, 7), "Epiphany (Wednesday 6 January)"),
        (date(2026, 4, 2), 1, date(2026, 4, 7), "Good Friday, Easter, Easter Monday"),
        (date(2026, 4, 2), 0, date(2026, 4, 2), "0 days: the day it was picked up"),
        (date(2026, 5, 13), 1, date(2026, 5, 15), "Ascension Day"),
    ],
)
def test_adding_working_days_skips_weekends_and_swedish_holidays(start, days, arrives, why):
    assert SE.add(start, days) == arrives, why
    assert SE.count(start, arrives) == days, why


def test_midsummer_eve_counts_only_when_the_operator_closed_it():
    # The holiday calendar knows Midsummer Day (a Saturday); the Eve is a day carriers close,
    # and the network says so with a closed day for the zone.
    thursday = date(2026, 6, 18)
    assert SE.add(thursday, 1) == date(2026, 6, 19)
    closed = WorkCalendar("SE", frozenset({date(2026, 6, 19)}))
    assert closed.add(thursday, 1) == date(2026, 6, 22)
    assert closed.count(thursday, date(2026, 6, 22)) == 1


def test_a_friday_pickup_delivered_on_monday_took_one_working_day():
    assert SE.count(date(2026, 11, 27), date(2026, 11, 30)) == 1
    assert SE.count(date(2026, 11, 27), date(2026, 11, 27)) == 0
    assert SE.count(date(2026, 11, 30), date(2026, 11, 27)) == 0  # backwards: nothing


def test_another_country_has_its_own_holidays():
    # 17 May, Norway's Constitution Day (a Monday in 2027), is an ordinary day in Sweden.
    assert WorkCalendar("NO").add(date(2027, 5, 14), 1) == date(2027, 5, 18)
    assert SE.add(date(2027, 5, 14), 1) == date(2027, 5, 17)


def test_the_range_is_the_narrowest_around_the_commonest_day_that_holds_the_coverage():
    # 100 parcels: 5 in 0 days, 80 in 1, 12 in 2, 3 in 3.
    low, likely, high, share, size = transit_range((5, 80, 12, 3), coverage=0.95)
    assert (low, likely, high, size) == (0, 1, 2, 100)
    assert share == pytest.approx(0.97)
    # Still on its way on day 2: only the parcels that took 2 days or more are like it.
    low, likely, high, share, size = transit_range((5, 80, 12, 3), at_least=2, coverage=0.95)
    assert (low, likely, high, size) == (2, 2, 3, 15)
    assert share == 1.0
    assert transit_range((5, 80, 12, 3), at_least=4) is None  # slower than every one of them
