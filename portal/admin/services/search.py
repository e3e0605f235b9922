"""The console's one search box: whatever an agent pastes, the parcels it can mean.

Every kind of term is an exact lookup on an indexed column (tracking numbers, RMA, case number,
phone in E.164, e-mail, postcode without spaces, order reference), except part of a name, which
PostgreSQL answers from a trigram GIN index on lower(recipient_name). So the box stays fast at a
million parcels: no term scans the table.
"""

from __future__ import annotations

from dataclasses import dataclass, field

from flask import current_app
from flask_babel import gettext as _
from sqlalchemy import func, select
from sqlalchemy.orm import joinedload

from portal import s10
from portal.contact import normalise_email, normalise_phone, normalise_postcode
from portal.extensions import db
from portal.models import Complaint, Parcel, Return
from portal.services.complaints import normalise_case_number
from portal.services.returns import READABLE, RMA_LENGTH, format_rma, normalise_code

LIMIT = 50
MIN_NAME = 3  # a trigram index can't help with fewer letters
NAME_CANDIDATES = 500


@dataclass
class SearchResult:
    query: str
    parcels: list[Parcel] = field(default_factory=list)
    # How the term was read, for the agent: "tracking number", "phone +46701234567" …
    matched_as: list[str] = field(default_factory=list)
    # The page to open straight away when the term names exactly one thing.
    exact: str | None = None
    truncated: bool = False
    # More parcels match the name than were looked at: the list is some of them, not the newest.
    name_capped: bool = False


def _like_escape(text: str) -> str:
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")


def _ids(column, condition) -> list[int]:
    """The parcel ids a return or case lookup names (a handful), as a plain list."""
    return list(db.session.execute(select(column).where(condition)).scalars())


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
        conditions.append(
            Parcel.id.in_(_ids(Return.parcel_id, Return.return_tracking_number == number))
        )
        result.matched_as.append(_("tracking number %(number)s", number=number))

    if len(compact) == RMA_LENGTH and all(c in READABLE for c in compact):
        rma = format_rma(compact)
        conditions.append(Parcel.id.in_(_ids(Return.parcel_id, Return.rma == rma)))
        result.matched_as.append(_("RMA %(rma)s", rma=rma))

    case = normalise_case_number(query)
    if case:
        conditions.append(Parcel.id.in_(_ids(Complaint.parcel_id, Complaint.case_number == case)))
        result.matched_as.append(_("case %(case)s", case=case))

    if "@" in query:
        try:
            email = normalise_email(query)
        except ValueError:
            email = query.strip()
        conditions.append(func.lower(Parcel.recipient_email) == email.lower())
        result.matched_as.append(_("e-mail"))

    digits = sum(c.isdigit() for c in query)
    if digits >= 6 and "@" not in query and not number:
        try:
            phone = normalise_phone(query, current_app.config["PHONE_REGION"])
        except ValueError:
            phone = None
        if phone:
            conditions.append(Parcel.recipient_phone == phone)
            result.matched_as.append(_("phone %(phone)s", phone=phone))

    postcode = normalise_postcode(query)
    if 2 <= len(postcode) <= 10 and postcode.isalnum() and any(c.isdigit() for c in postcode):
        conditions.append(Parcel.postcode_key == postcode)
        result.matched_as.append("postcode")

    conditions.append(Parcel.order_ref == query)

    name_match = None
    letters = query.strip()
    if len(letters) >= MIN_NAME and not any(c.isdigit() for c in letters) and "@" not in letters:
        pattern = f"%{_like_escape(letters.lower())}%"
        name_match = func.lower(Parcel.recipient_name).like(pattern, escape="\\")
        result.matched_as.append("name")

    # One indexed query per reading of the term, newest first, merged here: an OR of them all
    # would make PostgreSQL give up on the indexes (a subquery in an OR scans the table).
    found: dict[int, object] = {}
    for condition in conditions:
        for ident, created in db.session.execute(
            select(Parcel.id, Parcel.created_at)
            .where(condition)
            .order_by(Parcel.created_at.desc(), Parcel.id.desc())
            .limit(limit + 1)
        ):
            found[ident] = created
    if name_match is not None:
        # Part of a name can match a large share of all parcels ("anders"): the trigram index
        # hands over at most NAME_CANDIDATES of them, and the newest of those are shown, so
        # the cost stays bounded; past the cap the agent is asked to narrow the search.
        candidates = (
            select(Parcel.id, Parcel.created_at)
            .where(name_match)
            .limit(NAME_CANDIDATES + 1)
            .subquery()
        )
        rows_found = db.session.execute(select(candidates.c.id, candidates.c.created_at)).all()
        result.name_capped = len(rows_found) > NAME_CANDIDATES
        for ident, created in rows_found[:NAME_CANDIDATES]:
            found[ident] = created
    newest = sorted(found, key=lambda i: (found[i], i), reverse=True)[: limit + 1]
    rows = (
        db.session.execute(
            select(Parcel)
            .where(Parcel.id.in_(newest))
            .options(joinedload(Parcel.merchant))
            .order_by(Parcel.created_at.desc(), Parcel.id.desc())
        )
        .scalars()
        .all()
        if newest
        else []
    )
    result.truncated = len(rows) > limit or result.name_capped
    result.parcels = list(rows[:limit])
    if number and len(result.parcels) == 1:
        result.exact = result.parcels[0].tracking_number
    return result
