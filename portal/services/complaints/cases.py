"""Case numbers and due dates, and finding cases and their photos."""

from __future__ import annotations

import secrets
from dataclasses import dataclass
from datetime import datetime, time

from sqlalchemy import select
from sqlalchemy.orm import selectinload

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.localtime import local_day, zone_of
from portal.models import Account, Complaint, ComplaintStatus, Photo, Role, Zone
from portal.services.calendar import add_working_days
from portal.services.complaints.statuses import status_label, type_label
from portal.services.errors import NotFound

# Case numbers are read aloud on the phone: no 0/O, 1/I/L. 31 symbols, 8 places: 8.5e11.
CASE_ALPHABET = "ABCDEFGHJKMNPQRSTUVWXYZ23456789"
CASE_LENGTH = 8
CASE_PREFIX = "C-"


class ComplaintNotFound(NotFound):
    code = "complaint_not_found"


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
