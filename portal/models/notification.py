"""The outbox: one row per message to one recipient; opt-outs, replies, merchant webhooks."""

from __future__ import annotations

import enum
from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.merchant import Merchant
from portal.models.parcel import Parcel
from portal.models.types import UTCDateTime, portable_enum, utcnow


class Channel(enum.StrEnum):
    SMS = "sms"
    EMAIL = "email"
    WEBHOOK = "webhook"


class NotificationState(enum.StrEnum):
    QUEUED = "queued"
    SENT = "sent"
    DELIVERED = "delivered"
    FAILED = "failed"
    SUPPRESSED = "suppressed"


class Notification(db.Model):
    __tablename__ = "notification"
    __table_args__ = (
        # What the sweeper scans: rows still queued, oldest due first.
        Index("ix_notification_state_due", "state", "not_before"),
        # The dashboard's messages in a date range.
        Index("ix_notification_created_at", "created_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"), index=True)
    channel: Mapped[Channel] = mapped_column(portable_enum(Channel, "notification_channel", 16))
    trigger: Mapped[str] = mapped_column(String(40))
    language: Mapped[str] = mapped_column(String(8), default="en")
    # The recipient's zone, for quiet hours at send time without loading the parcel; None for
    # an answer to the recipient's own text, which no quiet hours hold back.
    time_zone: Mapped[str | None] = mapped_column(String(64))
    # Phone (E.164), e-mail address, or webhook endpoint URL.
    recipient: Mapped[str] = mapped_column(String(500))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    body_html: Mapped[str | None] = mapped_column(Text)
    # False: subject and body are written by the worker when it sends the row (a carrier's
    # batch queues hundreds of status messages; rendering them is the sender's work).
    rendered: Mapped[bool] = mapped_column(default=True, server_default=true())
    # E-mail only: the signed one-click unsubscribe URL (List-Unsubscribe header and footer).
    list_unsubscribe: Mapped[str | None] = mapped_column(String(300))
    state: Mapped[NotificationState] = mapped_column(
        portable_enum(NotificationState, "notification_state", 16), default=NotificationState.QUEUED
    )
    provider_id: Mapped[str | None] = mapped_column(String(64), unique=True)
    attempts: Mapped[int] = mapped_column(default=0)
    last_error: Mapped[str | None] = mapped_column(String(500))
    # Quiet hours and retry backoff: not sent before this time.
    not_before: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A worker holds the row while it talks to the provider; a crashed worker's lease expires.
    claimed_until: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # One message per parcel, trigger and channel (and endpoint): replays can't send twice.
    dedupe_key: Mapped[str | None] = mapped_column(String(200), unique=True)
    webhook_endpoint_id: Mapped[int | None] = mapped_column(ForeignKey("webhook_endpoint.id"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    sent_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    failed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parcel: Mapped[Parcel | None] = relationship()


class SmsOptOut(db.Model):
    """A phone number that replied STOP: no SMS from us on any parcel until it sends START."""

    __tablename__ = "sms_opt_out"

    phone: Mapped[str] = mapped_column(String(20), primary_key=True)
    opted_out_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class InboundMessage(db.Model):
    """An SMS reply from a recipient, kept for agents to read."""

    __tablename__ = "inbound_message"

    id: Mapped[int] = mapped_column(primary_key=True)
    provider_id: Mapped[str] = mapped_column(String(64), unique=True)  # Twilio MessageSid
    from_phone: Mapped[str] = mapped_column(String(20), index=True)
    body: Mapped[str] = mapped_column(Text)
    keyword: Mapped[str | None] = mapped_column(String(16))  # stop, start, help
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"), index=True)
    received_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    read_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parcel: Mapped[Parcel | None] = relationship()


class WebhookEndpoint(db.Model):
    """A merchant's HTTPS endpoint for parcel status changes, signed with its own secret."""

    __tablename__ = "webhook_endpoint"

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    url: Mapped[str] = mapped_column(String(500))
    # Kept in the clear: every delivery is signed with it (HMAC needs the secret itself).
    secret: Mapped[str] = mapped_column(String(100))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    deleted_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    merchant: Mapped[Merchant] = relationship()
