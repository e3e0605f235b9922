"""Short signed links sent in SMS and email (`/l/<token>`)."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.parcel import Parcel
from portal.models.types import UTCDateTime, utcnow


class SignedLink(db.Model):
    __tablename__ = "signed_link"

    id: Mapped[int] = mapped_column(primary_key=True)
    # Only the sha256 of the token is stored: a database dump opens no parcels.
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    purpose: Mapped[str] = mapped_column(String(32))  # "track", later "return", "case"
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), index=True)
    target: Mapped[str] = mapped_column(String(200))  # path to open once verified
    # The phone number or e-mail address the message with this link went to: opening it
    # proves that address too, so it also signs in at /me (issue 19). None: not sent.
    address: Mapped[str | None] = mapped_column(String(254))
    expires_at: Mapped[datetime] = mapped_column(UTCDateTime)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    parcel: Mapped[Parcel] = relationship()
