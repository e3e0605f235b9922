"""Places in slots and lockers: taking one, giving it back, and each merchant's share of a slot.

A place is taken with one conditional UPDATE (`booked = booked + 1 WHERE booked < capacity`)
whose row count says whether there was room, backed by a CHECK constraint, so concurrent
recipients can never take more than the capacity on SQLite or PostgreSQL."""

from __future__ import annotations

from collections.abc import Collection
from datetime import datetime

from sqlalchemy import func, select, union_all, update

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import (
    ChoiceType,
    DeliveryChoice,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Return,
    ReturnStatus,
    Slot,
)
from portal.services.delivery.choices import current_choice
from portal.services.delivery.errors import LockerFull, MerchantSlotShareFull, SlotFull

S = ParcelStatus
C = ChoiceType
# DeliveryChoice.made_by of a merchant's checkout booking (API `delivery_choice`): the only
# bookings its slot share limits and counts.
MADE_BY_MERCHANT = "merchant"


def merchant_slot_limit(capacity: int, share: int) -> int:
    """How many of a slot's `capacity` places one merchant's API bookings may hold with a share
    of `share` percent. Rounded down, so shares that add up to 100 % never promise more places
    than the slot has; but never nothing (a share is at least 1 %), or a checkout could never
    offer a small slot at all: a one-place slot stays bookable at checkout."""
    return max(1, capacity * share // 100)


def merchant_api_bookings(merchant_id: int, slot_ids: Collection[int]) -> dict[int, int]:
    """Places the merchant's API bookings hold now in each of `slot_ids` (absent: none): its
    checkouts' delivery choices and the home pickups of returns it opened through the API.

    A booking a recipient has since changed on their page, a withdrawn one and one given back
    when the journey ended don't count; a delivered parcel's does, as in Slot.booked. A
    rejected return gave its pickup place back."""
    if not slot_ids:
        return {}
    choices = (
        select(DeliveryChoice.slot_id.label("slot_id"))
        .join(Parcel, Parcel.id == DeliveryChoice.parcel_id)
        .where(
            DeliveryChoice.slot_id.in_(slot_ids),
            DeliveryChoice.superseded_at.is_(None),
            DeliveryChoice.released_at.is_(None),
            DeliveryChoice.made_by == MADE_BY_MERCHANT,
            Parcel.merchant_id == merchant_id,
        )
    )
    pickups = select(Return.slot_id.label("slot_id")).where(
        Return.slot_id.in_(slot_ids),
        Return.merchant_id == merchant_id,
        Return.created_by == MADE_BY_MERCHANT,
        Return.status != ReturnStatus.REJECTED,
    )
    held = union_all(choices, pickups).subquery()
    rows = db.session.execute(select(held.c.slot_id, func.count()).group_by(held.c.slot_id))
    return {slot_id: count for slot_id, count in rows}


def check_merchant_share(parcel: Parcel, slot: Slot) -> None:
    """Refuse a merchant's API booking once its bookings hold its share of the slot.

    The slot row is locked before counting, so two checkouts of one merchant racing for its
    last place queue up and the second counts the first (PostgreSQL, read committed: each
    statement sees what committed before it; SQLite serialises writers). A full slot is left
    to reserve, whose `slot_full` says more than the share would."""
    capacity, taken = db.session.execute(
        select(Slot.capacity, Slot.booked).where(Slot.id == slot.id).with_for_update()
    ).one()
    if taken >= capacity:
        return
    merchant = parcel.merchant
    limit = merchant_slot_limit(capacity, merchant.api_slot_share)
    held = merchant_api_bookings(merchant.id, [slot.id]).get(slot.id, 0)
    if held >= limit:
        raise MerchantSlotShareFull(
            str(
                _l(
                    "Your share of this time is used up: your bookings through the API may hold "
                    "%(limit)s of its %(capacity)s places. Choose another time, or leave out "
                    "the delivery choice so the recipient can choose on their parcel page.",
                    limit=limit,
                    capacity=capacity,
                )
            ),
            field="slot",
        )


def lock_in_order(new: DeliveryChoice, old: DeliveryChoice | None) -> None:
    """Lock the slots (and lockers) a move touches in id order, so two recipients swapping
    between the same two slots queue up instead of deadlocking (PostgreSQL; a no-op on SQLite,
    which serialises writers)."""
    slots = {c.slot.id if c.slot else c.slot_id for c in (new, old) if c is not None} - {None}
    if len(slots) > 1:
        db.session.execute(
            select(Slot.id).where(Slot.id.in_(slots)).order_by(Slot.id).with_for_update()
        ).all()
    points = {
        c.pickup_point.id if c.pickup_point else c.pickup_point_id
        for c in (new, old)
        if c is not None and c.type is C.LOCKER
    } - {None}
    if len(points) > 1:
        db.session.execute(
            select(PickupPoint.id)
            .where(PickupPoint.id.in_(points))
            .order_by(PickupPoint.id)
            .with_for_update()
        ).all()


def reserve(choice: DeliveryChoice) -> None:
    if choice.slot is not None:
        taken = db.session.execute(
            update(Slot)
            .where(Slot.id == choice.slot.id, Slot.booked < Slot.capacity, Slot.closed_at.is_(None))
            .values(booked=Slot.booked + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise SlotFull(
                str(_l("That time has just filled up. Please choose another.")), field="slot"
            )
    if choice.type is C.LOCKER and choice.pickup_point is not None:
        taken = db.session.execute(
            update(PickupPoint)
            .where(
                PickupPoint.id == choice.pickup_point.id,
                PickupPoint.lockers_reserved < PickupPoint.locker_capacity,
            )
            .values(lockers_reserved=PickupPoint.lockers_reserved + 1)
            .execution_options(synchronize_session=False)
        )
        if taken.rowcount != 1:
            raise LockerFull(
                str(_l("That locker has no free compartment. Please choose another.")),
                field="pickup_point",
            )


def release_on_end(parcel: Parcel, status: S, now: datetime) -> None:
    """The journey ended: a locker compartment is empty again, and a cancelled or returned
    parcel gives its slot place back. A delivered parcel used its slot, which stays counted."""
    choice = current_choice(parcel)
    if choice is None or choice.released_at is not None:
        return
    if status is S.DELIVERED:
        if choice.type is C.LOCKER:
            release_booking(choice, slot=False)
            choice.released_at = now
    elif status in (S.CANCELLED, S.RETURN_TO_SENDER):
        release_booking(choice)
        choice.released_at = now


def release_booking(previous: DeliveryChoice, *, slot: bool = True) -> None:
    """Give back what the replaced choice held, in the same transaction as the new booking."""
    if previous.released_at is not None:
        return
    if slot and previous.slot_id:
        db.session.execute(
            update(Slot)
            .where(Slot.id == previous.slot_id, Slot.booked > 0)
            .values(booked=Slot.booked - 1)
            .execution_options(synchronize_session=False)
        )
    if previous.type is C.LOCKER and previous.pickup_point_id:
        db.session.execute(
            update(PickupPoint)
            .where(PickupPoint.id == previous.pickup_point_id, PickupPoint.lockers_reserved > 0)
            .values(lockers_reserved=PickupPoint.lockers_reserved - 1)
            .execution_options(synchronize_session=False)
        )
