"""A merchant's return policy as supervisors edit it: window, methods, reasons, SKUs that cannot
be returned, fee and automatic approval."""

from __future__ import annotations

import re
from dataclasses import asdict, dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import select

from portal.admin.services.merchants.fields import changes, days, money, subject
from portal.extensions import db
from portal.models import Account, Merchant, ReturnMethod, ReturnPolicy, ReturnReason
from portal.services.audit import record
from portal.services.errors import DomainError
from portal.services.returns import policy_for

WINDOW_DAYS = (0, 365)  # 0: no returns after delivery at all
SKU_MAX = 64  # ParcelItem.sku
SKUS_MAX = 500


@dataclass(frozen=True)
class PolicyValues:
    window_days: int
    methods: tuple[str, ...]
    reasons: tuple[str, ...]
    non_returnable_skus: tuple[str, ...]
    fee: Decimal | None
    auto_approve: bool


def policy_values(merchant: Merchant) -> PolicyValues:
    """The policy in force (the defaults when the merchant has none on file)."""
    policy = policy_for(merchant)
    return PolicyValues(
        window_days=policy.window_days,
        methods=tuple(m.value for m in policy.methods),
        reasons=tuple(r.value for r in policy.reasons),
        non_returnable_skus=tuple(sorted(policy.non_returnable_skus)),
        fee=policy.fee,
        auto_approve=policy.auto_approve,
    )


def parse_skus(text: str | None) -> tuple[str, ...]:
    """SKUs from text, one a line or separated by commas; duplicates dropped, sorted."""
    skus = {s.strip() for s in re.split(r"[,\n]", text or "") if s.strip()}
    return tuple(sorted(skus))


def _clean_policy(values: PolicyValues) -> PolicyValues:
    methods = set(values.methods)
    if not methods:
        raise DomainError(_("Offer at least one way to send a return."), field="methods")
    if methods - set(ReturnMethod):
        raise DomainError(_("Choose methods from the list."), field="methods")
    reasons = set(values.reasons) | {ReturnReason.OTHER.value}  # "other" is always offered
    if reasons - set(ReturnReason):
        raise DomainError(_("Choose reasons from the list."), field="reasons")
    skus = tuple(sorted({s.strip() for s in values.non_returnable_skus if s.strip()}))
    too_long = [s for s in skus if len(s) > SKU_MAX]
    if too_long:
        raise DomainError(
            _(
                "A SKU has at most %(max)s characters (%(sku)s… is longer).",
                max=SKU_MAX,
                sku=too_long[0][:20],
            ),
            field="non_returnable_skus",
        )
    if len(skus) > SKUS_MAX:
        raise DomainError(
            _("List at most %(max)s SKUs.", max=SKUS_MAX), field="non_returnable_skus"
        )
    fee = money(values.fee, "fee")
    return PolicyValues(
        window_days=days(values.window_days, WINDOW_DAYS, "window_days", _("The return window")),
        # In the enums' order, which is the order the return page offers them in.
        methods=tuple(m.value for m in ReturnMethod if m.value in methods),
        reasons=tuple(r.value for r in ReturnReason if r.value in reasons),
        non_returnable_skus=skus,
        fee=fee if fee else None,
        auto_approve=bool(values.auto_approve),
    )


def update_policy(actor: Account, merchant: Merchant, values: PolicyValues) -> dict:
    """Apply what changed to the merchant's policy (made on first change); returns the changed
    fields, empty when nothing did."""
    new = _clean_policy(values)
    before, after = changes(asdict(policy_values(merchant)), asdict(new))
    if not after:
        return {}
    row = db.session.execute(
        select(ReturnPolicy).where(ReturnPolicy.merchant_id == merchant.id)
    ).scalar_one_or_none()
    if row is None:
        row = ReturnPolicy(merchant=merchant)
        db.session.add(row)
    row.window_days = new.window_days
    row.methods = list(new.methods)
    row.reasons = list(new.reasons)
    row.non_returnable_skus = list(new.non_returnable_skus)
    row.fee = new.fee
    row.auto_approve = new.auto_approve
    record(actor, "policy.update", subject=subject(merchant), before=before, after=after)
    return after
