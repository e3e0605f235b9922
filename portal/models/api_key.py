"""API keys for merchants and carriers, stored only as a hash."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import CheckConstraint, ForeignKey, String
from sqlalchemy.orm import Mapped, mapped_column, relationship

from portal.extensions import db
from portal.models.merchant import Carrier, Merchant
from portal.models.types import UTCDateTime, utcnow


class ApiKey(db.Model):
    __tablename__ = "api_key"
    __table_args__ = (
        CheckConstraint("(merchant_id IS NULL) <> (carrier_id IS NULL)", name="exactly_one_owner"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    # sha256 of the whole key: keys are 256-bit random, so a fast hash is enough to make a
    # leaked table useless without slowing every API request down with a KDF.
    key_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(16))  # shown in listings to tell keys apart
    merchant_id: Mapped[int | None] = mapped_column(ForeignKey("merchant.id"), index=True)
    carrier_id: Mapped[int | None] = mapped_column(ForeignKey("carrier.id"), index=True)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)
    revoked_at: Mapped[datetime | None] = mapped_column(UTCDateTime)

    merchant: Mapped[Merchant | None] = relationship()
    carrier: Mapped[Carrier | None] = relationship()


class IdempotencyRecord(db.Model):
    """The first answer to a write sent with an Idempotency-Key, replayed for retries."""

    __tablename__ = "idempotency_record"

    id: Mapped[int] = mapped_column(primary_key=True)
    api_key_id: Mapped[int] = mapped_column(ForeignKey("api_key.id"))
    key: Mapped[str] = mapped_column(String(255))
    request_hash: Mapped[str] = mapped_column(String(64))
    status_code: Mapped[int]
    response_body: Mapped[str] = mapped_column(db.Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    __table_args__ = (db.UniqueConstraint("api_key_id", "key"),)
