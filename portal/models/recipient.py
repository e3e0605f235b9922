"""Recipients who sign in at /me (issue 19): a person known by the phone numbers and e-mail
addresses they proved with a code, and the one-time codes themselves."""

from __future__ import annotations

import secrets
from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, UniqueConstraint, true
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.types import UTCDateTime, utcnow


def new_session_key() -> int:
    return secrets.randbelow(2**31 - 1) + 1


class Recipient(db.Model):
    __tablename__ = "recipient"

    id: Mapped[int] = mapped_column(primary_key=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # The last sign-in or visit: a profile with no parcel and no visit for long is removed.
    last_seen_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    # When retention told the recipient the profile will be deleted for inactivity; cleared by
    # signing in. None: no notice is pending.
    inactivity_notice_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
    # A random key per profile, carried by its sessions: a session whose key is not the
    # profile's (another profile that got the same id after a deletion, or after "sign out
    # everywhere" drew a new key) is signed out at its next request.
    session_epoch: Mapped[int] = mapped_column(default=new_session_key)

    # Standing preferences, the defaults for every new parcel addressed to me (issue 19).
    # How it arrives: "none", "pickup_point" (a pickup point or locker), "safe_place",
    # "green_day" (when at most a day later than the earliest option) or "neighbour".
    delivery_preference: Mapped[str] = mapped_column(
        String(16), default="none", server_default="none"
    )
    preferred_point_id: Mapped[int | None] = mapped_column(
        ForeignKey("pickup_point.id", ondelete="SET NULL")
    )
    safe_place: Mapped[str | None] = mapped_column(String(20))  # services/delivery SAFE_PLACES
    safe_place_note: Mapped[str | None] = mapped_column(String(200))
    neighbour_name: Mapped[str | None] = mapped_column(String(120))
    neighbour_house: Mapped[str | None] = mapped_column(String(60))
    notify_sms: Mapped[bool] = mapped_column(default=True, server_default=true())
    notify_email: Mapped[bool] = mapped_column(default=True, server_default=true())
    language: Mapped[str | None] = mapped_column(String(8))
    # Local hours (0-23) from which SMS wait, and until which; None: the operator's.
    quiet_start: Mapped[int | None]
    quiet_end: Mapped[int | None]

    # The green mile of parcels retention has anonymised (they no longer carry my address):
    # banked here first, so "avoided so far" never shrinks (services/recipients/green_mile).
    green_banked_grams: Mapped[int] = mapped_column(default=0, server_default="0")
    green_banked_parcels: Mapped[int] = mapped_column(default=0, server_default="0")
    green_banked_chosen: Mapped[int] = mapped_column(default=0, server_default="0")
    # "YYYY-MM" of the choice → [grams avoided, parcels that went green]
    green_banked_months: Mapped[dict | None] = mapped_column(JSON)

    addresses: Mapped[list[RecipientAddress]] = relationship(
        back_populates="recipient", cascade="all, delete-orphan", order_by="RecipientAddress.id"
    )


class RecipientAddress(db.Model):
    """A phone number (E.164) or e-mail address (normalised, lower case) a recipient proved."""

    __tablename__ = "recipient_address"
    __table_args__ = (UniqueConstraint("kind", "value"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    recipient_id: Mapped[int] = mapped_column(
        ForeignKey("recipient.id", ondelete="CASCADE"), index=True
    )
    kind: Mapped[str] = mapped_column(String(8))  # "phone" or "email"
    value: Mapped[str] = mapped_column(String(254))
    verified_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    recipient: Mapped[Recipient] = relationship(back_populates="addresses")


class SignInCode(db.Model):
    """A 6-digit code sent to an address: valid for a few minutes and a few tries, kept only as
    a keyed hash. `recipient_id` set: the code adds the address to that recipient."""

    __tablename__ = "sign_in_code"
    __table_args__ = (Index("ix_sign_in_code_address", "kind", "value", "created_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    kind: Mapped[str] = mapped_column(String(8))
    value: Mapped[str] = mapped_column(String(254))
    code_hash: Mapped[str] = mapped_column(String(64))
    recipient_id: Mapped[int | None] = mapped_column(ForeignKey("recipient.id", ondelete="CASCADE"))
    attempts: Mapped[int] = mapped_column(default=0)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    used_at: Mapped[datetime | None] = mapped_column(UTCDateTime)
