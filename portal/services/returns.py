"""Returns: what may go back, opening an RMA, drop-off, carrier events, received and refunded.

Pages, the merchant API and (later) the agent console all call these functions, so one set of
rules decides: delivered parcels only, within the merchant's window, returnable items only,
and never more than was delivered minus what is already on its way back.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

from flask import current_app
from flask_babel import lazy_gettext as _l
from sqlalchemy import func, select, update

from portal.extensions import db, get_by_id
from portal.formatting import local_datetime
from portal.localtime import local_day
from portal.models import (
    Account,
    Merchant,
    Parcel,
    ParcelItem,
    ParcelStatus,
    Return,
    ReturnItem,
    ReturnMethod,
    ReturnPolicy,
    ReturnReason,
    ReturnStatus,
    Slot,
    TrackingEvent,
)
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
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.parcels import S10_RETURN_PREFIX, issue_tracking_number

# Read aloud over a phone without confusion: no 0/O, 1/I/L, 2/Z, 5/S, 8/B, U/V.
READABLE = "ACDEFGHJKMNPQRTWXY34679"
RMA_LENGTH = 8
DROPOFF_CODE_LENGTH = 12
# A return still counts against the delivered quantity unless it was turned down.
COUNTING = tuple(s for s in ReturnStatus if s is not ReturnStatus.REJECTED)
# After these, a return has physically left the customer.
HANDED_OVER = frozenset(
    {
        ReturnStatus.DROPPED_OFF,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.RECEIVED,
        ReturnStatus.REFUNDED,
        ReturnStatus.CLOSED,
    }
)
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
MAX_REASON_TEXT = 500


class ReturnNotAllowed(DomainError):
    code = "return_not_allowed"


class AlreadyDroppedOff(Conflict):
    code = "already_dropped_off"

    def __init__(self, message: str, *, return_: Return):
        super().__init__(message, field="code")
        self.return_ = return_


# --- policy ----------------------------------------------------------------------------------


@dataclass(frozen=True)
class Policy:
    window_days: int = 30
    methods: tuple[ReturnMethod, ...] = tuple(ReturnMethod)
    reasons: tuple[ReturnReason, ...] = tuple(ReturnReason)
    non_returnable_skus: frozenset[str] = frozenset()
    fee: Decimal | None = None
    auto_approve: bool = True


def policy_for(merchant: Merchant) -> Policy:
    """The merchant's return policy; the defaults when it has none on file."""
    row = db.session.execute(
        select(ReturnPolicy).where(ReturnPolicy.merchant_id == merchant.id)
    ).scalar_one_or_none()
    if row is None:
        return Policy()
    reasons = tuple(ReturnReason(r) for r in row.reasons if r in ReturnReason._value2member_map_)
    if ReturnReason.OTHER not in reasons:
        reasons += (ReturnReason.OTHER,)
    return Policy(
        window_days=row.window_days,
        methods=tuple(ReturnMethod(m) for m in row.methods if m in ReturnMethod._value2member_map_),
        reasons=reasons,
        non_returnable_skus=frozenset(row.non_returnable_skus or ()),
        fee=row.fee or None,
        auto_approve=row.auto_approve,
    )


# --- what may go back ------------------------------------------------------------------------


@dataclass
class ReturnLine:
    """One item the customer might send back, with how many and, if none, why not."""

    item: ParcelItem
    parcel: Parcel
    returned: int
    window_ends: datetime | None
    why_not: str | None = None
    last_day: str | None = None  # the window's last day, in words

    @property
    def remaining(self) -> int:
        return 0 if self.why_not else max(self.item.quantity - self.returned, 0)


@dataclass
class Returnable:
    parcel: Parcel
    policy: Policy
    lines: list[ReturnLine] = field(default_factory=list)
    why_not: str | None = None  # nothing can be returned at all, and why

    @property
    def open(self) -> bool:
        return self.why_not is None and any(line.remaining for line in self.lines)


def delivered_at(parcel: Parcel) -> datetime | None:
    return parcel.status_at if parcel.status is ParcelStatus.DELIVERED else None


def same_recipient(a: Parcel, b: Parcel) -> bool:
    """Both parcels went to one person: the same phone or e-mail, or the same name at the same
    postcode. A merchant may reuse an order_ref (a gift sent elsewhere, refs like "1"); its
    other recipients' items and tracking numbers are not this customer's to see or return."""
    if a.recipient_phone and a.recipient_phone == b.recipient_phone:
        return True
    if a.recipient_email and (a.recipient_email or "").lower() == (b.recipient_email or "").lower():
        return True
    return (
        "".join(a.postcode.split()).upper() == "".join(b.postcode.split()).upper()
        and " ".join(a.recipient_name.split()).casefold()
        == " ".join(b.recipient_name.split()).casefold()
    )


def order_parcels(parcel: Parcel) -> list[Parcel]:
    """This parcel and the other parcels of the same order (same merchant and order_ref) that
    went to the same recipient."""
    if not parcel.order_ref:
        return [parcel]
    others = db.session.execute(
        select(Parcel)
        .where(
            Parcel.merchant_id == parcel.merchant_id,
            Parcel.order_ref == parcel.order_ref,
            Parcel.id != parcel.id,
        )
        .order_by(Parcel.id)
    ).scalars()
    return [parcel, *(p for p in others if same_recipient(parcel, p))]


def _returned(item_ids: list[int]) -> dict[int, int]:
    if not item_ids:
        return {}
    rows = db.session.execute(
        select(ReturnItem.parcel_item_id, func.sum(ReturnItem.quantity))
        .join(Return)
        .where(ReturnItem.parcel_item_id.in_(item_ids), Return.status.in_(COUNTING))
        .group_by(ReturnItem.parcel_item_id)
    ).all()
    return {item_id: int(total) for item_id, total in rows}


def returnable(parcel: Parcel, now: datetime | None = None) -> Returnable:
    """Every item of the order this parcel belongs to, with what may still go back."""
    now = now or utcnow()
    policy = policy_for(parcel.merchant)
    result = Returnable(parcel, policy)
    if delivered_at(parcel) is None:
        result.why_not = str(_l("Items can be returned once the parcel is delivered."))
        return result
    if not policy.methods:
        result.why_not = str(_l("%(shop)s takes no returns.", shop=parcel.merchant.name))
        return result
    parcels = order_parcels(parcel)
    returned = _returned([i.id for p in parcels for i in p.items])
    for p in parcels:
        at = delivered_at(p)
        ends = at + timedelta(days=policy.window_days) if at else None
        for item in p.items:
            line = ReturnLine(item, p, returned.get(item.id, 0), ends)
            if ends is not None:
                line.last_day = local_day(ends, p.time_zone)
            if at is None:
                line.why_not = str(_l("Not delivered yet."))
            elif now >= ends:
                line.why_not = str(
                    _l("The return window closed on %(day)s.", day=local_day(ends, p.time_zone))
                )
            elif not item.returnable or item.sku in policy.non_returnable_skus:
                line.why_not = str(
                    _l("%(shop)s does not take this item back.", shop=p.merchant.name)
                )
            elif line.returned >= item.quantity:
                line.why_not = str(_l("Already in a return."))
            result.lines.append(line)
    if not any(line.remaining for line in result.lines) and result.lines:
        own = [line for line in result.lines if line.parcel.id == parcel.id]
        reasons = {line.why_not for line in own}
        if all(line.returned >= line.item.quantity for line in result.lines):
            result.why_not = str(_l("Everything in this order is in a return already."))
        elif len(reasons) == 1:
            result.why_not = reasons.pop()
        else:
            result.why_not = str(_l("Nothing in this order can be returned any more."))
    return result


# --- opening a return ------------------------------------------------------------------------


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


def _readable(length: int) -> str:
    return "".join(secrets.choice(READABLE) for _ in range(length))


def normalise_code(raw: str) -> str:
    """What staff or customers type or scan: case, spaces and dashes don't matter."""
    return "".join(c for c in (raw or "").upper() if c.isascii() and c.isalnum())


def format_rma(raw: str) -> str:
    code = normalise_code(raw)
    return f"{code[:4]}-{code[4:]}" if len(code) == RMA_LENGTH else code


def _unique(column, make) -> str:
    while True:
        value = make()
        if not db.session.execute(select(Return.id).where(column == value)).first():
            return value


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
        rma=_unique(Return.rma, lambda: format_rma(_readable(RMA_LENGTH))),
        return_tracking_number=issue_tracking_number(
            S10_RETURN_PREFIX, current_app.config["S10_COUNTRY"]
        ),
        dropoff_code=_unique(Return.dropoff_code, lambda: _readable(DROPOFF_CODE_LENGTH)),
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
    _tell(
        ret, "return_approved" if ret.status is ReturnStatus.APPROVED else "return_requested", now
    )
    return ret


def _tell(ret: Return, trigger: str, now: datetime, extra: dict | None = None) -> None:
    from portal.notifications.outbox import notify

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
        _release_slot(ret)
    _tell(ret, "return_approved" if approve else "return_rejected", now)
    return ret


def _release_slot(ret: Return) -> None:
    db.session.execute(
        update(Slot)
        .where(Slot.id == ret.slot_id, Slot.booked > 0)
        .values(booked=Slot.booked - 1)
        .execution_options(synchronize_session=False)
    )


# --- finding ---------------------------------------------------------------------------------


def find_return(rma: str) -> Return:
    code = normalise_code(rma)
    ret = None
    if len(code) == RMA_LENGTH:
        ret = db.session.execute(
            select(Return).where(Return.rma == format_rma(code))
        ).scalar_one_or_none()
    if ret is None:
        raise NotFound(str(_l("There is no return with this number.")), field="rma")
    return ret


def returns_for(parcel_id: int) -> list[Return]:
    """Returns that hold items of this parcel or were started from it, newest first."""
    holding = (
        select(ReturnItem.return_id)
        .join(ParcelItem, ParcelItem.id == ReturnItem.parcel_item_id)
        .where(ParcelItem.parcel_id == parcel_id)
    )
    return list(
        db.session.execute(
            select(Return)
            .where((Return.parcel_id == parcel_id) | Return.id.in_(holding))
            .order_by(Return.created_at.desc(), Return.id.desc())
        ).scalars()
    )


def return_events(ret: Return) -> list[TrackingEvent]:
    return list(
        db.session.execute(
            select(TrackingEvent)
            .where(TrackingEvent.return_id == ret.id)
            .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        ).scalars()
    )


def items_value(ret: Return) -> Decimal:
    return sum((line.parcel_item.unit_price * line.quantity for line in ret.items), Decimal("0.00"))


def refund_due(ret: Return) -> Decimal:
    return max(items_value(ret) - (ret.fee or Decimal("0")), Decimal("0.00"))


# --- drop-off at a service point -------------------------------------------------------------


def accept_dropoff(code: str, account: Account, now: datetime | None = None) -> Return:
    """Service-point staff accept a scanned or typed code: `dropped_off`, an event, a receipt.

    Scanning twice raises AlreadyDroppedOff, which says when and where."""
    now = now or utcnow()
    normal = normalise_code(code)
    ret = None
    if normal:
        query = select(Return).with_for_update()
        ret = db.session.execute(query.where(Return.dropoff_code == normal)).scalar_one_or_none()
        if ret is None and len(normal) == RMA_LENGTH:
            ret = db.session.execute(
                query.where(Return.rma == format_rma(normal))
            ).scalar_one_or_none()
    if ret is None:
        raise NotFound(
            str(_l("No return has this code. Check it and try again.")),
            field="code",
            code="unknown_code",
        )
    if ret.dropped_off_at is not None:
        raise AlreadyDroppedOff(
            str(
                _l(
                    "Already accepted on %(when)s at %(place)s.",
                    when=local_datetime(ret.dropped_off_at, ret.parcel.time_zone),
                    place=ret.dropped_off_place or "?",
                )
            ),
            return_=ret,
        )
    if ret.status is ReturnStatus.REQUESTED:
        raise Conflict(
            str(_l("This return is not approved yet. Please don't accept the parcel.")),
            field="code",
            code="not_approved",
        )
    if ret.status is ReturnStatus.REJECTED:
        raise Conflict(
            str(_l("This return was turned down. Please don't accept the parcel.")),
            field="code",
            code="rejected",
        )
    if ret.status in HANDED_OVER:
        raise Conflict(
            str(_l("This return is already on its way to the shop.")),
            field="code",
            code="already_sent",
        )
    place = account.place or account.name
    ret.status, ret.status_at = ReturnStatus.DROPPED_OFF, now
    ret.dropped_off_at, ret.dropped_off_place, ret.dropped_off_by_id = now, place, account.id
    if ret.slot_id:
        _release_slot(ret)  # handed in elsewhere: the pickup round needn't come
        ret.slot_id = None
    db.session.add(
        TrackingEvent(
            return_id=ret.id,
            carrier_id=ret.carrier_id,
            event_id=f"dropoff:{ret.rma}",
            code=ParcelStatus.PICKED_UP,
            occurred_at=now,
            location=place,
            description="Dropped off by the customer",
            received_at=now,
        )
    )
    db.session.flush()
    # Formatted by the message templates, in the customer's language, not the desk's.
    _tell(ret, "return_dropped_off", now, {"place": place, "dropped_off_at": now})
    return ret


# --- carrier events, received, refunded ------------------------------------------------------


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
    _tell(ret, "return_received", now)
    return ret


def mark_refunded(ret: Return, amount: Decimal, now: datetime | None = None) -> Return:
    """The merchant paid the customer back. The same amount again is a no-op; another is 409."""
    now = now or utcnow()
    if ret.status is ReturnStatus.REFUNDED:
        if ret.refund_amount == amount:
            return ret
        raise Conflict(
            f"This return was refunded already ({ret.refund_amount} {ret.currency}).",
            field="amount",
            code="already_refunded",
        )
    if ret.status in (ReturnStatus.REQUESTED, ReturnStatus.REJECTED, ReturnStatus.CLOSED):
        raise Conflict("Only an approved return can be refunded.", field="rma", code="not_approved")
    if amount <= 0 or amount > items_value(ret):
        raise DomainError(
            f"The amount must be more than 0 and at most {items_value(ret)} {ret.currency}.",
            field="amount",
            code="invalid_amount",
        )
    if ret.received_at is None:
        ret.received_at = now
    ret.status, ret.status_at = ReturnStatus.REFUNDED, now
    ret.refund_amount, ret.refunded_at = amount, now
    _tell(ret, "return_refunded", now, {"amount": amount})
    return ret


def merchant_returns(
    merchant: Merchant, since: datetime | None = None, limit: int = 500
) -> list[Return]:
    """The merchant's returns changed since `since` (oldest change first), for polling."""
    query = select(Return).where(Return.merchant_id == merchant.id)
    if since is not None:
        query = query.where(Return.updated_at >= since)
    return list(
        db.session.execute(query.order_by(Return.updated_at, Return.id).limit(limit)).scalars()
    )
