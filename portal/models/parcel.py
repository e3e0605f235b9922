"""Parcels: one shipment to one recipient, with its items and its current status."""

from __future__ import annotations

import enum
from datetime import date, datetime
from decimal import Decimal
from functools import lru_cache

from babel.core import get_global
from sqlalchemy import (
    CheckConstraint,
    Column,
    ForeignKey,
    Index,
    Numeric,
    String,
    UniqueConstraint,
    func,
    true,
)
from sqlalchemy.orm import Mapped, mapped_column, relationship, validates

from portal.contact import normalise_postcode
from portal.extensions import db
from portal.models.merchant import Carrier, Merchant
from portal.models.types import UTCDateTime, portable_enum, utcnow
from portal.models.zone import Zone


class ParcelStatus(enum.StrEnum):
    PENDING = "pending"
    PICKED_UP = "picked_up"
    IN_TRANSIT = "in_transit"
    OUT_FOR_DELIVERY = "out_for_delivery"
    DELIVERY_FAILED = "delivery_failed"
    READY_FOR_PICKUP = "ready_for_pickup"
    DELIVERED = "delivered"
    ON_HOLD = "on_hold"
    DELAYED = "delayed"
    RETURN_TO_SENDER = "return_to_sender"
    CANCELLED = "cancelled"

    @property
    def is_terminal(self) -> bool:
        return self in TERMINAL_STATUSES


TERMINAL_STATUSES = frozenset(
    {ParcelStatus.DELIVERED, ParcelStatus.RETURN_TO_SENDER, ParcelStatus.CANCELLED}
)


def status_enum():
    return portable_enum(ParcelStatus, "parcel_status")


class Parcel(db.Model):
    __tablename__ = "parcel"
    __table_args__ = (
        CheckConstraint("weight_grams >= 0", name="weight_not_negative"),
        # Unique per merchant, not globally: one merchant must not be able to block another's
        # number by creating it first. Carrier events match by carrier + number, and a number
        # that is ambiguous for a carrier is refused (services/events.py).
        UniqueConstraint("merchant_id", "tracking_number"),
        Index("ix_parcel_tracking_number", "tracking_number"),
        Index("ix_parcel_merchant_order_ref", "merchant_id", "order_ref"),
        # The carrier's manifest: parcels due in a zone on a day.
        Index("ix_parcel_zone_eta_from", "zone_id", "eta_from"),
        # The agents' search box (admin/services/search.py): exact lookups by phone, e-mail,
        # postcode and order reference, and part of a name through trigrams on PostgreSQL.
        Index("ix_parcel_recipient_phone", "recipient_phone"),
        Index("ix_parcel_recipient_email", func.lower(Column("recipient_email"))),
        Index("ix_parcel_postcode_key", "postcode_key"),
        Index("ix_parcel_order_ref", "order_ref"),
        Index(
            "ix_parcel_recipient_name_trgm",
            func.lower(Column("recipient_name")),
            postgresql_using="gin",
            postgresql_ops={"lower(recipient_name)": "gin_trgm_ops"},
        ).ddl_if(dialect="postgresql"),
        # The stuck-parcel queue: open parcels by the time of their last status.
        Index("ix_parcel_status_status_at", "status", "status_at"),
        # The dashboard's parcels created in a date range.
        Index("ix_parcel_created_at", "created_at"),
        # The stuck-parcel queue: parcels past the end of their delivery window.
        Index("ix_parcel_eta_to", "eta_to"),
        # The dashboard's promise kept: parcels delivered in a date range.
        Index("ix_parcel_delivered_at", "delivered_at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    tracking_number: Mapped[str] = mapped_column(String(13))
    # Indexed by ix_parcel_merchant_order_ref (merchant_id first): every event batch updates
    # hundreds of parcels, and each index on the table is one more write per parcel.
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    # No index of its own: a carrier has hundreds of thousands of parcels, and its queries
    # (the manifest) go by zone and day.
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carrier.id"))
    order_ref: Mapped[str | None] = mapped_column(String(64))

    recipient_name: Mapped[str] = mapped_column(String(200))
    recipient_phone: Mapped[str | None] = mapped_column(String(20))  # E.164
    recipient_email: Mapped[str | None] = mapped_column(String(254))
    address_line: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(16))
    # normalise_postcode(postcode): what the search box compares ("114 55" = "11455").
    postcode_key: Mapped[str] = mapped_column(String(16), default="")
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2))
    language: Mapped[str] = mapped_column(String(8), default="en")

    weight_grams: Mapped[int] = mapped_column(default=0)
    currency: Mapped[str] = mapped_column(String(3), default="EUR")
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))  # ix_parcel_zone_eta_from
    # The recipient's choice of channels (parcel page); both on until they say otherwise.
    notify_sms: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=true())

    status: Mapped[ParcelStatus] = mapped_column(status_enum(), default=ParcelStatus.PENDING)
    # occurred_at of the event that set the status: an older event never overrides it.
    status_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta_from: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta_to: Mapped[datetime | None] = mapped_column(UTCDateTime)
    eta_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)

    # Predicted delivery (issue 18, services/edd). Where it leaves from: the postcode as given
    # (or the merchant's return address's), its area (the segment the fit learns per route)
    # and its zone, if the network has one there.
    origin_postcode: Mapped[str | None] = mapped_column(String(16))
    origin_area: Mapped[str | None] = mapped_column(String(8))
    origin_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))
    # The carrier's first pickup scan and its delivery scan: transit is measured between them.
    picked_up_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    delivered_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # The latest predicted day as of the pickup (the promise), and whether the delivery kept
    # it: the dashboard's "promise kept".
    promised_by: Mapped[date | None]
    promise_kept: Mapped[bool | None]
    # Why the recipient's standing delivery preference (issue 19) could not be used for this
    # parcel, in words the parcel page shows; None: used, or there was none.
    preference_note: Mapped[str | None] = mapped_column(String(300))
    # The recipient's own quiet hours (local hours: SMS wait from start until end), from their
    # standing preferences; None: the operator's NOTIFY_QUIET_START / NOTIFY_QUIET_END.
    quiet_start: Mapped[int | None]
    quiet_end: Mapped[int | None]

    merchant: Mapped[Merchant] = relationship()
    carrier: Mapped[Carrier] = relationship()
    zone: Mapped[Zone | None] = relationship(foreign_keys=[zone_id])
    items: Mapped[list[ParcelItem]] = relationship(
        back_populates="parcel", cascade="all, delete-orphan", order_by="ParcelItem.id"
    )

    @validates("postcode")
    def _postcode(self, key: str, value: str) -> str:
        self.postcode_key = normalise_postcode(value)[:16]
        return value

    @property
    def time_zone(self) -> str | None:
        """The zone's time zone; outside the network, its country's when it has one (CLDR:
        Europe/Oslo, Europe/Copenhagen, Europe/Helsinki); else None, the portal's default."""
        if self.zone:
            return self.zone.time_zone
        return country_time_zone(self.country)


@lru_cache(maxsize=64)
def country_time_zone(country: str | None) -> str | None:
    zones = get_global("territory_zones").get((country or "").upper(), ())
    return zones[0] if len(zones) == 1 else None


class ParcelItem(db.Model):
    __tablename__ = "parcel_item"
    __table_args__ = (
        CheckConstraint("quantity > 0", name="quantity_positive"),
        CheckConstraint("unit_price >= 0", name="unit_price_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), index=True)
    sku: Mapped[str] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(200))
    quantity: Mapped[int]
    unit_price: Mapped[Decimal] = mapped_column(Numeric(12, 2))
    # The merchant's word at creation; its return policy can exclude SKUs on top of this.
    returnable: Mapped[bool] = mapped_column(default=True, server_default=true())

    parcel: Mapped[Parcel] = relationship(back_populates="items")
