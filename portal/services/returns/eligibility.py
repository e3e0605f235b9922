"""What may go back: delivered parcels of the same order and recipient, within the merchant's
window, returnable items only, never more than was delivered minus what is already on its way
back."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from sqlalchemy import func, select

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.localtime import local_day
from portal.models import Parcel, ParcelItem, ParcelStatus, Return, ReturnItem, ReturnStatus
from portal.models.types import utcnow
from portal.services.returns.policy import Policy, policy_for

# A return still counts against the delivered quantity unless it was turned down.
COUNTING = tuple(s for s in ReturnStatus if s is not ReturnStatus.REJECTED)


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
