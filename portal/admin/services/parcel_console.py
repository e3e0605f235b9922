"""Everything the parcel console shows, gathered in one place (a read model for the page)."""

from __future__ import annotations

from sqlalchemy import or_, select

from portal.extensions import db
from portal.models import (
    Account,
    AuditEntry,
    InboundMessage,
    Notification,
    Parcel,
    ParcelNote,
)
from portal.models.types import utcnow
from portal.services import complaints, delivery, returns
from portal.services.tracking import timeline


def made_by_text(made_by: str, names: dict[int, str]) -> str:
    """`agent:7` as the agent's name; `recipient`, `sms`, `merchant` as they are."""
    kind, _, ident = made_by.partition(":")
    if kind == "agent" and ident.isdigit():
        return f"agent {names.get(int(ident), '#' + ident)}"
    return made_by


def parcel_console(parcel: Parcel) -> dict:
    tz = parcel.time_zone
    now = utcnow()
    accounts = {a.id: a.name for a in db.session.execute(select(Account)).scalars()}
    choices = delivery.choice_entries(parcel.id, tz)
    notifications = list(
        db.session.execute(
            select(Notification)
            .where(Notification.parcel_id == parcel.id)
            .order_by(Notification.created_at.desc(), Notification.id.desc())
        ).scalars()
    )
    inbound_filter = InboundMessage.parcel_id == parcel.id
    if parcel.recipient_phone:
        # Replies we couldn't tie to a parcel still came from this recipient's phone.
        inbound_filter = or_(
            inbound_filter,
            (InboundMessage.parcel_id.is_(None))
            & (InboundMessage.from_phone == parcel.recipient_phone),
        )
    inbound = list(
        db.session.execute(
            select(InboundMessage).where(inbound_filter).order_by(InboundMessage.received_at.desc())
        ).scalars()
    )
    cases = []
    for complaint in reversed(complaints.complaints_of(parcel.id)):
        first, by_message = complaints.photos_in_thread(complaint)
        cases.append(
            {
                "complaint": complaint,
                "type": complaints.type_label(complaint.type),
                "due": complaints.due_day(complaint),
                "overdue": complaint.status not in complaints.CLOSED and complaint.due_at < now,
                "thread": [
                    (m, complaints.entry_text(m), by_message.get(m.id, []))
                    for m in complaint.messages
                ],
                "photos": first,
                "transitions": sorted(s.value for s in complaints.TRANSITIONS[complaint.status]),
                "assignee": accounts.get(complaint.assigned_to_id),
            }
        )
    notes = list(
        db.session.execute(
            select(ParcelNote)
            .where(ParcelNote.parcel_id == parcel.id)
            .order_by(ParcelNote.created_at.desc(), ParcelNote.id.desc())
        ).scalars()
    )
    audit = list(
        db.session.execute(
            select(AuditEntry)
            .where(AuditEntry.parcel_id == parcel.id)
            .order_by(AuditEntry.at.desc(), AuditEntry.id.desc())
            .limit(100)
        ).scalars()
    )
    rets = returns.returns_for(parcel.id)
    current = delivery.current_choice(parcel)
    return {
        "parcel": parcel,
        "events": timeline(parcel),
        "current_choice": delivery.describe(current, tz) if current else None,
        "choices": [(c, made_by_text(c.made_by, accounts)) for c in reversed(choices)],
        "window": delivery.change_window(parcel, now, current),
        "notifications": notifications,
        "inbound": inbound,
        "returns": [(r, returns.refund_due(r), returns.items_value(r)) for r in rets],
        "cases": cases,
        "notes": notes,
        "audit": audit,
    }
