"""Public holidays and an operator's closed days wherever a recipient meets a day: the slots
made and offered, the green day, a hold's last day, the cutoff's time, a complaint's due date."""

from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta

import pytest
import time_machine

from portal.models import ChoiceType, SlotTemplate, Vehicle
from portal.services import complaints, delivery_options
from portal.services.delivery import ChoiceRequest, choose, generate_slots
from portal.services.errors import DomainError
from tests.support import factories

C = ChoiceType


def at(day: date, hour: int = 10) -> datetime:
    """`hour` o'clock in Stockholm on `day` (winter time, UTC+1)."""
    return datetime.combine(day, time(hour - 1), tzinfo=UTC)


def slot_days(start: date, days: int) -> list[date]:
    return sorted({s.day for d in range(days) for s in factories.slots_on(start + timedelta(d))})


def weekdays(start: date, days: int) -> list[date]:
    every = (start + timedelta(d) for d in range(days))
    return [d for d in every if d.weekday() < 5]


# --- slots made ------------------------------------------------------------------------------


def test_christmas_has_slots_on_christmas_eve_but_not_on_the_public_holidays(db):
    # 24 December is a working day in the holiday library (shops close early, carriers don't).
    factories.make_delivery_zone(today=date(2026, 12, 21))
    made = slot_days(date(2026, 12, 21), 14)
    assert date(2026, 12, 24) in made
    holidays = {date(2026, 12, 25), date(2027, 1, 1), date(2027, 1, 6)}
    assert made == [d for d in weekdays(date(2026, 12, 21), 14) if d not in holidays]


def test_midsummer_day_on_a_saturday_has_no_slots_but_midsummer_eve_does(db):
    zone = factories.make_delivery_zone(today=date(2026, 6, 1))
    db.session.add(
        SlotTemplate(
            zone=zone,
            weekday=5,
            start_time=time(10),
            end_time=time(12),
            capacity=2,
            vehicle=Vehicle.VAN,
        )
    )
    db.session.flush()
    generate_slots(14, today=date(2026, 6, 15))
    made = slot_days(date(2026, 6, 15), 14)
    assert date(2026, 6, 19) in made  # Midsommarafton: not a public holiday
    assert date(2026, 6, 20) not in made  # Midsommardagen, a Saturday
    assert date(2026, 6, 27) in made  # the next Saturday is an ordinary one


def test_easter_skips_good_friday_and_easter_monday(db):
    factories.make_delivery_zone(today=date(2026, 3, 30))
    made = slot_days(date(2026, 3, 30), 14)
    assert date(2026, 4, 2) in made and date(2026, 4, 7) in made
    assert date(2026, 4, 3) not in made and date(2026, 4, 6) not in made


def test_a_closed_day_gets_no_slots_and_generating_again_adds_none(db):
    zone = factories.make_delivery_zone(today=date(2026, 12, 1))  # slots up to 14 December
    factories.close_zone_on(zone, date(2026, 12, 23), "Staff party")
    assert generate_slots(28, today=date(2026, 12, 1)) > 0
    made = slot_days(date(2026, 12, 1), 28)
    assert date(2026, 12, 22) in made and date(2026, 12, 24) in made
    assert date(2026, 12, 23) not in made
    assert generate_slots(28, today=date(2026, 12, 1)) == 0


# --- slots and green days offered -------------------------------------------------------------


@pytest.fixture
def christmas_week():
    """Monday 21 December 2026, 10:00 in Stockholm."""
    with time_machine.travel(at(date(2026, 12, 21)), tick=False):
        yield at(date(2026, 12, 21))


def test_a_green_day_on_christmas_day_moves_to_the_next_working_day(db, christmas_week):
    factories.make_delivery_zone(today=date(2026, 12, 21), green_weekday=4)  # Fridays
    parcel = factories.make_parcel()
    options = delivery_options.for_parcel(parcel, christmas_week)
    # Friday 25 and Saturday 26 are holidays, then a Sunday: the round runs on Monday.
    assert options.green_day.date == date(2026, 12, 28)
    choice = choose(parcel, ChoiceRequest(C.GREEN_DAY), now=christmas_week)
    assert choice.day == date(2026, 12, 28)


def test_slots_left_on_a_day_closed_later_are_neither_offered_nor_booked(
    client, db, christmas_week
):
    zone = factories.make_delivery_zone(today=date(2026, 12, 21))
    parcel = factories.make_parcel()
    on_eve = factories.slots_on(date(2026, 12, 24))[0]
    # Added by a network import after the slots were made: the slots stay, unbookable.
    factories.close_zone_on(zone, date(2026, 12, 24), "Christmas Eve")
    options = delivery_options.for_parcel(parcel, christmas_week)
    assert date(2026, 12, 24) not in {o.date for o in options.slots}
    assert date(2026, 12, 23) in {o.date for o in options.slots}

    factories.open_as_recipient(client, parcel)
    res = factories.post_delivery_choice(client, parcel, {"choice": "slot", "slot": on_eve.id})
    assert res.status_code == 409
    assert (
        "We don't deliver on Thursday 24 December (Christmas Eve): choose another day."
        in factories.page_text(res.get_data(as_text=True))
    )
    with pytest.raises(DomainError) as refused:
        choose(parcel, ChoiceRequest(C.SLOT, slot_id=on_eve.id), now=christmas_week)
    assert (refused.value.code, refused.value.field) == ("day_closed", "slot")


# --- holds -----------------------------------------------------------------------------------


@pytest.fixture
def november():
    with time_machine.travel(factories.DELIVERY_NOW, tick=False):  # Thursday 26 November
        yield factories.DELIVERY_NOW


def test_a_hold_until_christmas_day_is_refused_with_the_holiday_named(client, db, november):
    factories.make_delivery_zone()
    parcel = factories.make_parcel()
    factories.open_as_recipient(client, parcel)
    res = factories.post_delivery_choice(client, parcel, {"choice": "hold", "until": "2026-12-25"})
    assert res.status_code == 422
    assert (
        "Friday 25 December is a public holiday (Christmas Day): choose another day."
        in factories.page_text(res.get_data(as_text=True))
    )
    with pytest.raises(DomainError) as refused:
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 12, 25)), now=november)
    assert (refused.value.code, refused.value.field) == ("hold_on_closed_day", "day")

    # Christmas Eve is no public holiday: the hold is taken.
    res = factories.post_delivery_choice(client, parcel, {"choice": "hold", "until": "2026-12-24"})
    assert res.status_code == 303


def test_a_hold_refusal_is_in_swedish_for_a_swedish_recipient(client, db, november):
    factories.make_delivery_zone()
    parcel = factories.make_parcel(language="sv")
    factories.open_as_recipient(client, parcel)
    res = factories.post_delivery_choice(client, parcel, {"choice": "hold", "until": "2026-12-25"})
    assert res.status_code == 422
    assert "Det är helgdag fredag 25 december (Juldagen): välj en annan dag." in (
        factories.page_text(res.get_data(as_text=True))
    )


def test_a_hold_until_an_operators_closed_day_says_why(db, november):
    zone = factories.make_delivery_zone()
    factories.close_zone_on(zone, date(2026, 12, 8), "Depot inventory")
    parcel = factories.make_parcel()
    with pytest.raises(DomainError, match="We don't deliver on Tuesday 8 December") as refused:
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 12, 8)), now=november)
    assert refused.value.code == "hold_on_closed_day"
    assert "(Depot inventory)" in refused.value.message


# --- the zone's cutoff -----------------------------------------------------------------------


def test_messages_name_the_zones_own_cutoff(client, db, november):
    zone = factories.make_delivery_zone()
    zone.cutoff = time(15, 0)
    db.session.commit()
    parcel = factories.make_parcel()
    friday = factories.slots_on(date(2026, 11, 27))[0]
    half_past_three = factories.DELIVERY_NOW + timedelta(hours=5, minutes=30)  # Thursday 15:30
    with pytest.raises(DomainError, match="changes close at 15:00 the day before"):
        choose(parcel, ChoiceRequest(C.SLOT, slot_id=friday.id), now=half_past_three)
    with pytest.raises(DomainError, match="changes for a day close at 15:00 the day before"):
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 11, 27)), now=half_past_three)

    choose(parcel, ChoiceRequest(C.SLOT, slot_id=friday.id), now=factories.DELIVERY_NOW)
    db.session.commit()
    factories.open_as_recipient(client, parcel)
    with time_machine.travel(half_past_three, tick=False):
        page = factories.page_text(
            client.get(f"/t/{parcel.tracking_number}/delivery").get_data(as_text=True)
        )
    assert "Changes closed at 15:00 on Thursday 26 November" in page


# --- complaint due dates ---------------------------------------------------------------------


@pytest.mark.parametrize(
    ("filed", "days", "due"),
    [
        # Wednesday 23 December: Thursday 24 counts; Friday 25 and the weekend don't.
        (at(date(2026, 12, 23)), 3, date(2026, 12, 29)),
        # Thursday before Easter: Good Friday and Easter Monday don't count.
        (at(date(2026, 4, 2)), 2, date(2026, 4, 8)),
        # Filed on Christmas Day, no days to wait: the next working day.
        (at(date(2026, 12, 25)), 0, date(2026, 12, 28)),
        # New Year's Day and Epiphany (Wednesday 6 January 2027).
        (at(date(2026, 12, 31)), 4, date(2027, 1, 8)),
    ],
)
def test_complaint_due_dates_skip_public_holidays(db, filed, days, due):
    got = complaints.due_at(filed, days, "Europe/Stockholm", country="SE")
    assert got.date() == due and got.tzinfo is not None


def test_complaint_due_dates_skip_the_zones_closed_days(db):
    zone = factories.make_delivery_zone()
    factories.close_zone_on(zone, date(2026, 12, 28), "Between the holidays")
    got = complaints.due_at(at(date(2026, 12, 23)), 3, "Europe/Stockholm", country="SE", zone=zone)
    assert got.date() == date(2026, 12, 30)


def test_a_complaint_filed_before_christmas_promises_an_answer_after_it(client, db):
    filed = at(date(2026, 12, 23))
    with time_machine.travel(filed, tick=False):
        factories.make_zone("Stockholm", prefixes=("113",))
        parcel = factories.make_parcel(statuses=factories.DELIVERED)
        complaint = factories.make_complaint(parcel)
        assert complaint.due_at.date() == date(2026, 12, 29)  # three working days: 24, 28, 29
        factories.open_as_recipient(client, parcel)
        page = client.get(f"/c/{complaint.case_number}").get_data(as_text=True)
    assert "We'll answer by Tuesday 29 December" in factories.page_text(page)
