"""The rules of every delivery choice, what each offers, and what each change sends."""

from __future__ import annotations

from datetime import date, timedelta
from decimal import Decimal

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.green import estimate
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Notification,
    ParcelStatus,
    PickupPoint,
    Slot,
    Vehicle,
)
from portal.services import delivery_options
from portal.services.delivery import (
    ChangeTooLate,
    ChoiceRequest,
    LockerFull,
    choose,
    current_choice,
)
from portal.services.errors import DomainError
from portal.services.parcels import ItemData
from tests.support import factories

NOW = factories.DELIVERY_NOW  # Thursday 26 November, 10:00 Stockholm
C = ChoiceType


@pytest.fixture(autouse=True)
def frozen():
    """Carrier events and "today" agree with NOW (events from the future are refused)."""
    with time_machine.travel(NOW, tick=False):
        yield


@pytest.fixture
def zone(db):
    return factories.make_delivery_zone()


@pytest.fixture
def parcel(zone):
    return factories.make_parcel(merchant=factories.safe_place_merchant())


def slot_on(day: date, index: int = 0) -> Slot:
    """The day's slots in time order: 0 is 09-11 by van, 1 is 11-13 by cargo bike."""
    return (
        db.session.execute(select(Slot).where(Slot.day == day).order_by(Slot.starts_at))
        .scalars()
        .all()[index]
    )


def point(name: str) -> PickupPoint:
    return db.session.execute(select(PickupPoint).where(PickupPoint.name == name)).scalar_one()


def confirmations(parcel) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "delivery_changed"
            )
        ).scalars()
    )


def test_options_offer_bookable_slots_nearest_points_and_one_greenest(parcel):
    options = delivery_options.for_parcel(parcel, NOW)
    days = [d for d, _ in options.slot_days()]
    # Thursday's slots are past their cutoff (Wednesday 18:00); Friday on are offered.
    assert days[0] == date(2026, 11, 27) and date(2026, 11, 26) not in days
    assert all(d.weekday() < 5 for d in days)
    assert [o.label for o in options.pickup_points] == ["Near Shop", "Box Locker", "Far Kiosk"]
    near = options.pickup_points[0]
    assert 90 <= near.distance_m <= 130 and near.co2e_grams == estimate.pickup(near.distance_m)
    assert options.pickup_points[2].co2e_grams > options.pickup_points[0].co2e_grams  # car trip
    assert options.green_day.date == date(2026, 12, 1)  # Tuesday
    marked = [o for o in options.all() if o.greenest]
    assert len(marked) == 1
    assert marked[0].vehicle is Vehicle.CARGO_BIKE
    assert marked[0].co2e_grams == min(o.co2e_grams for o in options.all())
    assert options.safe_place and options.neighbour and options.hold
    assert options.hold.latest == date(2026, 12, 26)  # 30 days


def test_safe_place_only_where_the_merchant_allows_it_for_the_value(zone):
    none = factories.make_parcel(merchant=factories.safe_place_merchant(None))
    cheap_limit = factories.make_parcel(merchant=factories.safe_place_merchant("100"))
    assert delivery_options.for_parcel(none, NOW).safe_place is None
    assert delivery_options.for_parcel(cheap_limit, NOW).safe_place is None  # tent: 2499
    with pytest.raises(DomainError, match="doesn't allow"):
        choose(cheap_limit, ChoiceRequest(C.SAFE_PLACE, place="porch"), now=NOW)
    db.session.rollback()
    ok = factories.make_parcel(
        merchant=factories.safe_place_merchant("100"),
        items=[ItemData("SOCK", "Socks", 2, Decimal("49.00"))],
    )
    choice = choose(ok, ChoiceRequest(C.SAFE_PLACE, place="garage", note="code 1234"), now=NOW)
    assert (choice.place, choice.note) == ("garage", "code 1234")
    assert choice.co2e_grams == estimate.home_drop(attended=False)


def test_every_change_is_kept_confirmed_and_moves_the_eta(parcel):
    friday = date(2026, 11, 27)
    slot = slot_on(friday)
    choose(parcel, ChoiceRequest(C.SLOT, slot_id=slot.id), now=NOW)
    db.session.commit()
    assert (parcel.eta_from, parcel.eta_to) == (slot.starts_at, slot.ends_at)
    choose(parcel, ChoiceRequest(C.GREEN_DAY), now=NOW)
    db.session.commit()
    assert parcel.eta_from.date() == date(2026, 12, 1)
    db.session.refresh(slot)
    assert slot.booked == 0  # given back
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=point("Near Shop").id), now=NOW)
    choose(parcel, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=point("Near Shop").id), now=NOW)
    db.session.commit()
    history = (
        db.session.execute(select(DeliveryChoice).where(DeliveryChoice.parcel_id == parcel.id))
        .scalars()
        .all()
    )
    assert [c.type for c in history] == [C.SLOT, C.GREEN_DAY, C.PICKUP_POINT]
    assert [c.superseded_at is None for c in history] == [False, False, True]
    # One confirmation per change on each channel; the repeated choice sent nothing.
    sent = confirmations(parcel)
    assert len(sent) == 6 and {n.channel for n in sent} == {"sms", "email"}
    sms = [n for n in sent if n.channel == "sms"]
    assert "Delivery on Friday 27 November, 09:00-11:00" in sms[0].body
    assert "Green day delivery on Tuesday 1 December" in sms[1].body
    assert "Pickup point: Near Shop" in sms[2].body


def test_a_locker_holds_a_compartment_until_the_choice_moves(zone):
    first, second = factories.make_parcel(), factories.make_parcel()
    locker = point("Box Locker")
    choose(first, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)
    db.session.commit()
    assert current_choice(first).type is C.LOCKER
    with pytest.raises(LockerFull):
        choose(second, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)
    db.session.rollback()
    option = next(
        o for o in delivery_options.for_parcel(second, NOW).pickup_points if o.point.is_locker
    )
    assert not option.available and option.why_not == "No free compartment"
    choose(first, ChoiceRequest(C.NEIGHBOUR, neighbour_name="Erik", neighbour_house="12"), now=NOW)
    db.session.commit()
    choose(second, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)
    db.session.commit()
    db.session.refresh(locker)
    assert locker.lockers_reserved == 1


def test_heavy_parcels_get_neither_lockers_nor_cargo_bikes(zone, app):
    heavy = factories.make_parcel()
    heavy.weight_grams = 26_000
    db.session.commit()
    options = delivery_options.for_parcel(heavy, NOW)
    assert {o.vehicle for o in options.slots} == {Vehicle.VAN}
    locker = next(o for o in options.pickup_points if o.point.is_locker)
    assert locker.why_not == "Too heavy for a locker"
    with pytest.raises(DomainError, match="too heavy"):
        choose(heavy, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)


def test_hold_runs_from_tomorrow_up_to_thirty_days(parcel):
    choice = choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 11, 27)), now=NOW)
    assert choice.day == date(2026, 11, 27) and parcel.eta_from.date() == date(2026, 11, 27)
    for too_soon in (date(2026, 11, 25), date(2026, 11, 26)):
        with pytest.raises(DomainError, match="Choose a later date"):
            choose(parcel, ChoiceRequest(C.HOLD, day=too_soon), now=NOW)
    with pytest.raises(DomainError, match="until Saturday 26 December at the latest"):
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 12, 27)), now=NOW)


def test_hold_never_past_the_merchants_storage_limit(zone):
    merchant = factories.make_merchant()
    merchant.storage_days = 10
    db.session.commit()
    parcel = factories.make_parcel(merchant=merchant)
    with pytest.raises(DomainError, match="until Sunday 6 December at the latest"):
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 12, 7)), now=NOW)


def test_neighbour_and_safe_place_need_their_details(parcel):
    with pytest.raises(DomainError) as err:
        choose(parcel, ChoiceRequest(C.NEIGHBOUR, neighbour_name="Erik"), now=NOW)
    assert err.value.field == "neighbour_house"
    with pytest.raises(DomainError) as err:
        choose(parcel, ChoiceRequest(C.SAFE_PLACE, place="other"), now=NOW)
    assert err.value.field == "note"


def test_after_a_failed_attempt_rebook_within_seven_days_or_pick_up(zone):
    failed = factories.make_parcel(
        statuses=[
            ParcelStatus.IN_TRANSIT,
            ParcelStatus.OUT_FOR_DELIVERY,
            ParcelStatus.DELIVERY_FAILED,
        ],
        start=NOW - timedelta(hours=4),
    )
    options = delivery_options.for_parcel(failed, NOW)
    assert options.window.latest_day == date(2026, 12, 3)
    assert max(o.date for o in options.slots) <= date(2026, 12, 3)
    assert options.safe_place is None and options.neighbour is None and options.hold is None
    late = db.session.execute(select(Slot).where(Slot.day == date(2026, 12, 4))).scalars().first()
    with pytest.raises(DomainError, match="up to Thursday 3 December"):
        choose(failed, ChoiceRequest(C.SLOT, slot_id=late.id), now=NOW)
    db.session.rollback()
    with pytest.raises(ChangeTooLate, match="new day or a pickup point"):
        choose(failed, ChoiceRequest(C.NEIGHBOUR, neighbour_name="E", neighbour_house="1"), now=NOW)
    db.session.rollback()
    choose(failed, ChoiceRequest(C.PICKUP_POINT, pickup_point_id=point("Near Shop").id), now=NOW)


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (ParcelStatus.OUT_FOR_DELIVERY, "already out for delivery"),
        (ParcelStatus.READY_FOR_PICKUP, "waiting at the pickup point"),
        (ParcelStatus.DELIVERED, "journey has ended"),
    ],
)
def test_closed_statuses_say_why(zone, status, reason):
    parcel = factories.make_parcel(statuses=[status], start=NOW - timedelta(hours=1))
    options = delivery_options.for_parcel(parcel, NOW)
    assert not options.window.open and reason in str(options.window.reason)
    assert options.all() == []
    with pytest.raises(ChangeTooLate, match=reason):
        choose(parcel, ChoiceRequest(C.GREEN_DAY), now=NOW)


def test_parcels_outside_our_zones_have_nothing_to_choose(zone):
    parcel = factories.make_parcel(postcode="211 20", city="Malmö")
    assert delivery_options.for_parcel(parcel, NOW) is None
    with pytest.raises(DomainError) as err:
        choose(parcel, ChoiceRequest(C.GREEN_DAY), now=NOW)
    assert err.value.code == "postcode_not_served"


def test_slots_command_is_idempotent(app, zone):
    runner = app.test_cli_runner()
    first = runner.invoke(args=["slots", "generate", "--days", "21"])
    assert first.exit_code == 0 and "new slots" in first.output
    again = runner.invoke(args=["slots", "generate", "--days", "21"])
    assert again.output.startswith("0 new slots")


def _fail(parcel_start=None):
    return factories.make_parcel(
        statuses=[ParcelStatus.OUT_FOR_DELIVERY, ParcelStatus.DELIVERY_FAILED],
        start=parcel_start or NOW - timedelta(hours=3),
    )


def test_a_rebooked_day_closes_at_its_own_cutoff(zone):
    failed = _fail()
    friday = slot_on(date(2026, 11, 27))
    choose(failed, ChoiceRequest(C.SLOT, slot_id=friday.id), now=NOW)
    db.session.commit()
    friday_morning = NOW + timedelta(hours=22)  # Friday 08:00 Stockholm, past Thursday 18:00
    with pytest.raises(ChangeTooLate, match="Changes closed at 18:00"):
        choose(
            failed,
            ChoiceRequest(C.PICKUP_POINT, pickup_point_id=point("Near Shop").id),
            now=friday_morning,
        )
    db.session.rollback()
    db.session.refresh(friday)
    assert friday.booked == 1  # the van still comes


def test_the_carriers_planned_day_closes_changes_without_a_dated_choice(zone):
    friday_9 = NOW.replace(hour=8) + timedelta(days=1)  # Friday 09:00 Stockholm
    parcel = factories.make_parcel(
        statuses=[ParcelStatus.IN_TRANSIT], eta=(friday_9, friday_9 + timedelta(hours=2))
    )
    assert delivery_options.for_parcel(parcel, NOW).window.open
    friday_7 = friday_9 - timedelta(hours=2)
    with pytest.raises(ChangeTooLate):
        choose(
            parcel,
            ChoiceRequest(C.NEIGHBOUR, neighbour_name="Erik", neighbour_house="12"),
            now=friday_7,
        )


def test_a_merchant_that_stores_nothing_allows_no_hold(zone):
    merchant = factories.make_merchant()
    merchant.storage_days = 0
    db.session.commit()
    parcel = factories.make_parcel(merchant=merchant)
    with pytest.raises(DomainError, match="at the latest"):
        choose(parcel, ChoiceRequest(C.HOLD, day=date(2026, 11, 27)), now=NOW)


def test_an_ended_journey_gives_back_lockers_and_unused_slots(zone, carrier):
    locker = point("Box Locker")
    collected = factories.make_parcel(carrier=carrier)
    choose(collected, ChoiceRequest(C.LOCKER, pickup_point_id=locker.id), now=NOW)
    cancelled = factories.make_parcel(carrier=carrier)
    friday = slot_on(date(2026, 11, 27))
    choose(cancelled, ChoiceRequest(C.SLOT, slot_id=friday.id), now=NOW)
    db.session.commit()
    factories.add_events(collected, ("c-1", "delivered", NOW - timedelta(minutes=5)))
    factories.add_events(cancelled, ("x-1", "cancelled", NOW - timedelta(minutes=5)))
    # A stale second terminal event gives nothing back twice.
    factories.add_events(collected, ("c-2", "return_to_sender", NOW - timedelta(minutes=1)))
    db.session.refresh(locker)
    db.session.refresh(friday)
    assert locker.lockers_reserved == 0 and friday.booked == 0


def test_leaving_a_slot_brings_back_the_carriers_window(zone):
    friday_13 = NOW.replace(hour=12) + timedelta(days=1)
    carrier_window = (friday_13, friday_13 + timedelta(hours=3))
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT], eta=carrier_window)
    friday = slot_on(date(2026, 11, 27))
    choose(parcel, ChoiceRequest(C.SLOT, slot_id=friday.id), now=NOW)
    assert parcel.eta_from == friday.starts_at
    choose(parcel, ChoiceRequest(C.NEIGHBOUR, neighbour_name="Erik", neighbour_house="12"), now=NOW)
    assert (parcel.eta_from, parcel.eta_to) == carrier_window
