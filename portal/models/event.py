"""Tracking events as carriers report them."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.parcel import ParcelStatus, status_enum
from portal.models.types import UTCDateTime, utcnow


class TrackingEvent(db.Model):
    __tablename__ = "tracking_event"
    __table_args__ = (
        # Carriers resend events; their own id makes a resend a duplicate, not a new event.
        UniqueConstraint("carrier_id", "event_id"),
        Index("ix_tracking_event_parcel_occurred", "parcel_id", "occurred_at"),
        # Only a return's events: a parcel's (nearly all of them) add no entry to write.
        Index(
            "ix_tracking_event_return_occurred",
            "return_id",
            "occurred_at",
            postgresql_where=text("return_id IS NOT NULL"),
            sqlite_where=text("return_id IS NOT NULL"),
        ),
        # The dashboard's failed deliveries in a date range.
        Index(
            "ix_tracking_event_failed_occurred",
            "occurred_at",
            postgresql_where=text("code = 'delivery_failed'"),
            sqlite_where=text("code = 'delivery_failed'"),
        ),
        # An event is about a parcel or about a return (its own tracking number), never both.
        CheckConstraint("(parcel_id IS NULL) <> (return_id IS NULL)", name="parcel_or_return"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"))
    return_id: Mapped[int | None] = mapped_column(ForeignKey("return_.id"))
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carrier.id"))
    event_id: Mapped[str] = mapped_column(String(100))
    code: Mapped[ParcelStatus] = mapped_column(status_enum())
    occurred_at: Mapped[datetime] = mapped_column(UTCDateTime)
    location: Mapped[str | None] = mapped_column(String(200))
    description: Mapped[str | None] = mapped_column(Text)
    eta_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
