"""The console's work queues: what needs an agent now, oldest or most urgent first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    TERMINAL_STATUSES,
    Complaint,
    InboundMessage,
    Notification,
    NotificationState,
    Parcel,
    ParcelStatus,
    Return,
    ReturnStatus,
)
from portal.models.types import utcnow
from portal.services.complaints import CLOSED

LIMIT = 100


@dataclass
class Queue:
    key: str
    title: str
    explanation: str
    rows: list = field(default_factory=list)


def returns_awaiting_approval(limit: int = LIMIT) -> list[Return]:
    return list(
        db.session.execute(
            select(Return)
            .options(joinedload(Return.parcel))
            .where(Return.status == ReturnStatus.REQUESTED)
            .order_by(Return.created_at, Return.id)
            .limit(limit)
        ).scalars()
    )


def complaints_by_due(now: datetime, limit: int = LIMIT) -> list[Complaint]:
    """Open cases, earliest due first, so the overdue ones lead."""
    return list(
        db.session.execute(
            select(Complaint)
            .options(joinedload(Complaint.parcel))
            .where(Complaint.status.not_in(CLOSED))
            .order_by(Complaint.due_at, Complaint.id)
            .limit(limit)
        ).scalars()
    )


def failed_notifications(limit: int = LIMIT) -> list[Notification]:
    return list(
        db.session.execute(
            select(Notification)
            .options(joinedload(Notification.parcel))
            .where(Notification.state == NotificationState.FAILED)
            .order_by(Notification.failed_at.desc(), Notification.id.desc())
            .limit(limit)
        ).scalars()
    )


OPEN_STATUSES = tuple(s for s in ParcelStatus if s not in TERMINAL_STATUSES)


def stuck_parcels(now: datetime, limit: int = LIMIT) -> list[Parcel]:
    """Open parcels with no event for STUCK_AFTER_HOURS, or past the end of their ETA: the
    longest-quiet first. Two index range scans (status, status_at) and (eta_to), merged here;
    one query with an OR of both would read every open parcel."""
    quiet_since = now - timedelta(hours=current_app.config["STUCK_AFTER_HOURS"])
    quiet = db.session.execute(
        select(Parcel.id, Parcel.status_at)
        .where(Parcel.status.in_(OPEN_STATUSES), Parcel.status_at < quiet_since)
        .order_by(Parcel.status_at)
        .limit(limit)
    ).all()
    late = db.session.execute(
        select(Parcel.id, Parcel.status_at)
        .where(Parcel.eta_to < now, Parcel.status.in_(OPEN_STATUSES))
        .order_by(Parcel.eta_to)
        .limit(limit)
    ).all()
    never = db.session.execute(  # created, never scanned
        select(Parcel.id, Parcel.created_at)
        .where(Parcel.status_at.is_(None), Parcel.created_at < quiet_since)
        .order_by(Parcel.created_at)
        .limit(limit)
    ).all()
    since = {ident: at for ident, at in (*quiet, *late, *never)}
    ids = sorted(since, key=lambda i: (since[i], i))[:limit]
    if not ids:
        return []
    rows = db.session.execute(
        select(Parcel).options(joinedload(Parcel.merchant)).where(Parcel.id.in_(ids))
    ).scalars()
    return sorted(rows, key=lambda p: (since[p.id], p.id))


def unread_replies(limit: int = LIMIT) -> list[InboundMessage]:
    return list(
        db.session.execute(
            select(InboundMessage)
            .options(joinedload(InboundMessage.parcel))
            .where(InboundMessage.read_at.is_(None), InboundMessage.keyword.is_(None))
            .order_by(InboundMessage.received_at, InboundMessage.id)
            .limit(limit)
        ).scalars()
    )


def all_queues(now: datetime | None = None) -> list[Queue]:
    now = now or utcnow()
    hours = current_app.config["STUCK_AFTER_HOURS"]
    return [
        Queue(
            "returns",
            _("Returns awaiting approval"),
            _("Oldest first."),
            returns_awaiting_approval(),
        ),
        Queue(
            "complaints",
            _("Complaints by due date"),
            _("Overdue first."),
            complaints_by_due(now),
        ),
        Queue("failed", _("Failed notifications"), _("Newest first."), failed_notifications()),
        Queue(
            "stuck",
            _("Stuck parcels"),
            _("No event for %(hours)s hours, or past their delivery window.", hours=hours),
            stuck_parcels(now),
        ),
        Queue(
            "replies",
            _("Unread replies"),
            _("SMS replies from recipients, oldest first."),
            unread_replies(),
        ),
    ]
