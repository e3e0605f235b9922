"""What a return is worth, and the merchant's refund."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from portal.models import Return, ReturnStatus
from portal.models.types import utcnow
from portal.services.errors import Conflict, DomainError
from portal.services.returns.lifecycle import tell_customer


def items_value(ret: Return) -> Decimal:
    return sum((line.parcel_item.unit_price * line.quantity for line in ret.items), Decimal("0.00"))


def refund_due(ret: Return) -> Decimal:
    return max(items_value(ret) - (ret.fee or Decimal("0")), Decimal("0.00"))


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
    tell_customer(ret, "return_refunded", now, {"amount": amount})
    return ret
