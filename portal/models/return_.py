"""Returns: the merchant's policy, an RMA with its items, its own tracking number and label."""

from __future__ import annotations

import enum
from datetime import datetime
from decimal import Decimal

from sqlalchemy import JSON, CheckConstraint, ForeignKey, Numeric, String, Text, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.delivery import Slot
from portal.models.merchant import Carrier, Merchant
from portal.models.parcel import Parcel, ParcelItem
from portal.models.types import UTCDateTime, portable_enum, utcnow


class ReturnMethod(enum.StrEnum):
    DROPOFF = "dropoff"  # at a service point, with the QR code
    LOCKER = "locker"
    HOME_PICKUP = "home_pickup"


class ReturnReason(enum.StrEnum):
    TOO_SMALL = "too_small"
    TOO_LARGE = "too_large"
    DAMAGED = "damaged"
    NOT_AS_DESCRIBED = "not_as_described"
    WRONG_ITEM = "wrong_item"
    CHANGED_MIND = "changed_mind"
    OTHER = "other"


class ReturnStatus(enum.StrEnum):
    REQUESTED = "requested"
    APPROVED = "approved"
    REJECTED = "rejected"
    DROPPED_OFF = "dropped_off"
    IN_TRANSIT = "in_transit"
    RECEIVED = "received"
    REFUNDED = "refunded"
    CLOSED = "closed"


class ReturnPolicy(db.Model):
    """One per merchant; a merchant without a row gets the defaults (see services.returns)."""

    __tablename__ = "return_policy"
    __table_args__ = (
        CheckConstraint("window_days >= 0", name="window_not_negative"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), unique=True)
    window_days: Mapped[int] = mapped_column(default=30, server_default="30")
    # ReturnMethod values the merchant accepts, in the order the page offers them.
    methods: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(ReturnMethod))
    # ReturnReason values offered to customers ("other" is always offered).
    reasons: Mapped[list[str]] = mapped_column(JSON, default=lambda: list(ReturnReason))
    # SKUs never taken back (hygiene goods, gift cards …), on top of items flagged at creation.
    non_returnable_skus: Mapped[list[str]] = mapped_column(JSON, default=list)
    # Deducted from the refund; None or 0: free returns.
    fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    auto_approve: Mapped[bool] = mapped_column(default=True, server_default=true())

    merchant: Mapped[Merchant] = relationship()


def return_status_enum():
    return portable_enum(ReturnStatus, "return_status")


class Return(db.Model):
    __tablename__ = "return_"
    __table_args__ = (
        CheckConstraint("refund_amount >= 0", name="refund_not_negative"),
        CheckConstraint("fee >= 0", name="fee_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    rma: Mapped[str] = mapped_column(String(16), unique=True)
    # Its own S10 number: carriers push events for it through the same events API.
    return_tracking_number: Mapped[str] = mapped_column(String(13), unique=True)
    # What the QR code carries; typed by staff when a camera can't read it.
    dropoff_code: Mapped[str] = mapped_column(String(16), unique=True)
    locker_code: Mapped[str | None] = mapped_column(String(8))
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"), index=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carrier.id"), index=True)
    # The parcel the customer started from: its recipient gets the messages.
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), index=True)
    order_ref: Mapped[str | None] = mapped_column(String(64))
    method: Mapped[ReturnMethod] = mapped_column(portable_enum(ReturnMethod, "return_method"))
    status: Mapped[ReturnStatus] = mapped_column(return_status_enum())
    status_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    created_by: Mapped[str] = mapped_column(String(16))  # recipient | merchant
    currency: Mapped[str] = mapped_column(String(3))
    fee: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    refund_amount: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slot.id"), index=True)
    rejection_reason: Mapped[str | None] = mapped_column(Text)
    dropped_off_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    dropped_off_place: Mapped[str | None] = mapped_column(String(200))
    dropped_off_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
    received_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    refunded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    updated_at: Mapped[datetime] = mapped_column(
        UTCDateTime, default=utcnow, onupdate=utcnow, index=True
    )

    merchant: Mapped[Merchant] = relationship()
    carrier: Mapped[Carrier] = relationship()
    parcel: Mapped[Parcel] = relationship()
    slot: Mapped[Slot | None] = relationship()
    items: Mapped[list[ReturnItem]] = relationship(
        back_populates="return_", cascade="all, delete-orphan", order_by="ReturnItem.id"
    )


class ReturnItem(db.Model):
    __tablename__ = "return_item"
    __table_args__ = (CheckConstraint("quantity > 0", name="quantity_positive"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    return_id: Mapped[int] = mapped_column(ForeignKey("return_.id"), index=True)
    parcel_item_id: Mapped[int] = mapped_column(ForeignKey("parcel_item.id"), index=True)
    quantity: Mapped[int]
    reason: Mapped[ReturnReason] = mapped_column(portable_enum(ReturnReason, "return_reason"))
    reason_text: Mapped[str | None] = mapped_column(String(500))

    return_: Mapped[Return] = relationship(back_populates="items")
    parcel_item: Mapped[ParcelItem] = relationship()
