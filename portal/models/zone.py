"""Delivery zones: a set of postcode prefixes in one country and time zone."""

from __future__ import annotations

from sqlalchemy import ForeignKey, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db


class Zone(db.Model):
    __tablename__ = "zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    time_zone: Mapped[str] = mapped_column(String(64))
    # The weekday (Monday 0) the zone's consolidated "green day" round runs; None: no green day.
    green_weekday: Mapped[int | None]

    prefixes: Mapped[list[ZonePostcodePrefix]] = relationship(
        back_populates="zone", cascade="all, delete-orphan"
    )


class ZonePostcodePrefix(db.Model):
    __tablename__ = "zone_postcode_prefix"
    __table_args__ = (UniqueConstraint("country", "prefix"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    country: Mapped[str] = mapped_column(String(2))
    # Normalised: upper case, no spaces or dashes.
    prefix: Mapped[str] = mapped_column(String(12))
    # The area's centre, for distances to pickup points (WGS 84); None: unknown.
    latitude: Mapped[float | None]
    longitude: Mapped[float | None]

    zone: Mapped[Zone] = relationship(back_populates="prefixes")
