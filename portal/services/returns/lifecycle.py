"""A return after it is opened: approved or turned down, moving back with the carrier, received;
and the message the customer gets at each step (through the outbox, in the caller's
transaction)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import update

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import ParcelStatus, Return, ReturnStatus, Slot
from portal.models.types import utcnow
from portal.services.errors import Conflict
from portal.services.messages import notify

# Carrier codes that mean the return is moving back to the merchant.
MOVING = frozenset(
    {
        ParcelStatus.PICKED_UP,
        ParcelStatus.IN_TRANSIT,
        ParcelStatus.OUT_FOR_DELIVERY,
        ParcelStatus.DELAYED,
        ParcelStatus.ON_HOLD,
        ParcelStatus.DELIVERED,
    }
)


def tell_customer(ret: Return, trigger: str, now: datetime, extra: dict | None = None) -> None:
    notify(
        ret.parcel,
        trigger,
        now=now,
        dedupe_suffix=f":{ret.rma}",
        link_target=f"/r/{ret.rma}",
        extra={"return_": ret, "rma": ret.rma, "currency": ret.currency, **(extra or {})},
    )


def decide(ret: Return, *, approve: bool, reason: str | None = None, now: datetime | None = None):
    """An agent approves or turns down a requested return (the console calls this)."""
    now = now or utcnow()
    if ret.status is not ReturnStatus.REQUESTED:
        raise Conflict(str(_l("This return has been decided already.")), code="already_decided")
    ret.status, ret.status_at = (
        (ReturnStatus.APPROVED, now) if approve else (ReturnStatus.REJECTED, now)
    )
    ret.rejection_reason = None if approve else (reason or None)
    if ret.slot_id and not approve:
        release_slot(ret)
    tell_customer(ret, "return_approved" if approve else "return_rejected", now)
    return ret


def release_slot(ret: Return) -> None:
    db.session.execute(
        update(Slot)
        .where(Slot.id == ret.slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


def apply_return_event(ret: Return, code: ParcelStatus, occurred_at: datetime) -> None:
    """A carrier event on the return tracking number: moving means `in_transit`; a status
    the merchant already set (received, refunded) never moves back."""
    if code in MOVING and ret.status in (ReturnStatus.APPROVED, ReturnStatus.DROPPED_OFF):
        ret.status, ret.status_at = ReturnStatus.IN_TRANSIT, occurred_at


def mark_received(ret: Return, now: datetime | None = None) -> Return:
    """The merchant has the items. Again for a received return changes nothing."""
    now = now or utcnow()
    if ret.status in (ReturnStatus.RECEIVED, ReturnStatus.REFUNDED, ReturnStatus.CLOSED):
        return ret
    if ret.status in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED):
        raise Conflict("Only an approved return can be received.", field="rma", code="not_approved")
    ret.status, ret.status_at, ret.received_at = ReturnStatus.RECEIVED, now, now
    tell_customer(ret, "return_received", now)
    return ret
