"""Closing what parcels are booked on (a dated slot, a pickup point or locker, a whole day)
without stranding them: first the list of parcels a closure would touch, for the supervisor to
see; then, once confirmed, each of those bookings is given back, the carrier's own plan applies
again, and the recipient is told through the outbox with a one-tap link to choose again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.localtime import parcel_zone
from portal.models import (
    TERMINAL_STATUSES,
    ChoiceType,
    ClosedDay,
    DeliveryChoice,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Slot,
    Zone,
)
from portal.models.types import utcnow
from portal.services import delivery
from portal.services.errors import DomainError

# Parcels past these have left the choice behind (the carrier acts on what is at the point).
_SETTLED = frozenset(TERMINAL_STATUSES | {ParcelStatus.READY_FOR_PICKUP})


@dataclass
class Affected:
    """A parcel whose booking a closure takes away."""

    parcel: Parcel
    choice: DeliveryChoice

    @property
    def tracking_number(self) -> str:
        return self.parcel.tracking_number


def _open_choices(*conditions) -> list[Affected]:
    rows = db.session.execute(
        select(DeliveryChoice)
        .options(joinedload(DeliveryChoice.parcel))
        .where(
            DeliveryChoice.superseded_at.is_(None),
            DeliveryChoice.released_at.is_(None),
            *conditions,
        )
        .order_by(DeliveryChoice.id)
    ).scalars()
    return [Affected(c.parcel, c) for c in rows if c.parcel.status not in _SETTLED]


def affected_by_slot(slot: Slot) -> list[Affected]:
    return _open_choices(DeliveryChoice.slot_id == slot.id)


def affected_by_point(
    point: PickupPoint, closed_from: date, closed_until: date | None
) -> list[Affected]:
    """Parcels booked on the point that would arrive while it is closed: all of them when it
    closes for good; for a period, those expected before it reopens (or with no date yet)."""
    found = _open_choices(DeliveryChoice.pickup_point_id == point.id)
    if closed_until is None:
        return found
    out = []
    for a in found:
        eta = a.parcel.eta_to or a.parcel.eta_from
        if eta is None or eta.astimezone(parcel_zone(a.parcel)).date() <= closed_until:
            out.append(a)
    return out


def affected_by_day(zone: Zone, day: date) -> list[Affected]:
    """Parcels booked on the zone's slots that day, or on a green day or hold ending that day."""
    slot_ids = select(Slot.id).where(Slot.zone_id == zone.id, Slot.day == day)
    by_slot = _open_choices(DeliveryChoice.slot_id.in_(slot_ids))
    by_day = _open_choices(
        DeliveryChoice.day == day,
        DeliveryChoice.type.in_([ChoiceType.GREEN_DAY, ChoiceType.HOLD]),
        DeliveryChoice.parcel_id.in_(select(Parcel.id).where(Parcel.zone_id == zone.id)),
    )
    return by_slot + by_day


def withdraw(affected: list[Affected], *, reason: str, now: datetime) -> int:
    """Give back each booking, let the carrier's plan apply and tell the recipient."""
    from portal.notifications.outbox import notify  # the outbox imports delivery, as we do

    for a in affected:
        choice, parcel = a.choice, a.parcel
        text = delivery.describe(choice, parcel.time_zone)
        delivery.release_booking(choice)
        choice.superseded_at = now
        choice.released_at = now
        window = delivery.carrier_eta(parcel)
        parcel.eta_from, parcel.eta_to = window or (None, None)
        parcel.eta_at = now
        db.session.flush()
        notify(
            parcel,
            "choice_withdrawn",
            now=now,
            extra={"withdrawn_text": text, "reason": reason},
            dedupe_suffix=f":{choice.id}",
            link_target=f"/t/{parcel.tracking_number}/delivery",
        )
    return len(affected)


def close_slot(slot: Slot, *, reason: str, now: datetime | None = None) -> list[Affected]:
    """Close a dated slot: no new bookings, and its bookings moved off as `withdraw` says."""
    now = now or utcnow()
    affected = affected_by_slot(slot)
    withdraw(affected, reason=reason, now=now)
    slot.closed_at = now
    slot.closed_reason = reason or None
    db.session.flush()
    return affected


def close_point(
    point: PickupPoint,
    *,
    closed_from: date,
    closed_until: date | None = None,
    reason: str = "",
    now: datetime | None = None,
) -> list[Affected]:
    """Close a pickup point or locker from `closed_from` (to `closed_until`, or for good)."""
    if closed_until is not None and closed_until < closed_from:
        raise DomainError("The last closed day is before the first.", field="closed_until")
    now = now or utcnow()
    affected = affected_by_point(point, closed_from, closed_until)
    withdraw(affected, reason=reason, now=now)
    point.closed_from, point.closed_until = closed_from, closed_until
    point.closed_reason = reason or None
    db.session.flush()
    return affected


def reopen_point(point: PickupPoint) -> None:
    point.closed_from = point.closed_until = point.closed_reason = None
    db.session.flush()


def close_day(
    zone: Zone, day: date, *, reason: str, now: datetime | None = None
) -> tuple[ClosedDay, list[Affected]]:
    """An operator's closed day: that day's slots close, and green days or holds ending that day
    are withdrawn, each recipient told."""
    now = now or utcnow()
    existing = db.session.execute(
        select(ClosedDay).where(ClosedDay.zone_id == zone.id, ClosedDay.day == day)
    ).scalar_one_or_none()
    if existing is not None:
        raise DomainError(f"{day.isoformat()} is already closed in {zone.name}.", field="day")
    affected = affected_by_day(zone, day)
    withdraw(affected, reason=reason, now=now)
    for slot in db.session.execute(
        select(Slot).where(Slot.zone_id == zone.id, Slot.day == day, Slot.closed_at.is_(None))
    ).scalars():
        slot.closed_at, slot.closed_reason = now, reason or None
    row = ClosedDay(zone_id=zone.id, day=day, reason=reason or "")
    db.session.add(row)
    db.session.flush()
    return row, affected


def reopen_day(row: ClosedDay) -> None:
    """The day is open again: the slots closed with it take bookings again."""
    for slot in db.session.execute(
        select(Slot).where(Slot.zone_id == row.zone_id, Slot.day == row.day)
    ).scalars():
        slot.closed_at = slot.closed_reason = None
    db.session.delete(row)
    db.session.flush()
