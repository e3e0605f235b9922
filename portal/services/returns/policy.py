"""A merchant's return policy as the rules read it, and the refusal when it doesn't allow a
return."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal

from sqlalchemy import select

from portal.extensions import db
from portal.models import Merchant, ReturnMethod, ReturnPolicy, ReturnReason
from portal.services.errors import DomainError


class ReturnNotAllowed(DomainError):
    code = "return_not_allowed"


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
