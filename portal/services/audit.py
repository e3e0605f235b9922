"""The audit log: every staff action, written in the same transaction as the action itself."""

from __future__ import annotations

import enum
import hashlib
import hmac
import json
from collections.abc import Iterator
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal

from flask import current_app
from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import Account, AuditEntry, Parcel

# Every kind of action the console records, with how the log page names it.
ACTIONS: dict[str, str] = {
    "notification.resend": "Resent a notification",
    "delivery.change": "Changed the delivery choice",
    "parcel.hold": "Put the parcel on hold",
    "parcel.release": "Released the hold",
    "return.open": "Started a return for the recipient",
    "return.approve": "Approved a return",
    "return.reject": "Rejected a return",
    "return.refund": "Marked a return refunded",
    "complaint.assign": "Assigned a complaint",
    "complaint.status": "Changed a complaint's status",
    "complaint.message": "Messaged the customer",
    "complaint.ask_photos": "Asked the customer for photos",
    "note.add": "Added an internal note",
    "inbound.read": "Marked a reply read",
    "account.create": "Created an account",
    "account.update": "Changed an account",
    "account.totp": "Changed two-factor log-in",
    "account.password": "Changed their own password",
    "account.password_reset": "Reset a password (set-password link e-mailed)",
    "merchant.create": "Added a merchant",
    "merchant.update": "Changed a merchant",
    "policy.update": "Changed a return policy",
    "api_key.create": "Created an API key",
    "api_key.revoke": "Revoked an API key",
    "webhook.create": "Added a webhook endpoint",
    "webhook.delete": "Removed a webhook endpoint",
    "template.save": "Saved a message template",
    "template.reset": "Reset a message template",
    "network.zone.create": "Added a zone",
    "network.zone.update": "Changed a zone",
    "network.prefix.add": "Added a postcode prefix to a zone",
    "network.prefix.remove": "Removed a postcode prefix from a zone",
    "network.day.close": "Closed a zone for a day",
    "network.day.reopen": "Reopened a zone's closed day",
    "network.template.create": "Added a slot template",
    "network.template.update": "Changed a slot template",
    "network.template.remove": "Removed a slot template",
    "network.slot.close": "Closed a delivery slot",
    "network.slot.reopen": "Reopened a delivery slot",
    "network.point.create": "Added a pickup point or locker",
    "network.point.update": "Changed a pickup point or locker",
    "network.point.close": "Closed a pickup point or locker",
    "network.point.reopen": "Reopened a pickup point or locker",
    "network.carrier.create": "Added a carrier",
    "network.import": "Imported a network file",
    "network.withdraw": "Withdrew a booking (network closure)",
}


def pseudonym(text: str | None) -> dict | None:
    """Free text that may name or reach a person (a note, a message to the customer, a reason,
    a neighbour's name), as the audit log keeps it: its length and a keyed hash, never the text.

    The log is append-only and outlives retention (services/retention.py), so it must hold no
    personal values: the text itself stays on its own row (the note, the case thread), where
    retention removes it. The hash (HMAC-SHA256 under a key derived from SECRET_KEY) still
    shows whether two entries carried the same text, and confirms a given text when someone
    holding the key checks it, without anyone reading it from the log."""
    if text is None or not str(text).strip():
        return None
    value = str(text).strip()
    key = hmac.new(
        current_app.config["SECRET_KEY"].encode(), b"lastmile audit pseudonym", hashlib.sha256
    ).digest()
    digest = hmac.new(key, value.encode(), hashlib.sha256).hexdigest()[:32]
    return {"hmac": digest, "chars": len(value)}


def plain(value: object) -> object:
    """A value as JSON can hold it: dates as ISO text, money as text, enums as their value."""
    if isinstance(value, dict):
        return {str(k): plain(v) for k, v in value.items()}
    if isinstance(value, list | tuple | set | frozenset):
        return [plain(v) for v in value]
    if isinstance(value, enum.Enum):
        return value.value
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, Decimal):
        return str(value)
    return value


def record(
    account: Account,
    action: str,
    *,
    parcel: Parcel | None = None,
    subject: str | None = None,
    before: dict | None = None,
    after: dict | None = None,
) -> AuditEntry:
    """Write one audit row for `account`'s action; the caller's commit makes it stick together
    with the change it describes (so there is never a change without its row, or the other way)."""
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    entry = AuditEntry(
        account_id=account.id,
        actor=account.email,
        action=action,
        parcel_id=parcel.id if parcel is not None else None,
        subject=subject,
        before=plain(before) if before is not None else None,
        after=plain(after) if after is not None else None,
    )
    db.session.add(entry)
    return entry


@dataclass
class AuditFilter:
    account_id: int | None = None
    parcel_id: int | None = None
    action: str | None = None
    since: datetime | None = None  # inclusive
    until: datetime | None = None  # exclusive


def _query(f: AuditFilter):
    q = select(AuditEntry)
    if f.account_id is not None:
        q = q.where(AuditEntry.account_id == f.account_id)
    if f.parcel_id is not None:
        q = q.where(AuditEntry.parcel_id == f.parcel_id)
    if f.action:
        q = q.where(AuditEntry.action == f.action)
    if f.since is not None:
        q = q.where(AuditEntry.at >= f.since)
    if f.until is not None:
        q = q.where(AuditEntry.at < f.until)
    return q.order_by(AuditEntry.at.desc(), AuditEntry.id.desc())


def entries(f: AuditFilter, *, limit: int = 200, offset: int = 0) -> list[AuditEntry]:
    return list(db.session.execute(_query(f).limit(limit).offset(offset)).scalars())


CSV_COLUMNS = ["at", "actor", "action", "tracking_number", "subject", "before", "after"]


def csv_rows(f: AuditFilter, batch: int = 1000) -> Iterator[list[object]]:
    """The filtered log as CSV rows, read in batches so a long export never sits in memory.
    Each batch is turned into plain values before any is handed out (the rows outlive the
    database session that read them)."""
    last_id = None
    while True:
        # Keyset pages (newest first by id): entries written during the export don't shift
        # the pages and repeat rows, as an OFFSET would.
        query = _query(f).order_by(None).order_by(AuditEntry.id.desc())
        if last_id is not None:
            query = query.where(AuditEntry.id < last_id)
        query = query.options(joinedload(AuditEntry.parcel)).limit(batch)
        found = db.session.execute(query).scalars().all()
        plain_rows = [
            [
                e.at.isoformat(),
                e.actor,
                e.action,
                e.parcel.tracking_number if e.parcel else "",
                e.subject or "",
                json.dumps(e.before, ensure_ascii=False, sort_keys=True) if e.before else "",
                json.dumps(e.after, ensure_ascii=False, sort_keys=True) if e.after else "",
            ]
            for e in found
        ]
        yield from plain_rows
        if len(found) < batch:
            return
        last_id = found[-1].id
