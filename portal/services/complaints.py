"""Complaints: filing a case, the customer's replies, agents' status changes and messages.

Every change writes a thread entry and tells the customer through the outbox, in the same
transaction. Photos are re-encoded before anything is written (a refused photo refuses the
whole form); files written for a transaction that does not commit are deleted again (see
services/photos.py), so nothing is ever half saved.
"""

from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import datetime, time
from decimal import Decimal, InvalidOperation

from flask import current_app
from flask_babel.speaklater import LazyString
from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.formatting import money
from portal.i18n import lazy_gettext as _l
from portal.localtime import local_day, zone_of
from portal.models import (
    Account,
    Complaint,
    ComplaintMessage,
    ComplaintStatus,
    ComplaintType,
    Parcel,
    Photo,
    Resolution,
    Role,
    Zone,
)
from portal.models.types import utcnow
from portal.services import photos
from portal.services.calendar import add_working_days
from portal.services.errors import Conflict, DomainError, NotFound
from portal.storage import Storage, get_storage

T = ComplaintType
S = ComplaintStatus
R = Resolution

TYPE_TEXT = {
    T.DAMAGED: (_l("Damaged"), _l("The parcel or something in it arrived broken.")),
    T.MISSING_ITEM: (_l("Something is missing"), _l("The parcel came, but not all of it.")),
    T.NOT_RECEIVED: (_l("Not received"), _l("It says delivered, but you don't have it.")),
    T.LATE: (_l("Late"), _l("It came, or is coming, later than promised.")),
    T.WRONG_ITEM: (_l("Wrong item"), _l("You got something you didn't order.")),
    T.OTHER: (_l("Something else"), _l("Anything else about this delivery.")),
}
# Types about particular items: the customer says which.
ITEM_TYPES = frozenset({T.DAMAGED, T.MISSING_ITEM, T.WRONG_ITEM})

STATUS_TEXT = {
    S.OPEN: (_l("Received"), _l("We have your complaint and will look into it.")),
    S.INVESTIGATING: (_l("Being looked into"), _l("We are finding out what happened.")),
    S.AWAITING_CUSTOMER: (
        _l("Waiting for your answer"),
        _l("We need something from you: please read our message and reply below."),
    ),
    S.RESOLVED: (_l("Resolved"), _l("We have settled your complaint.")),
    S.REJECTED: (
        _l("Not upheld"),
        _l("We looked into it and could not agree. Our message says why."),
    ),
}
CLOSED = frozenset({S.RESOLVED, S.REJECTED})
WITH_US = frozenset({S.OPEN, S.INVESTIGATING})  # the due date is ours to keep
# Which status may follow which. A closed case can be opened again (investigating).
TRANSITIONS = {
    S.OPEN: frozenset({S.INVESTIGATING, S.AWAITING_CUSTOMER, S.RESOLVED, S.REJECTED}),
    S.INVESTIGATING: frozenset({S.AWAITING_CUSTOMER, S.RESOLVED, S.REJECTED}),
    S.AWAITING_CUSTOMER: frozenset({S.INVESTIGATING, S.RESOLVED, S.REJECTED}),
    S.RESOLVED: frozenset({S.INVESTIGATING}),
    S.REJECTED: frozenset({S.INVESTIGATING}),
}
RESOLUTION_TEXT = {
    R.REFUND: _l("Refund"),
    R.RESHIP: _l("We send it again"),
    R.COMPENSATION: _l("Compensation"),
    R.NONE: _l("No refund or replacement"),
}

DESCRIPTION_MAX = 4000
MESSAGE_MAX = 4000
# Case numbers are read aloud on the phone: no 0/O, 1/I/L. 31 symbols, 8 places: 8.5e11.
CASE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CASE_LENGTH = 8
CASE_PREFIX = "C-"
# A thread entry written by the system for a status change: "status:<status>".
STATUS_ENTRY = "status:"


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


class ReplyNotAllowed(Conflict):
    code = "reply_not_allowed"


class StatusChangeNotAllowed(Conflict):
    code = "status_change_not_allowed"


class PhotosNotSaved(DomainError):
    """The photos could not be written (the upload disk is full): nothing was filed, and the
    same form can be sent again later."""

    code = "photos_not_saved"
    kind = "unavailable"


# --- words -----------------------------------------------------------------------------------


def type_label(kind: ComplaintType) -> str:
    return str(TYPE_TEXT[kind][0])


def status_label(status: ComplaintStatus) -> str:
    return str(STATUS_TEXT[status][0])


def status_explanation(status: ComplaintStatus) -> str:
    return str(STATUS_TEXT[status][1])


def resolution_text(complaint: Complaint) -> str:
    """`Refund: SEK 249.00` in the current language, or "" without a resolution."""
    if complaint.resolution is None:
        return ""
    text = str(RESOLUTION_TEXT[complaint.resolution])
    if complaint.resolution_amount is not None:
        return f"{text}: {money(complaint.resolution_amount, complaint.parcel.currency)}"
    return text


def status_of(message: ComplaintMessage) -> ComplaintStatus | None:
    """The status a thread entry records, if it is a status change."""
    if message.author != "system" or not message.body.startswith(STATUS_ENTRY):
        return None
    try:
        return ComplaintStatus(message.body.removeprefix(STATUS_ENTRY))
    except ValueError:  # a system message that merely starts with the same word
        return None


def entry_text(message: ComplaintMessage) -> str:
    """What a thread entry says: its body, or for a status change, the new status in words."""
    status = status_of(message)
    if status is not None:
        return str(_l("Status: %(status)s", status=status_label(status)))
    return message.body


# --- case numbers and due dates --------------------------------------------------------------


def new_case_number() -> str:
    return CASE_PREFIX + "".join(secrets.choice(CASE_ALPHABET) for _ in range(CASE_LENGTH))


def normalise_case_number(raw: str) -> str | None:
    """`c-7kq4 m2xa` as typed or read out → `C-7KQ4M2XA`; None for what no case number can be
    (so a page never redirects a mistyped number to another mistyped one)."""
    compact = "".join(raw.split()).upper().replace("-", "")
    if compact.startswith("C") and len(compact) == CASE_LENGTH + 1:
        compact = compact[1:]
    if len(compact) != CASE_LENGTH or any(c not in CASE_ALPHABET for c in compact):
        return None
    return CASE_PREFIX + compact


def due_at(
    filed_at: datetime,
    working_days: int,
    tz: str | None,
    *,
    country: str | None = None,
    zone: Zone | None = None,
) -> datetime:
    """The end of the `working_days`-th working day after the day of filing, in the customer's
    time zone. Zero days: the end of the day of filing, or of the next working day when filed
    on another day. Working days are Monday to Friday without `country`'s public holidays and
    (with a `zone`) the days its operator closed it."""
    local = zone_of(tz)
    day = filed_at.astimezone(local).date()
    # No country: weekends only (the holiday library knows no country "").
    due = add_working_days(country or "", day, max(working_days, 0), zone)
    return datetime.combine(due, time(23, 59, 59), tzinfo=local)


def due_day(complaint: Complaint) -> str:
    """`Tuesday 1 December`: the day the customer gets an answer by, in the current language."""
    return local_day(complaint.due_at, complaint.parcel.time_zone)


# --- reading ---------------------------------------------------------------------------------


def find_complaint(raw_case_number: str) -> Complaint:
    number = normalise_case_number(raw_case_number)
    if number is None:
        raise ComplaintNotFound(str(_l("We can't find a case with this number.")))
    complaint = db.session.execute(
        select(Complaint)
        .where(Complaint.case_number == number)
        .options(
            selectinload(Complaint.items),
            selectinload(Complaint.photos),
            selectinload(Complaint.messages),
        )
    ).scalar_one_or_none()
    if complaint is None:
        raise ComplaintNotFound(str(_l("We can't find a case with this number.")))
    return complaint


@dataclass
class CaseSummary:
    """A case as the parcel page lists it."""

    case_number: str
    type_text: str
    status: ComplaintStatus
    status_text: str
    created_at: datetime


def cases_for(parcel_id: int) -> list[CaseSummary]:
    """The parcel's cases, newest first (one small indexed query)."""
    rows = db.session.execute(
        select(Complaint.case_number, Complaint.type, Complaint.status, Complaint.created_at)
        .where(Complaint.parcel_id == parcel_id)
        .order_by(Complaint.created_at.desc(), Complaint.id.desc())
    ).all()
    return [
        CaseSummary(
            r.case_number, type_label(r.type), r.status, status_label(r.status), r.created_at
        )
        for r in rows
    ]


def complaints_of(parcel_id: int) -> list[Complaint]:
    """The parcel's cases as rows, oldest first (the API)."""
    return list(
        db.session.execute(
            select(Complaint)
            .where(Complaint.parcel_id == parcel_id)
            .order_by(Complaint.created_at, Complaint.id)
        ).scalars()
    )


def photos_in_thread(complaint: Complaint) -> tuple[list[Photo], dict[int, list[Photo]]]:
    """The photos sent with the complaint, and those sent with each reply (by message id)."""
    first, by_message = [], {}
    for photo in complaint.photos:
        if photo.message_id is None:
            first.append(photo)
        else:
            by_message.setdefault(photo.message_id, []).append(photo)
    return first, by_message


def is_agent(account: object) -> bool:
    """A logged-in customer-service account (agents see every case and its photos)."""
    return (
        isinstance(account, Account)
        and account.is_authenticated
        and account.active
        and account.role in (Role.AGENT, Role.SUPERVISOR)
    )


def find_photo(complaint: Complaint, photo_id: int) -> Photo:
    photo = next((p for p in complaint.photos if p.id == photo_id), None)
    if photo is None:
        raise NotFound(str(_l("There is no such photo.")), code="photo_not_found")
    return photo


# --- filing ----------------------------------------------------------------------------------


@dataclass
class ComplaintRequest:
    """A complaint as the page (or later the API) gives it."""

    type: str
    description: str
    item_ids: list[int] = field(default_factory=list)
    photos: list[photos.Upload] = field(default_factory=list)


def open_complaint(
    parcel: Parcel,
    request: ComplaintRequest,
    *,
    now: datetime | None = None,
    storage: Storage | None = None,
) -> Complaint:
    """File a complaint about `parcel`, or raise a DomainError naming the field at fault.

    The caller commits; the photos' files go again if it doesn't.
    """
    now = now or utcnow()
    try:
        kind = ComplaintType(request.type)
    except ValueError:
        raise DomainError(str(_l("Choose what went wrong.")), field="type") from None
    description = _text(
        request.description,
        DESCRIPTION_MAX,
        field_name="description",
        empty=_l("Tell us what happened."),
    )
    items = _items(parcel, request.item_ids)
    if kind in ITEM_TYPES and parcel.items and not items:
        raise DomainError(str(_l("Choose the items this is about.")), field="items")
    processed = _processed(request.photos, already=0)

    complaint = _insert_with_case_number(
        Complaint(
            parcel=parcel,
            type=kind,
            description=description,
            status=S.OPEN,
            due_at=due_at(
                now,
                parcel.merchant.complaint_due_days,
                parcel.time_zone,
                country=parcel.country,
                zone=parcel.zone,
            ),
            created_at=now,
            updated_at=now,
            items=items,
        )
    )
    _store(complaint, processed, None, storage, now)
    db.session.flush()
    _notify(complaint, "complaint_opened", now=now)
    return complaint


def _insert_with_case_number(complaint: Complaint, tries: int = 5) -> Complaint:
    """Insert with a fresh case number, drawing again on the (rare) collision."""
    for attempt in range(tries):
        complaint.case_number = new_case_number()
        try:
            with db.session.begin_nested():
                db.session.add(complaint)
        except IntegrityError:
            if attempt == tries - 1:
                raise
            continue
        return complaint
    raise AssertionError("unreachable")  # pragma: no cover


def _text(raw: str | None, limit: int, *, field_name: str, empty) -> str:
    text = (raw or "").strip()
    if not text:
        raise DomainError(str(empty), field=field_name)
    if len(text) > limit:
        raise DomainError(
            str(_l("Keep it to %(n)d characters.", n=limit)), field=field_name, code="too_long"
        )
    return text


def _items(parcel: Parcel, item_ids: list[int]):
    by_id = {item.id: item for item in parcel.items}
    if any(i not in by_id for i in item_ids):
        raise DomainError(str(_l("Choose items of this parcel.")), field="items")
    return [by_id[i] for i in dict.fromkeys(item_ids)]


def _processed(uploads: list[photos.Upload], *, already: int) -> list[photos.ProcessedPhoto]:
    """Every photo re-encoded, before anything is written: one refusal refuses them all."""
    config = current_app.config
    uploads = [u for u in uploads if u.data or u.filename]  # an empty file input sends ""
    if len(uploads) > config["PHOTO_MAX_COUNT"]:
        raise photos.PhotoRejected(
            str(_l("Add at most %(n)d photos at a time.", n=config["PHOTO_MAX_COUNT"]))
        )
    if already + len(uploads) > config["PHOTO_MAX_PER_CASE"]:
        raise photos.PhotoRejected(
            str(_l("A case can have at most %(n)d photos.", n=config["PHOTO_MAX_PER_CASE"]))
        )
    return photos.process_all(uploads)


def _store(
    complaint: Complaint,
    processed: list[photos.ProcessedPhoto],
    message: ComplaintMessage | None,
    storage: Storage | None,
    now: datetime,
) -> None:
    storage = storage or get_storage()
    session = db.session()
    try:
        for p in processed:
            key = photos.store(session, storage, p)
            complaint.photos.append(
                Photo(
                    storage_key=key,
                    content_type=p.content_type,
                    width=p.width,
                    height=p.height,
                    size_bytes=len(p.data),
                    message=message,
                    created_at=now,
                )
            )
    except OSError as exc:
        photos.discard(session)  # the disk filled up half way: take back what was written
        current_app.logger.error("could not store a photo: %s", exc.strerror or exc)
        raise PhotosNotSaved(
            str(
                _l(
                    "We couldn't save your photos just now, so nothing has been sent yet. "
                    "Please try again in a few minutes."
                )
            ),
            field="photos",
        ) from exc
    except Exception:
        photos.discard(session)
        raise


# --- the thread ------------------------------------------------------------------------------


def reply(
    complaint: Complaint,
    body: str,
    uploads: list[photos.Upload] | None = None,
    *,
    now: datetime | None = None,
    storage: Storage | None = None,
) -> ComplaintMessage:
    """The customer answers an agent's question (with photos if asked), which hands the case
    back to the agents. Only while the case waits for the customer."""
    now = now or utcnow()
    _lock(complaint)
    if complaint.status is not S.AWAITING_CUSTOMER:
        raise ReplyNotAllowed(
            str(_l("You can reply when we ask you for something. We'll let you know.")),
            field="body",
        )
    text = _text(body, MESSAGE_MAX, field_name="body", empty=_l("Write your answer."))
    processed = _processed(uploads or [], already=len(complaint.photos))
    message = ComplaintMessage(author="customer", body=text, created_at=now)
    complaint.messages.append(message)
    _store(complaint, processed, message, storage, now)
    _set_status(complaint, S.INVESTIGATING, None, now)
    db.session.flush()
    _notify(complaint, "complaint_updated", message=message, now=now)
    return message


def change_status(
    complaint: Complaint,
    status: ComplaintStatus | str,
    *,
    agent: Account | None = None,
    message: str | None = None,
    resolution: Resolution | str | None = None,
    amount: Decimal | str | None = None,
    now: datetime | None = None,
) -> ComplaintMessage:
    """An agent (or the system, without one) moves the case on; the customer is told.

    Resolving needs a resolution (compensation needs an amount); asking the customer for
    something and rejecting need a message saying what, or why. Returns the thread entry.
    """
    now = now or utcnow()
    _lock(complaint)
    try:
        status = ComplaintStatus(status)
    except ValueError:
        raise DomainError(str(_l("Unknown status.")), field="status") from None
    if status not in TRANSITIONS[complaint.status]:
        raise StatusChangeNotAllowed(
            str(
                _l(
                    "A case that is %(now)s can't become %(new)s.",
                    now=status_label(complaint.status),
                    new=status_label(status),
                )
            ),
            field="status",
        )
    text = (message or "").strip()
    if len(text) > MESSAGE_MAX:
        raise DomainError(
            str(_l("Keep it to %(n)d characters.", n=MESSAGE_MAX)), field="message", code="too_long"
        )
    if status in (S.AWAITING_CUSTOMER, S.REJECTED) and not text:
        raise DomainError(
            str(_l("Tell the customer what you need, or why.")), field="message", code="required"
        )
    if status is S.RESOLVED:
        complaint.resolution, complaint.resolution_amount = _resolution(resolution, amount)
    elif resolution is not None or amount is not None:
        raise DomainError(str(_l("Only a resolved case has a resolution.")), field="resolution")
    if text:  # the words first, then the status they lead to
        _add_message(complaint, text, agent, now)
    entry = _set_status(complaint, status, agent, now)
    db.session.flush()
    _notify(complaint, "complaint_updated", message=entry, words=text or None, now=now)
    return entry


def add_agent_message(
    complaint: Complaint, body: str, *, agent: Account | None, now: datetime | None = None
) -> ComplaintMessage:
    """An agent writes to the customer without changing the status; the customer is told."""
    now = now or utcnow()
    text = _text(body, MESSAGE_MAX, field_name="message", empty=_l("Write a message."))
    message = _add_message(complaint, text, agent, now)
    complaint.updated_at = now
    db.session.flush()
    _notify(complaint, "complaint_updated", message=message, words=text, now=now)
    return message


def _lock(complaint: Complaint) -> None:
    # Two agents (or an agent and the customer) at once: the second waits and sees the first's
    # status (PostgreSQL; SQLite serialises writers anyway).
    db.session.execute(
        select(Complaint.id).where(Complaint.id == complaint.id).with_for_update()
    ).all()
    db.session.refresh(complaint, ["status"])


def _resolution(
    resolution: Resolution | str | None, amount: Decimal | str | None
) -> tuple[Resolution, Decimal | None]:
    try:
        kind = Resolution(resolution)
    except ValueError:
        raise DomainError(str(_l("Choose how the case is resolved.")), field="resolution") from None
    if amount is None or amount == "":
        if kind is R.COMPENSATION:
            raise DomainError(str(_l("Give the amount.")), field="amount")
        return kind, None
    if kind in (R.RESHIP, R.NONE):
        raise DomainError(str(_l("Only a refund or compensation has an amount.")), field="amount")
    try:
        value = Decimal(str(amount)).quantize(Decimal("0.01"))
    except (InvalidOperation, ValueError):
        raise DomainError(str(_l("Give the amount as a number.")), field="amount") from None
    if not value.is_finite() or value <= 0 or value >= Decimal("1e10"):
        raise DomainError(str(_l("Give an amount above zero.")), field="amount")
    return kind, value


def _set_status(
    complaint: Complaint, status: ComplaintStatus, agent: Account | None, now: datetime
) -> ComplaintMessage:
    complaint.status = status
    complaint.updated_at = now
    if status in CLOSED:
        complaint.closed_at = now
    else:
        complaint.resolution, complaint.resolution_amount = None, None
    entry = ComplaintMessage(
        author="system",
        agent_id=agent.id if agent else None,
        body=STATUS_ENTRY + status.value,
        created_at=now,
    )
    complaint.messages.append(entry)
    return entry


def _add_message(
    complaint: Complaint, text: str, agent: Account | None, now: datetime
) -> ComplaintMessage:
    message = ComplaintMessage(
        author="agent" if agent else "system",
        agent_id=agent.id if agent else None,
        body=text,
        created_at=now,
    )
    complaint.messages.append(message)
    return message


def _notify(
    complaint: Complaint,
    trigger: str,
    *,
    message: ComplaintMessage | None = None,
    words: str | None = None,
    now: datetime,
) -> None:
    """Tell the customer; one message per change (the thread entry's id makes it unique).
    `words`: what the agent wrote with the change, quoted in the e-mail."""
    from portal.notifications.outbox import notify

    suffix = f":{complaint.id}" + (f":{message.id}" if message is not None else "")
    notify(
        complaint.parcel,
        trigger,
        now=now,
        dedupe_suffix=suffix,
        link_target=f"/c/{complaint.case_number}",
        # Lazy: each message is written in the recipient's language, not the page's.
        extra={
            "case_number": complaint.case_number,
            "complaint_type": TYPE_TEXT[complaint.type][0],
            "status_text": STATUS_TEXT[complaint.status][0],
            "status_explanation": STATUS_TEXT[complaint.status][1],
            "due_day": LazyString(due_day, complaint),
            "resolution_text": LazyString(resolution_text, complaint),
            "agent_message": words,
            "needs_answer": complaint.status is S.AWAITING_CUSTOMER,
        },
    )
