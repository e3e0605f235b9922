"""The console's list of pickup points: filtered by carrier, zone, open or closed today and a
search term, one page at a time; and a point's opening hours as the list shows them."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import func, or_, select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.models import PickupPoint
from portal.services.network import hours


@dataclass(frozen=True)
class PointFilter:
    carrier_id: int | None = None
    zone_id: int | None = None
    state: str = ""  # "open" (today), "closed" (today), or "" for both
    q: str = ""  # part of the name, or the external id


@dataclass(frozen=True)
class PointPage:
    points: list[PickupPoint]
    total: int
    page: int
    pages: int
    per_page: int


def list_points(f: PointFilter, today: date, page: int = 1, per_page: int = 50) -> PointPage:
    """One page of points by name. Closed means closed on `today` by an operator (a closure
    that starts later still counts as open)."""
    query = select(PickupPoint)
    if f.carrier_id is not None:
        query = query.where(PickupPoint.carrier_id == f.carrier_id)
    if f.zone_id is not None:
        query = query.where(PickupPoint.zone_id == f.zone_id)
    closed_today = (PickupPoint.closed_from <= today) & (
        PickupPoint.closed_until.is_(None) | (PickupPoint.closed_until >= today)
    )
    if f.state == "closed":
        query = query.where(closed_today)
    elif f.state == "open":
        query = query.where(PickupPoint.closed_from.is_(None) | ~closed_today)
    term = " ".join(f.q.split())
    if term:
        # A few thousand points: a scan is cheap; external ids match exactly.
        escaped = term.lower().replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
        query = query.where(
            or_(
                func.lower(PickupPoint.name).like(f"%{escaped}%", escape="\\"),
                PickupPoint.external_id == term,
            )
        )
    total = db.session.scalar(select(func.count()).select_from(query.subquery())) or 0
    pages = max(1, -(-total // per_page))
    page = min(max(1, page), pages)
    points = (
        db.session.execute(
            query.options(joinedload(PickupPoint.carrier), joinedload(PickupPoint.zone))
            .order_by(PickupPoint.name, PickupPoint.id)
            .limit(per_page)
            .offset((page - 1) * per_page)
        )
        .scalars()
        .all()
    )
    return PointPage(list(points), total, page, pages, per_page)


def hours_summary(point: PickupPoint, now: datetime) -> str:
    """The point's hours now, in words, in the console's language (the account's)."""
    return hours.summary(point, now)
