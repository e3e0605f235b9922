"""What every part of a merchant's settings shares: the audit subject, the changed-fields diff
and the checks on days and amounts."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from flask_babel import format_decimal
from flask_babel import gettext as _

from portal.models import Merchant
from portal.services.errors import DomainError

# Numeric(12, 2): ten digits before the point.
MONEY_MAX = Decimal("9999999999.99")


def subject(merchant: Merchant) -> str:
    return f"merchant:{merchant.id}"


def changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


def days(value: int | None, bounds: tuple[int, int], field: str, what) -> int:
    low, high = bounds
    if value is None or not low <= value <= high:
        raise DomainError(
            _(
                "%(what)s must be a whole number from %(low)s to %(high)s.",
                what=what,
                low=low,
                high=high,
            ),
            field=field,
        )
    return value


def money(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if not value.is_finite() or value < 0 or value > MONEY_MAX:
            raise InvalidOperation
        if value != value.quantize(Decimal("0.01")):
            raise DomainError(_("Give at most two decimals."), field=field)
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DomainError(
            _(
                "Give an amount from 0 to %(max)s, or leave it empty.",
                max=format_decimal(MONEY_MAX, "#,##0"),
            ),
            field=field,
        ) from None
