"""Closing what parcels are booked on (a dated slot, a pickup point or locker, a whole day)
without stranding them: first the list of parcels a closure would touch, for the supervisor to
see; then, once confirmed, each of those bookings is given back, the carrier's own plan applies
again, and the recipient is told through the outbox with a one-tap link to choose again."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime, timedelta

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
    Return,
    ReturnStatus,
    Slot,
    Zone,
)
from portal.models.types import utcnow
from portal.services import delivery
from portal.services.errors import DomainError
from portal.services.messages import notify

# Parcels past these have left the choice behind (the carrier acts on what is at the point).
_SETTLED = frozenset(TERMINAL_STATUSES | {ParcelStatus.READY_FOR_PICKUP})
# A van already on its round keeps today's slot: nothing can be chosen again now (the
# recipient may rebook after the driver's attempt), so "choose again" would be a false promise.
_ON_THE_ROAD = frozenset(_SETTLED | {ParcelStatus.OUT_FOR_DELIVERY})
# Returns waiting for a home pickup on a slot.
_PICKUP_PENDING = (ReturnStatus.REQUESTED, ReturnStatus.APPROVED)


@dataclass
class Affected:
    """A parcel whose booking a closure takes away."""

    parcel: Parcel
    choice: DeliveryChoice

    @property
    def tracking_number(self) -> str:
        return self.parcel.tracking_number


def _open_choices(*conditions, settled: frozenset = _SETTLED) -> list[Affected]:
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
    return [Affected(c.parcel, c) for c in rows if c.parcel.status not in settled]


def affected_by_slot(slot: Slot) -> list[Affected]:
    return _open_choices(DeliveryChoice.slot_id == slot.id, settled=_ON_THE_ROAD)


def _refuse_return_pickups(slot_ids) -> None:
    """A return's home pickup has no "choose again" page yet: closing its slot would strand it,
    so the closure is refused and names the returns to settle first."""
    rmas = (
        db.session.execute(
            select(Return.rma)
            .where(Return.slot_id.in_(slot_ids), Return.status.in_(_PICKUP_PENDING))
            .order_by(Return.rma)
        )
        .scalars()
        .all()
    )
    if rmas:
        raise DomainError(
            f"{len(rmas)} return pickups are booked on it ({', '.join(rmas)}): reject them or "
            "have them collected first.",
            field="slot",
            code="return_pickups_booked",
        )


def affected_by_point(
    point: PickupPoint, closed_from: date, closed_until: date | None
) -> list[Affected]:
    """Parcels booked on the point that would arrive while it is closed: all of them when it
    closes for good; for a period, those expected before it reopens (or with no date yet)."""
    found = _open_choices(DeliveryChoice.pickup_point_id == point.id)
    out = []
    for a in found:
        # The days the parcel needs the point: from its arrival (or now, when not known)
        # until it has waited its days there; withdrawn only if the closure falls in them.
        today = utcnow().astimezone(parcel_zone(a.parcel)).date()
        arrival = delivery.arrival_day(a.parcel, today)
        first = arrival or today
        last = first + timedelta(days=delivery.PICKUP_HOLD_DAYS)
        if arrival is None and closed_until is None:
            out.append(a)  # closing for good, arrival unknown: it may come any day after
        elif closed_from <= last and (closed_until is None or closed_until >= first):
            out.append(a)
    return out


def affected_by_day(zone: Zone, day: date) -> list[Affected]:
    """Parcels booked on the zone's slots that day, or on a green day or hold ending that day."""
    slot_ids = select(Slot.id).where(Slot.zone_id == zone.id, Slot.day == day)
    by_slot = _open_choices(DeliveryChoice.slot_id.in_(slot_ids), settled=_ON_THE_ROAD)
    by_day = _open_choices(
        DeliveryChoice.day == day,
        DeliveryChoice.type.in_([ChoiceType.GREEN_DAY, ChoiceType.HOLD]),
        DeliveryChoice.parcel_id.in_(select(Parcel.id).where(Parcel.zone_id == zone.id)),
    )
    return by_slot + by_day


def withdraw(affected: list[Affected], *, reason: str, now: datetime) -> int:
    """Give back each booking, let the carrier's plan apply and tell the recipient."""
    for a in affected:
        choice, parcel = a.choice, a.parcel
        # The recipient (or a carrier's last scan) may have moved the parcel on meanwhile: lock
        # it, read the choice again, and leave alone what is no longer in force.
        db.session.execute(select(Parcel.id).where(Parcel.id == parcel.id).with_for_update())
        db.session.refresh(choice)
        if choice.superseded_at is not None or choice.released_at is not None:
            continue
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
            # Described when the message is written, in the recipient's language.
            extra={"withdrawn_choice_id": choice.id, "reason": reason},
            dedupe_suffix=f":{choice.id}",
            link_target=f"/t/{parcel.tracking_number}/delivery",
        )
    return len(affected)


def close_slot(slot: Slot, *, reason: str, now: datetime | None = None) -> list[Affected]:
    """Close a dated slot: no new bookings, and its bookings moved off as `withdraw` says."""
    now = now or utcnow()
    # Locked first: a booking racing the closure waits, then finds the slot closed.
    db.session.execute(select(Slot.id).where(Slot.id == slot.id).with_for_update())
    _refuse_return_pickups([slot.id])
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
    slots = (
        db.session.execute(
            select(Slot)
            .where(Slot.zone_id == zone.id, Slot.day == day, Slot.closed_at.is_(None))
            .order_by(Slot.id)
            .with_for_update()
        )
        .scalars()
        .all()
    )
    _refuse_return_pickups([s.id for s in slots])
    affected = affected_by_day(zone, day)
    withdraw(affected, reason=reason, now=now)
    for slot in slots:
        slot.closed_at, slot.closed_reason = now, reason or None
    # The same moment marks the slots this day closed, so reopening it reopens only those.
    row = ClosedDay(zone_id=zone.id, day=day, reason=reason or "", created_at=now)
    db.session.add(row)
    db.session.flush()
    return row, affected


def reopen_day(row: ClosedDay) -> None:
    """The day is open again: the slots closed with it take bookings again (not those a
    supervisor closed on their own)."""
    for slot in db.session.execute(
        select(Slot).where(
            Slot.zone_id == row.zone_id, Slot.day == row.day, Slot.closed_at == row.created_at
        )
    ).scalars():
        slot.closed_at = slot.closed_reason = None
    db.session.delete(row)
    db.session.flush()
