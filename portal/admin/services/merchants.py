"""Merchants as supervisors manage them: details, branding, return policy, API keys, webhooks.

Every change is written to the audit log in the caller's transaction, with only the fields that
changed and never a key's plaintext or a webhook's signing secret.
"""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import asdict, dataclass
from decimal import Decimal, InvalidOperation
from typing import Any

from flask import current_app
from sqlalchemy import event, func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, SessionTransaction

from portal.extensions import db, get_by_id
from portal.models import (
    Account,
    ApiKey,
    Merchant,
    Parcel,
    ReturnMethod,
    ReturnPolicy,
    ReturnReason,
    WebhookEndpoint,
)
from portal.services import photos, webhooks
from portal.services.api_keys import create_api_key, revoke_api_key
from portal.services.audit import record
from portal.services.errors import Conflict, DomainError, NotFound
from portal.services.returns import policy_for
from portal.storage import Storage, get_storage

NAME_MAX = 120  # Merchant.name
RETURN_ADDRESS_MAX = 300  # Merchant.return_address
RETURN_ADDRESS_LINES = 6  # what fits on the return label
COMPLAINT_DUE_DAYS = (1, 30)  # working days
STORAGE_DAYS = (1, 90)
WINDOW_DAYS = (0, 365)  # 0: no returns after delivery at all
API_SLOT_SHARE = (1, 100)  # percent; Merchant's CHECK constraint
# Numeric(12, 2): ten digits before the point.
MONEY_MAX = Decimal("9999999999.99")
SKU_MAX = 64  # ParcelItem.sku
SKUS_MAX = 500
WEBHOOK_URL_MAX = 500  # WebhookEndpoint.url

# The colour is the background of white header text: WCAG 2 AA asks 4.5:1 for normal text.
MIN_CONTRAST = 4.5
COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
# Logos: shown at most 40 px high, so 400 px is plenty for sharp high-density screens; 2 MB
# keeps an upload well below the 4 MB every page request may be.
LOGO_MAX_SIDE = 400
LOGO_MAX_BYTES = 2 * 1024 * 1024


def subject(merchant: Merchant) -> str:
    return f"merchant:{merchant.id}"


def _changes(before: dict[str, Any], after: dict[str, Any]) -> tuple[dict, dict]:
    """Only the fields whose values differ, as (before, after)."""
    keys = [k for k in after if before.get(k) != after[k]]
    return {k: before.get(k) for k in keys}, {k: after[k] for k in keys}


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
        raise NotFound("No merchant has this id.", code="merchant_not_found")
    return merchant


def _clean_name(name: str) -> str:
    name = " ".join((name or "").split())
    if not name:
        raise DomainError("Give the merchant's name.", field="name")
    if len(name) > NAME_MAX:
        raise DomainError(f"Keep the name to {NAME_MAX} characters.", field="name")
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
        raise Conflict("Another merchant already has this name.", field="name") from None


def create_merchant(actor: Account, name: str) -> Merchant:
    name = _clean_name(name)
    if _name_taken(name):
        raise Conflict("Another merchant already has this name.", field="name")
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


def _days(value: int | None, bounds: tuple[int, int], field: str, what: str) -> int:
    low, high = bounds
    if value is None or not low <= value <= high:
        raise DomainError(f"{what} must be a whole number from {low} to {high}.", field=field)
    return value


def _money(value: Decimal | None, field: str) -> Decimal | None:
    if value is None:
        return None
    try:
        if not value.is_finite() or value < 0 or value > MONEY_MAX:
            raise InvalidOperation
        if value != value.quantize(Decimal("0.01")):
            raise DomainError("Give at most two decimals.", field=field)
        return value.quantize(Decimal("0.01"))
    except InvalidOperation:
        raise DomainError(
            f"Give an amount from 0 to {MONEY_MAX:,.0f}, or leave it empty.", field=field
        ) from None


def _clean_address(text: str | None) -> str | None:
    lines = [" ".join(line.split()) for line in (text or "").splitlines()]
    lines = [line for line in lines if line]
    if not lines:
        return None
    if len(lines) > RETURN_ADDRESS_LINES:
        raise DomainError(
            f"The return label has room for {RETURN_ADDRESS_LINES} lines.", field="return_address"
        )
    address = "\n".join(lines)
    if len(address) > RETURN_ADDRESS_MAX:
        raise DomainError(
            f"Keep the address to {RETURN_ADDRESS_MAX} characters.", field="return_address"
        )
    return address


def update_details(actor: Account, merchant: Merchant, details: Details) -> dict:
    """Apply what changed; returns the changed fields (empty: nothing to do, nothing logged)."""
    new = Details(
        name=_clean_name(details.name),
        return_address=_clean_address(details.return_address),
        complaint_due_days=_days(
            details.complaint_due_days,
            COMPLAINT_DUE_DAYS,
            "complaint_due_days",
            "Days to answer a complaint",
        ),
        storage_days=_days(details.storage_days, STORAGE_DAYS, "storage_days", "Storage days"),
        safe_place_max_value=_money(details.safe_place_max_value, "safe_place_max_value"),
    )
    if new.name != merchant.name and _name_taken(new.name, merchant):
        raise Conflict("Another merchant already has this name.", field="name")
    before, after = _changes(asdict(details_of(merchant)), asdict(new))
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
        raise DomainError(f"Give a whole number from {low} to {high}.", field="api_slot_share")
    if share == merchant.api_slot_share:
        return False
    before, after = {"api_slot_share": merchant.api_slot_share}, {"api_slot_share": share}
    merchant.api_slot_share = share
    record(actor, "merchant.update", subject=subject(merchant), before=before, after=after)
    return True


# --- branding --------------------------------------------------------------------------------


def contrast_with_white(colour: str) -> float:
    """WCAG 2 contrast ratio of white text on `colour` ("#RRGGBB"): 1 to 21."""
    rgb = [int(colour[i : i + 2], 16) / 255 for i in (1, 3, 5)]
    # sRGB to linear light, then relative luminance (WCAG 2.x, "relative luminance").
    linear = [c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4 for c in rgb]
    luminance = 0.2126 * linear[0] + 0.7152 * linear[1] + 0.0722 * linear[2]
    return 1.05 / (luminance + 0.05)


def clean_colour(value: str | None) -> str | None:
    """The colour as "#rrggbb" (lower case), None for none, or DomainError saying why not."""
    value = (value or "").strip()
    if not value:
        return None
    match = COLOUR.fullmatch(value)
    if match is None:
        raise DomainError(
            "Give the colour as # and six hex digits, like #0b5a3c.", field="brand_colour"
        )
    colour = "#" + match.group(1).lower()
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        # Rounded down, so a colour just short of 4.5 never reads as "4.5:1, needs 4.5:1".
        shown = math.floor(ratio * 10) / 10
        raise DomainError(
            f"White text on {colour} has a contrast of only {shown:.1f}:1; the header needs "
            f"at least {MIN_CONTRAST}:1 (WCAG AA). Choose a darker colour.",
            field="brand_colour",
            code="low_contrast",
        )
    return colour


def update_branding(actor: Account, merchant: Merchant, colour: str | None) -> bool:
    """Set (or clear, with None/empty) the brand colour; False when it was that already."""
    colour = clean_colour(colour)
    if colour == merchant.brand_colour:
        return False
    before, after = {"brand_colour": merchant.brand_colour}, {"brand_colour": colour}
    merchant.brand_colour = colour
    record(actor, "merchant.update", subject=subject(merchant), before=before, after=after)
    return True


def set_logo(
    actor: Account, merchant: Merchant, upload: photos.Upload, storage: Storage | None = None
) -> None:
    """Store the upload as the merchant's logo: decoded by content (JPEG, PNG or WebP), stripped
    of metadata and shrunk to LOGO_MAX_SIDE. The file is kept only if the transaction commits;
    the logo it replaces is deleted only then."""
    try:
        processed = photos.process(upload, max_bytes=LOGO_MAX_BYTES, max_side=LOGO_MAX_SIDE)
    except photos.PhotoRejected as exc:
        raise DomainError(exc.message, field="logo", code=exc.code) from None
    storage = storage or get_storage()
    session = db.session()
    key = photos.store(session, storage, processed)
    old = merchant.logo_key
    merchant.logo_key = key
    if old:
        _delete_after_commit(session, storage, old)
    record(
        actor,
        "merchant.update",
        subject=subject(merchant),
        before={"logo_key": old},
        after={"logo_key": key},
    )


def remove_logo(actor: Account, merchant: Merchant, storage: Storage | None = None) -> bool:
    old = merchant.logo_key
    if not old:
        return False
    merchant.logo_key = None
    _delete_after_commit(db.session(), storage or get_storage(), old)
    record(
        actor,
        "merchant.update",
        subject=subject(merchant),
        before={"logo_key": old},
        after={"logo_key": None},
    )
    return True


@dataclass(frozen=True)
class Brand:
    """What a customer page or e-mail needs to show a merchant's branding."""

    merchant_id: int
    name: str
    colour: str | None
    logo_key: str | None

    @classmethod
    def of(cls, merchant: Merchant) -> Brand:
        return cls(merchant.id, merchant.name, merchant.brand_colour, merchant.logo_key)

    @property
    def colour_version(self) -> str:
        return (self.colour or "").lstrip("#")

    @property
    def logo_version(self) -> str:
        # Changes with every new logo (cache busting) and says nothing about where it is kept.
        return hashlib.sha256((self.logo_key or "").encode()).hexdigest()[:12]


def brand_of(parcel: Any) -> Brand | None:
    """The branding of the parcel's merchant, or None if it has none. Takes a Parcel or the
    parcel page's read model (which carries the merchant's columns itself)."""
    if hasattr(parcel, "merchant_brand_colour"):  # tracking.parcel_page.ParcelPage
        brand = Brand(
            parcel.merchant_id,
            parcel.merchant_name,
            parcel.merchant_brand_colour,
            parcel.merchant_logo_key,
        )
    else:
        merchant = getattr(parcel, "merchant", None)
        if merchant is None:
            merchant = get_by_id(Merchant, getattr(parcel, "merchant_id", None))
        if merchant is None:
            return None
        brand = Brand.of(merchant)
    if brand.colour is None and brand.logo_key is None:
        return None
    return brand


def brand_css(colour: str) -> str:
    """The per-merchant stylesheet: the colour behind the white header text."""
    if COLOUR.fullmatch(colour) is None or not colour.startswith("#"):
        raise ValueError("not a stored brand colour")
    return f".site-header {{ --brand: {colour}; background: {colour}; }}\n"


# The logo a change replaced is deleted once the change commits; a rollback keeps it.
_REPLACED = "merchant_logos_replaced"


def _delete_after_commit(session: Session, storage: Storage, key: str) -> None:
    session.info.setdefault(_REPLACED, []).append((storage, key))


@event.listens_for(Session, "after_commit")
def _delete_replaced(session: Session) -> None:
    outer = session.get_transaction()
    if outer is not None and outer.is_active:  # a savepoint released, not the commit
        return
    for storage, key in session.info.pop(_REPLACED, []):
        try:
            storage.delete(key)
        except Exception:  # an unused file left behind is harmless; the change has committed
            current_app.logger.exception("could not delete a replaced logo")


@event.listens_for(Session, "after_transaction_end")
def _keep_replaced(session: Session, transaction: SessionTransaction) -> None:
    if transaction.parent is None and not transaction.nested:
        session.info.pop(_REPLACED, None)


# --- return policy ---------------------------------------------------------------------------


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
        raise DomainError("Offer at least one way to send a return.", field="methods")
    if methods - set(ReturnMethod):
        raise DomainError("Choose methods from the list.", field="methods")
    reasons = set(values.reasons) | {ReturnReason.OTHER.value}  # "other" is always offered
    if reasons - set(ReturnReason):
        raise DomainError("Choose reasons from the list.", field="reasons")
    skus = tuple(sorted({s.strip() for s in values.non_returnable_skus if s.strip()}))
    too_long = [s for s in skus if len(s) > SKU_MAX]
    if too_long:
        raise DomainError(
            f"A SKU has at most {SKU_MAX} characters ({too_long[0][:20]}… is longer).",
            field="non_returnable_skus",
        )
    if len(skus) > SKUS_MAX:
        raise DomainError(f"List at most {SKUS_MAX} SKUs.", field="non_returnable_skus")
    fee = _money(values.fee, "fee")
    return PolicyValues(
        window_days=_days(values.window_days, WINDOW_DAYS, "window_days", "The return window"),
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
    before, after = _changes(asdict(policy_values(merchant)), asdict(new))
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


# --- API keys --------------------------------------------------------------------------------


def list_keys(merchant: Merchant) -> list[ApiKey]:
    """The merchant's keys, live ones first, newest first within each."""
    return list(
        db.session.execute(
            select(ApiKey)
            .where(ApiKey.merchant_id == merchant.id)
            .order_by(ApiKey.revoked_at.is_not(None), ApiKey.id.desc())
        ).scalars()
    )


def create_key(actor: Account, merchant: Merchant) -> tuple[ApiKey, str]:
    """A new key; the plaintext is returned to show once and is never stored nor logged."""
    key, plaintext = create_api_key(merchant=merchant)
    record(
        actor,
        "api_key.create",
        subject=subject(merchant),
        before=None,
        after={"id": key.id, "prefix": key.prefix},
    )
    return key, plaintext


def revoke_key(actor: Account, merchant: Merchant, key_id: int) -> bool:
    """Revoke the merchant's key; False when it was revoked already (nothing logged)."""
    key = get_by_id(ApiKey, key_id)
    if key is None or key.merchant_id != merchant.id:
        raise NotFound("This merchant has no key with this id.", code="api_key_not_found")
    if not revoke_api_key(key):
        return False
    record(
        actor,
        "api_key.revoke",
        subject=subject(merchant),
        before={"id": key.id, "prefix": key.prefix, "revoked_at": None},
        after={"id": key.id, "prefix": key.prefix, "revoked_at": key.revoked_at},
    )
    return True


# --- webhooks --------------------------------------------------------------------------------


def list_webhooks(merchant: Merchant) -> list[WebhookEndpoint]:
    return webhooks.list_endpoints(merchant)


def add_webhook(
    actor: Account, merchant: Merchant, url: str, *, allow_insecure: bool = False
) -> WebhookEndpoint:
    """A new endpoint; its signing secret is on the row (shown once), never in the log."""
    url = (url or "").strip()
    if not url:
        raise DomainError("Give the endpoint's URL.", field="url")
    if len(url) > WEBHOOK_URL_MAX:
        raise DomainError(f"Keep the URL to {WEBHOOK_URL_MAX} characters.", field="url")
    endpoint = webhooks.create_endpoint(merchant, url, allow_insecure=allow_insecure)
    record(
        actor,
        "webhook.create",
        subject=subject(merchant),
        before=None,
        after={"id": endpoint.id, "url": endpoint.url},
    )
    return endpoint


def remove_webhook(actor: Account, merchant: Merchant, endpoint_id: int) -> WebhookEndpoint:
    endpoint = get_by_id(WebhookEndpoint, endpoint_id)
    if endpoint is None:
        raise NotFound("This merchant has no webhook with this id.", code="webhook_not_found")
    webhooks.delete_endpoint(merchant, endpoint.id)  # NotFound unless it is live and theirs
    record(
        actor,
        "webhook.delete",
        subject=subject(merchant),
        before={"id": endpoint.id, "url": endpoint.url},
        after=None,
    )
    return endpoint
