"""The drop-off desk: a service point takes a return in by its code."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from sqlalchemy import select

from portal.extensions import db
from portal.formatting import local_datetime
from portal.i18n import lazy_gettext as _l
from portal.models import (
    Account,
    Parcel,
    ParcelStatus,
    PickupPoint,
    Return,
    ReturnMethod,
    ReturnStatus,
    TrackingEvent,
)
from portal.models.types import utcnow
from portal.services.errors import Conflict, NotFound
from portal.services.network import hours, nearest
from portal.services.returns.codes import RMA_LENGTH, format_rma, normalise_code
from portal.services.returns.lifecycle import release_slot, tell_customer

# After these, a return has physically left the customer.
HANDED_OVER = frozenset(
    {
        ReturnStatus.DROPPED_OFF,
        ReturnStatus.IN_TRANSIT,
        ReturnStatus.RECEIVED,
        ReturnStatus.REFUNDED,
        ReturnStatus.CLOSED,
    }
)


class AlreadyDroppedOff(Conflict):
    code = "already_dropped_off"

    def __init__(self, message: str, *, return_: Return):
        super().__init__(message, field="code")
        self.return_ = return_


def accept_dropoff(code: str, account: Account, now: datetime | None = None) -> Return:
    """Service-point staff accept a scanned or typed code: `dropped_off`, an event, a receipt.

    Scanning twice raises AlreadyDroppedOff, which says when and where."""
    now = now or utcnow()
    normal = normalise_code(code)
    ret = None
    if normal:
        query = select(Return).with_for_update()
        ret = db.session.execute(query.where(Return.dropoff_code == normal)).scalar_one_or_none()
        if ret is None and len(normal) == RMA_LENGTH:
            ret = db.session.execute(
                query.where(Return.rma == format_rma(normal))
            ).scalar_one_or_none()
    if ret is None:
        raise NotFound(
            str(_l("No return has this code. Check it and try again.")),
            field="code",
            code="unknown_code",
        )
    if ret.dropped_off_at is not None:
        raise AlreadyDroppedOff(
            str(
                _l(
                    "Already accepted on %(when)s at %(place)s.",
                    when=local_datetime(ret.dropped_off_at, ret.parcel.time_zone),
                    place=ret.dropped_off_place or "?",
                )
            ),
            return_=ret,
        )
    if ret.status is ReturnStatus.REQUESTED:
        raise Conflict(
            str(_l("This return is not approved yet. Please don't accept the parcel.")),
            field="code",
            code="not_approved",
        )
    if ret.status is ReturnStatus.REJECTED:
        raise Conflict(
            str(_l("This return was turned down. Please don't accept the parcel.")),
            field="code",
            code="rejected",
        )
    if ret.status in HANDED_OVER:
        raise Conflict(
            str(_l("This return is already on its way to the shop.")),
            field="code",
            code="already_sent",
        )
    place = account.place or account.name
    ret.status, ret.status_at = ReturnStatus.DROPPED_OFF, now
    ret.dropped_off_at, ret.dropped_off_place, ret.dropped_off_by_id = now, place, account.id
    if ret.slot_id:
        release_slot(ret)  # handed in elsewhere: the pickup round needn't come
        ret.slot_id = None
    db.session.add(
        TrackingEvent(
            return_id=ret.id,
            carrier_id=ret.carrier_id,
            event_id=f"dropoff:{ret.rma}",
            code=ParcelStatus.PICKED_UP,
            occurred_at=now,
            location=place,
            description="Dropped off by the customer",
            received_at=now,
        )
    )
    db.session.flush()
    # Formatted by the message templates, in the customer's language, not the desk's.
    tell_customer(ret, "return_dropped_off", now, {"place": place, "dropped_off_at": now})
    return ret


# Where the return page points the customer: this many of the nearest places that take it,
# in the parcel's country and within this distance (a town with no point of ours lists none,
# rather than one in another country).
HAND_IN_POINTS = 5
HAND_IN_RADIUS_M = 25_000


@dataclass
class HandIn:
    point: PickupPoint
    distance_m: int
    hours_text: str  # "Open now · closes 20:00", in the reader's language


def hand_in_points(ret: Return, now: datetime | None = None) -> list[HandIn]:
    """The nearest places a return waiting to be handed in can go to, from its parcel's
    address: service points for a drop-off, lockers for a locker return ([] for a home pickup,
    or an address no zone of ours knows)."""
    if ret.status is not ReturnStatus.APPROVED or ret.dropped_off_at is not None:
        return []
    return hand_in_near(ret.parcel, [ret.method], now)


def hand_in_near(parcel: Parcel, methods, now: datetime | None = None) -> list[HandIn]:
    """The nearest places near the parcel's address that take returns by these methods:
    service points (a drop-off), lockers, or both ([] when neither is among them)."""
    wanted = {ReturnMethod.DROPOFF, ReturnMethod.LOCKER} & set(methods)
    if not wanted:
        return []
    kinds = {method is ReturnMethod.LOCKER for method in map(ReturnMethod, wanted)}
    now = now or utcnow()
    try:
        found = nearest.near_postcode(
            parcel.country, parcel.postcode, limit=HAND_IN_POINTS * 3, now=now
        )
    except NotFound:
        return []
    near = [
        n
        for n in found.points
        if n.point.is_locker in kinds
        and n.distance_m <= HAND_IN_RADIUS_M
        and n.point.country == parcel.country
    ][:HAND_IN_POINTS]
    # Opening hours in words for the places shown only.
    return [HandIn(n.point, n.distance_m, hours.summary(n.point, now)) for n in near]
