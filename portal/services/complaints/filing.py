"""Filing a case: the customer's complaint, its photos and a fresh case number."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime

from sqlalchemy.exc import IntegrityError

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Complaint, ComplaintStatus, ComplaintType, Parcel
from portal.models.types import utcnow
from portal.services import photos
from portal.services.complaints.cases import due_at, new_case_number
from portal.services.complaints.inputs import (
    DESCRIPTION_MAX,
    clean_text,
    processed_photos,
    store_photos,
)
from portal.services.complaints.notices import tell_customer
from portal.services.complaints.statuses import ITEM_TYPES
from portal.services.errors import DomainError
from portal.storage import Storage

S = ComplaintStatus


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
    description = clean_text(
        request.description,
        DESCRIPTION_MAX,
        field_name="description",
        empty=_l("Tell us what happened."),
    )
    items = _items(parcel, request.item_ids)
    if kind in ITEM_TYPES and parcel.items and not items:
        raise DomainError(str(_l("Choose the items this is about.")), field="items")
    processed = processed_photos(request.photos, already=0)

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
    store_photos(complaint, processed, None, storage, now)
    db.session.flush()
    tell_customer(complaint, "complaint_opened", now=now)
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


def _items(parcel: Parcel, item_ids: list[int]):
    by_id = {item.id: item for item in parcel.items}
    if any(i not in by_id for i in item_ids):
        raise DomainError(str(_l("Choose items of this parcel.")), field="items")
    return [by_id[i] for i in dict.fromkeys(item_ids)]
