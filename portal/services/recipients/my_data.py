"""Everything we hold about a signed-in recipient, for them to download (issue 19), and deleting
their profile.

The profile (the Recipient row and its addresses) is exported column by column, so a column
added later shows up without changing this module. Parcels, delivery choices, messages,
complaints and returns are the merchant's records about a delivery: the recipient gets what
concerns them, and deleting the profile leaves those records as they are (retention anonymises
them in time).
"""

from __future__ import annotations

import enum
from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from sqlalchemy import delete, func, inspect, or_, select, tuple_, update
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.models import (
    Complaint,
    DeliveryChoice,
    Merchant,
    Notification,
    Parcel,
    Recipient,
    Return,
    ReturnItem,
    SignedLink,
    SignInCode,
)
from portal.models.notification import Channel
from portal.services.recipients.codes import CODE_TRIGGER
from portal.services.recipients.parcels import addressed_to

FORMAT_VERSION = 1


def _plain(value: Any) -> Any:
    """A column's value as JSON can carry it."""
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date | time):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def columns_of(row: Any) -> dict[str, Any]:
    """Every mapped column of a row, by attribute name."""
    return {c.key: _plain(getattr(row, c.key)) for c in inspect(row).mapper.column_attrs}


def _parcel(p: Parcel, merchant: str) -> dict[str, Any]:
    return {
        "tracking_number": p.tracking_number,
        "merchant": merchant,
        "order_ref": p.order_ref,
        "status": _plain(p.status),
        "status_at": _plain(p.status_at),
        "created_at": _plain(p.created_at),
        "picked_up_at": _plain(p.picked_up_at),
        "expected_from": _plain(p.eta_from),
        "expected_to": _plain(p.eta_to),
        "delivered_at": _plain(p.delivered_at),
        "address": {
            "name": p.recipient_name,
            "phone": p.recipient_phone,
            "email": p.recipient_email,
            "address_line": p.address_line,
            "postcode": p.postcode,
            "city": p.city,
            "country": p.country,
            "language": p.language,
        },
        "messages_by_sms": p.notify_sms,
        "messages_by_email": p.notify_email,
        "weight_grams": p.weight_grams,
        "items": [
            {
                "sku": i.sku,
                "name": i.name,
                "quantity": i.quantity,
                "unit_price": _plain(i.unit_price),
                "currency": p.currency,
            }
            for i in p.items
        ],
    }


def _choice(c: DeliveryChoice, tracking_number: str) -> dict[str, Any]:
    return {
        "tracking_number": tracking_number,
        "type": _plain(c.type),
        "slot": (
            {"starts_at": _plain(c.slot.starts_at), "ends_at": _plain(c.slot.ends_at)}
            if c.slot
            else None
        ),
        "pickup_point": (
            {
                "name": c.pickup_point.name,
                "address_line": c.pickup_point.address_line,
                "postcode": c.pickup_point.postcode,
                "city": c.pickup_point.city,
            }
            if c.pickup_point
            else None
        ),
        "day": _plain(c.day),
        "place": c.place,
        "note": c.note,
        "neighbour_house": c.neighbour_house,
        "co2e_grams": c.co2e_grams,
        "made_by": c.made_by,
        "made_at": _plain(c.made_at),
        "superseded_at": _plain(c.superseded_at),
    }


def _message(n: Notification) -> dict[str, Any]:
    return {
        "channel": _plain(n.channel),
        "to": n.recipient,
        "trigger": n.trigger,
        "state": _plain(n.state),
        "created_at": _plain(n.created_at),
        "sent_at": _plain(n.sent_at),
        "subject": n.subject,
        # A sign-in code is a secret while it works; its message forgets it once sent anyway.
        "body": None if n.trigger == CODE_TRIGGER else n.body,
    }


def _complaint(c: Complaint, tracking_number: str) -> dict[str, Any]:
    return {
        "case_number": c.case_number,
        "tracking_number": tracking_number,
        "type": _plain(c.type),
        "description": c.description,
        "status": _plain(c.status),
        "resolution": _plain(c.resolution),
        "resolution_amount": _plain(c.resolution_amount),
        "created_at": _plain(c.created_at),
        "closed_at": _plain(c.closed_at),
        "messages": [
            {"author": m.author, "body": m.body, "created_at": _plain(m.created_at)}
            for m in c.messages
        ],
        "photos": len(c.photos),
    }


def _return(r: Return, tracking_number: str) -> dict[str, Any]:
    return {
        "rma": r.rma,
        "tracking_number": tracking_number,
        "return_tracking_number": r.return_tracking_number,
        "method": _plain(r.method),
        "status": _plain(r.status),
        "status_at": _plain(r.status_at),
        "created_at": _plain(r.created_at),
        "dropped_off_at": _plain(r.dropped_off_at),
        "received_at": _plain(r.received_at),
        "refunded_at": _plain(r.refunded_at),
        "refund_amount": _plain(r.refund_amount),
        "fee": _plain(r.fee),
        "currency": r.currency,
        "rejection_reason": r.rejection_reason,
        "items": [
            {
                "sku": i.parcel_item.sku,
                "name": i.parcel_item.name,
                "quantity": i.quantity,
                "reason": _plain(i.reason),
                "reason_text": i.reason_text,
            }
            for i in r.items
        ],
    }


def my_data(recipient: Recipient, now: datetime) -> dict[str, Any]:
    """Everything we hold about the recipient, as JSON-ready data."""
    rows = db.session.execute(
        select(Parcel, Merchant.name)
        .join(Merchant, Merchant.id == Parcel.merchant_id)
        .where(addressed_to(recipient))
        .options(selectinload(Parcel.items))
        .order_by(Parcel.created_at, Parcel.id)
    ).all()
    numbers = {p.id: p.tracking_number for p, _ in rows}
    ids = list(numbers)
    choices = complaints = returns = []
    if ids:
        choices = (
            db.session.execute(
                select(DeliveryChoice)
                .where(DeliveryChoice.parcel_id.in_(ids))
                .options(
                    selectinload(DeliveryChoice.slot), selectinload(DeliveryChoice.pickup_point)
                )
                .order_by(DeliveryChoice.made_at, DeliveryChoice.id)
            )
            .scalars()
            .all()
        )
        complaints = (
            db.session.execute(
                select(Complaint)
                .where(Complaint.parcel_id.in_(ids))
                .options(selectinload(Complaint.messages), selectinload(Complaint.photos))
                .order_by(Complaint.created_at, Complaint.id)
            )
            .scalars()
            .all()
        )
        returns = (
            db.session.execute(
                select(Return)
                .where(Return.parcel_id.in_(ids))
                .options(selectinload(Return.items).selectinload(ReturnItem.parcel_item))
                .order_by(Return.created_at, Return.id)
            )
            .scalars()
            .all()
        )
    to = [a.value for a in recipient.addresses]
    messages = (
        db.session.execute(
            select(Notification)
            .where(
                Notification.channel.in_((Channel.SMS, Channel.EMAIL)),
                func.lower(Notification.recipient).in_(to),
            )
            .order_by(Notification.created_at, Notification.id)
        )
        .scalars()
        .all()
        if to
        else []
    )
    return {
        "format_version": FORMAT_VERSION,
        "exported_at": _plain(now),
        "profile": {
            **columns_of(recipient),
            "addresses": [columns_of(a) for a in recipient.addresses],
        },
        "parcels": [_parcel(p, merchant) for p, merchant in rows],
        "delivery_choices": [_choice(c, numbers[c.parcel_id]) for c in choices],
        "messages": [_message(n) for n in messages],
        "complaints": [_complaint(c, numbers[c.parcel_id]) for c in complaints],
        "returns": [_return(r, numbers[r.parcel_id]) for r in returns],
    }


def delete_profile(recipient: Recipient) -> None:
    """Delete the profile: the recipient, its addresses and every sign-in code for it or its
    addresses. Parcels and their messages stay: they are the merchant's records."""
    addresses = [(a.kind, a.value) for a in recipient.addresses]
    conditions = [SignInCode.recipient_id == recipient.id]
    if addresses:
        conditions.append(tuple_(SignInCode.kind, SignInCode.value).in_(addresses))
    db.session.execute(delete(SignInCode).where(or_(*conditions)))
    values = [value for _, value in addresses]
    if values:
        # The links in our messages to these addresses no longer sign in at /me, and the
        # sign-in codes' messages (no parcel's records) keep nothing of the person.
        db.session.execute(
            update(SignedLink)
            .where(func.lower(SignedLink.address).in_(values))
            .values(address=None)
        )
        db.session.execute(
            update(Notification)
            .where(
                Notification.trigger == CODE_TRIGGER,
                func.lower(Notification.recipient).in_(values),
            )
            .values(recipient="[removed]", body="", subject=None)
        )
    db.session.delete(recipient)
    db.session.flush()
