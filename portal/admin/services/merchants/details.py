"""Merchants by name: the list, adding one, their details (name, return address, service levels,
safe place) and the share of each slot their API bookings may hold."""

from __future__ import annotations

from dataclasses import asdict, dataclass
from decimal import Decimal

from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from portal.admin.services.merchants.fields import changes, days, money, subject
from portal.extensions import db, get_by_id
from portal.models import Account, ApiKey, Merchant, Parcel, WebhookEndpoint
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound

NAME_MAX = 120  # Merchant.name
RETURN_ADDRESS_MAX = 300  # Merchant.return_address
RETURN_ADDRESS_LINES = 6  # what fits on the return label
COMPLAINT_DUE_DAYS = (1, 30)  # working days
STORAGE_DAYS = (1, 90)
API_SLOT_SHARE = (1, 100)  # percent; Merchant's CHECK constraint


# --- listing and creating --------------------------------------------------------------------


@dataclass(frozen=True)
class MerchantRow:
    merchant: Merchant
    parcels: int
    live_keys: int
    webhooks: int


def list_merchants() -> list[MerchantRow]:
    """Every merchant by name, with how many parcels, live API keys and webhooks it has."""
    parcels = (
        select(func.count(Parcel.id)).where(Parcel.merchant_id == Merchant.id).scalar_subquery()
    )
    keys = (
        select(func.count(ApiKey.id))
        .where(ApiKey.merchant_id == Merchant.id, ApiKey.revoked_at.is_(None))
        .scalar_subquery()
    )
    hooks = (
        select(func.count(WebhookEndpoint.id))
        .where(WebhookEndpoint.merchant_id == Merchant.id, WebhookEndpoint.deleted_at.is_(None))
        .scalar_subquery()
    )
    rows = db.session.execute(select(Merchant, parcels, keys, hooks).order_by(Merchant.name))
    return [MerchantRow(m, p, k, h) for m, p, k, h in rows]


def find_merchant(merchant_id: int) -> Merchant:
    merchant = get_by_id(Merchant, merchant_id)
    if merchant is None:
        raise NotFound(_("No merchant has this id."), code="merchant_not_found")
    return merchant


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError(_("Give the merchant's name."), field="name")
    if len(name) > NAME_MAX:
        raise DomainError(_("Keep the name to %(max)s characters.", max=NAME_MAX), field="name")
    return name


def _name_taken(name: str, merchant: Merchant | None = None) -> bool:
    query = select(func.count(Merchant.id)).where(func.lower(Merchant.name) == name.lower())
    if merchant is not None:
        query = query.where(Merchant.id != merchant.id)
    return bool(db.session.scalar(query))


def _flush_name(merchant: Merchant) -> None:
    # The unique constraint has the last word when two supervisors pick a name at once.
    try:
        with db.session.begin_nested():
            db.session.flush()
    except IntegrityError:
        raise Conflict(_("Another merchant already has this name."), field="name") from None


def create_merchant(actor: Account, name: str) -> Merchant:
    name = _clean_name(name)
    if _name_taken(name):
        raise Conflict(_("Another merchant already has this name."), field="name")
    merchant = Merchant(name=name)
    db.session.add(merchant)
    _flush_name(merchant)
    record(actor, "merchant.create", subject=subject(merchant), before=None, after={"name": name})
    return merchant


# --- details: name, return address, service levels, safe place -------------------------------


@dataclass(frozen=True)
class Details:
    name: str
    return_address: str | None
    complaint_due_days: int
    storage_days: int
    safe_place_max_value: Decimal | None


def details_of(merchant: Merchant) -> Details:
    return Details(
        name=merchant.name,
        return_address=merchant.return_address,
        complaint_due_days=merchant.complaint_due_days,
        storage_days=merchant.storage_days,
        safe_place_max_value=merchant.safe_place_max_value,
    )


def _clean_address(text: str | None) -> str | None:
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > RETURN_ADDRESS_LINES:
        raise DomainError(
            _("The return label has room for %(lines)s lines.", lines=RETURN_ADDRESS_LINES),
            field="return_address",
        )
    address = "\n".join(lines)
    if len(address) > RETURN_ADDRESS_MAX:
        raise DomainError(
            _("Keep the address to %(max)s characters.", max=RETURN_ADDRESS_MAX),
            field="return_address",
        )
    return address


def update_details(actor: Account, merchant: Merchant, details: Details) -> dict:
    """Apply what changed; returns the changed fields (empty: nothing to do, nothing logged)."""
    new = Details(
        name=_clean_name(details.name),
        return_address=_clean_address(details.return_address),
        complaint_due_days=days(
            details.complaint_due_days,
            COMPLAINT_DUE_DAYS,
            "complaint_due_days",
            _("Days to answer a complaint"),
        ),
        storage_days=days(details.storage_days, STORAGE_DAYS, "storage_days", _("Storage days")),
        safe_place_max_value=money(details.safe_place_max_value, "safe_place_max_value"),
    )
    if new.name != merchant.name and _name_taken(new.name, merchant):
        raise Conflict(_("Another merchant already has this name."), field="name")
    before, after = changes(asdict(details_of(merchant)), asdict(new))
    if not after:
        return {}
    for name, value in after.items():
        setattr(merchant, name, value)
    if "name" in after:
        _flush_name(merchant)
    record(actor, "merchant.update", subject=subject(merchant), before=before, after=after)
    return after


# --- share of each slot for API bookings ----------------------------------------------------


def update_slot_share(actor: Account, merchant: Merchant, share: int | None) -> bool:
    """Set the percent of each slot's places the merchant's API bookings may hold (see
    services/delivery.merchant_slot_limit); False when it was that already. Places its bookings
    already hold stay booked when the share is lowered: only new bookings are refused."""
    low, high = API_SLOT_SHARE
    if share is None or not low <= share <= high:
        raise DomainError(
            _("Give a whole number from %(low)s to %(high)s.", low=low, high=high),
            field="api_slot_share",
        )
    if share == merchant.api_slot_share:
        return False
    before, after = {"api_slot_share": merchant.api_slot_share}, {"api_slot_share": share}
    merchant.api_slot_share = share
    record(actor, "merchant.update", subject=subject(merchant), before=before, after=after)
    return True
