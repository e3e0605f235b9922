"""What staff did: the audit log (append-only) and internal notes on parcels."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import JSON, ForeignKey, Index, String, Text, event
from sqlalchemy.orm import Mapped, Session, mapped_column, relationship

from portal.extensions import db
from portal.models.account import Account
from portal.models.parcel import Parcel
from portal.models.types import UTCDateTime, utcnow


class AuditEntry(db.Model):
    """One staff action: who, what, when, on which parcel, and the values before and after.

    Append-only: the app has no path that updates or deletes a row (a flush that tries raises),
    and on PostgreSQL a trigger refuses UPDATE and DELETE from anyone else too.
    """

    __tablename__ = "audit_entry"
    __table_args__ = (
        Index("ix_audit_entry_account_at", "account_id", "at"),
        Index("ix_audit_entry_parcel_at", "parcel_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    # The account's e-mail then: the log reads the same after an account is renamed.
    actor: Mapped[str] = mapped_column(String(254))
    action: Mapped[str] = mapped_column(String(40), index=True)
    parcel_id: Mapped[int | None] = mapped_column(ForeignKey("parcel.id"))
    # What was acted on besides the parcel: "return:RMA", "complaint:C-…", "merchant:3" …
    subject: Mapped[str | None] = mapped_column(String(120))
    before: Mapped[dict | None] = mapped_column(JSON)
    after: Mapped[dict | None] = mapped_column(JSON)

    account: Mapped[Account] = relationship()
    parcel: Mapped[Parcel | None] = relationship()


@event.listens_for(Session, "before_flush")
def _append_only(session: Session, flush_context, instances) -> None:
    for row in (*session.dirty, *session.deleted):
        if isinstance(row, AuditEntry) and (row in session.deleted or session.is_modified(row)):
            raise RuntimeError("The audit log is append-only.")


class ParcelNote(db.Model):
    """An agent's internal note on a parcel; never shown to the recipient."""

    __tablename__ = "parcel_note"

    id: Mapped[int] = mapped_column(primary_key=True)
    parcel_id: Mapped[int] = mapped_column(ForeignKey("parcel.id"), index=True)
    account_id: Mapped[int] = mapped_column(ForeignKey("account.id"))
    body: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow)

    account: Mapped[Account] = relationship()


class MessageTemplate(db.Model):
    """A merchant's own wording of one message (trigger, channel, language); without one the
    built-in template is used."""

    __tablename__ = "message_template"
    __table_args__ = (db.UniqueConstraint("merchant_id", "trigger", "channel", "language"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    merchant_id: Mapped[int] = mapped_column(ForeignKey("merchant.id"))
    trigger: Mapped[str] = mapped_column(String(40))
    channel: Mapped[str] = mapped_column(String(16))  # sms | email
    language: Mapped[str] = mapped_column(String(8))
    subject: Mapped[str | None] = mapped_column(String(200))
    body: Mapped[str] = mapped_column(Text)
    updated_at: Mapped[datetime] = mapped_column(UTCDateTime, default=utcnow, onupdate=utcnow)
    updated_by_id: Mapped[int | None] = mapped_column(ForeignKey("account.id"))
