"""Opening a return: the lines asked for checked against what may go back, a home pickup slot
booked, and the RMA and drop-off codes issued."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

from flask import current_app
from sqlalchemy import select, update

from portal.extensions import db, get_by_id
from portal.i18n import lazy_gettext as _l
from portal.models import Parcel, Return, ReturnItem, ReturnMethod, ReturnReason, ReturnStatus, Slot
from portal.models.types import utcnow
from portal.services.calendar import zone_calendar
from portal.services.delivery import (
    MADE_BY_MERCHANT,
    SlotClosed,
    SlotFull,
    check_merchant_share,
    closed_day_text,
    cutoff,
    cutoff_time,
)
from portal.services.parcels import S10_RETURN_PREFIX, issue_tracking_number
from portal.services.returns.codes import (
    DROPOFF_CODE_LENGTH,
    RMA_LENGTH,
    format_rma,
    readable_code,
    unique_code,
)
from portal.services.returns.eligibility import Returnable, ReturnLine, order_parcels, returnable
from portal.services.returns.lifecycle import tell_customer
from portal.services.returns.policy import ReturnNotAllowed

MAX_REASON_TEXT = 500


@dataclass
class LineRequest:
    parcel_item_id: int | None = None
    sku: str | None = None  # the API names items by SKU
    quantity: int = 0
    reason: str = ""
    reason_text: str | None = None


@dataclass
class ReturnRequest:
    lines: list[LineRequest]
    method: str
    slot_id: int | None = None


def _lock(parcels: list[Parcel]) -> None:
    # Two returns for the same order at once: the second waits here, then counts the first.
    db.session.execute(
        select(Parcel.id)
        .where(Parcel.id.in_([p.id for p in parcels]))
        .order_by(Parcel.id)
        .with_for_update()
    ).all()


def _pickup_slot(parcel: Parcel, slot_id: int | None, now: datetime, created_by: str) -> Slot:
    slot = get_by_id(Slot, slot_id)
    if slot is None or parcel.zone_id is None or slot.zone_id != parcel.zone_id:
        raise ReturnNotAllowed(
            str(_l("Choose one of the pickup times shown.")), field="slot", code="slot_not_found"
        )
    if now >= cutoff(slot.day, parcel.zone):
        raise ReturnNotAllowed(
            str(
                _l(
                    "That time can no longer be booked: bookings close at %(time)s the day before.",
                    time=cutoff_time(parcel.zone),
                )
            ),
            field="slot",
            code="too_late",
        )
    if slot.closed_at is not None:
        raise SlotClosed(
            str(_l("That time is no longer offered. Please choose another.")), field="slot"
        )
    if why := closed_day_text(parcel.zone, slot.day):
        raise SlotClosed(why, field="slot", code="day_closed")
    if created_by == MADE_BY_MERCHANT:
        # A merchant's pickups through the API take places other merchants' parcels share.
        check_merchant_share(parcel, slot)
    taken = db.session.execute(
        update(Slot)
        .where(Slot.id == slot.id, Slot.booked < Slot.capacity)
        .values(booked=Slot.booked + 1)
        .execution_options(synchronize_session=False)
    )
    if taken.rowcount != 1:
        raise SlotFull(
            str(_l("That time has just filled up. Please choose another.")), field="slot"
        )
    return slot


def pickup_slots(parcel: Parcel, now: datetime | None = None, limit: int = 12) -> list[Slot]:
    """Home-pickup times: the zone's delivery slots with room, bookable before their cutoff,
    neither closed nor on a public holiday or closed day."""
    now = now or utcnow()
    if parcel.zone is None:
        return []
    tz = ZoneInfo(parcel.zone.time_zone)
    today = now.astimezone(tz).date()
    ahead = current_app.config["DELIVERY_DAYS_AHEAD"]
    slots = db.session.execute(
        select(Slot)
        .where(
            Slot.zone_id == parcel.zone_id,
            Slot.day > today,
            Slot.day <= today + timedelta(days=ahead),
            Slot.booked < Slot.capacity,
            Slot.closed_at.is_(None),
        )
        .order_by(Slot.starts_at, Slot.id)
    ).scalars()
    calendar = zone_calendar(parcel.zone, today, ahead)
    bookable = [s for s in slots if now < cutoff(s.day, parcel.zone) and calendar.is_open(s.day)]
    return bookable[:limit]


def _validate_lines(
    request: ReturnRequest, available: Returnable
) -> list[tuple[ReturnLine, LineRequest, ReturnReason]]:
    if not request.lines:
        raise ReturnNotAllowed(str(_l("Choose at least one item to return.")), field="items")
    by_id = {line.item.id: line for line in available.lines}
    by_sku: dict[str, list[ReturnLine]] = {}
    for line in available.lines:
        by_sku.setdefault(line.item.sku, []).append(line)
    chosen: list[tuple[ReturnLine, LineRequest, ReturnReason]] = []
    used: dict[int, int] = {}
    for i, req in enumerate(request.lines):
        where = f"items.{i}"
        if req.parcel_item_id is not None:
            line = by_id.get(req.parcel_item_id)
        else:
            # A SKU in several parcels of the order: the first with room takes it.
            candidates = by_sku.get(req.sku or "", [])
            line = next(
                (c for c in candidates if c.remaining - used.get(c.item.id, 0) > 0),
                candidates[0] if candidates else None,
            )
        if line is None:
            raise ReturnNotAllowed(
                str(_l("This item is not part of the order.")),
                field=f"{where}.sku",
                code="unknown_item",
            )
        if line.why_not:
            raise ReturnNotAllowed(
                f"{line.item.name}: {line.why_not}",
                field=f"{where}.quantity" if line.returned else f"{where}.sku",
                code="item_not_returnable",
            )
        left = line.remaining - used.get(line.item.id, 0)
        if not 1 <= req.quantity <= left:
            raise ReturnNotAllowed(
                str(
                    _l(
                        "%(item)s: choose from 1 to %(n)d.",
                        item=line.item.name,
                        n=left,
                    )
                )
                if left
                else str(_l("%(item)s: nothing left to return.", item=line.item.name)),
                field=f"{where}.quantity",
                code="too_many",
            )
        try:
            reason = ReturnReason(req.reason)
        except ValueError:
            reason = None
        if reason is None or reason not in available.policy.reasons:
            raise ReturnNotAllowed(
                str(_l("Choose a reason for %(item)s.", item=line.item.name)),
                field=f"{where}.reason",
                code="invalid_reason",
            )
        text = (req.reason_text or "").strip()
        if reason is ReturnReason.OTHER and not text:
            raise ReturnNotAllowed(
                str(_l("Tell us in a few words why %(item)s goes back.", item=line.item.name)),
                field=f"{where}.reason_text",
                code="reason_text_required",
            )
        if len(text) > MAX_REASON_TEXT:
            raise ReturnNotAllowed(
                str(_l("Keep the reason under %(n)d characters.", n=MAX_REASON_TEXT)),
                field=f"{where}.reason_text",
            )
        req.reason_text = text or None
        used[line.item.id] = used.get(line.item.id, 0) + req.quantity
        chosen.append((line, req, reason))
    return chosen


def open_return(
    parcel: Parcel,
    request: ReturnRequest,
    *,
    created_by: str = "recipient",
    now: datetime | None = None,
) -> Return:
    """Open a return for items of the parcel's order; approved at once where the policy says so.

    Atomic: the order's parcels are locked, quantities counted again under the lock, a home
    pickup slot reserved with a conditional UPDATE; the caller commits or rolls back."""
    now = now or utcnow()
    parcels = order_parcels(parcel)
    _lock(parcels)
    available = returnable(parcel, now)
    if available.why_not:
        raise ReturnNotAllowed(available.why_not, field="items", code="window_closed")
    # Items first: they come first on the page, and they are what the customer came for.
    chosen = _validate_lines(request, available)
    try:
        method = ReturnMethod(request.method)
    except ValueError:
        method = None
    if method is None or method not in available.policy.methods:
        raise ReturnNotAllowed(
            str(_l("Choose how you send it back.")), field="method", code="invalid_method"
        )
    slot = (
        _pickup_slot(parcel, request.slot_id, now, created_by)
        if method is ReturnMethod.HOME_PICKUP
        else None
    )

    policy = available.policy
    ret = Return(
        rma=unique_code(Return.rma, lambda: format_rma(readable_code(RMA_LENGTH))),
        return_tracking_number=issue_tracking_number(
            S10_RETURN_PREFIX, current_app.config["S10_COUNTRY"]
        ),
        dropoff_code=unique_code(Return.dropoff_code, lambda: readable_code(DROPOFF_CODE_LENGTH)),
        locker_code=f"{secrets.randbelow(1_000_000):06d}"
        if method is ReturnMethod.LOCKER
        else None,
        merchant_id=parcel.merchant_id,
        carrier_id=parcel.carrier_id,
        parcel=parcel,
        order_ref=parcel.order_ref,
        method=method,
        status=ReturnStatus.APPROVED if policy.auto_approve else ReturnStatus.REQUESTED,
        status_at=now,
        created_by=created_by,
        currency=parcel.currency,
        fee=policy.fee,
        slot=slot,
        created_at=now,
        items=[
            ReturnItem(
                parcel_item_id=line.item.id,
                quantity=req.quantity,
                reason=reason,
                reason_text=req.reason_text,
            )
            for line, req, reason in chosen
        ],
    )
    db.session.add(ret)
    db.session.flush()
    tell_customer(
        ret, "return_approved" if ret.status is ReturnStatus.APPROVED else "return_requested", now
    )
    return ret
