"""A signed-in recipient's parcels, across every merchant: on the way first, then those
delivered in the last DELIVERED_DAYS days."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime, timedelta

from sqlalchemy import ColumnElement, and_, case, false, func, or_, select

from portal.extensions import db
from portal.models import Merchant, Parcel, ParcelStatus, Recipient, Zone
from portal.services.edd import Prediction, predict_parcel

DELIVERED_DAYS = 90
# Each opens verified from /me: as many as a session keeps (tracking.verification.MAX_REMEMBERED).
MAX_SHOWN = 20
ON_THE_WAY = tuple(s for s in ParcelStatus if not s.is_terminal)


@dataclass
class MyParcel:
    id: int
    tracking_number: str
    status: ParcelStatus
    status_at: datetime | None
    merchant: str
    eta_from: datetime | None
    eta_to: datetime | None
    time_zone: str | None
    prediction: Prediction | None
    postcode: str = ""
    country: str = ""


def addressed_to(recipient: Recipient) -> ColumnElement[bool]:
    """Parcels addressed to the recipient: to one of its phone numbers or e-mail addresses."""
    phones = [a.value for a in recipient.addresses if a.kind == "phone"]
    emails = [a.value for a in recipient.addresses if a.kind == "email"]
    conditions = []
    if phones:
        conditions.append(Parcel.recipient_phone.in_(phones))
    if emails:
        conditions.append(func.lower(Parcel.recipient_email).in_(emails))
    return or_(*conditions) if conditions else false()


def parcels_of(recipient: Recipient, now: datetime, *, only: str | None = None) -> list[MyParcel]:
    """The recipient's parcels; `only`: those addressed to that one address of theirs."""
    addressed = addressed_to(recipient)
    if only is not None:
        addressed = or_(Parcel.recipient_phone == only, func.lower(Parcel.recipient_email) == only)
    rows = db.session.execute(
        select(Parcel, Merchant.name, Zone.time_zone)
        .join(Merchant, Merchant.id == Parcel.merchant_id)
        .outerjoin(Zone, Zone.id == Parcel.zone_id)
        .where(addressed)
        .where(
            or_(
                Parcel.status.in_(ON_THE_WAY),
                and_(
                    Parcel.status == ParcelStatus.DELIVERED,
                    Parcel.status_at >= now - timedelta(days=DELIVERED_DAYS),
                ),
            )
        )
        # On the way first, so the limit never drops one of those for an old delivery.
        .order_by(
            case((Parcel.status.in_(ON_THE_WAY), 0), else_=1),
            Parcel.created_at.desc(),
            Parcel.id.desc(),
        )
        .limit(MAX_SHOWN)
    ).all()
    mine = [
        MyParcel(
            p.id,
            p.tracking_number,
            p.status,
            p.status_at,
            merchant,
            p.eta_from,
            p.eta_to,
            tz,
            None if p.eta_from else predict_parcel(p, tz, now),
            p.postcode,
            p.country,
        )
        for p, merchant, tz in rows
    ]
    # On the way first (newest first), then delivered (latest delivery first).
    on_the_way = [m for m in mine if not m.status.is_terminal]
    delivered = sorted(
        (m for m in mine if m.status.is_terminal), key=lambda m: m.status_at, reverse=True
    )
    return on_the_way + delivered
