"""A merchant's branding: the header colour (checked for contrast with white text), the logo,
and what a customer page or e-mail needs to show them."""

from __future__ import annotations

import hashlib
import math
import re
from dataclasses import dataclass
from typing import Any

from flask import current_app
from flask_babel import format_decimal
from flask_babel import gettext as _
from sqlalchemy.orm import Session

from portal.admin.services.merchants.fields import subject
from portal.extensions import db, get_by_id
from portal.models import Account, Merchant
from portal.services import photos
from portal.services.audit import record
from portal.services.errors import DomainError
from portal.storage import Storage, get_storage
from portal.transactions import after_commit

# The colour is the background of white header text: WCAG 2 AA asks 4.5:1 for normal text.
MIN_CONTRAST = 4.5
COLOUR = re.compile(r"#?([0-9a-fA-F]{6})")
# Logos: shown at most 40 px high, so 400 px is plenty for sharp high-density screens; 2 MB
# keeps an upload well below the 4 MB every page request may be.
LOGO_MAX_SIDE = 400
LOGO_MAX_BYTES = 2 * 1024 * 1024


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
            _("Give the colour as # and six hex digits, like #0b5a3c."), field="brand_colour"
        )
    colour = "#" + match.group(1).lower()
    ratio = contrast_with_white(colour)
    if ratio < MIN_CONTRAST:
        # Rounded down, so a colour just short of 4.5 never reads as "4.5:1, needs 4.5:1".
        shown = math.floor(ratio * 10) / 10
        raise DomainError(
            _(
                "White text on %(colour)s has a contrast of only %(shown)s:1; the header needs "
                "at least %(needed)s:1 (WCAG AA). Choose a darker colour.",
                colour=colour,
                shown=format_decimal(shown, "0.0"),
                needed=format_decimal(MIN_CONTRAST, "0.0"),
            ),
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


def _delete_after_commit(session: Session, storage: Storage, key: str) -> None:
    """The logo a change replaced is deleted once the change commits; a rollback keeps it."""

    def delete() -> None:
        try:
            storage.delete(key)
        except Exception:  # an unused file left behind is harmless; the change has committed
            current_app.logger.exception("could not delete a replaced logo")

    after_commit(delete, session=session)
