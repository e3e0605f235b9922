"""The console's work queues: what needs an agent now, oldest or most urgent first."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import (
    TERMINAL_STATUSES,
    Complaint,
    InboundMessage,
    Notification,
    NotificationState,
    Parcel,
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


def stuck_parcels(now: datetime, limit: int = LIMIT) -> list[Parcel]:
    """Open parcels with no event for STUCK_AFTER_HOURS, or past the end of their ETA."""
    quiet_since = now - timedelta(hours=current_app.config["STUCK_AFTER_HOURS"])
    return list(
        db.session.execute(
            select(Parcel)
            .options(joinedload(Parcel.merchant))
            .where(
                Parcel.status.not_in(TERMINAL_STATUSES),
                or_(
                    Parcel.status_at < quiet_since,
                    and_(Parcel.status_at.is_(None), Parcel.created_at < quiet_since),
                    Parcel.eta_to < now,
                ),
            )
            .order_by(Parcel.status_at, Parcel.id)
            .limit(limit)
        ).scalars()
    )


def unread_replies(limit: int = LIMIT) -> list[InboundMessage]:
    return list(
        db.session.execute(
            select(InboundMessage)
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
            "Returns awaiting approval",
            "Oldest first.",
            returns_awaiting_approval(),
        ),
        Queue("complaints", "Complaints by due date", "Overdue first.", complaints_by_due(now)),
        Queue("failed", "Failed notifications", "Newest first.", failed_notifications()),
        Queue(
            "stuck",
            "Stuck parcels",
            f"No event for {hours} hours, or past their delivery window.",
            stuck_parcels(now),
        ),
        Queue(
            "replies",
            "Unread replies",
            "SMS replies from recipients, oldest first.",
            unread_replies(),
        ),
    ]
