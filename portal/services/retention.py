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
- A /me profile (Recipient) with no parcel addressed to any of its phone numbers or e-mail
  addresses created or updated in RETENTION_PROFILE_DAYS, and no sign-in in that time: one
  notice (e-mail, else SMS, through the outbox, in the profile's language) saying when it goes
  and that signing in at /me keeps it, and RETENTION_PROFILE_NOTICE_DAYS later the profile is
  deleted (its addresses and sign-in codes; parcels stay), unless its owner signed in since or
  a parcel came for it. The notices' addresses and text go with the profile.

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
from flask_babel import force_locale, gettext, ngettext
from sqlalchemy import case, delete, exists, func, or_, select, update
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.localtime import format_day, zone_of
from portal.models import (
    Channel,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    DeliveryChoice,
    InboundMessage,
    Notification,
    NotificationState,
    Parcel,
    ParcelNote,
    ParcelStatus,
    Photo,
    Recipient,
    RecipientAddress,
    Return,
    ReturnItem,
    SignedLink,
    SignInCode,
    TrackingEvent,
)
from portal.models.types import utcnow
from portal.services.messages import enqueue, is_opted_out, quiet_until
from portal.services.recipients import (
    CODE_TRIGGER,
    addressed_to,
    bank_green_mile,
    delete_profile,
)
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
    "event_descriptions",
    "delivery_notes",
    "parcel_notes",
    "complaints",
    "complaint_messages",
    "return_reasons",
    "return_item_reasons",
    "unlinked_inbound_replies",
    "photos",
    "photo_files",
    "profile_notices",
    "profiles_deleted",
    "sign_in_codes",
    "green_miles_banked",
)

PROFILE_NOTICE_TRIGGER = "profile_inactivity_notice"


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
    _profiles(report, now, batch, on_batch)
    _sign_in_codes(report, now, on_batch)
    report.seconds = time.perf_counter() - started
    log.info(
        "retention %s: %s",
        "dry run" if dry_run else "run",
        ", ".join(f"{k}={report.counts.get(k, 0)}" for k in KINDS),
    )
    return report


# A sign-in code is over in minutes; the address it went to need not stay for longer.
SIGN_IN_CODE_DAYS = 1


def _sign_in_codes(report: Report, now: datetime, on_batch) -> None:
    """/me's sign-in codes older than a day: the rows go (their addresses with them), and the
    messages that carried them keep no address and no text (they belong to no parcel, so
    nothing else would ever clear them). Their wrong-code counts matter for a day only."""
    began = time.perf_counter()
    cutoff = now - timedelta(days=SIGN_IN_CODE_DAYS)
    codes = db.session.execute(delete(SignInCode).where(SignInCode.created_at < cutoff)).rowcount
    messages = db.session.execute(
        update(Notification)
        .where(
            Notification.trigger == CODE_TRIGGER,
            Notification.created_at < cutoff,
            Notification.recipient != MARKER,
        )
        # One still queued a day on would open nothing now (a code lasts minutes): it never goes.
        .values(
            recipient=MARKER,
            body="",
            subject=None,
            state=case(
                (Notification.state == NotificationState.QUEUED, NotificationState.SUPPRESSED),
                else_=Notification.state,
            ),
        )
        .execution_options(synchronize_session=False)
    ).rowcount
    report.counts["sign_in_codes"] += codes + messages
    _end_batch(report, began, on_batch)


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
        # The carrier's free text may name whoever signed or where it was left ("Signed:
        # A. Lindqvist"); the code, time and place of each scan stay for the statistics.
        (
            "event_descriptions",
            TrackingEvent,
            TrackingEvent.parcel_id.in_(ids) & TrackingEvent.description.is_not(None),
            {"description": None},
        ),
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
            # What their choices saved stays on the profiles of the addresses going now.
            report.counts["green_miles_banked"] += bank_green_mile(ids)
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


# --- recipients' profiles (/me) -------------------------------------------------------------


def _profiles(report: Report, now: datetime, batch: int, on_batch) -> None:
    """Profiles unused for RETENTION_PROFILE_DAYS get one notice; RETENTION_PROFILE_NOTICE_DAYS
    after it they are deleted, unless their owner signed in (which clears the notice) or a
    parcel came for them since. One committed transaction per `batch` profiles."""
    config = current_app.config
    cutoff = now - timedelta(days=config["RETENTION_PROFILE_DAYS"])
    grace = timedelta(days=config["RETENTION_PROFILE_NOTICE_DAYS"])
    last = 0
    while True:
        began = time.perf_counter()
        query = (
            select(Recipient)
            .where(
                Recipient.id > last,
                or_(Recipient.last_seen_at < cutoff, Recipient.inactivity_notice_at.is_not(None)),
            )
            .order_by(Recipient.id)
            .limit(batch)
            .options(selectinload(Recipient.addresses))
        )
        if not report.dry_run:
            query = query.with_for_update(of=Recipient, skip_locked=True)
        profiles = list(db.session.execute(query).scalars())
        if not profiles:
            db.session.rollback()
            return
        last = profiles[-1].id
        for profile in profiles:
            _profile(report, profile, now, cutoff, grace)
        _end_batch(report, began, on_batch)


def _has_recent_parcel(profile: Recipient, cutoff: datetime) -> bool:
    return bool(
        db.session.execute(
            select(
                exists().where(
                    addressed_to(profile),
                    or_(Parcel.created_at >= cutoff, Parcel.updated_at >= cutoff),
                )
            )
        ).scalar()
    )


def _profile(
    report: Report, profile: Recipient, now: datetime, cutoff: datetime, grace: timedelta
) -> None:
    notice = profile.inactivity_notice_at
    signed_in_since = notice is not None and profile.last_seen_at > notice
    if signed_in_since or profile.last_seen_at >= cutoff or _has_recent_parcel(profile, cutoff):
        # In use again: a later spell of disuse gets a notice of its own.
        if notice is not None and not report.dry_run:
            profile.inactivity_notice_at = None
        return
    if notice is None:
        report.counts["profile_notices"] += 1
        if not report.dry_run:
            _send_notice(profile, now, now + grace)
            profile.inactivity_notice_at = now
    elif notice <= now - grace:
        report.counts["profiles_deleted"] += 1
        if not report.dry_run:
            _forget_notices(profile)
            delete_profile(profile)


def _notice_addresses(profile: Recipient) -> list[RecipientAddress]:
    """Its e-mail addresses (no SMS needed then), else its phone numbers; a recipient who turned
    e-mail off and has a phone gets the SMS."""
    emails = [a for a in profile.addresses if a.kind == "email"]
    phones = [a for a in profile.addresses if a.kind == "phone"]
    if emails and (profile.notify_email or not phones):
        return emails
    return phones


def _send_notice(profile: Recipient, now: datetime, deleted_on: datetime) -> None:
    config = current_app.config
    language = profile.language if profile.language in config["LANGUAGES"] else "en"
    zone = zone_of(None)
    months = max(1, config["RETENTION_PROFILE_DAYS"] // 30)
    link = config["PUBLIC_BASE_URL"].rstrip("/") + "/me"
    with force_locale(language):
        day = format_day(deleted_on.astimezone(zone).date())
        for address in _notice_addresses(profile):
            sms = address.kind == "phone"
            row = Notification(
                channel=Channel.SMS if sms else Channel.EMAIL,
                trigger=PROFILE_NOTICE_TRIGGER,
                language=language,
                time_zone=zone.key,
                recipient=address.value,
                subject=None if sms else gettext("Your Lastmile profile will be deleted"),
                body=_notice_text(sms, months, day, link),
                state=NotificationState.QUEUED,
                dedupe_key=f"profile-notice:{profile.id}:{address.id}:{now:%Y%m%d%H%M%S}",
            )
            if sms:
                if is_opted_out(address.value):
                    row.state = NotificationState.SUPPRESSED
                    row.last_error = "recipient replied STOP"
                else:
                    row.not_before = quiet_until(now, zone)
            enqueue(row)


def _notice_text(sms: bool, months: int, day: str, link: str) -> str:
    if sms:
        return ngettext(
            "Lastmile: your profile has had no parcels for %(num)s month and will be deleted"
            " on %(day)s. To keep it, sign in at %(link)s",
            "Lastmile: your profile has had no parcels for %(num)s months and will be deleted"
            " on %(day)s. To keep it, sign in at %(link)s",
            months,
            day=day,
            link=link,
        )
    return "\n\n".join(
        [
            gettext("Hello,"),
            ngettext(
                "Your Lastmile profile has had no parcels and no sign-in for %(num)s month."
                " We will delete it on %(day)s, with its phone numbers, e-mail addresses and"
                " standing preferences. Your parcels are not affected.",
                "Your Lastmile profile has had no parcels and no sign-in for %(num)s months."
                " We will delete it on %(day)s, with its phone numbers, e-mail addresses and"
                " standing preferences. Your parcels are not affected.",
                months,
                day=day,
            ),
            gettext("To keep your profile, sign in at %(link)s before then.", link=link),
        ]
    )


def _forget_notices(profile: Recipient) -> None:
    """The notices keep neither the address they went to nor their text once the profile is
    gone (they belong to no parcel, so nothing else would clear them)."""
    db.session.execute(
        update(Notification)
        .where(
            Notification.trigger == PROFILE_NOTICE_TRIGGER,
            Notification.dedupe_key.like(f"profile-notice:{profile.id}:%"),
        )
        .values(recipient=MARKER, body="", subject=None, last_error=None)
        .execution_options(synchronize_session=False)
    )
