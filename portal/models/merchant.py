"""Merchants (who sold the goods) and carriers (who move the parcels)."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

from sqlalchemy import CheckConstraint, Numeric, String, text
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class Merchant(db.Model):
    __tablename__ = "merchant"
    __table_args__ = (
        CheckConstraint(
            "api_slot_share >= 1 AND api_slot_share <= 100", name="api_slot_share_percent"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # Safe-place drops are offered only for parcels worth at most this (in the parcel's
    # currency); None: never.
    safe_place_max_value: Mapped[Decimal | None] = mapped_column(Numeric(12, 2))
    # How long the merchant lets a carrier keep a parcel on hold.
    storage_days: Mapped[int] = mapped_column(default=30, server_default=text("30"))
    # Service level for complaints: an answer within this many working days (Mon-Fri).
    complaint_due_days: Mapped[int] = mapped_column(default=3, server_default=text("3"))
    # Where returns go; printed on the label.
    return_address: Mapped[str | None] = mapped_column(String(300))
    # Branding on the merchant's tracking pages and e-mails: "#RRGGBB" and a stored logo.
    brand_colour: Mapped[str | None] = mapped_column(String(7))
    logo_key: Mapped[str | None] = mapped_column(String(64))
    # Percent of each slot's capacity this merchant's API bookings (a checkout's
    # delivery_choice) may hold, so one merchant can't fill slots every merchant shares.
    # Recipients booking on the parcel page are not limited by it.
    api_slot_share: Mapped[int] = mapped_column(default=50, server_default=text("50"))
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Merchant {self.name}>"


class Carrier(db.Model):
    __tablename__ = "carrier"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    # The operator's word on this carrier's transit, in working days, for routes with too
    # little history to learn from (issue 18: basis "carrier_default"); None: not set.
    edd_days_min: Mapped[int | None]
    edd_days_max: Mapped[int | None]
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    def __repr__(self) -> str:
        return f"<Carrier {self.name}>"
