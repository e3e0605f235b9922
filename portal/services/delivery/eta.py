"""The parcel's delivery window: the booked day's, or else the carrier's."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.models import ChoiceType, DeliveryChoice, Parcel, ParcelStatus, TrackingEvent
from portal.services.delivery.days import day_window

S = ParcelStatus
C = ChoiceType
# After these the carrier's delivery window no longer holds (services/events.py clears it; a
# choice that fixes no day falls back to the carrier's window only if none came since).
ETA_ENDS = frozenset(
    {S.DELIVERY_FAILED, S.READY_FOR_PICKUP, S.DELIVERED, S.RETURN_TO_SENDER, S.CANCELLED}
)


def update_eta(parcel: Parcel, choice: DeliveryChoice, now: datetime) -> None:
    """Choices that fix a day move the ETA window to it; instructions keep the carrier's."""
    if choice.slot is not None:
        window = (choice.slot.starts_at, choice.slot.ends_at)
    elif choice.type in (C.GREEN_DAY, C.HOLD) and choice.day is not None and parcel.zone:
        window = day_window(parcel.zone, choice.day)
    else:
        # An instruction or a pickup point fixes no day: the carrier's own plan applies again
        # (not the window of a slot just given up, which others may now book).
        window = carrier_eta(parcel)
    parcel.eta_from, parcel.eta_to = window or (None, None)
    parcel.eta_at = now


def carrier_eta(parcel: Parcel) -> tuple[datetime, datetime] | None:
    """The window of the carrier's newest event with one, unless a later event voided it."""
    latest = db.session.execute(
        select(TrackingEvent)
        .where(TrackingEvent.parcel_id == parcel.id, TrackingEvent.eta_from.is_not(None))
        .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        .limit(1)
    ).scalar_one_or_none()
    if latest is None:
        return None
    voided = db.session.execute(
        select(TrackingEvent.id).where(
            TrackingEvent.parcel_id == parcel.id,
            TrackingEvent.occurred_at > latest.occurred_at,
            TrackingEvent.code.in_(ETA_ENDS),
        )
    ).first()
    return None if voided else (latest.eta_from, latest.eta_to)
