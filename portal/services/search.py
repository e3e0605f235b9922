"""The console's one search box: whatever an agent pastes, the parcels it can mean.

Every kind of term is an exact lookup on an indexed column (tracking numbers, RMA, case number,
phone in E.164, e-mail, postcode without spaces, order reference), except part of a name, which
PostgreSQL answers from a trigram GIN index on lower(recipient_name). So the box stays fast at a
million parcels: no term scans the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from portal import s10
from portal.contact import normalise_email, normalise_phone, normalise_postcode
from portal.extensions import db
from portal.models import Complaint, Parcel, Return
from portal.services.complaints import normalise_case_number
from portal.services.returns import RMA_LENGTH, format_rma, normalise_code

LIMIT = 50
MIN_NAME = 3  # a trigram index can't help with fewer letters


@dataclass
class SearchResult:
    query: str
    parcels: list[Parcel] = field(default_factory=list)
    # How the term was read, for the agent: "tracking number", "phone +46701234567" …
    matched_as: list[str] = field(default_factory=list)
    # The page to open straight away when the term names exactly one thing.
    exact: str | None = None
    truncated: bool = False


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def search(raw: str, *, limit: int = LIMIT) -> SearchResult:
    query = " ".join((raw or "").split())[:200]
    result = SearchResult(query)
    if not query:
        return result
    conditions = []
    compact = normalise_code(query)

    try:
        number = s10.validate(query)
    except s10.S10Error:
        number = None
    if number:
        conditions.append(Parcel.tracking_number == number)
        returned = select(Return.parcel_id).where(Return.return_tracking_number == number)
        conditions.append(Parcel.id.in_(returned))
        result.matched_as.append(f"tracking number {number}")

    if len(compact) == RMA_LENGTH:
        rma = format_rma(compact)
        conditions.append(Parcel.id.in_(select(Return.parcel_id).where(Return.rma == rma)))
        result.matched_as.append(f"RMA {rma}")

    case = normalise_case_number(query)
    if case:
        conditions.append(
            Parcel.id.in_(select(Complaint.parcel_id).where(Complaint.case_number == case))
        )
        result.matched_as.append(f"case {case}")

    if "@" in query:
        try:
            email = normalise_email(query)
        except ValueError:
            email = query.strip()
        conditions.append(func.lower(Parcel.recipient_email) == email.lower())
        result.matched_as.append("e-mail")

    digits = sum(c.isdigit() for c in query)
    if digits >= 6 and "@" not in query:
        try:
            phone = normalise_phone(query, current_app.config["PHONE_REGION"])
        except ValueError:
            phone = None
        if phone:
            conditions.append(Parcel.recipient_phone == phone)
            result.matched_as.append(f"phone {phone}")

    postcode = normalise_postcode(query)
    if 2 <= len(postcode) <= 10 and postcode.isalnum() and any(c.isdigit() for c in postcode):
        conditions.append(Parcel.postcode_key == postcode)
        result.matched_as.append("postcode")

    conditions.append(Parcel.order_ref == query)

    letters = query.strip()
    if len(letters) >= MIN_NAME and not any(c.isdigit() for c in letters) and "@" not in letters:
        pattern = f"%{_like_escape(letters.lower())}%"
        conditions.append(func.lower(Parcel.recipient_name).like(pattern, escape="\\"))
        result.matched_as.append("name")

    rows = (
        db.session.execute(
            select(Parcel)
            .where(or_(*conditions))
            .options(joinedload(Parcel.merchant))
            .order_by(Parcel.created_at.desc(), Parcel.id.desc())
            .limit(limit + 1)
        )
        .scalars()
        .all()
    )
    result.truncated = len(rows) > limit
    result.parcels = list(rows[:limit])
    if number and len(result.parcels) == 1:
        result.exact = result.parcels[0].tracking_number
    return result
