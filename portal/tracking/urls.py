"""URLs of the pages about one parcel under /t/<tn>: they name the parcel (`?id=`) where more
than one parcel has its number, so a page keeps acting on the parcel it shows."""

from __future__ import annotations

from typing import Any, Protocol

from flask import g, url_for
from sqlalchemy import func, select

from portal.extensions import db
from portal.models import Parcel
from portal.tracking import bp


class _AboutParcel(Protocol):
    id: int
    tracking_number: str


def note_parcels_of_number(tracking_number: str, count: int) -> None:
    """What a view already knows: how many parcels have the number (saves number_is_shared a
    query in this request)."""
    g.setdefault("shared_numbers", {})[tracking_number] = count > 1


def number_is_shared(tracking_number: str) -> bool:
    """Whether more than one parcel has this number; asked once per request and number."""
    known = g.setdefault("shared_numbers", {})
    if tracking_number not in known:
        count = db.session.scalar(
            select(func.count())
            .select_from(Parcel)
            .where(Parcel.tracking_number == tracking_number)
        )
        known[tracking_number] = count > 1
    return known[tracking_number]


@bp.app_template_global()
def parcel_url(endpoint: str, parcel: _AboutParcel, **values: Any) -> str:
    """`url_for` a page under /t/<tn> about `parcel` (its poll, forms, links, redirects).

    Under a number more than one parcel has, a plain URL opens the parcel this session unlocked
    or chose last, and another tab can change that at any moment: so there the URL names the
    parcel, which the page takes if this session unlocked it. Named whenever the number is
    shared, not only once this session unlocked several: a page opened while one was unlocked
    would otherwise follow the next one unlocked in another tab. A number only one parcel has
    (nearly all) keeps plain URLs."""
    if number_is_shared(parcel.tracking_number):
        values["id"] = parcel.id
    return url_for(endpoint, tn=parcel.tracking_number, **values)
