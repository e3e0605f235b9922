"""Finding returns: by RMA, for a parcel, for a merchant, and a return's carrier events."""

from __future__ import annotations

from datetime import datetime

from sqlalchemy import select
from sqlalchemy.orm import joinedload

from portal.extensions import db
from portal.i18n import lazy_gettext as _l
from portal.models import Merchant, ParcelItem, Return, ReturnItem, TrackingEvent
from portal.services.errors import NotFound
from portal.services.returns.codes import RMA_LENGTH, format_rma, normalise_code


def find_return(rma: str) -> Return:
    code = normalise_code(rma)
    ret = None
    if len(code) == RMA_LENGTH:
        ret = db.session.execute(
            select(Return).where(Return.rma == format_rma(code))
        ).scalar_one_or_none()
    if ret is None:
        raise NotFound(str(_l("There is no return with this number.")), field="rma")
    return ret


# What the API's return_json reads: the return's parcel, each line's item and the item's
# parcel (one statement, whatever the session has loaded already).
_WITH_ITEMS = (
    joinedload(Return.parcel),
    joinedload(Return.items).joinedload(ReturnItem.parcel_item).joinedload(ParcelItem.parcel),
)


def returns_for(parcel_id: int, *, with_items: bool = False) -> list[Return]:
    """Returns that hold items of this parcel or were started from it, newest first;
    `with_items`: their items in the same query (the API lists them)."""
    holding = (
        select(ReturnItem.return_id)
        .join(ParcelItem, ParcelItem.id == ReturnItem.parcel_item_id)
        .where(ParcelItem.parcel_id == parcel_id)
    )
    return list(
        db.session.execute(
            select(Return)
            .options(*(_WITH_ITEMS if with_items else []))
            .where((Return.parcel_id == parcel_id) | Return.id.in_(holding))
            .order_by(Return.created_at.desc(), Return.id.desc())
        )
        .unique()
        .scalars()
    )


def return_events(ret: Return) -> list[TrackingEvent]:
    return list(
        db.session.execute(
            select(TrackingEvent)
            .where(TrackingEvent.return_id == ret.id)
            .order_by(TrackingEvent.occurred_at.desc(), TrackingEvent.id.desc())
        ).scalars()
    )


def merchant_returns(
    merchant: Merchant, since: datetime | None = None, limit: int = 500
) -> list[Return]:
    """The merchant's returns changed since `since` (oldest change first), for polling."""
    query = select(Return).where(Return.merchant_id == merchant.id)
    if since is not None:
        query = query.where(Return.updated_at >= since)
    return list(
        db.session.execute(query.order_by(Return.updated_at, Return.id).limit(limit)).scalars()
    )
