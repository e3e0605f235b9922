"""Predicted delivery (issue 18): the transits learned from, and what the fit made of them."""

from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import JSON, ForeignKey, Index, String
from sqlalchemy.orm import Mapped, mapped_column

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


class TransitObservation(db.Model):
    """One parcel's journey, from its first pickup scan to its delivery, in working days of the
    destination: written when a parcel is delivered, or loaded from an operator's history
    (`flask edd import-history`). The fit groups these; nothing reads them one by one."""

    __tablename__ = "transit_observation"
    __table_args__ = (
        # The fit and the backtest take a span of pickups.
        Index("ix_transit_observation_picked_up_on", "picked_up_on"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # The parcel it was measured on (unique: a parcel is delivered once); None: imported.
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"), unique=True)
    carrier_id: Mapped[int] = mapped_column(ForeignKey("carrier.id"))
    origin_area: Mapped[str | None] = mapped_column(String(8))
    origin_zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"))
    country: Mapped[str] = mapped_column(String(2))
    # Local to the destination (its zone's time zone).
    picked_up_on: Mapped[date]
    delivered_on: Mapped[date]
    pickup_weekday: Mapped[int]  # Monday 0
    transit_days: Mapped[int]  # working days after the pickup day, up to the delivery day
    # An imported row's fingerprint (its values, and which repeat of them it is in its file):
    # importing the same file again adds nothing.
    source_key: Mapped[str | None] = mapped_column(String(64), unique=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)


class TransitEstimate(db.Model):
    """A segment's transit as the last fit counted it: how many parcels took 0, 1, 2 …
    working days. Predictions read one segment by key (services/edd/segments.py)."""

    __tablename__ = "transit_estimate"

    segment: Mapped[str] = mapped_column(String(80), primary_key=True)
    basis: Mapped[str] = mapped_column(String(16))  # route, zone_pair, carrier
    histogram: Mapped[list[int]] = mapped_column(JSON)
    sample_size: Mapped[int]
    fitted_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
