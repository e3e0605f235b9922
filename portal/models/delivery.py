"""Delivery choices: slot templates and slots per zone, pickup points, what was chosen."""

from __future__ import annotations

import enum
from datetime import date, datetime, time

from sqlalchemy import CheckConstraint, ForeignKey, Index, String, Text, UniqueConstraint, text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.merchant import Carrier
from portal.models.parcel import Parcel
from portal.models.types import UTCDateTime, portable_enum, utcnow
from portal.models.zone import Zone


class Vehicle(enum.StrEnum):
    VAN = "van"
    CARGO_BIKE = "cargo_bike"


class ChoiceType(enum.StrEnum):
    SLOT = "slot"
    GREEN_DAY = "green_day"
    PICKUP_POINT = "pickup_point"
    LOCKER = "locker"
    SAFE_PLACE = "safe_place"
    NEIGHBOUR = "neighbour"
    HOLD = "hold"


class SlotTemplate(db.Model):
    """A weekly delivery window in a zone, from which dated slots are generated. Its natural key
    (what a file row is matched by) is zone + weekday + start + vehicle."""

    __tablename__ = "slot_template"
    __table_args__ = (
        UniqueConstraint("zone_id", "weekday", "start_time", "vehicle"),
        CheckConstraint("weekday BETWEEN 0 AND 6", name="weekday_range"),
        CheckConstraint("capacity > 0", name="capacity_positive"),
        CheckConstraint("end_time > start_time", name="window_order"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"), index=True)
    weekday: Mapped[int]  # Monday 0 … Sunday 6
    start_time: Mapped[time]
    end_time: Mapped[time]
    capacity: Mapped[int]
    vehicle: Mapped[Vehicle] = mapped_column(portable_enum(Vehicle, "vehicle", 16))
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}

    zone: Mapped[Zone] = relationship()


class Slot(db.Model):
    """A dated delivery window with a capacity the database itself never lets bookings exceed."""

    __tablename__ = "slot"
    __table_args__ = (
        UniqueConstraint("zone_id", "starts_at", "vehicle"),
        CheckConstraint("booked >= 0 AND booked <= capacity", name="booked_within_capacity"),
        CheckConstraint("ends_at > starts_at", name="window_order"),
        Index("ix_slot_zone_day", "zone_id", "day"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int] = mapped_column(ForeignKey("zone.id"))
    day: Mapped[date]  # the local date, for grouping and manifests
    starts_at: Mapped[datetime] = mapped_column(UTCDateTime)
    ends_at: Mapped[datetime] = mapped_column(UTCDateTime)
    capacity: Mapped[int]
    booked: Mapped[int] = mapped_column(default=0)
    vehicle: Mapped[Vehicle] = mapped_column(portable_enum(Vehicle, "vehicle", 16))
    # The template it was generated from (None once that template is removed, or made by hand).
    template_id: Mapped[int | None] = mapped_column(
        ForeignKey("slot_template.id", ondelete="SET NULL"), index=True
    )
    # A supervisor closed it: not offered any more; its bookings were moved off it.
    closed_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    closed_reason: Mapped[str | None] = mapped_column(String(200))

    zone: Mapped[Zone] = relationship()

    @property
    def remaining(self) -> int:
        return self.capacity - self.booked


class PickupPoint(db.Model):
    """A service point or parcel locker. A carrier's own points carry its `external_id` (what
    files and the API match by); closing one sets `closed_from` (and `closed_until` for a
    period), never deletes it, so booked parcels and history keep pointing at it."""

    __tablename__ = "pickup_point"
    __table_args__ = (
        CheckConstraint("locker_capacity >= 0", name="locker_capacity_positive"),
        CheckConstraint(
            "lockers_reserved >= 0 AND lockers_reserved <= locker_capacity",
            name="lockers_within_capacity",
        ),
        CheckConstraint("latitude BETWEEN -90 AND 90", name="latitude_range"),
        CheckConstraint("longitude BETWEEN -180 AND 180", name="longitude_range"),
        CheckConstraint(
            "closed_until IS NULL OR (closed_from IS NOT NULL AND closed_until >= closed_from)",
            name="closed_period_order",
        ),
        UniqueConstraint("carrier_id", "external_id"),
        # Nearest points: a bounding box on latitude first, then longitude (services/network).
        Index("ix_pickup_point_lat_lon", "latitude", "longitude"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    zone_id: Mapped[int | None] = mapped_column(ForeignKey("zone.id"), index=True)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carrier.id"))
    external_id: Mapped[str | None] = mapped_column(String(64))
    name: Mapped[str] = mapped_column(String(120))
    is_locker: Mapped[bool] = mapped_column(default=False)
    address_line: Mapped[str] = mapped_column(String(300))
    postcode: Mapped[str] = mapped_column(String(16))
    city: Mapped[str] = mapped_column(String(120))
    country: Mapped[str] = mapped_column(String(2), default="SE", server_default="SE")
    latitude: Mapped[float]
    longitude: Mapped[float]
    # OpenStreetMap opening_hours syntax: "Mo-Fr 08:00-20:00; Sa 10:00-16:00; PH off".
    opening_hours: Mapped[str] = mapped_column(String(300))
    locker_capacity: Mapped[int] = mapped_column(default=0)
    # Compartments promised to parcels that chose this locker (same rule as slot bookings).
    lockers_reserved: Mapped[int] = mapped_column(default=0, server_default=text("0"))
    # Closed from this local day on; until `closed_until` (inclusive), or for good when None.
    closed_from: Mapped[date | None]
    closed_until: Mapped[date | None]
    closed_reason: Mapped[str | None] = mapped_column(String(200))
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    version: Mapped[int] = mapped_column(default=1, server_default=text("1"))

    __mapper_args__ = {"version_id_col": version}

    carrier: Mapped[Carrier | None] = relationship()
    zone: Mapped[Zone | None] = relationship()

    @property
    def lockers_free(self) -> int:
        return self.locker_capacity - self.lockers_reserved

    @property
    def type(self) -> str:
        return "locker" if self.is_locker else "pickup_point"

    def closed_on(self, day: date) -> bool:
        """Closed on `day` by an operator (not by its opening hours)."""
        if self.closed_from is None or day < self.closed_from:
            return False
        return self.closed_until is None or day <= self.closed_until

    def closed_between(self, first: date, last: date) -> bool:
        """Closed by an operator on at least one day from `first` to `last` (inclusive)."""
        if self.closed_from is None or self.closed_from > last:
            return False
        return self.closed_until is None or self.closed_until >= first

    @property
    def closed_for_good(self) -> bool:
        return self.closed_from is not None and self.closed_until is None


class DeliveryChoice(db.Model):
    """One choice made for a parcel. Every change is a new row; the newest is the current one."""

    __tablename__ = "delivery_choice"
    __table_args__ = (
        Index("ix_delivery_choice_parcel_made", "parcel_id", "made_at"),
        # The dashboard's current choices made in a date range.
        Index(
            "ix_delivery_choice_current_made",
            "made_at",
            postgresql_where=text("superseded_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL"),
        ),
        # The places a merchant's checkout bookings hold in a slot (its API share of the slot,
        # services/delivery/capacity.py): only bookings still holding a place.
        Index(
            "ix_delivery_choice_slot_holding",
            "slot_id",
            postgresql_where=text("superseded_at IS NULL AND released_at IS NULL"),
            sqlite_where=text("superseded_at IS NULL AND released_at IS NULL"),
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"))
    type: Mapped[ChoiceType] = mapped_column(portable_enum(ChoiceType, "choice_type", 16))
    slot_id: Mapped[int | None] = mapped_column(ForeignKey("slot.id"))
    pickup_point_id: Mapped[int | None] = mapped_column(ForeignKey("pickup_point.id"))
    day: Mapped[date | None]  # green day, or the hold's last day
    place: Mapped[str | None] = mapped_column(String(20))  # safe place: porch, garage, …
    note: Mapped[str | None] = mapped_column(Text)  # safe place note, or the neighbour's name
    neighbour_house: Mapped[str | None] = mapped_column(String(40))
    co2e_grams: Mapped[int | None]
    made_by: Mapped[str] = mapped_column(String(20), default="recipient")  # recipient, merchant…
    made_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # A newer choice replaced this one (and gave back its slot).
    superseded_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # When the slot place or locker compartment it held was given back (journey ended).
    released_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    parcel: Mapped[Parcel] = relationship()
    slot: Mapped[Slot | None] = relationship()
    pickup_point: Mapped[PickupPoint | None] = relationship()
