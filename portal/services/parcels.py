"""Creating parcels and finding them by tracking number."""

from __future__ import annotations

from dataclasses import dataclass, field
from decimal import Decimal

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import s10
from portal.extensions import db
from portal.models import Carrier, Merchant, Parcel, ParcelItem
from portal.services.errors import (
    Conflict,
    DomainError,
    InvalidTrackingNumber,
    ParcelNotFound,
)
from portal.services.zones import zone_for_postcode


@dataclass
class RecipientData:
    name: str
    address_line: str
    postcode: str
    city: str
    country: str
    phone: str | None = None
    email: str | None = None
    language: str = "en"


@dataclass
class ItemData:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    returnable: bool = True


@dataclass
class ParcelData:
    carrier: str | None
    recipient: RecipientData
    items: list[ItemData] = field(default_factory=list)
    weight_grams: int = 0
    tracking_number: str | None = None
    order_ref: str | None = None
    currency: str = "EUR"


def parse_tracking_number(raw: str) -> str:
    """The normalised S10 number, or InvalidTrackingNumber saying what is wrong."""
    try:
        return s10.validate(raw)
    except s10.S10Error as exc:
        if exc.bad_check_digit:
            raise InvalidTrackingNumber(
                "The last digit of the tracking number does not match the others.",
                bad_check_digit=True,
            ) from exc
        raise InvalidTrackingNumber(
            "A tracking number has two letters, nine digits and two letters, like RR123456785SE."
        ) from exc


def find_parcel(raw_tracking_number: str) -> Parcel:
    """The parcel for a tracking number as a person typed it, with what its pages show.

    Merchant, zone and items come in the same query: this is the hottest lookup there is,
    and one round trip less beats the few rows the join repeats.
    """
    number = parse_tracking_number(raw_tracking_number)
    parcel = (
        db.session.execute(
            select(Parcel)
            .where(Parcel.tracking_number == number)
            .options(joinedload(Parcel.merchant), joinedload(Parcel.zone), joinedload(Parcel.items))
        )
        .unique()
        .scalar_one_or_none()
    )
    if parcel is None:
        raise ParcelNotFound("We can't find a parcel with this tracking number yet.")
    return parcel


def _tracking_number_taken(number: str) -> bool:
    return (
        db.session.execute(
            select(Parcel.id).where(Parcel.tracking_number == number)
        ).scalar_one_or_none()
        is not None
    )


def default_carrier(merchant: Merchant) -> Carrier:
    """The carrier a merchant ships with when it names none: the one it has always used, or
    the only one there is."""
    used = (
        db.session.execute(
            select(Carrier)
            .where(
                Carrier.id.in_(select(Parcel.carrier_id).where(Parcel.merchant_id == merchant.id))
            )
            .limit(2)
        )
        .scalars()
        .all()
    )
    if len(used) == 1:
        return used[0]
    every = [] if used else db.session.execute(select(Carrier).limit(2)).scalars().all()
    if len(every) == 1:
        return every[0]
    raise DomainError(
        "Name the carrier: this merchant ships with more than one.",
        field="carrier",
        code="carrier_required",
    )


def create_parcel(
    merchant: Merchant, data: ParcelData, *, s10_prefix: str = "LM", s10_country: str = "SE"
) -> Parcel:
    """A new parcel for a merchant; a fresh S10 number (prefix and issuing country as
    configured) when none is given."""
    if data.carrier:
        carrier = db.session.execute(
            select(Carrier).where(Carrier.name == data.carrier)
        ).scalar_one_or_none()
        if carrier is None:
            raise DomainError(
                f"No carrier is called {data.carrier!r}.", field="carrier", code="unknown_carrier"
            )
    else:
        carrier = default_carrier(merchant)
    if data.tracking_number:
        number = parse_tracking_number(data.tracking_number)
        if _tracking_number_taken(number):
            raise Conflict(
                "A parcel with this tracking number exists already.",
                field="tracking_number",
                code="duplicate_tracking_number",
            )
    else:
        number = s10.generate(s10_prefix, s10_country)
        while _tracking_number_taken(number):
            number = s10.generate(s10_prefix, s10_country)

    r = data.recipient
    parcel = Parcel(
        tracking_number=number,
        merchant=merchant,
        carrier=carrier,
        order_ref=data.order_ref,
        recipient_name=r.name,
        recipient_phone=r.phone,
        recipient_email=r.email,
        address_line=r.address_line,
        postcode=r.postcode,
        city=r.city,
        country=r.country.upper(),
        language=r.language,
        weight_grams=data.weight_grams,
        currency=data.currency,
        zone=zone_for_postcode(r.country, r.postcode),
        items=[
            ParcelItem(
                sku=i.sku,
                name=i.name,
                quantity=i.quantity,
                unit_price=i.unit_price,
                returnable=i.returnable,
            )
            for i in data.items
        ],
    )
    try:
        # A savepoint, so a number taken by a concurrent request fails only this parcel.
        with db.session.begin_nested():
            db.session.add(parcel)
    except IntegrityError as exc:
        raise Conflict(
            "A parcel with this tracking number exists already.",
            field="tracking_number",
            code="duplicate_tracking_number",
        ) from exc
    from portal.notifications.outbox import notify

    notify(parcel, "parcel_created")
    return parcel


def set_channels(parcel: Parcel, *, sms: bool, email: bool) -> None:
    """The recipient's choice of channels for this parcel's messages."""
    parcel.notify_sms = bool(sms)
    parcel.notify_email = bool(email)
