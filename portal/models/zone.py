"""Delivery zones: a set of postcode prefixes in one country and time zone, and the days an
operator closes a zone on top of the country's public holidays."""

from __future__ import annotations

from datetime import date, datetime, time

from sqlalchemy import ForeignKey, String, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow

# Changes for a day close at this local time the day before, unless the zone says otherwise.
DEFAULT_CUTOFF = time(18, 0)


class Zone(db.Model):
    __tablename__ = "zone"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    country: Mapped[str] = mapped_column(String(2))
    time_zone: Mapped[str] = mapped_column(String(64))
    # The weekday (Monday 0) the zone's consolidated "green day" round runs; None: no green day.
    green_weekday: Mapped[int | None]
    # Changes for a delivery day close at this local time the day before.
    cutoff: Mapped[time] = mapped_column(default=DEFAULT_CUTOFF, server_default=text("'18:00:00'"))
    # Bumped by every edit: a supervisor's save based on an older version is refused.
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}

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


class ClosedDay(db.Model):
    """A day an operator closed a zone (24 December, a strike): no slots, no green day."""

    __tablename__ = "closed_day"
    __table_args__ = (UniqueConstraint("zone_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id", ondelete="CASCADE"))
    day: Mapped[date]
    reason: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    zone: Mapped[Zone] = relationship()
