"""Closures that never strand a parcel nor touch what they shouldn't: reopening a day leaves a
slot closed on its own closed, a closure next month spares a parcel due tomorrow, a van already
out keeps its slot, a removed template deletes nothing, and the message speaks the
recipient's language."""

from __future__ import annotations

from datetime import date, timedelta

import pytest
import time_machine
from sqlalchemy import select

from portal.extensions import db
from portal.models import ChoiceType, Notification, ParcelStatus, Slot, SlotTemplate
from portal.services import delivery
from portal.services.network import closures, imports
from tests.support import factories

NOW = factories.DELIVERY_NOW  # Thursday 26 November 2026, 10:00 in Stockholm
FRIDAY = date(2026, 11, 27)


@pytest.fixture(autouse=True)
def frozen():
    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def zone(db):
    return factories.make_delivery_zone()


def book(parcel, **request):
    choice = delivery.choose(parcel, delivery.ChoiceRequest(**request), confirm=False)
    db.session.commit()
    return choice


def withdrawn(parcel) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification).where(
                Notification.parcel_id == parcel.id, Notification.trigger == "choice_withdrawn"
            )
        ).scalars()
    )


def test_reopening_a_day_leaves_a_slot_closed_on_its_own_closed(zone):
    van, bike = factories.slots_on(FRIDAY)
    closures.close_slot(van, reason="Van in for repair", now=NOW)
    row, _ = closures.close_day(zone, FRIDAY, reason="Strike", now=NOW + timedelta(minutes=5))
    db.session.commit()
    closures.reopen_day(row)
    db.session.commit()
    db.session.refresh(van)
    db.session.refresh(bike)
    assert (van.closed_at is not None, van.closed_reason) == (True, "Van in for repair")
    assert bike.closed_at is None


def test_a_point_closed_next_month_spares_a_parcel_due_tomorrow(zone):
    tomorrow = (NOW + timedelta(days=1), NOW + timedelta(days=1, hours=2))
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT], eta=tomorrow)
    shop = factories.pickup_point("Near Shop")
    book(parcel, type=ChoiceType.PICKUP_POINT, pickup_point_id=shop.id)
    later = closures.affected_by_point(shop, date(2026, 12, 20), date(2026, 12, 27))
    soon = closures.affected_by_point(shop, date(2026, 11, 30), date(2026, 12, 1))
    assert later == []
    assert [a.tracking_number for a in soon] == [parcel.tracking_number]


def test_a_van_already_out_keeps_its_slot(zone):
    van, _ = factories.slots_on(FRIDAY)
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    book(parcel, type=ChoiceType.SLOT, slot_id=van.id)
    factories.add_events(parcel, ("e-out", "out_for_delivery", NOW))
    assert closures.close_slot(van, reason="Van broke down", now=NOW) == []
    db.session.commit()
    assert withdrawn(parcel) == []
    db.session.refresh(van)
    assert van.booked == 1


def test_removing_a_template_deletes_no_slot_a_choice_points_at(zone):
    van, _ = factories.slots_on(FRIDAY)
    parcel = factories.make_parcel(statuses=[ParcelStatus.IN_TRANSIT])
    book(parcel, type=ChoiceType.SLOT, slot_id=van.id)
    # The recipient moves on: the old choice still names the slot, which nobody holds now.
    book(parcel, type=ChoiceType.NEIGHBOUR, neighbour_name="Ebba", neighbour_house="12")
    imports.remove_template(db.session.get(SlotTemplate, van.template_id), now=NOW)
    db.session.commit()
    db.session.refresh(van)
    assert van.closed_at is not None and van.template_id is None
    delivery.generate_slots(14, today=FRIDAY)
    db.session.commit()
    assert db.session.execute(select(Slot.id).where(Slot.starts_at == van.starts_at)).all() == [
        (van.id,)
    ]


def test_the_recipient_reads_what_was_withdrawn_in_their_own_language(zone):
    parcel = factories.make_parcel(language="sv", statuses=[ParcelStatus.IN_TRANSIT])
    box = factories.pickup_point("Box Locker")
    book(parcel, type=ChoiceType.LOCKER, pickup_point_id=box.id)
    closures.close_point(box, closed_from=date(2026, 11, 26), reason="Reparation", now=NOW)
    db.session.commit()
    told = withdrawn(parcel)
    assert told
    assert all("Paketskåp: Box Locker" in n.body for n in told), [n.body for n in told]
