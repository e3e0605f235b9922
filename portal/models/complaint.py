"""Complaints: a case with items, a message thread and photos."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Column, ForeignKey, Index, Numeric, String, Table, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.parcel import Parcel, ParcelItem
from portal.models.types import UTCDateTime, portable_enum, utcnow


class ComplaintType(enum.StrEnum):
    DAMAGED = "damaged"
    MISSING_ITEM = "missing_item"
    NOT_RECEIVED = "not_received"
    LATE = "late"
    WRONG_ITEM = "wrong_item"
    OTHER = "other"


class ComplaintStatus(enum.StrEnum):
    OPEN = "open"
    INVESTIGATING = "investigating"
    AWAITING_CUSTOMER = "awaiting_customer"
    RESOLVED = "resolved"
    REJECTED = "rejected"


class Resolution(enum.StrEnum):
    REFUND = "refund"
    RESHIP = "reship"
    COMPENSATION = "compensation"
    NONE = "none"


complaint_item = Table(
    "complaint_item",
    db.metadata,
    Column("complaint_id", ForeignKey("complaint.id"), primary_key=True),
    Column("parcel_item_id", ForeignKey("parcel_item.id"), primary_key=True),
)


class Complaint(db.Model):
    __tablename__ = "complaint"
    __table_args__ = (
        CheckConstraint("resolution_amount >= 0", name="amount_not_negative"),
        Index("ix_complaint_status_due_at", "status", "due_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    case_number: Mapped[str] = mapped_column(String(16), unique=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), index=True)
    type: Mapped[ComplaintType] = mapped_column(portable_enum(ComplaintType, "complaint_type"))
    description: Mapped[str] = mapped_column(Text)
    status: Mapped[ComplaintStatus] = mapped_column(
        portable_enum(ComplaintStatus, "complaint_status"), default=ComplaintStatus.OPEN
    )
    resolution: Mapped[Resolution | None] = mapped_column(
        portable_enum(Resolution, "complaint_resolution")
    )
    resolution_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # From the merchant's service level; shown to the customer.
    due_at: Mapped[datetime] = mapped_column(UTCDateTime)
    # The agent working the case, if one took it.
    assigned_to_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    # When it was last resolved or rejected (the dashboard's time to resolve).
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    parcel: Mapped[Parcel] = relationship()
    items: Mapped[list[ParcelItem]] = relationship(secondary=complaint_item)
    messages: Mapped[list[ComplaintMessage]] = relationship(
        back_populates="complaint", order_by="ComplaintMessage.id", cascade="all, delete-orphan"
    )
    photos: Mapped[list[Photo]] = relationship(
        back_populates="complaint", order_by="Photo.id", cascade="all, delete-orphan"
    )


class ComplaintMessage(db.Model):
    """One entry in the case thread: the customer's, an agent's, or a status change."""

    __tablename__ = "complaint_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    author: Mapped[str] = mapped_column(String(16))  # customer | agent | system
    agent_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="messages")
    photos: Mapped[list[Photo]] = relationship(back_populates="message", order_by="Photo.id")


class Photo(db.Model):
    """A re-encoded image in storage (the key is random; the file name never comes from us)."""

    __tablename__ = "photo"

    id: Mapped[int] = mapped_column(primary_key=True)
    complaint_id: Mapped[int] = mapped_column(ForeignKey("complaint.id"), index=True)
    message_id: Mapped[int | None] = mapped_column(ForeignKey("complaint_message.id"))
    storage_key: Mapped[str] = mapped_column(String(64), unique=True)
    content_type: Mapped[str] = mapped_column(String(32))
    width: Mapped[int]
    height: Mapped[int]
    size_bytes: Mapped[int]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    complaint: Mapped[Complaint] = relationship(back_populates="photos")
    message: Mapped[ComplaintMessage | None] = relationship(back_populates="photos")
