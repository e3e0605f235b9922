"""Retention (issue 19): personal data kept no longer than the operator set.

What is due, and what happens to it:

- A parcel closed (delivered, returned to sender, cancelled) more than RETENTION_DAYS ago by
  its `status_at`, with no complaint still open: the recipient's name and address line become
  MARKER, phone and e-mail NULL; its messages lose their bodies (and the SMS/e-mail address they
  went to: MARKER), its inbound replies their text and number, its signed links are deleted,
  and the free text people wrote about it (delivery notes and the neighbour's house, agents'
  notes, complaint descriptions and threads, return reasons) is removed.
- An inbound reply tied to no parcel, received more than RETENTION_DAYS ago: its text and
  number.
- Complaint photos, RETENTION_PHOTO_DAYS after their case was resolved or rejected: the files
  and their rows.

What statistics need stays: zone, postcode, city, dates, statuses, delivery choices (their type,
slot, day and point), CO2e estimates, items, returns and complaints (type, status, times), and
transit observations (which hold no personal data), so the dashboard and the predictions keep
working. The STOP list (SmsOptOut) stays too: a number that said STOP must stay unsent to.
The audit log is never touched: its writes keep personal text out (services/audit.py).

Work is done in batches, each its own committed transaction, so no lock is held longer than one
batch takes: parcels are walked by id range (the primary key), the due ones in a range are
picked with `FOR UPDATE SKIP LOCKED` on PostgreSQL (a parcel a carrier's batch holds is left for
the next run, never waited on), and every change is one set-based UPDATE or DELETE by those
ids. Readers never wait (PostgreSQL's reads take no row locks). A parcel already anonymised has
MARKER as its name and is skipped, so a run can be repeated or interrupted at any point.
"""

from __future__ import annotations

import logging
import time
from collections import Counter
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import datetime, timedelta

from flask import current_app
from sqlalchemy import case, delete, exists, func, select, update

from portal.extensions import db
from portal.models import (
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    DeliveryChoice,
    InboundMessage,
    Notification,
    Parcel,
    ParcelNote,
    ParcelStatus,
    Photo,
    Return,
    ReturnItem,
    SignedLink,
)
from portal.models.types import utcnow
from portal.storage import get_storage

log = logging.getLogger(__name__)

MARKER = "[removed]"
CLOSED = (ParcelStatus.DELIVERED, ParcelStatus.RETURN_TO_SENDER, ParcelStatus.CANCELLED)
CASE_CLOSED = (ComplaintStatus.RESOLVED, ComplaintStatus.REJECTED)

# The kinds a run reports, in the order it reports them.
KINDS = (
    "parcels",
    "notifications",
    "inbound_replies",
    "signed_links",
    "delivery_notes",
    "parcel_notes",
    "complaints",
    "complaint_messages",
    "return_reasons",
    "return_item_reasons",
    "unlinked_inbound_replies",
    "photos",
    "photo_files",
)


@dataclass
class Report:
    dry_run: bool
    counts: Counter = field(default_factory=Counter)
    batches: int = 0
    seconds: float = 0.0
    # The longest one batch's transaction stayed open (what a writer could have waited).
    longest_batch_seconds: float = 0.0

    def lines(self) -> list[str]:
        verb = "would change" if self.dry_run else "changed"
        return [f"{kind}: {self.counts.get(kind, 0)}" for kind in KINDS] + [
            f"{verb} in {self.batches} batch(es), {self.seconds:.1f}s"
            f" (longest batch {self.longest_batch_seconds * 1000:.0f} ms)"
        ]


def run(
    *,
    now: datetime | None = None,
    dry_run: bool = False,
    batch: int | None = None,
    on_batch: Callable[[Report], None] | None = None,
) -> Report:
    """Anonymise (or, with `dry_run`, count) everything due at `now`. Commits per batch; the
    caller's session must have nothing pending."""
    config = current_app.config
    now = now or utcnow()
    batch = batch or config["RETENTION_BATCH"]
    report = Report(dry_run=dry_run)
    started = time.perf_counter()
    cutoff = now - timedelta(days=config["RETENTION_DAYS"])
    _parcels(report, cutoff, batch, on_batch)
    _unlinked_inbound(report, cutoff, batch, on_batch)
    _photos(report, now - timedelta(days=config["RETENTION_PHOTO_DAYS"]), batch, on_batch)
    report.seconds = time.perf_counter() - started
    log.info(
        "retention %s: %s",
        "dry run" if dry_run else "run",
        ", ".join(f"{k}={report.counts.get(k, 0)}" for k in KINDS),
    )
    return report


def _end_batch(report: Report, began: float, on_batch) -> None:
    if report.dry_run:
        db.session.rollback()
    else:
        db.session.commit()
    report.batches += 1
    report.longest_batch_seconds = max(report.longest_batch_seconds, time.perf_counter() - began)
    if on_batch is not None:
        on_batch(report)


# --- parcels and what hangs off them --------------------------------------------------------


def _open_case():
    return exists().where(Complaint.parcel_id == Parcel.id, Complaint.status.not_in(CASE_CLOSED))


def _due_parcels(start: int, end: int, cutoff: datetime, *, lock: bool):
    query = select(Parcel.id).where(
        Parcel.id >= start,
        Parcel.id < end,
        Parcel.status.in_(CLOSED),
        func.coalesce(Parcel.status_at, Parcel.updated_at) < cutoff,
        Parcel.recipient_name != MARKER,
        ~_open_case(),
    )
    if lock:
        query = query.with_for_update(of=Parcel, skip_locked=True)
    return list(db.session.execute(query).scalars())


def _changes(ids: list[int]) -> list[tuple[str, object, object, dict | None]]:
    """(kind, model, which rows, new values; None: delete them) for the parcels `ids`."""
    of_parcels = ReturnItem.return_id.in_(select(Return.id).where(Return.parcel_id.in_(ids)))
    return [
        (
            "parcels",
            Parcel,
            Parcel.id.in_(ids),
            {
                "recipient_name": MARKER,
                "address_line": MARKER,
                "recipient_phone": None,
                "recipient_email": None,
            },
        ),
        (
            "notifications",
            Notification,
            Notification.parcel_id.in_(ids),
            {
                "body": "",
                "body_html": None,
                "list_unsubscribe": None,
                "last_error": None,
                # A webhook's recipient is the merchant's endpoint, not a person.
                "recipient": case(
                    (Notification.channel == Channel.WEBHOOK, Notification.recipient),
                    else_=MARKER,
                ),
            },
        ),
        (
            "inbound_replies",
            InboundMessage,
            InboundMessage.parcel_id.in_(ids),
            {"body": "", "from_phone": MARKER},
        ),
        ("signed_links", SignedLink, SignedLink.parcel_id.in_(ids), None),
        (
            "delivery_notes",
            DeliveryChoice,
            DeliveryChoice.parcel_id.in_(ids)
            & (DeliveryChoice.note.is_not(None) | DeliveryChoice.neighbour_house.is_not(None)),
            {"note": None, "neighbour_house": None},
        ),
        ("parcel_notes", ParcelNote, ParcelNote.parcel_id.in_(ids), {"body": MARKER}),
        ("complaints", Complaint, Complaint.parcel_id.in_(ids), {"description": MARKER}),
        (
            "complaint_messages",
            ComplaintMessage,
            ComplaintMessage.complaint_id.in_(
                select(Complaint.id).where(Complaint.parcel_id.in_(ids))
            ),
            {"body": MARKER},
        ),
        (
            "return_reasons",
            Return,
            Return.parcel_id.in_(ids) & Return.rejection_reason.is_not(None),
            {"rejection_reason": None},
        ),
        (
            "return_item_reasons",
            ReturnItem,
            of_parcels & ReturnItem.reason_text.is_not(None),
            {"reason_text": None},
        ),
    ]


def _apply(report: Report, changes) -> None:
    for kind, model, where, values in changes:
        if report.dry_run:
            count = db.session.execute(
                select(func.count()).select_from(model).where(where)
            ).scalar_one()
        elif values is None:
            count = db.session.execute(
                delete(model).where(where).execution_options(synchronize_session=False)
            ).rowcount
        else:
            count = db.session.execute(
                update(model)
                .where(where)
                .values(**values)
                .execution_options(synchronize_session=False)
            ).rowcount
        report.counts[kind] += count


def _parcels(report: Report, cutoff: datetime, batch: int, on_batch) -> None:
    low, high = db.session.execute(select(func.min(Parcel.id), func.max(Parcel.id))).one()
    db.session.rollback()
    if low is None:
        return
    start = low
    while start <= high:
        began = time.perf_counter()
        end = start + batch
        ids = _due_parcels(start, end, cutoff, lock=not report.dry_run)
        if ids:
            _apply(report, _changes(ids))
            _end_batch(report, began, on_batch)
        else:
            db.session.rollback()
        start = end


def _unlinked_inbound(report: Report, cutoff: datetime, batch: int, on_batch) -> None:
    last = 0
    while True:
        began = time.perf_counter()
        query = (
            select(InboundMessage.id)
            .where(
                InboundMessage.id > last,
                InboundMessage.parcel_id.is_(None),
                InboundMessage.received_at < cutoff,
                InboundMessage.from_phone != MARKER,
            )
            .order_by(InboundMessage.id)
            .limit(batch)
        )
        if not report.dry_run:
            query = query.with_for_update(skip_locked=True)
        ids = list(db.session.execute(query).scalars())
        if not ids:
            db.session.rollback()
            return
        _apply(
            report,
            [
                (
                    "unlinked_inbound_replies",
                    InboundMessage,
                    InboundMessage.id.in_(ids),
                    {"body": "", "from_phone": MARKER},
                )
            ],
        )
        _end_batch(report, began, on_batch)
        last = ids[-1]


# --- complaint photos -----------------------------------------------------------------------


def _photos(report: Report, cutoff: datetime, batch: int, on_batch) -> None:
    """Rows first, files after the commit: a row never points at a file that is gone, and a
    file whose delete fails is only an orphan (counted, logged without its key)."""
    storage = get_storage()
    last = 0
    while True:
        began = time.perf_counter()
        query = (
            select(Photo.id, Photo.storage_key)
            .join(Complaint, Complaint.id == Photo.complaint_id)
            .where(
                Photo.id > last,
                Complaint.status.in_(CASE_CLOSED),
                Complaint.closed_at < cutoff,
            )
            .order_by(Photo.id)
            .limit(batch)
        )
        if not report.dry_run:
            query = query.with_for_update(of=Photo, skip_locked=True)
        rows = db.session.execute(query).all()
        if not rows:
            db.session.rollback()
            return
        ids = [row.id for row in rows]
        _apply(report, [("photos", Photo, Photo.id.in_(ids), None)])
        _end_batch(report, began, on_batch)
        if report.dry_run:
            report.counts["photo_files"] += len(rows)
        else:
            failed = 0
            for row in rows:
                try:
                    storage.delete(row.storage_key)
                    report.counts["photo_files"] += 1
                except OSError:
                    failed += 1
            if failed:
                log.warning("retention: %d photo file(s) could not be deleted", failed)
        last = ids[-1]
