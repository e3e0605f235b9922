"""Creating parcels and finding them by tracking number."""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Protocol, TypeVar

from flask import current_app
from sqlalchemy import ColumnElement, Select, bindparam, exists, or_, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import joinedload

from portal import s10
from portal.contact import postcode_in
from portal.extensions import db
from portal.models import (
    Carrier,
    Channel,
    Complaint,
    DeliveryChoice,
    Merchant,
    Notification,
    Parcel,
    ParcelItem,
    ParcelStatus,
    Return,
    ReturnItem,
    Zone,
)
from portal.models.types import utcnow
from portal.services.edd import origin_area
from portal.services.errors import (
    Conflict,
    DomainError,
    InvalidTrackingNumber,
    ParcelNotFound,
)
from portal.services.messages import notify
from portal.services.recipients import apply_preferences
from portal.services.zones import matching_prefixes, zone_for_postcode

# The S10 series return labels are issued from (with the portal's issuing country).
S10_RETURN_PREFIX = "LR"


class _HasId(Protocol):
    id: int


P = TypeVar("P", bound=_HasId)


class AmbiguousTrackingNumber(Conflict):
    """More than one parcel has this number, and nothing says which is meant. `parcels` are
    the candidates, for a page that lets someone with the right to choose pick one."""

    code = "ambiguous_tracking_number"

    def __init__(self, parcels: Sequence[_HasId]):
        super().__init__("More than one parcel has this tracking number.", field="tracking_number")
        self.parcels = list(parcels)


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
    origin_postcode: str | None = None  # else the merchant's return address's


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


def _with_page_data():
    # Merchant, carrier, zone and items come in the same query: this is the hottest lookup
    # there is, and one round trip less beats the few rows the join repeats.
    return (
        joinedload(Parcel.merchant),
        joinedload(Parcel.carrier),
        joinedload(Parcel.zone),
        joinedload(Parcel.items),
    )


def _presence() -> dict[str, ColumnElement[bool]]:
    """Whether a parcel has any delivery choice, return, case or recipient message at all: most
    have none of some, and a page or the API asks in the statement that finds the parcel and
    then sends no query for those (issue 17). A return counts if it was started from the
    parcel or holds any of its items (returns.returns_for)."""
    parcel = Parcel.__table__
    return {
        "has_choices": exists().where(DeliveryChoice.parcel_id == parcel.c.id),
        "has_returns": or_(
            exists().where(Return.parcel_id == parcel.c.id),
            exists()
            .where(ReturnItem.parcel_item_id == ParcelItem.id, ParcelItem.parcel_id == parcel.c.id)
            .correlate(parcel),
        ),
        "has_cases": exists().where(Complaint.parcel_id == parcel.c.id),
        "has_messages": exists().where(
            Notification.parcel_id == parcel.c.id, Notification.channel != Channel.WEBHOOK
        ),
    }


PRESENCE = _presence()


def find_parcels(
    raw_tracking_number: str,
    *,
    merchant_id: int | None = None,
    carrier_id: int | None = None,
) -> list[Parcel]:
    """Every parcel with this number, oldest first: numbers are unique per merchant, so two
    merchants' parcels can share one (a carrier's number reused, or a merchant's own series).
    With `merchant_id` or `carrier_id`, only the parcels that merchant sends or that carrier
    moves (either, when both are given)."""
    number = parse_tracking_number(raw_tracking_number)
    query = _parcels_query(merchant_id is not None, carrier_id is not None)
    params = {"number": number, "merchant_id": merchant_id, "carrier_id": carrier_id}
    return list(db.session.execute(query, params).unique().scalars())


@functools.cache
def _parcels_query(by_merchant: bool, by_carrier: bool) -> Select:
    """Built once per process: building a statement and its loader options costs about as much
    as running it (issue 17), and a statement object reused keeps its cache key."""
    query = select(Parcel).where(Parcel.tracking_number == bindparam("number"))
    query = _whose(query, by_merchant, by_carrier)
    return query.options(*_with_page_data()).order_by(Parcel.id)


def _whose(query: Select, by_merchant: bool, by_carrier: bool) -> Select:
    """Only the parcels the merchant (`:merchant_id`) sends or the carrier (`:carrier_id`)
    moves, either where both are given; every parcel where neither is."""
    p = Parcel.__table__.c
    whose = [
        column == bindparam(name)
        for column, name, wanted in (
            (p.merchant_id, "merchant_id", by_merchant),
            (p.carrier_id, "carrier_id", by_carrier),
        )
        if wanted
    ]
    return query.where(or_(*whose)) if whose else query


@dataclass(frozen=True)
class Named:
    name: str


@dataclass(frozen=True)
class Item:
    sku: str
    name: str
    quantity: int
    unit_price: Decimal
    returnable: bool


@dataclass
class ParcelRecord:
    """A parcel as a read-only request shows it (the API's GET), read through Core: what
    parcel_json reads, under a Parcel's own attribute names, without building ORM objects
    for the parcel, its merchant, carrier, zone and items (issue 17)."""

    id: int
    tracking_number: str
    status: ParcelStatus
    merchant_id: int
    carrier_id: int
    order_ref: str | None
    eta_from: datetime | None
    eta_to: datetime | None
    recipient_name: str
    recipient_phone: str | None
    recipient_email: str | None
    address_line: str
    postcode: str
    city: str
    country: str
    language: str
    weight_grams: int
    currency: str
    created_at: datetime
    updated_at: datetime
    # For its predicted delivery (services/edd).
    status_at: datetime | None
    picked_up_at: datetime | None
    origin_area: str | None
    origin_zone_id: int | None
    zone_id: int | None
    merchant: Named
    carrier: Named
    zone: Named | None
    time_zone: str | None
    has_choices: bool
    has_returns: bool
    has_cases: bool
    has_messages: bool
    items: list[Item] = field(default_factory=list)


# The parcel's own columns in a record (the rest is joined or summed up).
_RECORD_FIELDS = (
    "id",
    "tracking_number",
    "status",
    "merchant_id",
    "carrier_id",
    "order_ref",
    "eta_from",
    "eta_to",
    "recipient_name",
    "recipient_phone",
    "recipient_email",
    "address_line",
    "postcode",
    "city",
    "country",
    "language",
    "weight_grams",
    "currency",
    "created_at",
    "updated_at",
    "status_at",
    "picked_up_at",
    "origin_area",
    "origin_zone_id",
    "zone_id",
)


@functools.cache
def _records_query(by_merchant: bool, by_carrier: bool) -> Select:
    p, i = Parcel.__table__.c, ParcelItem.__table__.c
    merchant, carrier, zone = Merchant.__table__, Carrier.__table__, Zone.__table__
    query = (
        select(
            *(p[name] for name in _RECORD_FIELDS),
            merchant.c.name.label("merchant_name"),
            carrier.c.name.label("carrier_name"),
            zone.c.name.label("zone_name"),
            zone.c.time_zone,
            *(expression.label(name) for name, expression in PRESENCE.items()),
            i.id.label("item_id"),
            i.sku,
            i.name.label("item_name"),
            i.quantity,
            i.unit_price,
            i.returnable,
        )
        .select_from(
            Parcel.__table__.join(merchant, merchant.c.id == p.merchant_id)
            .join(carrier, carrier.c.id == p.carrier_id)
            .outerjoin(zone, zone.c.id == p.zone_id)
            .outerjoin(ParcelItem.__table__, i.parcel_id == p.id)
        )
        .where(p.tracking_number == bindparam("number"))
    )
    return _whose(query, by_merchant, by_carrier).order_by(p.id, i.id)


def find_parcel_records(
    raw_tracking_number: str, *, merchant_id: int | None = None, carrier_id: int | None = None
) -> list[ParcelRecord]:
    """find_parcels for a request that only reads, as ParcelRecords saying what else each
    parcel has (PRESENCE): one statement, the items joined, plain rows."""
    number = parse_tracking_number(raw_tracking_number)
    query = _records_query(merchant_id is not None, carrier_id is not None)
    params = {"number": number, "merchant_id": merchant_id, "carrier_id": carrier_id}
    records: dict[int, ParcelRecord] = {}
    for row in db.session.execute(query, params):
        record = records.get(row.id)
        if record is None:
            record = records[row.id] = ParcelRecord(
                **{name: getattr(row, name) for name in _RECORD_FIELDS},
                merchant=Named(row.merchant_name),
                carrier=Named(row.carrier_name),
                zone=Named(row.zone_name) if row.zone_name is not None else None,
                time_zone=row.time_zone,
                **{name: bool(getattr(row, name)) for name in PRESENCE},
            )
        if row.item_id is not None:
            record.items.append(
                Item(row.sku, row.item_name, row.quantity, row.unit_price, row.returnable)
            )
    return list(records.values())


def pick_parcel(parcels: Sequence[P], chosen: Sequence[int] = ()) -> P:
    """The one of the parcels with a number that is meant: the only one there is, else the
    one of them last in `chosen` (the parcels a visitor unlocked with their postcode or a
    link, or the one an agent picked). Never a guess: AmbiguousTrackingNumber otherwise."""
    if not parcels:
        raise ParcelNotFound("We can't find a parcel with this tracking number yet.")
    if len(parcels) == 1:
        return parcels[0]
    rank = {parcel_id: i for i, parcel_id in enumerate(chosen)}
    known = [p for p in parcels if p.id in rank]
    if not known:
        raise AmbiguousTrackingNumber(parcels)
    return max(known, key=lambda p: rank[p.id])


def find_parcel(raw_tracking_number: str, *, chosen: Sequence[int] = ()) -> Parcel:
    """The parcel for a tracking number as a person typed it, with what its pages show; where
    several merchants' parcels have the number, the one in `chosen` (see pick_parcel)."""
    return pick_parcel(find_parcels(raw_tracking_number), chosen)


def find_own_parcel(
    raw_tracking_number: str,
    *,
    merchant_id: int | None = None,
    carrier_id: int | None = None,
    merchant_name: str | None = None,
    records: bool = False,
) -> Parcel | ParcelRecord:
    """The API caller's parcel: the merchant's own (one at most) or one the carrier moves.
    Anyone else's answers exactly like a missing one. `merchant_name` narrows a carrier's
    parcels to that merchant's, as an event's `merchant` field does. With `records`, for a
    request that only reads: a ParcelRecord, not the model."""
    found: list[Parcel] | list[ParcelRecord] = []
    # A caller that is neither a merchant nor a carrier owns no parcel (not: every parcel).
    if merchant_id is not None or carrier_id is not None:
        ids = {"merchant_id": merchant_id, "carrier_id": carrier_id}
        if records:
            found = find_parcel_records(raw_tracking_number, **ids)
        else:
            found = find_parcels(raw_tracking_number, **ids)
    if merchant_name is not None:
        found = [p for p in found if p.merchant.name == merchant_name]
        if not found:
            raise ParcelNotFound(
                "No parcel of yours from this merchant has this tracking number.",
                field="merchant",
            )
    if not found:
        raise ParcelNotFound(
            "No parcel of yours has this tracking number.", field="tracking_number"
        )
    if len(found) > 1:
        # Only a carrier can see two: parcels of two merchants it moves under one number.
        raise AmbiguousTrackingNumber(found)
    return found[0]


def unlocked_parcels(raw_tracking_number: str, unlocked: Sequence[int]) -> list[Parcel]:
    """The parcels with this number among `unlocked` (those a visitor proved the postcode of),
    oldest first: what someone whose postcode fits several parcels of a number chooses from."""
    number = parse_tracking_number(raw_tracking_number)
    if not unlocked:
        return []
    return list(
        db.session.execute(
            select(Parcel)
            .where(Parcel.tracking_number == number, Parcel.id.in_(set(unlocked)))
            .options(joinedload(Parcel.merchant))
            .order_by(Parcel.id)
        ).scalars()
    )


def _taken_by_merchant(merchant: Merchant, number: str) -> bool:
    return (
        db.session.execute(
            select(Parcel.id).where(
                Parcel.merchant_id == merchant.id, Parcel.tracking_number == number
            )
        ).first()
        is not None
    )


def _taken_anywhere(number: str) -> bool:
    return (
        db.session.execute(select(Parcel.id).where(Parcel.tracking_number == number)).first()
        or db.session.execute(
            select(Return.id).where(Return.return_tracking_number == number)
        ).first()
    ) is not None


def issue_tracking_number(prefix: str, country: str) -> str:
    """A fresh S10 number of one of the portal's own series (a parcel's or a return label's)
    that no parcel or return has: a number the portal issues is new everywhere, so the portal
    itself never makes one ambiguous."""
    while True:
        number = s10.generate(prefix, country)
        if not _taken_anywhere(number):
            return number


def is_reserved(number: str, *, s10_prefix: str, s10_country: str) -> bool:
    """Whether a number is the portal's to issue: of the series it gives parcels that come
    without a number (`s10_prefix`) or returns (S10_RETURN_PREFIX), both with its issuing
    country, or any return's number. A merchant's parcel under one would make the parcel or
    return the portal later issues it to ambiguous, or catch the return's carrier events and
    read its scans (issue 15)."""
    if number.endswith(s10_country) and number.startswith((S10_RETURN_PREFIX, s10_prefix)):
        return True
    return (
        db.session.execute(select(Return.id).where(Return.return_tracking_number == number)).first()
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


def carrier_named(name: str) -> Carrier:
    """The carrier of that name, or a DomainError for the `carrier` field."""
    carrier = db.session.execute(select(Carrier).where(Carrier.name == name)).scalar_one_or_none()
    if carrier is None:
        raise DomainError(
            f"No carrier is called {name!r}.", field="carrier", code="unknown_carrier"
        )
    return carrier


def create_parcel(
    merchant: Merchant,
    data: ParcelData,
    *,
    s10_prefix: str | None = None,
    s10_country: str | None = None,
    merchant_chose: bool = False,
) -> Parcel:
    """A new parcel for a merchant; a fresh S10 number (prefix and issuing country as
    configured: S10_PREFIX, S10_COUNTRY) when none is given. The recipient's standing
    preferences apply (services/recipients), the delivery one unless `merchant_chose` (a
    choice made at checkout, which wins)."""
    s10_prefix = s10_prefix or current_app.config["S10_PREFIX"]
    s10_country = s10_country or current_app.config["S10_COUNTRY"]
    carrier = carrier_named(data.carrier) if data.carrier else default_carrier(merchant)
    if data.tracking_number:
        number = parse_tracking_number(data.tracking_number)
        if is_reserved(number, s10_prefix=s10_prefix, s10_country=s10_country):
            raise DomainError(
                "This tracking number is of a series the portal issues itself (its parcel "
                "numbers and return labels). Use a number of your own, or send none and we'll "
                "issue one.",
                field="tracking_number",
                code="reserved_tracking_number",
            )
        # Only this merchant's own parcels block a number: another merchant's parcel under it
        # must not (it would let anyone squat the numbers a merchant is about to use).
        if _taken_by_merchant(merchant, number):
            raise Conflict(
                "A parcel with this tracking number exists already.",
                field="tracking_number",
                code="duplicate_tracking_number",
            )
    else:
        number = issue_tracking_number(s10_prefix, s10_country)

    r = data.recipient
    origin = data.origin_postcode or postcode_in(merchant.return_address)
    origin_prefixes = matching_prefixes(origin) if origin else []
    origin_zone = origin_prefixes[0].zone if origin_prefixes else None
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
        origin_postcode=origin,
        origin_area=origin_area(origin),
        origin_zone_id=origin_zone.id if origin_zone else None,
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
    # The recipient's standing preferences, before the first message, which says so.
    apply_preferences(parcel, now=utcnow(), delivery=not merchant_chose)
    notify(parcel, "parcel_created")
    return parcel


def set_channels(parcel: Parcel, *, sms: bool, email: bool) -> None:
    """The recipient's choice of channels for this parcel's messages."""
    parcel.notify_sms = bool(sms)
    parcel.notify_email = bool(email)
