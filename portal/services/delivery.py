"""Delivery choices: generating slots, and booking them without ever overbooking.

A booking is one conditional UPDATE (`booked = booked + 1 WHERE booked < capacity`) whose row
count says whether there was room, backed by a CHECK constraint, so concurrent recipients can
never take more than the capacity on SQLite or PostgreSQL. Moving to another slot gives the old
one back in the same transaction.
"""

from __future__ import annotations

from datetime import date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from sqlalchemy import select, update

from portal.extensions import db
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Parcel,
    ParcelStatus,
    Slot,
    SlotTemplate,
    Zone,
)
from portal.models.types import utcnow
from portal.services.errors import Conflict, DomainError, NotFound

# Changes close at 18:00 local time the day before delivery (PRODUCT.md).
CUTOFF = time(18, 0)


class SlotFull(Conflict):
    code = "slot_full"


class ChangeTooLate(Conflict):
    code = "change_too_late"


def generate_slots(days: int = 14, *, today: date | None = None) -> int:
    """Dated slots for the next `days` days from every zone's templates; existing ones are kept
    (so running it again, or daily, creates only what is missing). Returns how many were made."""
    made = 0
    templates = db.session.execute(select(SlotTemplate)).scalars().all()
    for template in templates:
        zone = ZoneInfo(template.zone.time_zone)
        start_day = today or datetime.now(zone).date()
        for offset in range(days):
            day = start_day + timedelta(days=offset)
            if day.weekday() != template.weekday:
                continue
            starts_at = datetime.combine(day, template.start_time, tzinfo=zone)
            exists = db.session.execute(
                select(Slot.id).where(Slot.zone_id == template.zone_id, Slot.starts_at == starts_at)
            ).first()
            if exists:
                continue
            db.session.add(
                Slot(
                    zone_id=template.zone_id,
                    day=day,
                    starts_at=starts_at,
                    ends_at=datetime.combine(day, template.end_time, tzinfo=zone),
                    capacity=template.capacity,
                    vehicle=template.vehicle,
                )
            )
            made += 1
    db.session.flush()
    return made


def cutoff(day: date, zone: Zone) -> datetime:
    """When changes to a delivery on `day` close: 18:00 local time the day before."""
    return datetime.combine(day - timedelta(days=1), CUTOFF, tzinfo=ZoneInfo(zone.time_zone))


def current_choice(parcel: Parcel) -> DeliveryChoice | None:
    return db.session.execute(
        select(DeliveryChoice)
        .where(DeliveryChoice.parcel_id == parcel.id, DeliveryChoice.superseded_at.is_(None))
        .order_by(DeliveryChoice.made_at.desc(), DeliveryChoice.id.desc())
        .limit(1)
    ).scalar_one_or_none()


def check_change_allowed(parcel: Parcel, now: datetime) -> None:
    """ChangeTooLate, saying why, once the parcel is out for delivery (or done), or once the
    cutoff for the booked delivery day has passed."""
    if parcel.status is ParcelStatus.OUT_FOR_DELIVERY:
        raise ChangeTooLate("The parcel is already out for delivery today.")
    if parcel.status.is_terminal:
        raise ChangeTooLate("This parcel's journey has ended.")
    current = current_choice(parcel)
    if current and current.slot and parcel.zone and now >= cutoff(current.slot.day, parcel.zone):
        raise ChangeTooLate(
            "Changes closed at 18:00 the day before your delivery; it is being loaded."
        )


def book_slot(
    parcel: Parcel, slot_id: int, *, now: datetime | None = None, made_by: str = "recipient"
) -> DeliveryChoice:
    """Book `slot_id` for the parcel (moving it from any slot it had). Raises SlotFull,
    ChangeTooLate, or a DomainError for a slot that isn't the parcel's to book."""
    now = now or utcnow()
    # Lock the parcel: two clicks of one recipient can't both move it (PostgreSQL; SQLite
    # serialises writers anyway).
    db.session.execute(select(Parcel.id).where(Parcel.id == parcel.id).with_for_update())
    slot = db.session.get(Slot, slot_id)
    if slot is None:
        raise NotFound("There is no such delivery slot.", field="slot", code="slot_not_found")
    if parcel.zone_id is None or slot.zone_id != parcel.zone_id:
        raise DomainError("That slot is for another area.", field="slot", code="slot_elsewhere")
    check_change_allowed(parcel, now)
    if now >= cutoff(slot.day, slot.zone):
        raise ChangeTooLate(
            "That slot can no longer be booked: changes close at 18:00 the day before."
        )
    current = current_choice(parcel)
    if current is not None and current.slot_id == slot.id:
        return current  # booked already: nothing to do
    taken = db.session.execute(
        update(Slot)
        .where(Slot.id == slot.id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise SlotFull("That slot has just filled up. Please choose another.", field="slot")
    if current is not None:
        if current.slot_id:
            db.session.execute(
                update(Slot)
                .where(Slot.id == current.slot_id, Slot.booked > 0)
                .values(booked=Slot.booked - 1)
                .execution_options(synchronize_session=False)
            )
        current.superseded_at = now
    choice = DeliveryChoice(parcel=parcel, type=ChoiceType.SLOT, slot=slot, made_by=made_by)
    db.session.add(choice)
    parcel.eta_from, parcel.eta_to, parcel.eta_at = slot.starts_at, slot.ends_at, now
    db.session.flush()
    db.session.refresh(slot)
    return choice
